"""Task recipes from Python: what `forecastlab classify`, `forecastlab events` and `train --config FILE` run.

    from forecastlab.tasks.recipes import run_task, run_task_recipe
    result = run_task("classify", {"data": "synthetic", "epochs": 3}, out="runs/frost")   # frost within 24 h
    result = run_task("classify", {"data": "ucr:GunPoint"})                              # a UCR benchmark
    result = run_task("events", {"data": "tmy3", "warn_hours": 6}, out="runs/fronts")    # front passages
    scan = run_task("anomalies", {"data": "synthetic", "inject": 0})                     # injected faults
    result = run_task_recipe("frost.toml")        # any task's recipe file: its [task] kind says which

The options are the commands' option names with underscores, as a task file writes them (TASK_OPTIONS
lists them, grouped in a recipe's tables); `params` is a table of model parameters. An option left out
takes the task's default (forecastlab.tasks.classification.FROST_DEFAULTS, UCR_DEFAULTS,
forecastlab.tasks.events.FRONT_DEFAULTS). The classifier or detector is saved in `out` (classifier.json
and weights.safetensors) with the options it was given, flat (task.options) and as a recipe
(task.recipe). A folder that already holds one is refused unless overwrite=True; while it trains, `out`
holds training.pt (the state after the last finished epoch), which resume=True continues after a kill.
An anomalies scan saves nothing: run_task returns {"result": AnomalyResult, "benchmark": dict or None,
"synthetic": bool} (forecastlab.deploy.report_anomalies.write_anomaly_report turns it into a page);
run_task_recipe writes an anomalies recipe's `out` (the events, .csv or .json), and `forecastlab
anomalies` its `out` and `plot`. Every value is checked against OPTION_TYPES (type and range), from
Python as from a file or the command line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from forecastlab.errors import ForecastlabError

# Each task's options, grouped as a recipe file's tables (training.recipe.flat_options / group_options).
TASK_OPTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "classify": {"task": ("below",), "model": ("model", "params"),
                 "data": ("data", "target", "feature_set", "ucr_wheel"), "window": ("batch_size", "stride"),
                 "training": ("epochs", "lr", "optimizer", "max_steps", "balanced", "seed"), "output": ("out",)},
    "events": {"task": ("warn_hours", "tolerance_hours", "drop", "turn"), "model": ("model", "params"),
               "data": ("data",), "window": ("lookback_hours",), "training": ("epochs", "max_steps", "seed"),
               "output": ("out",)},
    "anomalies": {"task": ("threshold", "window_hours", "autoencoder", "inject", "per_kind", "tolerance_hours"),
                  "model": ("run",), "data": ("data", "target"), "training": ("seed",),
                  "output": ("out", "plot", "report")},
}
# Each option's type and bounds: (type, lowest, highest); the commands' options have the same (a test
# compares them), and run_task checks every value it is given against them.
_COMMON = {"data": ("str",), "model": ("str",), "params": ("table",), "epochs": ("int", 1), "max_steps": ("int", 1),
           "seed": ("int", 0), "out": ("path",)}
OPTION_TYPES: dict[str, dict[str, tuple]] = {
    "classify": _COMMON | {"batch_size": ("int", 2), "lr": ("float", 0.0), "optimizer": ("str",),
                           "stride": ("int", 1), "balanced": ("bool",), "below": ("float",), "feature_set": ("str",),
                           "target": ("str",), "ucr_wheel": ("path",)},
    "events": _COMMON | {"warn_hours": ("int", 0), "tolerance_hours": ("int", 0), "lookback_hours": ("int", 2),
                         "drop": ("float", 0.0), "turn": ("float", 0.0, 180.0)},
    "anomalies": {"data": ("str",), "run": ("path",), "target": ("str",), "threshold": ("float",),
                  "window_hours": ("float",), "autoencoder": ("bool",), "seed": ("int",), "inject": ("int", 0),
                  "per_kind": ("int", 1, 200), "tolerance_hours": ("float", 0.0), "out": ("path",),
                  "plot": ("path",), "report": ("path",)},
}
FROST_ONLY = ("max_steps", "stride", "balanced", "below", "target", "feature_set")  # not for ucr:NAME
TRAINING_STATE = "training.pt"  # the state after the last finished epoch, while a training runs


def option_names(kind: str) -> tuple[str, ...]:
    """Every option a `kind` task takes (a task file's keys)."""
    return tuple(name for names in _groups(kind).values() for name in names)


def check_option(kind: str, name: str, value, where: str):
    """`value` checked against option `name` of a `kind` task (OPTION_TYPES), or a ForecastlabError naming
    `where`; returns it as the task reads it (an int given for a float becomes a float, a path a str).
    None stands for the option's default."""
    if name not in OPTION_TYPES[kind]:
        raise ForecastlabError(f"{name!r} is not an option of the {kind} task", where=where,
                               fix=f"use these keys: {', '.join(option_names(kind))}")
    if value is None:
        return None
    kind_of, low, high = (OPTION_TYPES[kind][name] + (None, None))[:3]
    number = isinstance(value, int | float) and not isinstance(value, bool)
    ok = {"bool": isinstance(value, bool), "int": number and isinstance(value, int), "float": number,
          "str": isinstance(value, str), "path": isinstance(value, str | Path), "table": isinstance(value, dict)}
    if not ok[kind_of]:
        if kind_of == "table":
            raise ForecastlabError(f"{name} must be a table of model parameters", where=where,
                                   fix="write [params] (or [model.params]) and then e.g. units = 32")
        raise ForecastlabError(f"the value {_shown(value)} is not of type {kind_of}", where=where,
                               fix=f"write a value of type {kind_of}")
    if number and ((low is not None and value < low) or (high is not None and value > high)):
        span = f"at least {low}" if high is None else f"at most {high}" if low is None else f"{low} to {high}"
        raise ForecastlabError(f"the value {value!r} is out of range", where=where, fix=f"write {span}")
    return float(value) if kind_of == "float" else str(value) if kind_of == "path" else value


def _shown(value) -> str:
    return json.dumps(value, default=str)


def run_task(kind: str, options: dict[str, Any], *, out: str | Path | None = None, overwrite: bool = False,
             resume: bool = False, progress: bool = False):
    """Train a classify or events task as `options` say, and save it in `out` (when given); returns the
    ClassificationResult or EventResult. `options` may hold `out` too (the argument wins). An anomalies
    scan returns {"result", "benchmark"} and writes nothing (`out` and `plot` are the command's files)."""
    _groups(kind)
    options = {k: check_option(kind, k, v, f"run_task options, key {k}") for k, v in options.items()}
    if kind == "anomalies":
        given = [name for name, v in (("out", out), ("overwrite", overwrite), ("resume", resume),
                                      ("progress", progress)) if v]
        files = [k for k in ("out", "plot", "report") if options.get(k) is not None]
        if given or files:
            raise ForecastlabError(f"an anomalies scan writes no folder, so {', '.join(given + files)} has "
                                   "nothing to do", where="run_task", fix="drop it: write the events with "
                                   "scan['result'].table(), or run `forecastlab anomalies --out FILE --plot PNG "
                                   "--report HTML`")
        return _anomalies(options)
    given_out = options.pop("out", None)
    out = Path(out) if out is not None else Path(given_out) if given_out is not None else None
    checkpointing = check_output(out, overwrite=overwrite, resume=resume)
    train = _classify if kind == "classify" else _events
    result = train(options, progress=progress, **checkpointing)
    record_options(result.classifier, options | ({"out": str(out)} if out is not None else {}), kind)
    save_trained(result.classifier, out, overwrite=overwrite, resume=resume)
    return result


def read_task_recipe(path: str | Path, spelled: dict[str, str] | None = None) -> tuple[str, dict[str, Any]]:
    """A recipe file's task kind and its options, as flat option names (its keys may also stand at the top
    level, as a task file has them). A forecasting recipe's options are those of `forecastlab train`.
    `spelled`, when given, is filled with each key as the file spells it."""
    from forecastlab.training.recipe import MAX_RECIPE_BYTES, flat_options, read_toml_file, task_kind

    path = Path(path)
    doc = read_toml_file(path, "the recipe", MAX_RECIPE_BYTES, missing="the recipe file does not exist",
                         missing_fix="check the path", size_fix="a recipe is a few lines of TOML",
                         syntax_fix="see docs/training.md for a recipe example")
    kind = task_kind(doc, str(path))
    spelled = {} if spelled is None else spelled
    options = flat_options(doc, str(path), spelled)
    if kind != "forecast":
        options = {k: check_option(kind, k, v, f"{path}, key {spelled.get(k, k)}") for k, v in options.items()}
    return kind, options


def run_task_recipe(path: str | Path, *, out: str | Path | None = None, overwrite: bool = False,
                    resume: bool = False, progress: bool = False):
    """Train what a recipe file says, whatever its task: a forecasting recipe (the layout `forecastlab
    train --config` reads) through forecastlab.training.runner.run_recipe, or run_seeds when it sets
    seeds, into `out`, else its [output] out; a classify or events one through run_task; an anomalies
    one through run_task, its events written to [output] out. Returns that function's result."""
    spelled: dict[str, str] = {}
    kind, options = read_task_recipe(path, spelled)
    if kind == "anomalies":
        return _anomaly_recipe(path, options, overwrite=overwrite)
    if kind != "forecast":
        return run_task(kind, options, out=out, overwrite=overwrite, resume=resume, progress=progress)
    import dataclasses

    from forecastlab.training.recipe import Recipe
    from forecastlab.training.runner import run_recipe, run_seeds

    target = out if out is not None else options.get("out")
    if target is None:
        raise ForecastlabError("the recipe names no run directory", where=f"{path}, key output.out",
                               fix="write [output] out = \"runs/NAME\", or pass out=")
    recipe = Recipe.from_options(options, str(path), spelled)  # the layout `train --config` reads
    recipe = dataclasses.replace(recipe, data=recipe.data.absolute())
    overwrite = overwrite or bool(options.get("overwrite"))
    seeds = options.get("seeds", 1)
    if not isinstance(seeds, int) or isinstance(seeds, bool) or not 1 <= seeds <= 100:
        raise ForecastlabError(f"seeds must be a whole number from 1 to 100, got {seeds!r}",
                               where=f"{path}, key {spelled.get('seeds', 'seeds')}", fix="write e.g. seeds = 3")
    if seeds > 1:
        if resume:
            raise ForecastlabError("resume continues one run; a recipe with seeds trains several",
                                   where=f"{path}, key seeds", fix="resume each seed's run directory on its own")
        return run_seeds(recipe, seeds, target, overwrite=overwrite, progress=progress)
    return run_recipe(recipe, target, resume=resume, overwrite=overwrite, progress=progress)


def _anomaly_recipe(path: Path, options: dict, *, overwrite: bool) -> dict:
    """An anomalies recipe: the scan, with its events written to [output] out (.csv or .json) when it
    names one; a plot is the command's (`forecastlab anomalies --config FILE` draws it)."""
    for key in ("plot", "report"):
        if options.get(key) is not None:
            raise ForecastlabError(f"{key} is drawn by the command, not by run_task_recipe", where=f"{path}, key "
                                   f"{key}", fix=f"run `forecastlab anomalies --config {path}`, or drop {key}")
    target = options.pop("out", None)
    if target is not None:
        target = Path(target)
        if target.suffix.lower() not in (".csv", ".json"):
            raise ForecastlabError(f"out must end in .csv or .json, not {target.suffix or 'nothing'!r}",
                                   where=f"{path}, key out", fix="write e.g. out = \"events.csv\"")
        if target.exists() and not overwrite:
            raise ForecastlabError(f"{target} exists; refusing to overwrite it", where=str(target),
                                   fix="choose another out, or pass overwrite=True")
    scan = run_task("anomalies", options)
    if target is not None:
        write_scan_events(scan, target)
    return scan


def write_scan_events(scan: dict, out: Path) -> Path:
    """An anomaly scan's events as `out` says: .json (the scan and its benchmark) or .csv (the events)."""
    from forecastlab.atomic import atomic_write_json, atomic_write_text

    result, bench = scan["result"], scan["benchmark"]
    if Path(out).suffix.lower() == ".json":
        return atomic_write_json(out, result.to_dict() | ({"benchmark": bench} if bench else {}))
    return atomic_write_text(out, result.table().to_csv(index=False))


# -- the output folder --------------------------------------------------------------------------------------


def check_output(out: Path | None, *, overwrite: bool, resume: bool) -> dict:
    """Check `out` (and `resume`) before training; the fit's checkpoint options ({} without `out`)."""
    if resume and out is None:
        raise ForecastlabError("--resume continues a training interrupted in --out, and no --out was given",
                               arg="--resume", fix="pass the same --out as the interrupted command")
    if out is None:
        return {}
    out = Path(out)
    _check_folder(out, overwrite, resume)
    return {"checkpoint": out / TRAINING_STATE, "resume": resume}


def save_trained(classifier, out: Path | None, *, overwrite: bool, resume: bool) -> None:
    """Save the trained classifier in `out`, which then supersedes the per-epoch training state."""
    if out is not None:
        classifier.save(out, overwrite=overwrite or resume)
        _drop_training_state(Path(out))
        _remove_stale_temps(Path(out))  # only once trained: a refused command leaves the folder as it was


def record_options(classifier, options: dict, kind: str) -> None:
    """Keep the options a classifier was trained with in its task: flat (task.options, a task file) and as
    a recipe with [task] kind (task.recipe; training.recipe.toml_text writes it as a file)."""
    from forecastlab.training.recipe import group_options

    classifier.task["options"] = dict(options)
    classifier.task["recipe"] = group_options(options, _groups(kind), kind)


def _check_folder(out: Path, overwrite: bool, resume: bool) -> None:
    from forecastlab.tasks.classification import META, WEIGHTS

    if out.exists() and not out.is_dir():
        raise ForecastlabError("--out is a file; a classifier is saved as a folder", where=str(out), arg="--out",
                               fix="give a folder name, e.g. --out runs/frost")
    state = out / TRAINING_STATE
    if resume:
        if not state.is_file():
            raise ForecastlabError(f"{out} holds no interrupted training ({TRAINING_STATE})", where=str(out),
                                   arg="--resume", fix="drop --resume to start a training there")
        return
    held = [p.name for p in (out / META, out / WEIGHTS) if p.exists()]
    if held and not overwrite:  # checked before training, not after it
        raise ForecastlabError(f"{out} already holds a classifier ({', '.join(held)})", where=str(out), arg="--out",
                               fix="choose another --out, or pass --overwrite to replace it")
    if state.is_file():
        if not overwrite:
            raise ForecastlabError(f"{out} holds an interrupted training ({TRAINING_STATE})", where=str(out),
                                   arg="--out", fix="pass --resume (with the same options) to continue it, or "
                                   "--overwrite to start again")
        _drop_training_state(out)


def _remove_stale_temps(out: Path) -> None:
    """Temp files of this folder's own files that a killed write left (forecastlab.atomic names them
    .NAME.PID.RANDOM.tmp), whose process is gone: a finished training leaves none behind."""
    import os

    from forecastlab.tasks.classification import META, WEIGHTS
    from forecastlab.training.run_dir import stale_temp

    if not out.is_dir():
        return
    own = (TRAINING_STATE, TRAINING_STATE + ".sha256", META, WEIGHTS)
    for name in os.listdir(out):
        if stale_temp(name, own):
            (out / name).unlink(missing_ok=True)


def _drop_training_state(out: Path) -> None:
    from forecastlab.training.checkpoint import checksum_path

    for path in (out / TRAINING_STATE, checksum_path(out / TRAINING_STATE)):
        path.unlink(missing_ok=True)


# -- the tasks ----------------------------------------------------------------------------------------------


def _groups(kind: str) -> dict[str, tuple[str, ...]]:
    if kind not in TASK_OPTIONS:
        raise ForecastlabError(f"{kind!r} is not a task with options here", where="run_task kind",
                               fix=f"use one of {', '.join(TASK_OPTIONS)} (forecasting: training.runner.run_recipe)")
    return TASK_OPTIONS[kind]


def _fit_options(options: dict, names: tuple[str, ...], progress: bool, checkpointing: dict) -> dict:
    fit = {k: options[k] for k in names if options.get(k) is not None}
    if options.get("params"):
        fit["model_params"] = dict(options["params"])
    return fit | {"progress": progress} | checkpointing


def _classify(options: dict, *, progress: bool, **checkpointing):
    from forecastlab.data import load_series
    from forecastlab.data.ucr import load_ucr
    from forecastlab.tasks.classification import classify_cases, classify_frost

    data = str(options.get("data") or "synthetic")
    fit = _fit_options(options, ("model", "epochs", "batch_size", "lr", "optimizer", "seed"), progress,
                       checkpointing)
    if data.lower().startswith("ucr:"):
        frost_only = sorted(f"--{k.replace('_', '-')}" for k in options if k in FROST_ONLY)
        if frost_only:
            raise ForecastlabError(f"{', '.join(frost_only)} belong to the frost task, not to a UCR dataset",
                                   arg="--data", fix="drop them for ucr:NAME")
        return classify_cases(load_ucr(data.split(":", 1)[1], wheel=options.get("ucr_wheel")), **fit)
    if options.get("ucr_wheel") is not None:
        raise ForecastlabError("--ucr-wheel only reads ucr:NAME datasets", arg="--ucr-wheel",
                               fix="drop it, or pass --data ucr:NAME")
    series = load_series(data, **({"target": options["target"]} if options.get("target") else {}))
    fit |= {k: options[k] for k in ("max_steps", "stride", "balanced", "below", "feature_set") if k in options}
    return classify_frost(series, **fit)


def load_event_series(data: str):
    """The events task's data: a public record as it is (tmy3 is hourly), any other resampled to 1 h."""
    from forecastlab.data import load_series
    from forecastlab.data.public import is_public

    return load_series(data) if is_public(data) else load_series(data, freq="1h")


def _events(options: dict, *, progress: bool, **checkpointing):
    from forecastlab.tasks.events import RULE, detect_fronts

    series = load_event_series(str(options.get("data") or "synthetic"))
    fit = _fit_options(options, ("model", "epochs", "max_steps", "seed", "warn_hours", "tolerance_hours",
                                 "lookback_hours"), progress, checkpointing)
    rule = {k: options[k] for k in ("drop", "turn") if k in options}
    return detect_fronts(series, **fit, rule=RULE | rule)


def _anomalies(options: dict) -> dict:
    """Scan for anomalies: the fault rules, the run's forecast residuals (with `run`), the autoencoder
    (with `autoencoder`); with `inject`, known faults are injected and every detector scored against
    them, and on a labelled series (ucr:InternalBleeding16) every detector is scored against its labels."""
    from forecastlab.tasks.anomaly import detect_anomalies, fault_benchmark, labelled_benchmark, labelled_truth

    run, series = load_anomaly_series(options.get("data") or "", options.get("run"), options.get("target"))
    detect = {"autoencoder_seed": options.get("seed", 0)} | {
        k: options[k] for k in ("threshold", "window_hours", "autoencoder") if k in options}
    tolerance = options.get("tolerance_hours")
    if options.get("inject") is not None:
        bench = fault_benchmark(series, run, seed=options["inject"], per_kind=options.get("per_kind", 5),
                                tolerance_hours=6.0 if tolerance is None else tolerance, **detect)
    elif labelled_truth(series) is not None:
        bench = labelled_benchmark(series, run, seed=options.get("seed", 0),
                                   tolerance_hours=100.0 if tolerance is None else tolerance, **detect)
    else:
        return {"result": detect_anomalies(series, run=run, **detect), "benchmark": None,
                "synthetic": series.provenance.source == "synthetic"}
    return {"result": bench["result"], "benchmark": {k: v for k, v in bench.items() if k != "result"},
            "synthetic": series.provenance.source == "synthetic"}


def load_anomaly_series(data: str, run_dir, target: str | None):
    """(the run or None, the series to scan): the run's own data (or `data`, read as the run's recipe
    says), uncleaned so that sentinels stay visible, and as the record holds it: without the derived
    columns of the run's feature set, which the residual detector makes from it (tasks.anomaly.model_input),
    so that the rules judge every raw column; without a run, `data` as it is."""
    from forecastlab.data import load_series
    from forecastlab.training import load_run
    from forecastlab.training.runner import run_series

    if run_dir is not None:
        run = load_run(run_dir)
        overrides = ({"no_clean": True, "feature_set": None, "derived": None} | ({"data": data} if data else {})
                     | ({"target": target} if target else {}))
        return run, run_series(run, **overrides)
    if not data:
        raise ForecastlabError("no data to scan", arg="--data", fix="pass --data FILE (or 'synthetic'), or --run RUN")
    return None, load_series(data, clean=False, **({"target": target} if target else {}))
