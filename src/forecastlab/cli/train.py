"""`forecastlab train`, `forecastlab predict`, `forecastlab evaluate`: thin layers over forecastlab.training."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import (  # given_options, parse_params, _check_out_file: used here and re-exported
    PATH_METAVAR,
    DataArgs,
    JsonOpt,
    WindowArgs,
    check_model_params,
    given_options,
    parse_params,
    path_parser,
    print_json,
    with_data_options,
    with_run_data_options,
    with_window_options,
)
from forecastlab.cli.options import check_out_file as _check_out_file
from forecastlab.console import console
from forecastlab.data.book import BOOK_MODELS
from forecastlab.errors import ForecastlabError
from forecastlab.training.recipe import DATA_KEYWORDS


class Optimizer(StrEnum):
    rmsprop = "rmsprop"
    adam = "adam"
    adamw = "adamw"
    sgd = "sgd"


class TargetTransform(StrEnum):
    none = "none"
    standardize = "standardize"
    residual = "residual"


ModelArg = Annotated[
    str | None,
    # The book's names from forecastlab.data.book, which (unlike forecastlab.models) imports no torch.
    typer.Argument(help=f"Model name: {', '.join(BOOK_MODELS)} (omit with --resume)."),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", help="Model hyperparameter KEY=VALUE, repeatable: --param units=64 "
                 "--param recurrent_dropout=0.1 (unknown keys list the valid ones)."),
]
RunDirArg = Annotated[Path, typer.Argument(help="Run directory written by `forecastlab train`.")]


@with_window_options
@with_data_options
def train_command(
    ctx: typer.Context,
    data_args: DataArgs,
    window_args: WindowArgs,
    model: ModelArg = None,
    epochs: Annotated[int | None, typer.Option(
        "--epochs", help="Epochs (default: the book's for the model; estimators such as lightgbm fit in one).")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate (default: Keras's, 1e-3).")] = None,
    optimizer: Annotated[Optimizer, typer.Option("--optimizer", help="rmsprop is the book's.")] = Optimizer.rmsprop,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for weights, dropout and shuffling.")] = 0,
    params: ParamOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run directory (default: runs/MODEL-TIME).",
                                             parser=path_parser("--out", "runs/my-run"), metavar=PATH_METAVAR)] = None,
    resume: Annotated[Path | None, typer.Option(
        "--resume", help="Continue this run directory with its own settings (only --epochs and --device may be given).",
        parser=path_parser("--resume", "runs/my-run"), metavar=PATH_METAVAR)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the results in --out.")] = False,
    early_stopping: Annotated[
        int | None, typer.Option("--early-stopping", help="Stop after N epochs without a better val loss.")
    ] = None,
    lr_schedule: Annotated[
        str | None, typer.Option("--lr-schedule", help="plateau, cosine, exponential or warmup_cosine (per step: "
                                 "warmup=FRACTION,min_lr=LR)[:key=value,...].")
    ] = None,
    max_steps_per_epoch: Annotated[
        int | None, typer.Option("--max-steps-per-epoch", help="Cap training batches per epoch.")
    ] = None,
    transforms: Annotated[str | None, typer.Option(
        "--transform", rich_help_panel="Data", show_default=False,
        help="Feature transforms before normalization: log1p|sqrt|asinh:COLUMN[,COLUMN...], several separated "
        "by ';' (never the target).")] = None,
    loss: Annotated[str, typer.Option(
        "--loss", help="mse (the book's), mae, huber[:delta=D] or quantile:0.1,0.5,0.9 (pinball; median as point).",
    )] = "mse",
    target_transform: Annotated[TargetTransform | None, typer.Option(
        "--target-transform", help="none: the book's raw target (the default for the book's seven models); "
        "standardize: train-split mean and std, undone at prediction (the default for every other model); "
        "residual: learn the change from the last observed value (persistence), added back at prediction.",
        show_default=False)] = None,
    interval_level: Annotated[float, typer.Option(
        "--interval-level", help="Nominal coverage of the conformal prediction intervals (calibrated on val).",
    )] = 0.8,
    device: Annotated[str | None, typer.Option("--device", help="auto (default), cpu or cuda[:N].")] = None,
    weight_decay: Annotated[float | None, typer.Option(
        "--weight-decay", help="Decoupled weight decay (default 0; adamw: Keras's 0.004).", show_default=False)] = None,
    clip_norm: Annotated[float | None, typer.Option(
        "--clip-norm", help="Clip the gradients' global L2 norm to this before each step.", show_default=False)] = None,
    seeds: Annotated[int, typer.Option(
        "--seeds", help="Train N runs, seeds --seed .. --seed+N-1, in --out/seed-K, and report mean and spread.",
        min=1, max=100)] = 1,
    config_file: Annotated[Path | None, typer.Option(
        "--config", help="A TOML recipe with these options (the command line wins where both set one); a recipe "
        "whose \\[task] kind is classify, events or anomalies runs that command with the file.",
        show_default=False, parser=path_parser("--config", "recipe.toml"), metavar=PATH_METAVAR)] = None,
    nproc: Annotated[int, typer.Option(
        "--nproc", help="Data-parallel processes on this machine (torchrun + DistributedDataParallel: gloo on "
        "CPU, NCCL on GPU); each trains on its part of every batch, rank 0 writes. Give the same N to resume.",
        min=1, max=256)] = 1,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar or epoch lines.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Train a model: MSE loss, MAE in the target's units, best checkpoint by val loss, test MAE at the end."""
    from forecastlab.cli import distributed

    if config_file is not None:  # another task's recipe goes to its command
        from forecastlab.training.recipe import task_kind

        kind = task_kind(read_recipe_file(config_file), str(config_file))
        if kind != "forecast":
            _run_other_task(ctx, config_file, kind, out=out, overwrite=overwrite, no_progress=no_progress,
                            json_out=json_out)
            return
    if resume is not None and not distributed.is_worker() and "nproc" not in given_options(ctx):
        nproc = _saved_nproc(resume) or nproc  # a data-parallel run resumes on its own number of processes
    if nproc > 1 and not distributed.is_worker():
        if seeds > 1:
            raise ForecastlabError("--nproc trains one run on several processes; --seeds trains several runs",
                                   where="--nproc, --seeds", fix="give one of them")
        raise typer.Exit(distributed.launch(nproc))
    if distributed.is_worker():
        if distributed.rank() > 0:  # every rank reads the same data: rank 0's warnings say it once
            import warnings

            from forecastlab.errors import ForecastlabWarning

            warnings.simplefilter("ignore", ForecastlabWarning)
        distributed.join_group(device)
        try:
            _train(ctx, data_args, window_args, model, epochs, lr, optimizer, seed, params, out, resume, overwrite,
                   early_stopping, lr_schedule, max_steps_per_epoch, transforms, loss, target_transform,
                   interval_level, device, weight_decay, clip_norm, seeds, config_file,
                   no_progress or distributed.rank() > 0, json_out, quiet=distributed.rank() > 0)
        finally:
            distributed.leave_group()
        return
    _train(ctx, data_args, window_args, model, epochs, lr, optimizer, seed, params, out, resume, overwrite,
           early_stopping, lr_schedule, max_steps_per_epoch, transforms, loss, target_transform, interval_level,
           device, weight_decay, clip_norm, seeds, config_file, no_progress, json_out)


