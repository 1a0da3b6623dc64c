"""`forecastlab ensemble RUN_DIR RUN_DIR... --out DIR`: a thin layer over forecastlab.training.ensemble."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import PATH_METAVAR, DataArgs, JsonOpt, path_parser, print_json, with_run_data_options
from forecastlab.cli.train import _load_run_series, given_options
from forecastlab.errors import ForecastlabError, cli_spelling

# make_ensemble's argument names, as this command spells them (added to the CLI's own table when printed).
_FLAGS = {"weights": "--weights", "method": "--method", "run_dirs": "RUN_DIR", "out_dir": "--out",
          "series": "--data"}


class Method(StrEnum):
    mean = "mean"
    median = "median"


@with_run_data_options
def ensemble_command(
    ctx: typer.Context,
    data_args: DataArgs,
    run_dirs: Annotated[list[Path], typer.Argument(
        metavar="RUN_DIR", help="Two or more finished runs (any kind) trained on the same data and window.",
        show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="The ensemble's run directory.", show_default=False,
                                      parser=path_parser("--out", "runs/ensemble"), metavar=PATH_METAVAR)],
    method: Annotated[Method, typer.Option("--method", help="Combine the forecasts (each quantile on its own) by "
                                           "their weighted mean or weighted median.")] = Method.mean,
    weights: Annotated[str | None, typer.Option(
        "--weights", help="inverse-val-mae (1 / each run's validation MAE), greedy-val-mae (greedy ensemble "
        "selection on the validation windows: a run that does not help gets 0) or w1,w2,... (one per run); "
        "default: equal.", show_default=False)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier run in --out.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Combine trained runs into one ensemble run, scored beside its members and persistence."""
    from forecastlab.training import load_run
    from forecastlab.training.ensemble import check_arguments, make_ensemble, parse_weights

    try:
        spec = parse_weights(weights)
        check_arguments(run_dirs, out, method=method.value, weights=spec, overwrite=overwrite)  # before the data
        # The first run's data (as its recipe says), or the data options given; named on stderr.
        series = _load_run_series(load_run(run_dirs[0]), data_args, given_options(ctx))
        result = make_ensemble(run_dirs, out, method=method.value, weights=spec, overwrite=overwrite, series=series)
    except ForecastlabError as err:  # the library's argument names, as this command's flags
        raise ForecastlabError(cli_spelling(err.what, _FLAGS), where=_FLAGS.get(err.where) or
                               cli_spelling(err.where, _FLAGS), fix=cli_spelling(err.fix, _FLAGS),
                               arg=_FLAGS.get(err.arg, err.arg)) from None
    out_dict = result.to_dict()
    if json_out:
        print_json(out_dict)
        return
    _print_table(out_dict)


def _print_table(out: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    unit = out.get("unit") or "target units"
    reference = out["baselines"]["persistence"]["test_mae"]

    def gain(test_mae: float) -> str:
        return f"{100.0 * (reference - test_mae) / reference:+.1f}%" if reference else "—"

    table = Table(title=f"ensemble ({out['method']}) in {out['run_dir']}; MAE in {unit}", title_justify="left")
    for name, justify in (("", "left"), ("run", "left"), ("model", "left"), ("weight", "right"),
                          ("val MAE", "right"), ("test MAE", "right"), ("vs persistence (test)", "right")):
        table.add_column(name, justify=justify)
    ens = out["ensemble"]
    table.add_row("ensemble", out["run_dir"], out["method"], "", f"{ens['val_mae']:.3f}", f"{ens['test_mae']:.3f}",
                  gain(ens["test_mae"]), style="bold")
    for m in out["members"]:
        table.add_row(f"member {m['index']:02d}", m["source"], f"{m['model']} ({m['kind']})", f"{m['weight']:.3f}",
                      f"{m['val_mae']:.3f}", f"{m['test_mae']:.3f}", gain(m["test_mae"]))
    base = out["baselines"]["persistence"]
    table.add_row("baseline", "", "persistence", "", f"{base['val_mae']:.3f}", f"{base['test_mae']:.3f}", "—")
    console = Console(highlight=False, markup=False, emoji=False)
    console.print(table)
    cover = (out.get("intervals") or {}).get("test_coverage_all")
    if cover is not None:
        console.print(f"{out['intervals']['level']:.0%} intervals ({out['intervals']['method']}): test coverage "
                      f"{cover:.1%}")


def register(app: typer.Typer) -> None:
    app.command("ensemble")(ensemble_command)
