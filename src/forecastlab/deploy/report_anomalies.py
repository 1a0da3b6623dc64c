"""The report of an anomaly scan (`forecastlab anomalies --report FILE.html`; Python: write_anomaly_report):
what was scanned, by which detectors and settings; the plot (the target, the flagged rows, the residual
z-score, the injected or labelled truth); the scores of a benchmark beside the trivial detectors, with
point-adjusted F1 shown only beside the honest metrics; recall by kind; and the events, in one
self-contained HTML page (images embedded, no script)."""

from __future__ import annotations

from pathlib import Path

from forecastlab.reporting.html import Image, Note, Paragraph, Section, Table, render_html

EVENTS_SHOWN = 200  # the events table's rows at most (all of them are in --out)


def write_anomaly_report(scan: dict, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write the report of `scan` (forecastlab.tasks.recipes.run_task("anomalies", ...)'s answer) to `out`;
    an existing file is refused unless overwrite=True."""
    from forecastlab.atomic import atomic_write_text
    from forecastlab.deploy.report import report_path

    target = report_path(Path(out).parent, out, overwrite=overwrite)
    return atomic_write_text(target, anomaly_report_html(scan))


def anomaly_report_html(scan: dict) -> str:
    """The whole page for `scan` ({"result": AnomalyResult, "benchmark": dict or None, "synthetic": bool})."""
    result, bench = scan["result"], scan.get("benchmark")
    counts = ", ".join(f"{v} {k}" for k, v in sorted(result.counts().items())) or "none"
    title = f"forecastlab report: anomalies in {Path(str(result.source)).name}"
    subtitle = (f"{result.rows:,} rows, target {result.target}; {len(result.events)} events ({counts}); "
                f"detectors: {', '.join(result.detectors)}")
    sections = [_about(scan), _plot(result, bench)]
    if bench:
        sections += [_scores(bench)]
    sections.append(_events(result))
    return render_html(title, sections, subtitle=subtitle, footer="Written by forecastlab anomalies --report.")


def _about(scan: dict) -> Section:
    result, bench = scan["result"], scan.get("benchmark")
    blocks: list = []
    if scan.get("synthetic"):
        blocks.append(Note("**SYNTHETIC DATA**: forecastlab's built-in Jena-format generator, not the real "
                           "record; the faults found in it say nothing about real sensors.", "warning"))
    if "residual" not in result.detectors:
        blocks.append(Note("No trained run was given, so the forecast-residual detector did not run; pass "
                           "--run RUN to score a forecaster's residuals too."))
    rows = [{"setting": "source", "value": str(result.source)}, {"setting": "rows", "value": f"{result.rows:,}"},
            {"setting": "target", "value": result.target},
            {"setting": "detectors", "value": ", ".join(result.detectors)}]
    rows += [{"setting": k, "value": str(v)} for k, v in (result.settings or {}).items()]
    if bench:
        what = "labelled anomalies" if bench.get("labelled") else f"injected faults (seed {bench.get('seed')})"
        rows.append({"setting": "benchmark", "value": f"{len(bench.get('truth') or [])} {what}, tolerance "
                     f"{bench.get('tolerance_hours')} h"})
    blocks.append(Table(rows, caption="What was scanned, and how"))
    return Section("scan", "The scan", blocks)


def _plot(result, bench) -> Section:
    from forecastlab.reporting.anomaly_plots import anomaly_figure

    fig = anomaly_figure(result.timestamps, result.values, [e.to_dict() for e in result.events],
                         target=result.target, residual_z=result.residual_z,
                         threshold=(result.settings or {}).get("threshold"),
                         truth=(bench or {}).get("truth"), title=f"Anomalies in {Path(str(result.source)).name}")
    return Section("plot", "The target and its flagged rows", [Image(fig, alt="the target over time, with the "
                   "rows each detector flagged shaded by kind", caption="Shaded: flagged rows by kind. Black bars: "
                   "the true events of the benchmark, when there is one.")])


def _scores(bench: dict) -> Section:
    keys = ("found", "event_precision", "event_recall", "event_f1", "range_precision", "range_recall", "range_f1",
            "point_adjusted_f1")
    metrics = bench.get("metrics") or {}
    rows = [{"detector": name} | {k: v.get(k) for k in keys} for name, v in metrics.items() if name != "trivial"]
    rows += [{"detector": f"trivial: {name}"} | {k: v.get(k) for k in keys}
             for name, v in (metrics.get("trivial") or {}).items()]
    blocks: list = [
        Paragraph("Event-wise precision and recall within the tolerance, and range-based F1, rank the detectors; "
                  "point-adjusted F1 is shown only to compare with papers that use it (Kim et al., AAAI 2022: it "
                  "lets random scores look state of the art). The trivial detectors stand beside ours."),
        Table(rows, caption="Scores against the truth", formats={"found": ".0f"},
              highlight=tuple(i for i, r in enumerate(rows) if r["detector"] == "all"))]
    if bench.get("recall_by_kind"):
        blocks.append(Table([{"kind": k, "recall": v} for k, v in bench["recall_by_kind"].items()],
                            caption="Recall by kind of fault"))
    if bench.get("clean_series_events"):
        blocks.append(Table([{"kind": k, "events": v} for k, v in sorted(bench["clean_series_events"].items())],
                            caption="Events on the clean series (false alarms, or faults of the record itself)",
                            formats={"events": ".0f"}))
    return Section("scores", "Benchmark scores", blocks)


def _events(result) -> Section:
    table = result.table()
    blocks: list = []
    if len(table) > EVENTS_SHOWN:
        blocks.append(Note(f"The first {EVENTS_SHOWN} of {len(table):,} events; --out FILE writes all of them."))
    if len(table):
        blocks.append(Table(table.head(EVENTS_SHOWN), caption="Events (start, end, channel, kind, score, reason)",
                            formats={"start_row": ".0f", "end_row": ".0f"}))
    else:
        blocks.append(Paragraph("No events."))
    return Section("events", "Events", blocks)