def _train(*args, **kwargs):
    """_train_run; a refusal of a value that came from the --config file names the file and key, not a flag
    the user never typed."""
    import inspect

    bound = inspect.signature(_train_run).bind(*args, **kwargs)
    config_file, ctx = bound.arguments["config_file"], bound.arguments["ctx"]
    try:
        return _train_run(*args, **kwargs)
    except ForecastlabError as err:
        if config_file is None or err.arg is None or err.arg in given_options(ctx) or err.where not in (None, err.arg):
            raise  # a place in the data (row, column) stays where it is
        try:
            from_file = set(read_recipe(config_file))
        except ForecastlabError:
            raise err from None
        if err.arg not in from_file:
            raise
        fix = (err.fix or "").replace(f"{err.arg}=", f"{err.arg} = ")  # TOML's spelling, not a flag's
        raise ForecastlabError(err.what.replace(f"{err.arg}=", f"{err.arg} = "), where=f"{config_file}, key "
                               f"{err.arg}", fix=fix or None) from None


def _train_run(ctx, data_args, window_args, model, epochs, lr, optimizer, seed, params, out, resume, overwrite,
               early_stopping, lr_schedule, max_steps_per_epoch, transforms, loss, target_transform, interval_level,
               device, weight_decay, clip_norm, seeds, config_file, no_progress, json_out, *, quiet: bool = False):
    from forecastlab.training.run_dir import check_run_dir, read_config

    if config_file is not None:
        own = {"model": model, "epochs": epochs, "lr": lr, "optimizer": optimizer, "seed": seed, "params": params,
               "out": out, "overwrite": overwrite, "early_stopping": early_stopping, "lr_schedule": lr_schedule,
               "max_steps_per_epoch": max_steps_per_epoch, "loss": loss, "target_transform": target_transform,
               "interval_level": interval_level, "device": device, "weight_decay": weight_decay,
               "clip_norm": clip_norm, "seeds": seeds}
        if resume is not None:
            raise ForecastlabError("--config starts a new run; --resume continues one with its own recipe",
                                   where="--config, --resume", fix="give one of them")
        apply_recipe(read_recipe(config_file), own, data_args, window_args, given_options(ctx), config_file)
        (model, epochs, lr, optimizer, seed, params, out, overwrite, early_stopping, lr_schedule,
         max_steps_per_epoch, loss, target_transform, interval_level, device, weight_decay, clip_norm,
         seeds) = own.values()
    _check_epochs(epochs)
    if transforms is not None:  # a train-only data option (the command line wins over a recipe file)
        data_args = dataclasses.replace(data_args, transforms=transforms)
    from forecastlab.training.recipe import ModelRecipe, Recipe, TrainingRecipe
    from forecastlab.training.runner import run_recipe

    options = dict(ctx.params) | dataclasses.asdict(data_args) | dataclasses.asdict(window_args)
    if resume is not None:
        config = read_config(resume)
        _refuse_unresumable(config, resume)
        refuse_resume_conflicts(config, resume, {k: options[k] for k in given_options(ctx) if k in options})
        recipe = _resume_recipe(config, resume, epochs)
        from forecastlab.cli import distributed

        # one process only: a data-parallel resume (--nproc) is checked, and decided, by its ranks as before
        if not distributed.is_worker() and "nproc" not in given_options(ctx) \
                and _already_trained(resume, recipe.training.epochs, json_out):
            return  # nothing to do: the run's files stay as they are
        if device is not None:  # the one training setting a resumed run may change, with --epochs
            recipe = dataclasses.replace(recipe, training=dataclasses.replace(recipe.training, device=device))
        out = resume
    else:
        if model is None:
            raise ForecastlabError("no model given", where="forecastlab train MODEL",
                                   fix="name a model (e.g. `forecastlab train lstm`) or pass --resume RUN_DIR")
        from forecastlab.models import get_model_class

        cls = get_model_class(model)  # an unknown name fails before anything else
        model_params = parse_params(params)
        from_file = config_file is not None and "params" not in given_options(ctx)
        check_model_params(cls, model_params, config_file if from_file else None)
        recipe = Recipe(ModelRecipe(model, model_params), data_args.absolute(), window_args, TrainingRecipe(
            epochs=epochs, optimizer=str(optimizer), lr=lr, seed=seed, early_stopping=early_stopping,
            lr_schedule=lr_schedule, max_steps_per_epoch=max_steps_per_epoch, loss=loss,
            target_transform=str(target_transform) if target_transform is not None else None,
            interval_level=interval_level, device=device, weight_decay=weight_decay, clip_norm=clip_norm))
        out = out or Path("runs") / f"{model}-{datetime.now():%Y%m%d-%H%M%S}"
    # Before the (slow) data loading, so a refused run directory fails at once (rank 0 of several makes it).
    if not quiet:
        check_run_dir(out, resume=resume is not None, overwrite=overwrite, single=seeds == 1)
    if seeds > 1:
        _train_seeds(recipe, seeds, out, resume=resume, overwrite=overwrite, progress=not no_progress,
                     json_out=json_out)
        return
    series = recipe.data.load()
    if resume is not None:
        _refuse_changed_data(config, series, resume)
    from forecastlab.cli.interrupts import exit_interrupted
    from forecastlab.training import Interrupted
    from forecastlab.windows.spec import TooFewRowsError

    try:
        # A failed or interrupted new run removes only what it created (forecastlab.training.run_dir).
        result = run_recipe(recipe, out, resume=resume is not None, overwrite=overwrite, progress=not no_progress,
                            series=series)
    except Interrupted as interrupt:
        exit_interrupted(interrupt)
    except TooFewRowsError as err:  # a resumed run's window is its own: advise rows, not window flags
        if resume is not None:
            err.fixed_window("the run's window needs them")
        raise
    if quiet:  # a data-parallel rank other than 0: rank 0 reports
        return
    metrics = result.metrics()
    if json_out:
        print_json(metrics | {"history": result.history})
        return
    unit = metrics["unit"] or ""
    step = "round" if getattr(result.model, "kind", "torch") == "estimator" else "epoch"
    typer.echo(
        f"{metrics['model']}: best {step} {result.best_epoch}/{len(result.history)}, "
        f"val MAE {result.val['mae']:.3f} {unit}, test MAE {result.test['mae']:.3f} {unit}, "
        f"{result.params:,} params, {result.seconds_per_epoch:.1f} s/epoch; run in {result.run_dir}"
    )


