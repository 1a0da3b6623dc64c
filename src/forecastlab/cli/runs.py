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
    ensemble = (config.get("extra") or {}).get("ensemble")
    members = None
    if ensemble is not None or model["name"] == "ensemble":
        # An ensemble trains nothing: of the training options only its members' loss and its intervals apply.
        members, size = _ensemble_members(Path(run_dir), model, ensemble or {})
        fit = f"none (it combines trained runs), loss {training['loss']} (its members')"
    elif training["optimizer"] == "none":  # an estimator: one fit, no optimizer; its size is known once fitted
        fit = (f"one fit (an estimator){_estimator_options(model, training, window)}, seed {training['seed']}, "
               f"loss {training['loss']}, target {training['target_transform']}")
        size = f"{metrics['params']:,} fitted parameters" if metrics.get("params") is not None else "not fitted yet"
    else:
        fit = (f"{_torch_options(training)}, seed {training['seed']}, loss {training['loss']}, "
               f"target {training['target_transform']}")
        size = f"{_count(model.get('params'))} weights"
    lines = [
        f"run        {run_dir}  (format {config['format']}, created {config.get('created')})",
        "  ".join(p for p in (f"model      {model['name']}", "" if members else _params(model["config"]), f"({size})")
                  if p),
        *([f"members    {members}"] if members else []),
        f"window     {window['sequence_length']} steps x {window['sampling_rate']} rows, horizons {horizons} steps "
        f"(delay {window['delay']} rows), batch {window.get('batch_size')}",
        f"training   {fit}, {training['interval_level']:.0%} intervals",
        f"data       {provenance.get('path') or provenance.get('source')}  target {data.get('target')!r} "
        f"({data.get('target_unit')}), {len(data.get('columns') or [])} columns",
    ]
    if metrics:
        cover = (metrics.get("intervals") or {}).get("test_coverage_all")
        lines.append(f"scores     val MAE {metrics['val_mae']:.3f}, test MAE {metrics['test_mae']:.3f} "
                     f"{metrics.get('unit') or ''}" + (f", test coverage {cover:.1%}" if cover is not None else ""))
    typer.echo("\n".join(lines))


def _count(value) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def _torch_options(training: dict) -> str:
    """The training options a torch run was trained with, those it has: epochs, optimizer, learning rate,
    its schedule, weight decay, gradient clipping, the step cap and early stopping."""
    parts = [f"{_plural(training['epochs'], 'epoch')}, {training['optimizer']} lr {training['lr']:g}"]
    if training.get("lr_schedule"):
        parts.append(f"lr schedule {training['lr_schedule']}")
    if training.get("weight_decay"):
        parts.append(f"weight decay {training['weight_decay']:g}")
    if training.get("clip_norm"):
        parts.append(f"gradients clipped to norm {training['clip_norm']:g}")
    if training.get("max_steps_per_epoch"):
        parts.append(f"at most {_plural(training['max_steps_per_epoch'], 'step')} per epoch")
    if training.get("early_stopping"):
        parts.append(f"early stopping after {_plural(training['early_stopping'], 'epoch')} without a better val loss")
    return ", ".join(parts)


def _estimator_options(model: dict, training: dict, window: dict) -> str:
    """An estimator's options that apply to it: the learning rate only where the model has one (gradient
    boosting; config.json records a placeholder 1 for the others), and the cap on its training windows."""
    parts = []
    if "learning_rate" in (model.get("config") or {}):
        parts.append(f"learning rate {training['lr']:g}")
    steps, batch = training.get("max_steps_per_epoch"), window.get("batch_size")
    if steps and isinstance(batch, int):
        parts.append(f"at most {steps * batch:,} training windows ({_plural(steps, 'batch', 'batches')} of {batch})")
    elif steps:
        parts.append(f"at most {_plural(steps, 'batch', 'batches')} of training windows")
    return "".join(f", {p}" for p in parts)


def _ensemble_members(run_dir: Path, model: dict, ensemble: dict) -> tuple[str, str]:
    """(how an ensemble combines which runs, its size): its method, its weights (model/ensemble.json's,
    normalized, when that file can be read; else the setting config.json records) and its members."""
    from forecastlab.errors import ForecastlabError
    from forecastlab.models.contract import read_json_object

    config = model.get("config") or {}
    method = ensemble.get("method") or config.get("method") or "mean"
    members = [m for m in ensemble.get("members") or [] if isinstance(m, dict)]
    try:
        weights = read_json_object(run_dir / "model" / "ensemble.json").get("weights")
    except (ForecastlabError, OSError):
        weights = None
    if isinstance(weights, list) and weights and all(isinstance(w, int | float) for w in weights):
        how = "equal weights" if len(set(weights)) == 1 else "weights " + ", ".join(f"{w:.3g}" for w in weights)
    else:
        how = "equal weights" if config.get("weights") is None else f"weights {config['weights']}"
    runs = "; ".join(f"{m.get('model')} {m.get('source')}" for m in members)
    return (f"weighted {method} of {_plural(len(members), 'run')}, {how}" + (f": {runs}" if runs else ""),
            f"{_count(model.get('params'))} weights in its members")


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
