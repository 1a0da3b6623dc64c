"""`forecastlab runs show RUN_DIR`: a run's recipe (what config.json holds, checked and migrated) and its
scores, in words or as --json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import JsonOpt, print_json

app = typer.Typer(no_args_is_help=True)


@app.command("show")
def show(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by `forecastlab train`.")],
    json_out: JsonOpt = False,
) -> None:
    """Print a run's recipe (model, windows, horizons, loss, training, data) and its scores."""
    from forecastlab.training.run_dir import METRICS, read_config, read_metrics

    config = read_config(run_dir)
    metrics = read_metrics(run_dir) if (Path(run_dir) / METRICS).is_file() else {}
    if json_out:
        print_json({"run_dir": str(run_dir), "config": config, "metrics": metrics})
        return
    model, window, training, data = config["model"], config["window"], config["training"], config.get("data", {})
    provenance = data.get("provenance") or {}
    horizons = window.get("horizons") or [window["horizon"]]
    if training["optimizer"] == "none":  # an estimator: one fit, no optimizer; its size is known once fitted
        fit = f"one fit (an estimator), learning rate {training['lr']:g}"
        size = f"{metrics['params']:,} fitted parameters" if metrics.get("params") is not None else "not fitted yet"
    else:
        fit = f"{training['epochs']} epochs, {training['optimizer']} lr {training['lr']:g}"
        size = f"{model.get('params')} weights"
    lines = [
        f"run        {run_dir}  (format {config['format']}, created {config.get('created')})",
        f"model      {model['name']}  {_params(model['config'])}  ({size})",
        f"window     {window['sequence_length']} steps x {window['sampling_rate']} rows, horizons {horizons} steps "
        f"(delay {window['delay']} rows), batch {window.get('batch_size')}",
        f"training   {fit}, "
        f"seed {training['seed']}, loss {training['loss']}, target {training['target_transform']}, "
        f"{training['interval_level']:.0%} intervals",
        f"data       {provenance.get('path') or provenance.get('source')}  target {data.get('target')!r} "
        f"({data.get('target_unit')}), {len(data.get('columns') or [])} columns",
    ]
    if metrics:
        cover = (metrics.get("intervals") or {}).get("test_coverage_all")
        lines.append(f"scores     val MAE {metrics['val_mae']:.3f}, test MAE {metrics['test_mae']:.3f} "
                     f"{metrics.get('unit') or ''}" + (f", test coverage {cover:.1%}" if cover is not None else ""))
    typer.echo("\n".join(lines))


def _params(config: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in config.items() if k not in ("name", "n_features", "sequence_length"))


def register(app_root: typer.Typer) -> None:
    app_root.add_typer(app, name="runs", help="Look at run directories.")