_TRAIN_PANELS = {
    "Model": ("model", "params"),
    "Training": ("epochs", "lr", "optimizer", "seed", "early_stopping", "lr_schedule", "max_steps_per_epoch", "nproc",
                 "loss", "target_transform", "interval_level", "device", "weight_decay", "clip_norm", "seeds"),
    "Output": ("out", "resume", "overwrite", "config_file", "no_progress", "json_out"),
}


def _set_panels(command, panels: dict[str, tuple[str, ...]]) -> None:
    """Group a command's own options under headings in --help (data and window options have theirs)."""
    import inspect

    for parameter in inspect.signature(command).parameters.values():
        panel = next((name for name, members in panels.items() if parameter.name in members), None)
        for info in getattr(parameter.annotation, "__metadata__", ()):
            if panel and hasattr(info, "rich_help_panel"):
                info.rich_help_panel = panel


MAX_RECIPE_BYTES = 1 << 20


def read_recipe(path: Path) -> dict:
    """A forecasting recipe file as flat train options: top-level keys, or keys grouped in the tables
    named like the help panels ([model] name/params, [data], [window], [training], [output], and [task]
    with kind = "forecast"); each name as the option's, with underscores (lr_schedule, sample_every).
    Bounded in size; a bad file names the line, a recipe of another task names its command."""
    from forecastlab.training.recipe import check_task_kind, flat_options

    doc = read_recipe_file(path)
    check_task_kind(doc, str(path), "forecast")
    return flat_options(doc, str(path))


