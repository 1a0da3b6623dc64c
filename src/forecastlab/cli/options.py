"""Options shared by every command, so data and window options are spelled the same everywhere."""

from __future__ import annotations

import functools
import inspect
import json
import sys
import tempfile
import typing
from pathlib import Path
from typing import Annotated, Any

import typer

from forecastlab.errors import ForecastlabError, from_os_error
from forecastlab.training.recipe import DataRecipe, WindowRecipe


def path_parser(flag: str, example: str):
    """A typer `parser=` for a path option that refuses an empty value: Path("") is ".", so `--out ""` (an
    unset shell variable, say) would otherwise mean the current folder. Use it with metavar=PATH_METAVAR."""

    def parse(value):
        if isinstance(value, str) and not value.strip():
            raise ForecastlabError(f"{flag} is empty (an empty path would mean the current folder)", where=flag,
                                   fix=f"give {flag} a path, e.g. {flag} {example}")
        return Path(value) if isinstance(value, str) else value

    return parse


PATH_METAVAR = "<path>"  # what --help shows for a path option; with parser= it would show the parser's type


DataOpt = Annotated[
    str,
    typer.Option(
        "--data",
        help="'jena' (real file, downloaded and cached), 'synthetic' (built-in Jena-format data), "
        "'auto' (real Jena if available, else synthetic, with a banner) or a CSV/Parquet path.",
    ),
]
RunDataOpt = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="Default: the run's own data, as config.json records it. Or 'jena', 'synthetic', 'auto' or a "
        "CSV/Parquet path; any other data option given replaces only that one of the run's.",
        show_default=False,
    ),
]
TimeColOpt = Annotated[str | None, typer.Option("--time-col", help="Timestamp column (auto-detected).")]
TargetOpt = Annotated[str | None, typer.Option("--target", help="Column to forecast (Jena: 'T (degC)').")]
FeaturesOpt = Annotated[
    str | None, typer.Option("--features", help="Comma-separated input columns (default: all numeric); quote a "
                             "name that holds a comma, as in a CSV header: 'T (degC),\"wind, max (m/s)\"'.")
]
FreqOpt = Annotated[str | None, typer.Option("--freq", help="Resample to this regular grid, e.g. '10min', '1h'.")]
GapsOpt = Annotated[
    str,
    typer.Option("--gaps", help="Missing values: 'error', 'interpolate[:LIMIT]' (rows) or 'drop'."),
]
NoCleanOpt = Annotated[
    bool, typer.Option("--no-clean", help="Keep raw values: do not turn sentinels like -9999 into gaps.")
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Cache directory (default: per-user; env FORECASTLAB_DATA_DIR).",
                 parser=path_parser("--data-dir", "~/forecastlab-data"), metavar=PATH_METAVAR),
]
FeatureSetOpt = Annotated[str | None, typer.Option(
    "--feature-set", show_default=False,
    help="Derived inputs: book (none: the default), weather (wind vectors, hour/day-of-year terms, pressure and "
    "target tendencies) or auto (the same, found by column names, for any CSV).")]
LookbackOpt = Annotated[str, typer.Option("--lookback", help="History per window, as a duration (the book: 5d).")]
SampleEveryOpt = Annotated[str, typer.Option(
    "--sample-every", help="Keep one row per this duration inside a window (the book: 1h).")]
HorizonsOpt = Annotated[str, typer.Option(
    "--horizons", help="How far ahead: 24h (the book), a list 6h,12h,24h, a range 1h-24h, or sampled steps 1-24.")]
SequenceLengthOpt = Annotated[int | None, typer.Option(
    "--sequence-length", help="Keras's name: sampled steps per window (overrides --lookback).", show_default=False)]
SamplingRateOpt = Annotated[int | None, typer.Option(
    "--sampling-rate", help="Keras's name: keep one row in every N (overrides --sample-every).", show_default=False)]
HorizonOpt = Annotated[int | None, typer.Option(
    "--horizon", help="One horizon, in sampled steps (overrides --horizons).", show_default=False)]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", min=1, max=1 << 20, help="Windows per batch.")]
StrideOpt = Annotated[int, typer.Option(
    "--stride", help="Train on every Nth window only (Keras's sequence_stride); val and test use every window.")]
