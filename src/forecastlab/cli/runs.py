"""`forecastlab runs show RUN_DIR`: a run's recipe (what config.json holds, checked and migrated) and its
scores, in words or as --json; for a saved classifier or event detector (classify/events --out, or its
artifact), what classifier.json holds: the task, its recipe, the model and the scores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import JsonOpt, print_json

app = typer.Typer(no_args_is_help=True)


@app.command("show")
def show(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by `forecastlab train`, or a classifier "
                                            "(classify/events --out, or its artifact).")],
    json_out: JsonOpt = False,
) -> None:
    """Print a run's recipe (model, windows, horizons, loss, training, data) and its scores."""
    from forecastlab.deploy.artifact import is_artifact
    from forecastlab.tasks.classification import META
    from forecastlab.training.run_dir import CONFIG, METRICS, read_config, read_metrics

    if not (Path(run_dir) / CONFIG).is_file() and ((Path(run_dir) / META).is_file() or (
            is_artifact(run_dir) and _artifact_kind(run_dir) == "classifier")):
        _show_classifier(run_dir, json_out)
        return
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


def _artifact_kind(path: Path) -> str | None:
    from forecastlab.models.contract import read_json_object

    return read_json_object(Path(path) / "artifact.json").get("kind")


def _show_classifier(path: Path, json_out: bool) -> None:
    """A classifier or detector, loaded and checked as `serve` loads it (an artifact's manifest first)."""
    from forecastlab.deploy.artifact import open_classifier
    from forecastlab.deploy.report_classifier import task_summary

    c = open_classifier(path)
    task, model = c.task, c.module.get_config()
    scores = {s: c.metrics[s] for s in ("val", "test") if isinstance(c.metrics.get(s), dict)}
    if json_out:
        print_json({"classifier": str(path), "classes": c.classes, "model": model, "window": c.window,
                    "columns": c.columns, "task": task, "scores": scores})
        return
    what = task_summary(task)
    size = sum(p.numel() for p in c.module.parameters())
    lines = [f"classifier {path}  ({what}; classes {', '.join(c.classes)})",
             f"model      {model['name']}  {_params(model)}  ({size:,} weights)"]
    if c.window:
        lines.append(f"window     {c.window.get('sequence_length')} steps x {c.window.get('sampling_rate')} rows")
    lines.append(f"training   {task.get('epochs')} epochs, seed {task.get('seed')}")
    for table, values in (task.get("recipe") or {}).items():
        shown = ", ".join(f"{k}={v}" for k, v in values.items()) if isinstance(values, dict) else str(values)
        lines.append(f"recipe     [{table}] {shown}")
    for split, values in scores.items():
        lines.append(f"{split:<10} " + ", ".join(f"{k} {v:.3f}" for k, v in values.items()
                                                 if isinstance(v, int | float) and not isinstance(v, bool)))
    typer.echo("\n".join(lines))


def _params(config: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in config.items()
                    if k not in ("name", "n_features", "sequence_length", "n_outputs"))


def register(app_root: typer.Typer) -> None:
    app_root.add_typer(app, name="runs", help="Look at run directories.")