def read_recipe_file(path: Path) -> dict:
    """A recipe file's TOML (any task's), bounded in size."""
    from forecastlab.training.recipe import read_toml_file

    return read_toml_file(Path(path), "the recipe", MAX_RECIPE_BYTES, missing="the recipe file does not exist",
                          missing_fix="check the --config path", size_fix="a recipe is a few lines of TOML",
                          syntax_fix="see docs/training.md for a recipe example")


# What `train --config FILE` passes on when FILE is another task's recipe (the rest is the file's).
_TASK_PASSTHROUGH = ("config_file", "out", "overwrite", "no_progress", "json_out")


def _run_other_task(ctx: typer.Context, config_file: Path, kind: str, *, out: Path | None, overwrite: bool,
                    no_progress: bool, json_out: bool) -> None:
    """`train --config FILE` for a classify, events or anomalies recipe: that command, with the file."""
    from forecastlab.training.recipe import TASK_COMMANDS

    command = TASK_COMMANDS[kind]
    extra = sorted(f"--{k.replace('_', '-')}" for k in given_options(ctx) if k not in _TASK_PASSTHROUGH)
    if extra:
        raise ForecastlabError(f"{config_file} is a {kind} recipe; {', '.join(extra)} "
                               f"{'is a train option' if len(extra) == 1 else 'are train options'} that it "
                               "does not take", where=f"{config_file}, key task.kind", arg=extra[0],
                               fix=f"set them in the file, or run `forecastlab {command} --config {config_file}` "
                               "with that command's options")
    passed = {"config_file": config_file, "out": out, "overwrite": overwrite, "json_out": json_out}
    if kind == "classify":
        from forecastlab.cli.classify import classify_command as task_command
    elif kind == "events":
        from forecastlab.cli.events import events_command as task_command
    else:
        from forecastlab.cli.anomalies import anomalies_command as task_command
    if kind != "anomalies":  # a scan has no epochs to show
        passed["no_progress"] = no_progress
    task_command(ctx, **passed)


def _train_seeds(recipe, seeds: int, out: Path, *, resume, overwrite: bool, progress: bool, json_out: bool) -> None:
    """--seeds N: N runs of one recipe in OUT/seed-K, and their mean and spread (forecastlab.training.runner)."""
    if resume is not None:
        raise ForecastlabError("--seeds trains new runs; --resume continues one", where="--seeds, --resume",
                               fix="resume each OUT/seed-K run on its own")
    from forecastlab.cli.interrupts import exit_interrupted
    from forecastlab.training import Interrupted
    from forecastlab.training.runner import run_seeds

    try:
        summary = run_seeds(recipe, seeds, out, overwrite=overwrite, progress=progress)
    except Interrupted as interrupt:
        exit_interrupted(interrupt)
    if json_out:
        print_json(summary)
        return
    v, t, g = summary["val_mae"], summary["test_mae"], summary["gain_pct"]
    p = summary["persistence"]
    typer.echo(f"{summary['model']} over seeds {', '.join(map(str, summary['seeds']))}: val MAE {v['mean']:.3f} "
               f"± {v['std']:.3f}, test MAE {t['mean']:.3f} ± {t['std']:.3f} (persistence {p['test_mae']:.3f}: "
               f"{g['mean']:+.1f}% ± {g['std']:.1f}); runs and seeds.json in {out}")


def apply_recipe(recipe: dict, own: dict, data_args: DataArgs, window_args: WindowArgs, given: set[str],
                 path: Path) -> None:
    """Set every option the recipe names and the command line did not (the command line wins)."""
    known = set(own) | set(DataArgs.__dataclass_fields__) | set(WindowArgs.__dataclass_fields__)
    types = _option_types(data_args, window_args)
    for key, value in recipe.items():
        if key not in known:
            raise ForecastlabError(f"the recipe sets {key!r}, which is not a train option", where=f"{path}, key {key}",
                                   fix=f"use some of: {', '.join(sorted(known))}")
        if key in given or (key == "params" and "params" in given):
            continue
        if key == "params":
            if not isinstance(value, dict):
                raise ForecastlabError("params must be a table of model parameters", where=f"{path}, key params",
                                       fix="write [model.params] with units = 32, ...")
            value = [f"{k}={json.dumps(v)}" for k, v in value.items()]
        elif isinstance(value, dict | list):
            raise ForecastlabError(f"{key} must be a single value, got a {type(value).__name__}",
                                   where=f"{path}, key {key}", fix=f"e.g. {key} = \"...\"")
        if key == "horizons" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # horizons = 24: steps, as --horizons 24 is
        _check_recipe_value(key, value, path, types.get(key, object))
        if key in own:
            own[key] = Path(value) if key == "out" else value
        elif key in DataArgs.__dataclass_fields__:
            setattr(data_args, key, Path(value) if key == "data_dir" else value)
        else:
            setattr(window_args, key, value)


def _option_types(data_args, window_args) -> dict:
    """Each train option's allowed value types, from the command's own annotations and the recipe's."""
    import typing

    hints = {}
    for holder in (train_command, type(data_args), type(window_args)):
        for name, hint in typing.get_type_hints(holder, include_extras=True).items():
            hints.setdefault(name, hint)
    return hints