DropGapWindowsOpt = Annotated[
    bool | None,
    typer.Option(
        "--drop-gap-windows/--keep-gap-windows",
        help="Drop, or keep, the windows whose span crosses a hole in the time grid. Default: drop them, "
        "except on Jena-format data used row for row, where they are kept as the book does.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]

# The Python API's argument names -> the flags that set them. Library messages name arguments as Python
# does ("pass epochs=1 or more", arg="epochs"); the CLI prints them through this table
# (forecastlab.errors.cli_spelling), so the same message says "pass --epochs 1 or more" here. A key with a
# value is a switch whose flag stands for that value ("clean=False" -> "--no-clean").
FLAGS: dict[str, str] = {
    # forecastlab.data: load_series, fetch_jena, synthetic.write_csv
    "data": "--data", "time_col": "--time-col", "target": "--target", "features": "--features",
    "freq": "--freq", "gaps": "--gaps", "clean=False": "--no-clean", "data_dir": "--data-dir",
    "feature_set": "--feature-set",
    "url": "--url", "sha256": "--sha256", "timeout": "--timeout", "force=True": "--force",
    "start": "--start", "end": "--end",
    # forecastlab.windows: WindowSpec, make_datasets_from_series
    "sequence_length": "--sequence-length", "sampling_rate": "--sampling-rate", "horizon": "--horizon",
    "lookback": "--lookback", "sample_every": "--sample-every", "horizons": "--horizons",
    "loss": "--loss", "target_transform": "--target-transform", "interval_level": "--interval-level",
    "batch_size": "--batch-size", "stride": "--stride", "transforms": "--transform",
    "drop_gap_windows=True": "--drop-gap-windows",
    "drop_gap_windows=False": "--keep-gap-windows",
    # forecastlab.training: train, forecast_table
    "epochs": "--epochs", "optimizer": "--optimizer", "lr": "--lr", "seed": "--seed",
    "early_stopping": "--early-stopping", "lr_schedule": "--lr-schedule",
    "max_steps_per_epoch": "--max-steps-per-epoch", "device": "--device", "model_params": "--param",
    "weight_decay": "--weight-decay", "clip_norm": "--clip-norm", "seeds": "--seeds",
    "out_dir": "--out", "resume=True": "--resume", "overwrite=True": "--overwrite",
    "progress=False": "--no-progress", "last": "--last",
    # forecastlab.training.backtest
    "folds": "--folds", "refit=True": "--refit", "params": "--param",
    # forecastlab.deploy: export_run, forecast_fresh, create_app, check_bind
    "out": "--out", "onnx": "--onnx", "input": "--input", "host": "--host", "port": "--port", "token": "--token",
    "max_body_bytes": "--max-body-mb", "max_concurrency": "--max-concurrency",
    # forecastlab.reproduce
    "profile": "--profile", "models": "--models",
    # forecastlab.tasks: anomaly, classification, events
    "threshold": "--threshold", "window_hours": "--window-hours", "below": "--below", "drop": "--drop",
    "warn_hours": "--warn-hours", "tolerance_hours": "--tolerance-hours", "lookback_hours": "--lookback-hours",
    # classify's and events' batches per epoch (fit_classifier's max_steps); train, backtest and sweep call
    # theirs max_steps_per_epoch (--max-steps-per-epoch), a name of its own, so no message of theirs says max_steps.
    "max_steps": "--max-steps",
}


# The CLI parses its data and window options straight into the run recipe's dataclasses.
DataArgs = DataRecipe
WindowArgs = WindowRecipe


def print_json(obj: Any) -> None:
    """JSON on stdout, nothing else, so `--json | jq` always works."""
    from forecastlab.atomic import json_text

    sys.stdout.write(json_text(obj) + "\n")


_DATA_OPTIONS: dict[str, tuple[Any, Any]] = {
    # parameter name -> (annotation, default); names match DataArgs' fields.
    "data": (DataOpt, "auto"),
    "time_col": (TimeColOpt, None),
    "target": (TargetOpt, None),
    "features": (FeaturesOpt, None),
    "freq": (FreqOpt, None),
    "gaps": (GapsOpt, "interpolate"),
    "no_clean": (NoCleanOpt, False),
    "data_dir": (DataDirOpt, None),
    "feature_set": (FeatureSetOpt, None),
}
_WINDOW_OPTIONS: dict[str, tuple[Any, Any]] = {
    "lookback": (LookbackOpt, "5d"),
    "sample_every": (SampleEveryOpt, "1h"),
    "horizons": (HorizonsOpt, "24h"),
    "sequence_length": (SequenceLengthOpt, None),
    "sampling_rate": (SamplingRateOpt, None),
    "horizon": (HorizonOpt, None),
    "batch_size": (BatchSizeOpt, 256),
    "stride": (StrideOpt, 1),
    "drop_gap_windows": (DropGapWindowsOpt, None),
}


_NOT_EMPTY = {"data", "time_col", "target", "features", "freq", "gaps", "feature_set", "lookback", "sample_every",
              "horizons"}


def _inject(options: dict[str, tuple[Any, Any]], arg_name: str, factory, on_error=None):
    """Decorator factory: append `options` to a typer command's signature and hand them to the
    command bundled as one object, so every command declares (and spells) them identically.
    `on_error(err, bundled)`: called with a ForecastlabError the command raises, before it goes on up
    (to word it with the options as the user gave them)."""

    def decorator(func):
        sig = inspect.signature(func)
        # Resolve string annotations (PEP 563) here: typer reads the signature we build, not func's.
        hints = {k: v for k, v in typing.get_type_hints(func, include_extras=True).items() if k != arg_name}
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in sig.parameters.values() if p.name != arg_name]
        extra = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
            for name, (annotation, default) in options.items()
        ]

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for name in _NOT_EMPTY & set(options):  # '' would read as "not given" (the default) or as "."
                if isinstance(kwargs.get(name), str) and not kwargs[name].strip():
                    raise ForecastlabError(f"{FLAGS[name]} is empty", where=FLAGS[name],
                                           fix=f"give {FLAGS[name]} a value, or leave it out for the default")
            bundled = factory(**{name: kwargs.pop(name) for name in options})
            try:
                return func(*args, **{arg_name: bundled}, **kwargs)
            except ForecastlabError as err:
                if on_error is not None:
                    on_error(err, bundled)
                raise

        wrapper.__signature__ = sig.replace(parameters=own + extra)
        wrapper.__annotations__ = hints | {name: ann for name, (ann, _) in options.items()}
        return wrapper

    return decorator


