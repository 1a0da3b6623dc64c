"""`forecastlab backtest (RUN_DIR | MODEL)`: a thin layer over forecastlab.training.backtest."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import (
    DataArgs,
    JsonOpt,
    WindowArgs,
    check_model_params,
    print_json,
    with_run_data_options,
    with_window_options,
)
from forecastlab.cli.train import TargetTransform, _check_out_file, _load_run_series, given_options, parse_params
from forecastlab.errors import ForecastlabError

_WINDOW_FLAGS = ("sequence_length", "sampling_rate", "horizon", "lookback", "sample_every", "horizons", "stride",
                 "batch_size", "drop_gap_windows")
_FIT_FLAGS = ("epochs", "params", "loss", "target_transform", "max_steps_per_epoch")


@with_window_options
@with_run_data_options
def backtest_command(
    ctx: typer.Context,
    data_args: DataArgs,
    window_args: WindowArgs,
    run_or_model: Annotated[str, typer.Argument(
        metavar="RUN_DIR|MODEL", help="A trained run directory, or a registered model name to fit (forecastlab "
        "models lists them).", show_default=False)],
    folds: Annotated[int, typer.Option("--folds", help="Consecutive test folds after the training period.")] = 5,
    refit: Annotated[bool, typer.Option(
        "--refit/--no-refit", help="Fit the model again before every fold on all earlier data (an expanding "
        "window), with the run's recipe; --no-refit applies one model to every fold.")] = False,
    epochs: Annotated[int | None, typer.Option(
        "--epochs", help="MODEL only: epochs per fit (default: the model's book epochs).")] = None,
    params: Annotated[list[str] | None, typer.Option(
        "--param", help="MODEL only: a model parameter KEY=VALUE (repeatable).")] = None,
    loss: Annotated[str | None, typer.Option("--loss", help="MODEL only: as for train (default mse).")] = None,
    target_transform: Annotated[TargetTransform | None, typer.Option(
        "--target-transform", help="MODEL only: none or standardize (default: the model's).",
        show_default=False)] = None,
    max_steps_per_epoch: Annotated[int | None, typer.Option(
        "--max-steps-per-epoch", help="MODEL only: cap training batches per epoch.")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of every fit.")] = 0,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the MAE-per-fold plot to this PNG.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --plot file.")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars while fitting.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Rolling-origin backtest: per fold and horizon, the MAE of a run or a model beside the baselines."""
    from forecastlab.training import load_run
    from forecastlab.training.backtest import backtest

    if plot is not None:
        _check_out_file(plot, overwrite, "--plot")
    given = given_options(ctx)
    target = run_or_model
    if Path(target).is_dir():
        _refuse(given, _WINDOW_FLAGS + _FIT_FLAGS, "a run brings its own window and recipe")
        source = load_run(target)
        series = _load_run_series(source, data_args, given)
        options, spec = {}, None
    else:
        from forecastlab.models import MODELS

        if target not in MODELS:
            raise ForecastlabError(f"{target!r} is neither a run directory nor a registered model",
                                   where="RUN_DIR|MODEL",
                                   fix=f"pass a run directory, or one of: {', '.join(MODELS)}")
        source = target
        model_params = check_model_params(MODELS[target], parse_params(params))  # before the data is read
        series = dataclasses.replace(data_args, data=data_args.data or "auto").load()
        spec = window_args.spec(series)
        options = {"epochs": epochs, "model_params": model_params, "loss": loss or "mse",
                   "target_transform": target_transform, "max_steps_per_epoch": max_steps_per_epoch}
    result = backtest(source, series, folds=folds, refit=refit, spec=spec, seed=seed,
                      batch_size=window_args.batch_size, train_options=options, progress=not no_progress)
    out = result.to_dict()
    if plot is not None:
        from forecastlab.reporting.backtest import plot_backtest

        out["plot"] = str(plot_backtest(out, plot))
    if json_out:
        print_json(out)
        return
    _print_table(result, out.get("plot"))


def _refuse(given: set[str], flags: tuple[str, ...], why: str) -> None:
    from forecastlab.cli.options import FLAGS

    bad = [f for f in flags if f in given]
    if bad:
        shown = ", ".join(FLAGS.get(f, "--" + f.replace("_", "-")) for f in bad)
        raise ForecastlabError(f"{shown} cannot be given with a run directory: {why}", where=shown,
                               fix="leave them out, or backtest a model name with them")


def _print_table(result, plot: str | None) -> None:
    unit = result.unit or ""
    names = list(result.summary["mae"])
    short = {"seasonal_persistence": "seasonal", "climatology": "climatology"}
    heads = [short.get(n, n) for n in names]
    widths = [max(len(h), 7) + 2 for h in heads]
    typer.echo(f"backtest of {result.model}: {len(result.folds)} folds, "
               f"{'refit before each fold' if result.refit else 'no refit'}; MAE in {unit or 'target units'}"
               " (seasonal: seasonal persistence)")
    typer.echo("fold  first origin         windows" + "".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True)))
    for fold in result.folds:
        typer.echo(f"{fold['fold']:>4}  {fold['first_origin'][:19]:<19}  {fold['windows']:>7,}"
                   + "".join(f"{fold['mae'][n]['all']:>{w}.3f}" for n, w in zip(names, widths, strict=True)))
    for stat in ("mean", "std"):
        typer.echo(f"{stat:<4}  {'':<19}  {'':>7}" + "".join(
            f"{result.summary['mae'][n][stat]:>{w}.3f}" for n, w in zip(names, widths, strict=True)))
    if len(result.horizons) > 1:
        model = names[0]
        typer.echo(f"{model} mean MAE by horizon (steps): " + ", ".join(
            f"{h}: {m:.3f}" for h, m in zip(result.horizons, result.summary["mae"][model]["mean_by_horizon"],
                                            strict=True)))
    cover = result.summary.get("coverage")
    if cover:
        level = result.folds[0]["intervals"]["level"]
        typer.echo(f"{level:.0%} interval coverage over the folds: mean {cover['mean']:.1%} "
                   f"(from {cover['min']:.1%} to {cover['max']:.1%})")
    typer.echo(f"seconds: fit {result.seconds['fit']:.1f}, forecast {result.seconds['forecast']:.1f}, "
               f"baselines {result.seconds['baselines']:.1f}, total {result.seconds['total']:.1f}")
    if plot:
        typer.echo(f"plot: {plot}")


def register(app: typer.Typer) -> None:
    app.command("backtest")(backtest_command)