def _allowed(hint) -> list[type]:
    import types
    import typing

    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    args = typing.get_args(hint) if union else (hint,)
    return [a for a in args if a is not type(None)]


def _check_recipe_value(key: str, value, path: Path, hint) -> None:
    """A recipe file's value of the type the option takes (`hint`, its annotation): TOML's "2" is not 2, and
    "no" is not false (a string in a bool's place would otherwise read as true, and overwrite a run)."""
    import enum

    allowed = _allowed(hint)

    def fits(kind) -> bool:
        if kind is bool:
            return isinstance(value, bool)
        if kind is int:
            return isinstance(value, int) and not isinstance(value, bool)
        if kind is float:
            return isinstance(value, int | float) and not isinstance(value, bool)
        if kind in (str, Path) or (isinstance(kind, type) and issubclass(kind, str | enum.Enum)):
            return isinstance(value, str)
        return True  # a type this check does not know: the option's own parsing judges it

    if allowed and not any(fits(kind) for kind in allowed):
        names = " or ".join(dict.fromkeys(
            "true or false" if k is bool else "a whole number" if k is int else "a number" if k is float
            else "text" for k in allowed))
        example = {bool: "true", int: "2", float: "0.001"}.get(allowed[0])
        toml = {bool: "boolean", int: "integer", float: "float", str: "string"}.get(type(value), type(value).__name__)
        raise ForecastlabError(f"{key} must be {names}, got {value!r} (a TOML {toml})", where=f"{path}, key {key}",
                               fix=f"write {key} = {example}, without quotes" if example else
                               f'write {key} = "...", in quotes')


def _refuse_unresumable(config: dict, run_dir: Path) -> None:
    """An ensemble is made, not trained, and an estimator fits in one pass: neither has epochs to go on with."""
    name = (config.get("model") or {}).get("name")
    if name == "ensemble":
        raise ForecastlabError(f"{run_dir} is an ensemble: it is made from finished runs, not trained, so it cannot "
                               "be resumed", where=str(run_dir),
                               fix="resume or retrain its members, then make it again with `forecastlab ensemble "
                               "RUN ... --out DIR --overwrite`")
    if (config.get("training") or {}).get("optimizer") == "none":
        raise ForecastlabError(f"{run_dir} is a {name} run, an estimator fitted in one pass: it cannot be resumed "
                               "(there are no epochs to go on with)", where=str(run_dir),
                               fix=f"drop --resume and train it again into a new --out, e.g. `forecastlab train {name} "
                               "--param n_estimators=1000` for more boosting rounds")


def _check_epochs(epochs: int | None) -> None:
    if epochs is not None and epochs < 1:
        raise ForecastlabError(
            f"--epochs must be 1 or more, got {epochs}", where="--epochs",
            fix="pass --epochs 1 or more, or leave it out for the book's count (10; 50 for the dropout models)",
        )


def _resume_recipe(config: dict, run_dir: Path, epochs: int | None):
    """The recipe of the run to resume, from its config.json (refuse_resume_conflicts checked the options);
    only its epochs (and device) may change."""
    _saved_cli(config, run_dir)
    from forecastlab.training.recipe import recipe_of

    recipe = recipe_of(config)
    if epochs is not None:
        _check_not_fewer_epochs(run_dir, epochs)
    t = config["training"]
    return dataclasses.replace(recipe.as_input(), training=dataclasses.replace(
        recipe.training, epochs=t["epochs"] if epochs is None else epochs))


def _saved_cli(config: dict, run_dir: Path) -> dict:
    """What the CLI needs to rebuild a run's data and windows: its recipe's data, window and model params
    (config.json's extra.recipe, or for runs made before recipes, extra.cli)."""
    extra = config.get("extra", {})
    if extra.get("cli") and not extra.get("recipe"):
        check_saved_cli(extra["cli"], run_dir)
    from forecastlab.training.recipe import recipe_of

    recipe = recipe_of(config)
    if recipe is None or not (extra.get("recipe") or extra.get("cli")):
        raise ForecastlabError(
            "this run was started from Python without a recipe, so the CLI does not know how to rebuild its "
            "data and windows for training", where=str(run_dir / "config.json"),
            fix="resume it from Python: train(model, datasets, ..., out_dir=RUN_DIR, resume=True), or train "
            "with forecastlab.training.run_recipe, which records its recipe",
        )
    return {"data_args": dataclasses.asdict(recipe.data) | {"data_dir": _str(recipe.data.data_dir)},
            "window_args": dataclasses.asdict(recipe.window), "model_params": recipe.model.params}


def _str(path) -> str | None:
    return None if path is None else str(path)


def check_saved_cli(cli: dict, run_dir: Path) -> None:
    """The CLI's own section of config.json (its types are checked by the schema) names only options
    this CLI has: an unknown one means a hand edit or another version, and is named."""
    for key, cls in (("data_args", DataArgs), ("window_args", WindowArgs)):
        unknown = sorted(set(cli[key]) - set(cls.__dataclass_fields__))
        if unknown:
            raise ForecastlabError(
                f"config.json's extra.cli.{key} has unknown option(s) {', '.join(map(repr, unknown))}",
                where=f"{run_dir / 'config.json'}, key extra.cli.{key}.{unknown[0]}",
                fix="restore config.json from the run, or remove those keys")


