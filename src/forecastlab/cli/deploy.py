"""`forecastlab export` and `forecastlab serve`: thin layers over forecastlab.deploy (artifact, service)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import PATH_METAVAR, JsonOpt, path_parser, print_json
from forecastlab.errors import ForecastlabError

MIN_BODY_MB, MAX_BODY_MB = 0.001, 1024.0  # --max-body-mb: 1 kB to 1 GiB, so the 413 limit always means something
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's (uvicorn.config.LOG_LEVELS)


def export_command(
    run_dir: Annotated[Path, typer.Argument(help="A finished run directory (any model, ensembles too), or a saved "
                                            "classifier or event detector (classify / events --out).",
                                            show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="The artifact directory to write (must not exist).",
                                      show_default=False, parser=path_parser("--out", "artifacts/my-model"),
                                      metavar=PATH_METAVAR)],
    onnx: Annotated[bool, typer.Option("--onnx", help="Also write model.onnx (torch models; needs onnx), "
                                       "checked against torch with onnxruntime.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing artifact in --out.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Turn a trained run, or a saved classifier or event detector, into a self-contained artifact: safetensors
    weights (or the model's own text format), the whole recipe, normalization, calibration, provenance, and a
    sha256 manifest."""
    from forecastlab.deploy.artifact import META, export, verify

    path = export(run_dir, out, onnx=onnx, overwrite=overwrite)
    manifest = verify(path)
    import json

    meta = json.loads((path / META).read_text())
    result = {"artifact": str(path), "run_dir": str(run_dir), "kind": meta["kind"], "summary": meta["summary"],
              "files": manifest["files"], "onnx": meta.get("onnx")}
    if json_out:
        print_json(result)
        return
    s = meta["summary"]
    size = sum(e["bytes"] for e in manifest["files"].values())
    typer.echo(f"exported {s['model']} ({meta['kind']}) to {path}: {len(manifest['files'])} files, {size:,} bytes, "
               "each in manifest.json with its sha256")
    if meta["kind"] == "classifier":
        _echo_classifier(path, s)
        return
    ahead = ", ".join(a or f"{h} steps" for a, h in zip(s["ahead"], s["horizons"], strict=True))
    typer.echo(f"forecasts {s['target']} {ahead} ahead from {s['rows_needed']} rows; test MAE {s['test_mae']:.3f} "
               f"{s['unit'] or ''}")
    if meta.get("onnx"):
        check = meta["onnx"]["check"]
        said = (f"matches torch to {check['max_abs_diff']:.1e} on {check['windows']} windows ({check['runtime']})"
                if check.get("checked") else f"not checked: {check['why']}")
        typer.echo(f"model.onnx: {said}")
    typer.echo(f"use it: forecastlab predict {path} --input recent.csv   or   forecastlab serve {path}")


def _echo_classifier(path: Path, s: dict) -> None:
    need = s["input"]
    reads = (f"the last {need['rows']} rows of {len(need['columns'])} columns" if "rows" in need
             else f"cases of {need['length']} steps x {need['channels']} channel(s)")
    test = s.get("test") or {}
    score = f"; test macro F1 {test['macro_f1']:.3f}" if isinstance(test.get("macro_f1"), int | float) else ""
    typer.echo(f"classifies ({', '.join(s['classes'])}) from {reads}{score}")
    command = "events" if s.get("task") == "events" else "classify"
    typer.echo(f"use it: forecastlab {command} --run {path} --data ...   or   forecastlab serve {path}")


def serve_command(
    artifact: Annotated[Path, typer.Argument(help="An artifact (forecastlab export), a run directory, or a "
                                             "classifier (forecastlab classify --out).",
                                             show_default=False)],
    host: Annotated[str, typer.Option("--host", help="Address to bind; anything but loopback needs a token.")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port (0: any free one).")] = 8000,
    token: Annotated[str | None, typer.Option("--token", envvar="FORECASTLAB_API_TOKEN", show_envvar=True,
                                              help="API token required on every request but /health.",
                                              show_default=False)] = None,
    max_body_mb: Annotated[float, typer.Option(
        "--max-body-mb", help=f"Largest request body (413 above), {MIN_BODY_MB:g} to {MAX_BODY_MB:g} MB.")] = 16.0,
    max_concurrency: Annotated[int, typer.Option("--max-concurrency", min=1, help="Forecasts at once (503 above).")
                               ] = 4,
    device: Annotated[str | None, typer.Option("--device", help="cpu (default) or cuda[:N].")] = "cpu",
    log_level: Annotated[str, typer.Option("--log-level", help=f"uvicorn's log level: {', '.join(LOG_LEVELS)}.")
                         ] = "info",
) -> None:
    """Serve forecasts over HTTP (FastAPI, uvicorn): POST /forecast, GET /health, GET /model, /docs; for a
    classifier POST /classify (class probabilities) instead of /forecast."""
    import uvicorn

    from forecastlab.deploy.artifact import load_model
    from forecastlab.deploy.service import check_bind, check_port, create_app

    log_level = check_serve_options(max_body_mb, log_level)  # before loading anything
    check_bind(host, token)
    check_port(host, port)
    limits = {"max_body_bytes": int(max_body_mb * (1 << 20)), "max_concurrency": max_concurrency}
    if (artifact / "classifier.json").is_file():  # a saved classifier (forecastlab classify --out)
        from forecastlab.deploy.artifact import open_classifier
        from forecastlab.deploy.classify_service import create_classifier_app

        app = create_classifier_app(open_classifier(artifact), token=token, **limits)
    else:
        run = load_model(artifact, device=device)
        app = create_app(run, token=token, **limits)
    os.environ.pop("FORECASTLAB_API_TOKEN", None)  # not inherited by anything this process starts
    # uvicorn's own bound on open connections is a backstop; the forecast slots answer 503 first.
    uvicorn.run(app, host=host, port=port, log_level=log_level, limit_concurrency=max(64, 8 * max_concurrency),
                timeout_keep_alive=5, server_header=False)


def check_serve_options(max_body_mb: float, log_level: str) -> str:
    """Refuse a body limit that is not a number from MIN_BODY_MB to MAX_BODY_MB (inf, nan, 1e300 would make
    the 413 meaningless or crash) and a log level uvicorn does not know, before the artifact is loaded.
    Returns the log level as uvicorn spells it (lower case)."""
    if not (math.isfinite(max_body_mb) and MIN_BODY_MB <= max_body_mb <= MAX_BODY_MB):
        raise ForecastlabError(f"--max-body-mb must be a number from {MIN_BODY_MB:g} to {MAX_BODY_MB:g} (MB), "
                               f"got {max_body_mb:g}", where="--max-body-mb",
                               fix=f"pass e.g. --max-body-mb 16 (the default); at most {MAX_BODY_MB:g} MB")
    level = log_level.strip().lower()
    if level not in LOG_LEVELS:
        raise ForecastlabError(f"--log-level {log_level!r} is not one of uvicorn's log levels", where="--log-level",
                               fix=f"pass one of: {', '.join(LOG_LEVELS)} (the default is info)")
    return level


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
    app.command("serve")(serve_command)
