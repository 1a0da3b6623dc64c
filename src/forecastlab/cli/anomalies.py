"""`forecastlab anomalies --data SRC [--run RUN]`: a thin layer over forecastlab.tasks.recipes.run_task and
forecastlab.tasks.anomaly."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import PATH_METAVAR, JsonOpt, path_parser, print_json
from forecastlab.errors import ForecastlabError

# What a task file (--config) may set; --overwrite, --limit and --json stay on the command line.
CONFIG_KEYS = ("data", "run", "target", "threshold", "window_hours", "autoencoder", "seed", "inject", "per_kind",
               "tolerance_hours", "out", "plot", "report")


def anomalies_command(
    ctx: typer.Context,
    data: Annotated[str, typer.Option("--data", help="'synthetic', 'jena', a public record (tmy3, elecdemand, ...: "
                                      "forecastlab bench --list) or a CSV/Parquet path. Default with --run: the run's "
                                      "own data.",
                                      show_default=False)] = "",
    run: Annotated[Path | None, typer.Option(
        "--run", help="A trained run (or artifact's run) whose forecast residuals are scored too; without it "
        "only the sensor-fault rules run.", show_default=False, parser=path_parser("--run", "runs/my-run"),
        metavar=PATH_METAVAR)] = None,
    target: Annotated[str | None, typer.Option("--target", help="The column scored by the residual detector "
                                               "(default: the run's, or the data's).", show_default=False)] = None,
    threshold: Annotated[float, typer.Option("--threshold",
                                             help="Flag rows whose residual robust |z| exceeds this.")] = 5.0,
    window_hours: Annotated[float, typer.Option("--window-hours",
                                                help="Trailing window of the robust z-score's median and MAD.")
                            ] = 168.0,
    autoencoder: Annotated[bool, typer.Option(
        "--autoencoder", help="Also train a small sequence autoencoder on the first half of the data and flag "
        "rows the target's reconstruction error makes unusual.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="The autoencoder's seed.")] = 0,
    inject: Annotated[int | None, typer.Option(
        "--inject", min=0, help="Benchmark: inject known faults with this seed into the target (stuck, spike, drift, "
        "-9999, dropout), then score every detector against them beside trivial detectors.",
        show_default=False)] = None,
    per_kind: Annotated[int, typer.Option("--per-kind", min=1, max=200, help="With --inject: faults per kind.")] = 5,
    tolerance_hours: Annotated[float | None, typer.Option(
        "--tolerance-hours", min=0.0, help="With --inject or a labelled series: a flag this close to a true event "
        "still finds it (default: 6 with --inject; 100, the UCR archive's, on a labelled series such as "
        "ucr:InternalBleeding16, whose rows are hours).", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the events to this file (.csv or .json).",
                                             show_default=False, parser=path_parser("--out", "events.csv"),
                                             metavar=PATH_METAVAR)] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Draw the target, the flagged rows and the residual "
                                              "z-score to this PNG.", show_default=False,
                                              parser=path_parser("--plot", "events.png"), metavar=PATH_METAVAR)] = None,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write one self-contained HTML page: the scan, the plot, the benchmark's scores and the "
        "events.", show_default=False, parser=path_parser("--report", "scan.html"), metavar=PATH_METAVAR)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing --out / --plot / --report "
                                            "files.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Events shown in the table (all are written).")] = 20,
    config_file: Annotated[Path | None, typer.Option(
        "--config", help="A TOML task file: these options' names with underscores as keys (window_hours = 72), "
        "or a recipe with \\[task] kind = \"anomalies\"; the command line wins where both set one.",
        show_default=False, parser=path_parser("--config", "scan.toml"), metavar=PATH_METAVAR)] = None,
    json_out: JsonOpt = False,
) -> None:
    """Flag anomalies in every timestep, unsupervised: sensor-fault rules (sentinels, missing, stuck, spikes,
    impossible physics), with --run robust z-scores of the run's forecast residuals, and with --autoencoder
    a sequence autoencoder's reconstruction error. On a labelled series (--data ucr:InternalBleeding16) every
    detector is also scored against the labels beside trivial detectors."""
    from forecastlab.cli.classify import _options_of
    from forecastlab.cli.options import check_out_file as _check_out_file
    from forecastlab.cli.options import given_options, task_config
    from forecastlab.console import results_console, warn
    from forecastlab.tasks.recipes import run_task, write_scan_events

    given, here = given_options(ctx), locals()
    if config_file is not None:
        loaded, given = task_config(config_file, given, {k: here[k] for k in CONFIG_KEYS},
                                    keys=CONFIG_KEYS, name="anomalies")
        (data, run, target, threshold, window_hours, autoencoder, seed, inject, per_kind, tolerance_hours, out,
         plot, report) = (loaded[k] for k in CONFIG_KEYS)
    if out is not None:
        if out.suffix.lower() not in (".csv", ".json"):
            raise ForecastlabError(f"--out must end in .csv or .json, not {out.suffix or 'nothing'!r}",
                                   where=str(out), arg="--out", fix="give e.g. --out events.csv")
        _check_out_file(out, overwrite)
    if plot is not None:
        _check_out_file(plot, overwrite, "--plot")
    files = [Path(p).resolve() for p in (out, plot, report) if p is not None]
    if len(set(files)) < len(files):
        raise ForecastlabError("--out, --plot and --report name the same file", arg="--report",
                               fix="give each its own path, e.g. --out events.csv --plot events.png --report scan.html")
    if report is not None:
        _check_out_file(report, overwrite, "--report")  # before the scan, not after it
    options = _options_of(locals(), given, CONFIG_KEYS)
    scan = run_task("anomalies", {k: v for k, v in options.items() if k not in ("out", "plot", "report")})
    result, bench = scan["result"], scan["benchmark"]
    if run is None:
        warn("no --run: the forecast-residual detector did not run; pass a trained run to score its residuals too")
    if out is not None:
        write_scan_events(scan, out)
    if plot is not None:
        from forecastlab.reporting.anomaly_plots import plot_anomalies

        plot_anomalies(plot, result.timestamps, result.values, [e.to_dict() for e in result.events],
                       target=result.target, residual_z=result.residual_z, threshold=threshold,
                       truth=bench["truth"] if bench else None, title=f"Anomalies in {Path(result.source).name}")
    if report is not None:
        from forecastlab.deploy.report_anomalies import write_anomaly_report

        write_anomaly_report(scan, report, overwrite=overwrite)
    payload = result.to_dict() | ({"benchmark": bench} if bench else {})
    payload |= {"out": str(out) if out else None, "plot": str(plot) if plot else None,
                "report": str(report) if report else None}
    if json_out:
        print_json(payload)
        return
    _print(results_console(), result, bench, limit)  # on stdout (`> scan.txt` keeps it); warnings on stderr
    for name, path in (("events", out), ("plot", plot), ("report", report)):
        if path is not None:
            typer.echo(f"{name} written to {path}")


def _print(console, result, bench, limit: int) -> None:
    from rich.table import Table

    counts = ", ".join(f"{v} {k}" for k, v in sorted(result.counts().items())) or "none"
    console.print(f"{result.rows:,} rows of {result.source}: {len(result.events)} events ({counts}); "
                  f"detectors: {', '.join(result.detectors)}")
    if result.events and limit:
        from rich.table import Column

        times = {"no_wrap": True, "min_width": 19}  # an ISO time whole: 2009-01-01T00:10:00
        table = Table(Column("start", **times), Column("end", **times), "channel", "kind", "score", "reason")
        for e in result.events[:limit]:
            d = e.to_dict()
            table.add_row(d["start"], d["end"], e.channel, e.kind, f"{e.score:.3g}", e.reason)
        console.print(table)
        if len(result.events) > limit:
            console.print(f"... {len(result.events) - limit} more (--limit, or --out FILE for all)")
    if bench:
        m = bench["metrics"]
        from rich.table import Column

        name = Column(f"detector (tolerance {bench['tolerance_hours']:g} h)", no_wrap=True, min_width=15)
        title = (f"{len(bench['truth'])} labelled anomalies" if bench.get("labelled") else
                 f"{len(bench['truth'])} injected faults (seed {bench['seed']})")
        table = Table(name, "found", "event P", "event R",
                      "event F1", "range P", "range R", "range F1", "point-adjusted F1 (not to rank by)",
                      title=title)
        rows = [(k, v) for k, v in m.items() if k != "trivial"]
        rows += [(f"trivial: {k}", v) for k, v in m["trivial"].items()]
        for name, v in rows:
            table.add_row(name, f"{v['found']:.0f}", *(f"{v[k]:.3f}" for k in (
                "event_precision", "event_recall", "event_f1", "range_precision", "range_recall", "range_f1",
                "point_adjusted_f1")))
        console.print(table)
        console.print("recall by kind: " + ", ".join(f"{k} {v:.2f}" for k, v in bench["recall_by_kind"].items()))
        if "clean_series_events" in bench:
            console.print("events on the clean series (false alarms): " +
                          (", ".join(f"{v} {k}" for k, v in sorted(bench["clean_series_events"].items())) or "none"))
        for name, top in (bench.get("top1") or {}).items():
            console.print(f"UCR top-1 ({name}): highest score at row {top['row']}, "
                          f"{'within' if top['hit'] else 'NOT within'} {bench['tolerance_rows']} rows of a labelled "
                          "anomaly")


def register(app: typer.Typer) -> None:
    app.command("anomalies")(anomalies_command)