def _already_trained(run_dir: Path, epochs: int, json_out: bool) -> bool:
    """A finished run resumed with no more epochs: said, and nothing rewritten (its metrics.json would get
    this process's seconds as its training time, and its files new dates)."""
    from forecastlab.training.run_dir import HISTORY, METRICS, read_history, read_metrics

    if not ((run_dir / HISTORY).is_file() and (run_dir / METRICS).is_file()):
        return False
    history = read_history(run_dir)
    if len(history) < epochs:
        return False
    if json_out:
        print_json(read_metrics(run_dir) | {"history": history, "nothing_to_train": True})
    else:
        typer.echo(f"nothing to train: {run_dir} has already trained its {len(history)} of {epochs} epochs; "
                   f"pass --epochs {len(history) + 1} or more to train it longer")
    return True


def _check_not_fewer_epochs(run_dir: Path, epochs: int) -> None:
    from forecastlab.training.run_dir import HISTORY, read_history

    done = len(read_history(run_dir)) if (run_dir / HISTORY).is_file() else 0
    if epochs < done:
        raise ForecastlabError(
            f"--epochs {epochs} is fewer than the {done} epochs this run has already trained",
            where=f"--epochs, {run_dir / HISTORY}",
            fix=f"pass --epochs {done + 1} or more to train it longer (or leave --epochs out to finish it)",
        )


# -- what the user typed, and what a resumed run must keep ---------------------------------------------

# Options a resumed run may take freely; every other explicitly given option must match the run.
def _saved_nproc(run_dir) -> int | None:
    """The processes a run was trained on (config.json's training.nproc), or None when it cannot be read
    (the resume then says why) or was one process."""
    from forecastlab.training.run_dir import read_config

    try:
        saved = (read_config(run_dir).get("training") or {}).get("nproc")
    except ForecastlabError:
        return None
    return saved if isinstance(saved, int) and not isinstance(saved, bool) and saved > 1 else None


_FREE_ON_RESUME = {"resume", "epochs", "device", "no_progress", "json_out", "config_file", "nproc"}


def refuse_resume_conflicts(config: dict, run_dir: Path, given: dict) -> None:
    """Raise when an option given with --resume differs from the run's own setting: resuming keeps the
    run's settings, so silently ignoring the option would train something the user did not ask for."""
    saved = _saved_options(config, run_dir)
    conflicts = []
    for name, value in given.items():
        if name in _FREE_ON_RESUME:
            continue
        if name == "params":
            conflicts += _param_conflicts(config, saved["params"], parse_params(value))
        elif name == "overwrite":
            conflicts.append("--overwrite (a resumed run continues its files; it never replaces them)")
        elif not _same(name, value, saved.get(name)):
            conflicts.append(f"{_spelling(name)} {_shown(value)} (the run's: {_shown(saved.get(name))})")
    if conflicts:
        raise ForecastlabError(
            "--resume continues a run with its own settings, but these options differ from them: "
            + "; ".join(conflicts),
            where=str(run_dir / "config.json"),
            fix="drop those options (with --resume only --epochs, --device, --no-progress and --json may "
            "be given), or start a new run with them: forecastlab train MODEL ... --out NEW_DIR",
        )


def _saved_options(config: dict, run_dir: Path) -> dict:
    cli = _saved_cli(config, run_dir)
    t = config["training"]
    return {"model": config["model"]["name"], "out": str(run_dir), "params": cli["model_params"],
            **{k: t[k] for k in ("lr", "optimizer", "seed", "early_stopping", "lr_schedule", "max_steps_per_epoch")},
            "weight_decay": t.get("weight_decay"), "clip_norm": t.get("clip_norm"),
            "loss": t.get("loss", "mse"), "target_transform": t.get("target_transform", "none"),
            "interval_level": t.get("interval_level", 0.8),
            **cli["data_args"], **cli["window_args"]}


def _param_conflicts(config: dict, saved_params: dict, given: dict) -> list[str]:
    # A key the run did not set explicitly still has a value: the one its model was built with.
    built = (config.get("model") or {}).get("config") or {}
    out = []
    for key, value in given.items():
        had = saved_params.get(key, built.get(key))
        if value != had:
            out.append(f"--param {key}={json.dumps(value)} (the run's: {json.dumps(had)})")
    return out


def _same(name: str, value, saved) -> bool:
    if name == "lr" and value is not None and saved is not None:
        return math.isclose(float(value), float(saved), rel_tol=1e-12)
    if name == "data":
        return absolute_data(str(value)) == absolute_data(str(saved))
    if name in ("data_dir", "out"):
        return (value is None) == (saved is None) and (value is None or _path(value) == _path(saved))
    return value == saved


def _spelling(name: str) -> str:
    return "model" if name == "model" else "--" + name.replace("_", "-")


def _shown(value) -> str:
    return "(not set)" if value is None else str(value)


def _path(value) -> Path:
    return Path(value).expanduser().resolve()