def _panel(options: dict[str, tuple[Any, Any]], name: str) -> dict[str, tuple[Any, Any]]:
    """The same options, shown under their own heading in --help."""
    for annotation, _ in options.values():
        for info in getattr(annotation, "__metadata__", ()):
            if hasattr(info, "rich_help_panel"):
                info.rich_help_panel = name
    return options


with_data_options = _inject(_panel(_DATA_OPTIONS, "Data"), "data_args", DataArgs)
# predict and evaluate: the same options, defaulting to the run's own data.
_RUN_DATA_OPTIONS = _DATA_OPTIONS | {"data": (RunDataOpt, None)}
with_run_data_options = _inject(_panel(_RUN_DATA_OPTIONS, "Data"), "data_args", DataArgs)


def _window_advice(err: ForecastlabError, window: WindowArgs) -> None:
    """A too-few-rows refusal (windows.spec.TooFewRowsError) advises lowering the window options the window was
    set with, as the user gave them: --lookback (a duration, the default) or --sequence-length (steps, when
    given), --horizons or --horizon, and the sampling (--sampling-rate or --sample-every) only for a window
    counted in steps, since a --lookback spans the same rows at any sampling. `window` is read when the error
    comes, so a --config recipe's window settings (applied to it by then) count as given."""
    from forecastlab.windows.spec import TooFewRowsError

    if not isinstance(err, TooFewRowsError):
        return
    in_steps = window.sequence_length is not None
    knobs = ["sequence_length=" if in_steps else "lookback="]
    if in_steps:
        knobs.append("sampling_rate=" if window.sampling_rate is not None else "sample_every=")
    knobs.append("horizon=" if window.horizon is not None else "horizons=")
    err.advise(tuple(knobs))


with_window_options = _inject(_panel(_WINDOW_OPTIONS, "Window"), "window_args", WindowArgs, _window_advice)


MAX_TASK_CONFIG_BYTES = 1 << 16


def task_config(path: Path, given: set[str], values: dict[str, Any], *, keys: tuple[str, ...],
                name: str) -> tuple[dict[str, Any], set[str]]:
    """A task command's options from a TOML file (`classify --config frost.toml`): top-level keys are the
    command's option names with underscores (`max_steps = 150`), `[params]` the model's parameters; or the
    same keys grouped in a recipe's tables, with [task] kind = `name` (training.recipe.flat_options). An
    option given on the command line wins. Returns (the options, the names now set: the command line's and
    the file's). Unknown keys, wrong types and values out of range (tasks.recipes.OPTION_TYPES, the same as
    the command's options) are errors that name the key; nothing else is read."""
    from forecastlab.tasks.recipes import OPTION_TYPES, check_option
    from forecastlab.training.recipe import check_task_kind, flat_options, read_toml_file

    doc = read_toml_file(path, "the task file", MAX_TASK_CONFIG_BYTES, missing="the --config file does not exist",
                         missing_fix="check the --config path", size_fix="a task file is a few lines of TOML",
                         syntax_fix=f"see docs/classification.md for a `forecastlab {name}` task file")
    task = doc.get("task")
    if task is not None and not (isinstance(task, dict) and "kind" not in task):  # no kind: this command's
        check_task_kind(doc, str(path), name)
    spelled: dict[str, str] = {}
    doc = flat_options(doc, str(path), spelled)
    out, set_now = dict(values), set(given)
    for key, value in doc.items():
        where = f"{path}, key {spelled.get(key, key)}"
        if key not in keys:
            raise ForecastlabError(f"{key!r} is not an option a `forecastlab {name}` task file sets",
                                   where=where, fix=f"use these keys: {', '.join(keys)}")
        value = check_option(name, key, value, where)
        if key == "params":
            value = [f"{k}={json.dumps(v)}" for k, v in value.items()]
        elif OPTION_TYPES[name][key][0] == "path":
            if not value.strip():  # as path_parser refuses `--out ""`: Path("") would be the current folder
                raise ForecastlabError(f"{key} is empty (an empty path would mean the current folder)", where=where,
                                       fix=f"give {key} a path, or leave the key out")
            value = Path(value)
        set_now.add(key)
        if key not in given:
            out[key] = value
    return out, set_now


