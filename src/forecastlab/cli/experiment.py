"""`forecastlab baseline` and `forecastlab reproduce`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import (
    PATH_METAVAR,
    DataArgs,
    JsonOpt,
    WindowArgs,
    path_parser,
    print_json,
    with_data_options,
    with_window_options,
)
from forecastlab.console import console


class Profile(StrEnum):
    smoke = "smoke"
    quick = "quick"
    book = "book"
    best = "best"



@with_window_options
@with_data_options
def baseline(data_args: DataArgs, window_args: WindowArgs, json_out: JsonOpt = False) -> None:
    """Score the honest baselines (persistence, seasonal persistence, climatology) on val and test."""
    from forecastlab.evaluation.baselines import compute_baselines
    from forecastlab.windows import make_datasets_from_series

    series = data_args.load()
    datasets = make_datasets_from_series(series, window_args.spec(series), **window_args.dataset_kwargs())
    scores = compute_baselines(series, datasets)
    unit = series.target_unit or ""
    if json_out:
        print_json({
            "baselines": scores, "unit": unit, "target": series.target,
            "windows": {"val": datasets.val.num_windows, "test": datasets.test.num_windows,
                        "dropped_crossing_gaps": {s: getattr(datasets, s).dropped_windows for s in ("val", "test")}},
            "data": series.provenance.to_dict(),
        })
        return
    console.print(f"target {series.target}; {datasets.val.num_windows:,} val and "
                  f"{datasets.test.num_windows:,} test windows")
    for name, s in scores.items():
        typer.echo(f"{name:22s} val MAE {s['val_mae']:.2f} {unit}   test MAE {s['test_mae']:.2f} {unit}")


@with_window_options
@with_data_options
def reproduce(
    data_args: DataArgs,
    window_args: WindowArgs,
    profile: Annotated[Profile, typer.Option(
        "--profile", help="smoke: seconds, checks the pipeline; quick: < 10 min here; book: the book's exact epochs; "
        "best: the book's models (quick budget) beside our best recipes.",
    )] = "quick",
    models: Annotated[str | None, typer.Option("--models", help="Comma-separated subset of models.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output dir (default: runs/reproduce-...).",
                                             parser=path_parser("--out", "runs/reproduce"),
                                             metavar=PATH_METAVAR)] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="The first seed (with --seeds N: seed, seed+1, ...).")] = 0,
    seeds: Annotated[int, typer.Option(
        "--seeds", min=1, max=100,
        help="Train every model with N seeds: mean and spread per model; 'better' only beyond both spreads.")] = 1,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace results in an existing --out.")] = False,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue an interrupted run in --out: finished model runs are read back.")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Run chapter 10 end to end: data, plots, baselines, the seven models and the leaderboard.

    `--data tmy3`, `--data elecdemand` (or any record `forecastlab bench --list` shows) runs it on a public
    benchmark record (forecastlab.data.public)."""
    import shlex
    import sys

    from forecastlab.reproduce import default_out_dir
    from forecastlab.reproduce import reproduce as run

    names = [m.strip() for m in models.split(",") if m.strip()] if models else None
    out = out or default_out_dir(Profile(profile).value)
    result = _resumable(run, out, Profile(profile).value, models=names, data=data_args.data, seed=seed, seeds=seeds,
                 progress=not no_progress, feature_set=data_args.feature_set, resume=resume,
                 overwrite=overwrite, drop_gap_windows=window_args.drop_gap_windows, spec=window_args.spec,
                 batch_size=window_args.batch_size, data_kwargs=data_args.load_kwargs(),
                 command=shlex.join(["forecastlab", *sys.argv[1:]]))
    if json_out:
        print_json(result.to_dict())
    else:
        typer.echo(Path(result.files["markdown"]).read_text())
        typer.echo(f"total time: {result.total_seconds:.0f} s ({result.total_seconds / 60:.1f} min); "
                   f"results in {result.out_dir}")


