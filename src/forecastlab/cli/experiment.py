"""`forecastlab baseline` and `forecastlab reproduce`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import (
    DataArgs,
    JsonOpt,
    WindowArgs,
    print_json,
    with_data_options,
    with_window_options,
)
from forecastlab.console import console


class Profile(StrEnum):
    smoke = "smoke"
    quick = "quick"
    book = "book"



@with_window_options
@with_data_options
def baseline(data_args: DataArgs, window_args: WindowArgs, json_out: JsonOpt = False) -> None:
    """Score the honest baselines (persistence, seasonal persistence, climatology) on val and test."""
    from forecastlab.data import load_series
    from forecastlab.evaluation.baselines import compute_baselines
    from forecastlab.windows import make_datasets_from_series

    series = load_series(data_args.data, **data_args.load_kwargs())
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
        "--profile", help="smoke: seconds, checks the pipeline; quick: < 10 min here; book: the book's exact epochs.",
    )] = "quick",
    models: Annotated[str | None, typer.Option("--models", help="Comma-separated subset of models.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output dir (default: runs/reproduce-...).")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace results in an existing --out.")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Run chapter 10 end to end: data, plots, baselines, the seven models and the leaderboard."""
    import shlex
    import sys

    from forecastlab.reproduce import reproduce as run

    names = [m.strip() for m in models.split(",") if m.strip()] if models else None
    result = run(Profile(profile).value, models=names, data=data_args.data, out_dir=out, seed=seed,
                 progress=not no_progress,
                 overwrite=overwrite, drop_gap_windows=window_args.drop_gap_windows, spec=window_args.spec,
                 batch_size=window_args.batch_size, data_kwargs=data_args.load_kwargs(),
                 command=shlex.join(["forecastlab", *sys.argv[1:]]))
    if json_out:
        print_json(result.to_dict())
    else:
        typer.echo(Path(result.files["markdown"]).read_text())
        typer.echo(f"total time: {result.total_seconds:.0f} s ({result.total_seconds / 60:.1f} min); "
                   f"results in {result.out_dir}")


def register(app: typer.Typer) -> None:
    app.command("baseline")(baseline)
    app.command("reproduce")(reproduce)