def given_options(ctx: typer.Context) -> set[str]:
    """Names of the parameters the user actually passed (on the command line or via the environment),
    as opposed to those left at their defaults: a default is never a request."""
    return {name for name in ctx.params
            if getattr(ctx.get_parameter_source(name), "name", "DEFAULT") not in ("DEFAULT", "DEFAULT_MAP")}


def parse_params(items: list[str] | None) -> dict:
    """['units=64', 'recurrent_dropout=0.1', 'mode=weight'] -> {'units': 64, ...}; values are JSON
    when they parse as JSON (numbers, true/false, lists), else strings."""
    params = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ForecastlabError(f"bad --param {item!r}", where="--param",
                                   fix="write KEY=VALUE, e.g. --param units=64")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def check_model_params(cls, params: dict, config_file: Path | None = None) -> dict:
    """The model's parameters checked before the (slow) data loading, each refusal placed where the user wrote
    the value: `--param KEY` or the --config file's [model.params] KEY. The model is built with the data's
    columns and window later; one column and one step here make the weight count the smallest it can be,
    so a model refused here is too large on any data. Returns `params`."""
    try:
        cls.check_names(params, "--param")
        cls.check_params(cls.hyperparameters() | params | {"n_features": 1, "sequence_length": 1})
    except ForecastlabError as err:
        key = (err.where or "").rsplit("parameter ", 1)[-1].strip("'") if "parameter " in (err.where or "") else None
        if config_file is not None:
            where = f"{config_file}, [model.params]" + (f" {key}" if key else "")
            what, fix = err.what, (err.fix or "").replace(f"{key}=", f"{key} = ") if key else err.fix
        else:
            where, what, fix = f"--param {key}" if key else "--param", err.what, err.fix
        raise ForecastlabError(what, where=where, fix=fix) from None
    return params


IMAGE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg")


def check_out_file(out: Path, overwrite: bool, flag: str = "--out") -> None:
    """Refuse an output file (given with `flag`) that exists (unless overwrite), is a folder, or cannot be
    written, before the slow part."""
    image = flag == "--plot"  # a matplotlib figure: its format follows the name's suffix
    if out.is_dir():
        example = "plot.png" if image else "report.html" if flag == "--report" else "forecast.csv"
        raise ForecastlabError(f"{flag} is a directory", where=str(out), fix=f"give a file name, e.g. {example}")
    if image and out.suffix.lower() not in IMAGE_SUFFIXES:
        raise ForecastlabError(f"{flag} writes an image, and {out.name!r} does not end like one", where=str(out),
                               fix=f"give it one of these suffixes: {', '.join(IMAGE_SUFFIXES)}")
    if out.exists() and not overwrite:
        raise ForecastlabError(
            "the output file already exists; refusing to overwrite it", where=str(out),
            fix=f"pass --overwrite to replace it, or choose another {flag}",
        )
    from forecastlab.deploy.artifact import enclosing_artifact

    artifact = enclosing_artifact(out)
    if artifact is not None:  # an artifact holds exactly the files its manifest lists: one more breaks it
        raise ForecastlabError(f"{flag} is inside the artifact {artifact}, which would then fail its manifest check "
                               "(serve and predict refuse an artifact with files it does not list)", where=str(out),
                               fix=f"write {flag} outside the artifact, e.g. beside it")
    existing = next(p for p in (out.parent, *out.parent.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        raise ForecastlabError(f"the folder for {flag} cannot be made: {existing} is a file, not a folder",
                               where=str(out), fix=f"give {flag} a path inside a folder, or move that file away")
    if not out.parent.is_dir():
        raise ForecastlabError(f"the folder for {flag} does not exist", where=str(out.parent),
                               fix=f"create it first, or choose another {flag}")
    try:  # a real write in the folder, so the refusal comes before the slow part, with the system's reason
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".probe"):
            pass
    except OSError as err:
        raise from_os_error(OSError(err.errno, err.strerror, str(out)), "cannot write") from None

