"""`forecastlab sweep MODEL --trials N`: a thin layer over forecastlab.tuning (Optuna)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import (
    PATH_METAVAR,
    DataArgs,
    JsonOpt,
    WindowArgs,
    check_model_params,
    path_parser,
    print_json,
    with_data_options,
    with_window_options,
)
from forecastlab.cli.train import Optimizer, ParamOpt, TargetTransform, parse_params
from forecastlab.data.book import BOOK_MODELS
from forecastlab.errors import ForecastlabError, cli_spelling

STORAGE_ENV = "FORECASTLAB_SWEEP_STORAGE"  # a URL with a password stays out of the shell history

# forecastlab.tuning.sweep's argument names, as this command spells them (beside the CLI's own table,
# options.FLAGS, which the error printer applies after these): its `seed` is the sampler's, not training's.
_FLAGS = {"study": "--study", "storage": "--storage", "trials": "--trials", "pruner": "--pruner",
          "heartbeat": "--heartbeat", "space": "--space", "seed": "--sampler-seed", "out": "--out"}

SweepModelArg = Annotated[str | None, typer.Argument(
    help=f"Model name: {', '.join(BOOK_MODELS)} or any registered one (forecastlab models); omit it with "
    "--export-best and --out to export an existing sweep's best recipe.", show_default=False)]


@with_window_options
@with_data_options
def sweep_command(
    data_args: DataArgs,
    window_args: WindowArgs,
    model: SweepModelArg = None,
    trials: Annotated[int | None, typer.Option(
        "--trials", help="Trials in the whole study, shared by all its workers (start the same command again, "
        "here or on another machine with --storage, to add a worker).", min=1, max=10_000,
        rich_help_panel="Sweep", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Sweep directory: trials/, study.db, sweep.json, plots, best.toml (default: sweeps/MODEL).",
        rich_help_panel="Sweep", show_default=False, parser=path_parser("--out", "sweeps/lstm"),
        metavar=PATH_METAVAR)] = None,
    storage: Annotated[str | None, typer.Option(
        "--storage", envvar=STORAGE_ENV, help="Database URL shared by workers on several machines, e.g. "
        "postgresql://user@host:5432/optuna (default: OUT/study.db, SQLite, for the workers of this machine).",
        rich_help_panel="Sweep", show_default=False)] = None,
    study: Annotated[str | None, typer.Option(
        "--study", help="Study name (default: sweep-MODEL).", rich_help_panel="Sweep", show_default=False)] = None,
    space: Annotated[Path | None, typer.Option(
        "--space", help="Search-space TOML file (default: the built-in one; see --print-space).",
        rich_help_panel="Sweep", show_default=False)] = None,
    pruner: Annotated[str, typer.Option(
        "--pruner", help="median, hyperband or none; fed each epoch's val loss.", rich_help_panel="Sweep")] = "median",
    sampler_seed: Annotated[int | None, typer.Option(
        "--sampler-seed", help="Seed of the TPE sampler (one worker then repeats itself).", min=0, max=2**32 - 1,
        rich_help_panel="Sweep", show_default=False)] = None,
    heartbeat: Annotated[int, typer.Option(
        "--heartbeat", help="Seconds between a running trial's heartbeats; a trial silent for 3 of them is "
        "marked failed by the other workers.", min=1, max=3600, rich_help_panel="Sweep")] = 10,
    print_space: Annotated[bool, typer.Option(
        "--print-space", help="Show MODEL's search space (from --space or the built-in one) and exit.",
        rich_help_panel="Sweep")] = False,
    export_best: Annotated[Path | None, typer.Option(
        "--export-best", help="Write the best trial's recipe to this TOML file (for `train --config`); without "
        "--trials, from the existing sweep in --out.", rich_help_panel="Sweep", show_default=False,
        parser=path_parser("--export-best", "best.toml"), metavar=PATH_METAVAR)] = None,
    epochs: Annotated[int | None, typer.Option(
        "--epochs", help="Epochs per trial (default: the model's book epochs).", rich_help_panel="Training",
        min=1, show_default=False)] = None,
    max_steps_per_epoch: Annotated[int | None, typer.Option(
        "--max-steps-per-epoch", help="Cap training batches per epoch.", rich_help_panel="Training",
        min=1, show_default=False)] = None,
    loss: Annotated[str, typer.Option("--loss", help="As for train.", rich_help_panel="Training")] = "mse",
    target_transform: Annotated[TargetTransform | None, typer.Option(
        "--target-transform", help="As for train.", rich_help_panel="Training", show_default=False)] = None,
    optimizer: Annotated[Optimizer, typer.Option(
        "--optimizer", help="When the space does not sweep it.", rich_help_panel="Training")] = Optimizer.rmsprop,
    lr: Annotated[float | None, typer.Option(
        "--lr", help="When the space does not sweep it.", rich_help_panel="Training", show_default=False)] = None,
    params: ParamOpt = None,
    early_stopping: Annotated[int | None, typer.Option(
        "--early-stopping", help="Patience in epochs on val loss.", rich_help_panel="Training",
        show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Training seed of every trial.",
                                      rich_help_panel="Training")] = 0,
    device: Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda[:N].", rich_help_panel="Training",
                                               show_default=False)] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No line per trial event.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Search hyperparameters with Optuna: N trials shared by any number of workers, pruned on val loss,
    chosen by validation MAE (never test); prints the best trial and a summary table."""
    from forecastlab.tuning import space as sp

    if print_space:
        if model is None:
            raise ForecastlabError("--print-space needs a MODEL", where="forecastlab sweep MODEL --print-space",
                                   fix="name a model, e.g. `forecastlab sweep lstm --print-space`")
        dims = sp.model_space(model, space)
        if json_out:
            print_json({"model": model, "space": {d.key: d.to_dict() for d in dims},
                        "file": str(space or sp.DEFAULT_SPACE)})
            return
        typer.echo(f"# {model}'s search space, from {space or sp.DEFAULT_SPACE}")
        for d in dims:
            typer.echo(f"# {d.key}: {d.text()}")
        typer.echo(sp.space_toml(model, dims), nl=False)
        return
    import optuna

    from forecastlab.tuning import sweep as sw

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own line per trial event instead of optuna's
    if trials is None:
        if export_best is None:
            raise ForecastlabError("no --trials given", where="--trials",
                                   fix="pass --trials N (the study's total), or --export-best FILE --out SWEEP_DIR to "
                                   "export an existing sweep's best recipe")
        if out is None:
            raise ForecastlabError("--export-best without --trials reads an existing sweep: give its --out",
                                   where="--out", fix="pass --out SWEEP_DIR")
        _refuse_existing(export_best)
        with _as_flags():
            path = sw.export_best(out, export_best, storage=storage, study=study)
        if json_out:
            print_json({"best_recipe": str(path)})
        else:
            typer.echo(f"wrote the best trial's recipe to {path}; train it with `forecastlab train --config {path}`")
        return
    if model is None:
        raise ForecastlabError("no model given", where="forecastlab sweep MODEL",
                               fix="name a model, e.g. `forecastlab sweep lstm --trials 20`")
    if export_best is not None:
        _refuse_existing(export_best)
    from forecastlab.models import get_model_class
    from forecastlab.training.recipe import ModelRecipe, Recipe, TrainingRecipe

    check_model_params(get_model_class(model), parse_params(params))  # before the study and the data
    if pruner not in sw.PRUNERS:
        raise ForecastlabError(f"unknown pruner {pruner!r}", where="--pruner",
                               fix=f"use one of: {', '.join(sw.PRUNERS)}")
    recipe = Recipe(ModelRecipe(model, parse_params(params)), data_args.absolute(), window_args, TrainingRecipe(
        epochs=epochs, optimizer=str(optimizer), lr=lr, seed=seed, early_stopping=early_stopping,
        max_steps_per_epoch=max_steps_per_epoch, loss=loss,
        target_transform=str(target_transform) if target_transform is not None else None, device=device))
    out = out or Path("sweeps") / model
    say = None if no_progress or json_out else (lambda text: typer.echo(text, err=True))
    with _as_flags():
        summary = sw.sweep(recipe, trials=trials, out=out, storage=storage, study=study, space=space, pruner=pruner,
                           seed=sampler_seed, heartbeat=heartbeat, progress=say)
        if export_best is not None and summary["best"] is not None:
            summary["best_recipe"] = str(sw.export_best(out, export_best, storage=storage, study=summary["study"]))
    if json_out:
        print_json(summary)
        return
    _print_summary(summary, out)