def absolute_data(data: str) -> str:
    """--data as the run stores it: keywords as they are, a file path made absolute (so the run finds its
    data from any working directory)."""
    key = data.strip()
    return key if key.lower() in DATA_KEYWORDS else str(_path(key))


def _refuse_changed_data(config: dict, series, run_dir: Path) -> None:
    from forecastlab.training.config import data_changed

    why = data_changed(config, series)
    if why:
        raise ForecastlabError(
            f"cannot resume: {why}", where=series.provenance.path,
            fix="restore the file the run was trained on, or train a new run on the new data with --out NEW_DIR",
        )


def _run_data_args(run, data_args: DataArgs, given: set[str]) -> DataArgs:
    """The data options to use with a saved run: its recipe's (forecastlab.training.recipe_of), with only the
    options the user actually gave replacing them (e.g. just --gaps drop keeps the run's --data)."""
    cli = (run.config.get("extra") or {}).get("cli")
    if cli and not (run.config.get("extra") or {}).get("recipe"):
        check_saved_cli(cli, run.run_dir)
    from forecastlab.training.recipe import recipe_of

    recipe = recipe_of(run.config)
    if recipe is None:  # nothing recorded: the data options as given, --data auto by default
        return dataclasses.replace(data_args, data=data_args.data or "auto")
    args = recipe.data
    if "data" not in given:
        console.print(f"using the run's data: --data {args.data}")
    return dataclasses.replace(args, **{k: getattr(data_args, k) for k in given if hasattr(args, k)})


def _load_run_series(run, data_args: DataArgs, given: set[str]):
    """The series a saved run is applied to, with a loud warning when the run's own file has changed."""
    from forecastlab.console import banner
    from forecastlab.training.config import data_changed

    args = _run_data_args(run, data_args, given)
    series = args.load()
    why = data_changed(run.config, series)
    if why:
        banner(f"{why}.\nThe numbers below come from the changed file, not from the data the run was "
               f"trained on.\nFile: {series.provenance.path}", title="DATA CHANGED", style="bold red")
    return series


DeviceOpt = Annotated[str | None, typer.Option("--device", help="auto (default: GPU if present), cpu or cuda[:N].")]


@with_run_data_options
def predict_command(
    ctx: typer.Context,
    data_args: DataArgs,
    run_dir: Annotated[Path, typer.Argument(metavar="ARTIFACT_OR_RUN", help="An artifact (forecastlab export) or a "
                                            "run directory written by `forecastlab train`.")],
    input_file: Annotated[Path | None, typer.Option(
        "--input", help="Fresh data: a CSV or Parquet file in the training format; the forecast is from its last "
        "rows (the origin is its last row).", show_default=False, parser=path_parser("--input", "recent.csv"),
        metavar=PATH_METAVAR)] = None,
    last: Annotated[int, typer.Option("--last", help="Predict from the last N windows (without --input).")] = 1,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the predictions to this CSV.",
                                             parser=path_parser("--out", "forecast.csv"), metavar=PATH_METAVAR)] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also draw a fan chart (recent history and the "
                                              "forecast with its interval) to this PNG.",
                                              parser=path_parser("--plot", "forecast.png"),
                                              metavar=PATH_METAVAR)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing --out / --plot files.")] = False,
    device: DeviceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Forecast with a trained run or artifact: from fresh data (--input), or from the latest window(s) of the
    run's own data."""
    from forecastlab.atomic import atomic_write_text
    from forecastlab.deploy.artifact import is_artifact, load_model

    for path, flag in ((out, "--out"), (plot, "--plot")):
        if path is not None:
            _check_out_file(path, overwrite, flag)  # before the slow part, so a refusal is immediate
    given = given_options(ctx)
    if input_file is None and is_artifact(run_dir):
        raise ForecastlabError("an artifact has no data of its own to forecast from", where=str(run_dir),
                               fix="pass --input recent.csv: the latest rows in the training format")
    if input_file is not None and (given & {"data", "features", "target", "time_col", "freq", "gaps", "no_clean"}):
        raise ForecastlabError("--input is read with the run's own data options; they cannot be changed with it",
                               arg="input", fix="leave out --data, --features, --target, --time-col, --freq, --gaps "
                               "and --no-clean")
    if input_file is not None:
        _check_input(input_file)  # before the model loads, so a refusal is immediate
    run = load_model(run_dir, device=device)
    if input_file is not None:
        _predict_fresh(run, input_file, out=out, plot=plot, json_out=json_out)
        return
    from forecastlab.training.forecast import forecast_table

    series = _load_run_series(run, data_args, given)
    table = forecast_table(run, series, last=last)
    if out is not None:
        atomic_write_text(out, table.to_csv(index=False))
    if plot is not None:
        _plot_last_window(run, series, table, plot)
    utc = bool((series.quality.get("time") or {}).get("utc"))  # the file's zones were converted
    if json_out:
        print_json({"run_dir": str(run_dir), "target": series.target, "unit": series.target_unit, "utc": utc,
                    "predictions": table.to_dict(orient="records")})
        return
    typer.echo(table.to_string(index=False))
    if utc:
        typer.echo("(times in UTC: the data's time zones converted)")