def _resumable(run, out: Path, *args, **kwargs):
    """run(*args, out_dir=out, **kwargs); on Ctrl-C or SIGTERM, one line says what is kept and how to go on,
    then the exit is 130 (143)."""
    from forecastlab.cli.interrupts import exit_interrupted

    try:
        return run(*args, out_dir=out, **kwargs)
    except KeyboardInterrupt as interrupt:
        inner = getattr(interrupt, "message", None)
        interrupt.message = ((f"{inner}; " if inner else "") + f"every finished model run in {out} is kept: the same "
                             f"command with --out {out} --resume reads them back and trains the rest")
        exit_interrupted(interrupt)


def bench(
    name: Annotated[str | None, typer.Argument(
        help="synthetic, or a public record: elecdemand, tmy3, tmy3-sandpoint, tmy2-miami, nyc-jfk (forecastlab bench "
        "--list shows them).")] = None,
    task: Annotated[str | None, typer.Option(
        "--task", help="The record's task (default: its first), e.g. elecdemand's temperature-24h.")] = None,
    profile: Annotated[Profile, typer.Option("--profile", help="As for reproduce; best by default.")] = Profile.best,
    seeds: Annotated[int, typer.Option("--seeds", min=1, max=100, help="Seeds per model (mean and spread).")] = 3,
    models: Annotated[str | None, typer.Option("--models", help="Comma-separated subset of models.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output dir (default: runs/bench-NAME-...).",
                                             parser=path_parser("--out", "runs/bench"), metavar=PATH_METAVAR)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace results in an existing --out.")] = False,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue an interrupted run in --out: finished model runs are read back.")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars.")] = False,
    list_all: Annotated[bool, typer.Option("--list", help="List the benchmark records, their tasks, licenses "
                                           "and caveats.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Benchmark a record: `reproduce --profile best --seeds 3` on it, the baselines, the book's models and ours."""
    import shlex
    import sys
    from datetime import datetime

    from forecastlab.data.public import PUBLIC_DATASETS
    from forecastlab.errors import ForecastlabError
    from forecastlab.reproduce import reproduce as run
    from forecastlab.training.recipe import WindowRecipe

    records = {"synthetic": {"description": "forecastlab's Jena-format synthetic weather (SYNTHETIC DATA)",
                             "license": "generated by forecastlab", "caveats": "not real weather",
                             "tasks": {"temperature-24h": {"target": "T (degC)", "horizon": "24h"}}}} | PUBLIC_DATASETS
    if list_all or name is None:
        if json_out:
            print_json({k: {f: v.get(f) for f in ("description", "license", "caveats", "tasks")}
                        for k, v in records.items()})
            return
        for key, info in records.items():
            typer.echo(f"{key}: {info['description']}\n  tasks: {', '.join(info['tasks'])}\n"
                       f"  license: {info['license']}\n  caveats: {info['caveats']}\n")
        return
    key = name.strip().lower()
    if key not in records:
        raise ForecastlabError(f"unknown benchmark record {name!r}", where="forecastlab bench NAME",
                               fix=f"choose one of: {', '.join(records)} (forecastlab bench --list)")
    tasks = records[key]["tasks"]
    task = task or next(iter(tasks))
    if task not in tasks:
        raise ForecastlabError(f"{key} has no task {task!r}", where="--task",
                               fix=f"choose one of: {', '.join(tasks)}")
    chosen = tasks[task]
    names = [m.strip() for m in models.split(",") if m.strip()] if models else None
    out = out or Path("runs") / f"bench-{key}-{task}-{datetime.now():%Y%m%d-%H%M%S}"
    result = _resumable(run, out, Profile(profile).value, models=names, data=key, seeds=seeds,
                 progress=not no_progress, overwrite=overwrite, resume=resume,
                 spec=WindowRecipe(horizons=chosen["horizon"]).spec, data_kwargs={"target": chosen["target"]},
                 command=shlex.join(["forecastlab", *sys.argv[1:]]))
    if json_out:
        print_json(result.to_dict() | {"task": task})
    else:
        typer.echo(Path(result.files["markdown"]).read_text())
        typer.echo(f"total time: {result.total_seconds:.0f} s ({result.total_seconds / 60:.1f} min); "
                   f"results in {result.out_dir}")


def register(app: typer.Typer) -> None:
    app.command("baseline")(baseline)
    app.command("reproduce")(reproduce)
    app.command("bench")(bench)