@contextlib.contextmanager
def _as_flags():
    """The library's errors with its argument names (study=, trials, ...) as this command's flags."""
    try:
        yield
    except ForecastlabError as err:
        what, arg = err.what, err.arg
        if arg in _FLAGS and what.startswith(arg + " "):  # "trials must be ..." -> "--trials must be ..."
            what = _FLAGS[arg] + what[len(arg):]
        where = _FLAGS.get(err.where) or cli_spelling(err.where, _FLAGS)
        raise ForecastlabError(cli_spelling(what, _FLAGS), where=where, fix=cli_spelling(err.fix, _FLAGS),
                               arg=None if arg in _FLAGS else arg) from None


def _refuse_existing(path: Path) -> None:
    if path.exists():
        raise ForecastlabError("the --export-best file exists", where=str(path),
                               fix="choose another path, or remove that file first")


def _print_summary(summary: dict, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary["counts"].items()))
    table = Table(title=f"study {summary['study']} ({summary['model']}, {summary['trials']} trials: {counts}); "
                  "objective: validation MAE", title_justify="left")
    for name, justify in (("trial", "right"), ("state", "left"), ("val MAE", "right"), ("test MAE", "right"),
                          ("epochs", "right"), ("seconds", "right"), ("parameters", "left")):
        table.add_column(name, justify=justify)
    best = (summary["best"] or {}).get("number")

    def num(v, spec=".4f"):
        return "—" if v is None else format(v, spec)

    for r in summary["trial_rows"]:
        params = ", ".join(f"{k.split('.')[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
                           for k, v in r["params"].items())
        state = r["state"] + (f": {r['reason'].splitlines()[0][:60]}" if r["state"] == "failed" and r["reason"] else "")
        table.add_row(str(r["number"]), state, num(r["val_mae"]), num(r["test_mae"]), num(r["epochs_run"], "d"),
                      num(r["seconds"], ".1f"), params, style="bold" if r["number"] == best else None)
    console = Console(highlight=False, markup=False, emoji=False, width=max(100, _columns()))
    console.print(table)
    if summary["best"] is None:
        console.print("no trial completed; see each trial's reason above and in its trial.json")
        return
    b = summary["best"]
    console.print(f"best: trial {b['number']}, val MAE {b['val_mae']:.4f} (test {b['test_mae']:.4f}, not used to "
                  f"choose); run in {b['run_dir']}")
    console.print(f"summary, plots and best.toml in {out}; train the best: forecastlab train --config "
                  f"{Path(out) / 'best.toml'}")


def _columns() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 160


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_command)