def _check_input(input_file: Path) -> None:
    """--input names a file that exists and is one (deploy.fresh.input_path), refused as --input: not as the data
    file of --data, whose keywords ('jena', 'synthetic') --input never takes."""
    import re

    from forecastlab.deploy.fresh import input_path

    try:
        input_path(input_file)
    except ForecastlabError as err:
        raise ForecastlabError(re.sub(r"^the input( file)?", "--input", err.what), where=f"--input {err.where}",
                               fix=err.fix) from None


def _predict_fresh(run, input_file: Path, *, out, plot, json_out: bool) -> None:
    from forecastlab.atomic import atomic_write_text
    from forecastlab.deploy.fresh import forecast_fresh

    forecast = forecast_fresh(run, input_file)
    if out is not None:
        frame = forecast.table
        if forecast.utc:  # the input's zones were converted: say so in every time written
            frame = frame.assign(origin=frame["origin"].dt.tz_localize("UTC"),
                                 target_time=frame["target_time"].dt.tz_localize("UTC"))
        atomic_write_text(out, frame.to_csv(index=False))
    if plot is not None:
        from forecastlab.reporting.fan_chart import plot_fan_chart

        plot_fan_chart(forecast.history, forecast.table, plot, unit=forecast.unit,
                       level=(forecast.interval or {}).get("level"),
                       title=f"{forecast.model}: {forecast.target} from {forecast.origin}")
    if json_out:
        print_json(forecast.to_dict())
        return
    from rich.console import Console
    from rich.table import Table

    interval = forecast.interval
    table = Table(title=f"{forecast.model} forecast of {forecast.target} from {forecast.source}"
                  + (" (times in UTC: the input's time zones converted)" if forecast.utc else ""), title_justify="left")
    columns = ["forecast origin", "horizon", "ahead", "target time", "value", "unit"]
    if interval:
        columns += [f"{interval['level']:.0%} lower", f"{interval['level']:.0%} upper"]
    for c in columns:
        table.add_column(c, justify="right" if c in ("horizon", "value") or c.endswith(("lower", "upper")) else "left")
    for rec in forecast.table.to_dict(orient="records"):
        row = [str(rec["origin"]), str(rec["horizon"]), rec["ahead"], str(rec["target_time"]), f"{rec['value']:.3f}",
               rec["unit"] or ""]
        if interval:
            row += [f"{rec['lower']:.3f}", f"{rec['upper']:.3f}"]
        table.add_row(*row)
    Console(highlight=False, markup=False, emoji=False, width=200).print(table)
    if interval:
        typer.echo(f"intervals: {interval['level']:.0%} ({interval['method']}, calibrated on the validation split)")


def _plot_last_window(run, series, table, plot: Path) -> None:
    import pandas as pd

    from forecastlab.reporting.fan_chart import plot_fan_chart

    last = table[table["window_end"] == table["window_end"].max()]
    keep = min(len(series), 3 * run.span_rows)
    history = pd.Series(series.targets[-keep:], index=pd.to_datetime(series.timestamps[-keep:]))
    history = history[history.index <= last["window_end"].iloc[0]]
    frame = last.rename(columns={"forecast_for": "target_time", "prediction": "value"})
    plot_fan_chart(history, frame, plot, unit=series.target_unit, level=run.calibration.level if run.calibration
                   else None, title=f"{run.config['model']['name']}: {series.target} from {last['window_end'].iloc[0]}")


@with_run_data_options
def evaluate_command(
    ctx: typer.Context,
    data_args: DataArgs,
    run_dir: RunDirArg,
    device: DeviceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Score a trained run's best model on the val and test splits of the data (default: the run's own)."""
    from forecastlab.deploy.artifact import load_model
    from forecastlab.training.forecast import evaluate_run

    run = load_model(run_dir, device=device)
    series = _load_run_series(run, data_args, given_options(ctx))
    scores = evaluate_run(run, series)
    if json_out:
        print_json({"run_dir": str(run_dir), "unit": series.target_unit} | scores)
        return
    unit = series.target_unit or ""
    steps = run.spec.steps
    for split, s in scores.items():
        typer.echo(f"{split:5s} MAE {s['mae']:.3f} {unit}  MSE {s['mse']:.3f}  ({s['n']:,} windows)")
        if len(steps) > 1:
            typer.echo("      MAE by horizon (steps): " + ", ".join(
                f"{h}: {m:.3f}" for h, m in zip(steps, s["mae_by_horizon"], strict=True)))
    cover = scores["test"].get("intervals")
    if cover:
        typer.echo(f"test  {cover['level']:.0%} intervals ({cover['method']}): coverage {cover['coverage_all']:.1%}, "
                   f"mean width {cover['width_all']:.3f} {unit}")
        if len(steps) > 1:
            typer.echo("      coverage by horizon: " + ", ".join(
                f"{h}: {c:.1%}" for h, c in zip(steps, cover["coverage"], strict=True)))


def register(app: typer.Typer) -> None:
    _set_panels(train_command, _TRAIN_PANELS)
    app.command("train")(train_command)
    app.command("predict")(predict_command)
    app.command("evaluate")(evaluate_command)
