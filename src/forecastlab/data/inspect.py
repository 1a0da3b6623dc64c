"""`inspect_series`: everything worth knowing about a loaded series, as one JSON-ready dict."""

from __future__ import annotations

import warnings

import numpy as np

from forecastlab.data.quality import detect_step, time_report
from forecastlab.data.series import Series

PERCENTILES = (1, 5, 25, 50, 75, 95, 99)


def column_statistics(series: Series) -> dict:
    """Per column: unit, count, missing, mean, std, min, percentiles and max (missing cells ignored)."""
    values = series.values.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column gives NaN, not a warning
        mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0, ddof=1)
        lo, hi = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        pct = np.nanpercentile(values, PERCENTILES, axis=0)
    missing = np.isnan(values).sum(axis=0)
    stats = {}
    for j, name in enumerate(series.columns):
        entry = {"unit": series.units[j], "count": int(len(values) - missing[j]), "missing": int(missing[j]),
                 "mean": mean[j], "std": std[j], "min": lo[j]}
        entry |= {f"p{p}": pct[k, j] for k, p in enumerate(PERCENTILES)}
        entry["max"] = hi[j]
        stats[name] = {k: (_num(v) if not isinstance(v, str | None) else v) for k, v in entry.items()}
    return stats


def _num(v) -> float | int | None:
    if isinstance(v, int):
        return v
    return None if not np.isfinite(v) else round(float(v), 4)


def inspect_series(series: Series) -> dict:
    """Rows, time span, frequency, gaps, duplicates, NaN and sentinel counts per column, per-column
    statistics, provenance and the cleaning done. `input` describes the file as read (before cleaning);
    `rows`, `time` and `statistics` describe the series as loaded."""
    quality = series.quality or {}
    step = detect_step(series.timestamps)
    now = time_report(series.timestamps, step)
    source_time = quality.get("time", now)
    span_days = None
    if len(series) > 1:
        span_days = round(float((series.timestamps[-1] - series.timestamps[0]) / np.timedelta64(1, "D")), 3)
    return {
        "provenance": series.provenance.to_dict(),
        "rows": len(series),
        "columns": list(series.columns),
        "target": series.target,
        "time": {"first": now["first"], "last": now["last"], "span_days": span_days,
                 "frequency": now["frequency"], "frequency_seconds": now["frequency_seconds"],
                 "utc": bool(source_time.get("utc")),
                 "breaks": int(len(series.breaks))},
        "input": {
            "format": quality.get("format"),
            "rows": source_time["rows"],
            "complete_grid_rows": source_time.get("complete_grid_rows"),
            "gaps": source_time["gaps"],
            "irregular_steps": source_time.get("irregular_steps"),
            "duplicates": source_time["duplicates"],
            "duplicates_action": source_time.get("duplicates_action"),
            "backward_steps": source_time["backward_steps"],
            "utc": bool(source_time.get("utc")),  # times with zones, converted to UTC
            "nan": (quality.get("cells") or {}).get("nan"),
            "sentinel": (quality.get("cells") or {}).get("sentinel"),
            "sentinel_values": (quality.get("cells") or {}).get("sentinel_values"),
        },
        "cleaning": quality.get("cleaning"),
        "statistics": column_statistics(series),
    }


def format_report(report: dict) -> str:
    """The inspect report as text for a terminal."""
    p, t, i, c = report["provenance"], report["time"], report["input"], report["cleaning"] or {}
    gaps = i["gaps"]
    lines = [
        f"source     {p['source']}" + (f" ({p['variant']})" if p.get("variant") else "") + f": {p.get('path')}",
        f"sha256     {p.get('sha256')}",
        f"rows       {report['rows']:,} (read {i['rows']:,}; a complete grid would have "
        f"{i['complete_grid_rows'] or 0:,})",
        f"time       {t['first']} .. {t['last']} ({t['span_days']} days), frequency {_step_word(t)}"
        + (" (times in UTC: the file's time zones converted)" if i.get("utc") else ""),
        f"gaps       {gaps['count']:,} holes in the grid, {gaps['missing_slots']:,} missing time steps"
        + (f"; largest {gaps['largest']['missing_slots']} steps after {gaps['largest']['after']}"
           if gaps.get("largest") else ""),
        f"duplicates {i['duplicates']:,} repeated timestamps ({i.get('duplicates_action')}); "
        f"{i['backward_steps']:,} backward steps",
        f"cleaning   sentinels to missing: {c.get('sentinels_to_missing', 0):,}; "
        f"policy {c.get('gap_policy')}: {c.get('interpolated', 0):,} cells interpolated, "
        f"{c.get('rows_dropped', 0):,} rows dropped; breaks recorded: {t['breaks']:,}",
    ]
    if c.get("grid_holes"):
        lines.append(f"grid       {c['grid_holes']:,} holes ({c['grid_missing_timestamps']:,} missing timestamps): "
                     f"{c['grid_slots_filled']:,} timestamps filled in, {c['grid_holes_left_count']:,} holes "
                     "left as breaks")
    if c.get("resampled_to"):
        lines.append(f"resampled  to {c['resampled_to']}: {c['empty_slots_created']:,} empty slots created")
    if c.get("skipped_text_columns"):
        lines.append(f"skipped    text columns: {', '.join(c['skipped_text_columns'])}")
    lines.append("")
    header = f"{'column':<18}{'nan':>7}{'-9999':>7}{'mean':>11}{'std':>10}{'min':>10}{'p50':>10}{'max':>10}"
    lines.append(header + "   (target marked *)")
    for name, s in report["statistics"].items():
        mark = "*" if name == report["target"] else " "
        nan = (i.get("nan") or {}).get(name, 0)
        sentinel = (i.get("sentinel") or {}).get(name, 0)
        lines.append(f"{mark}{name[:17]:<17}{nan:>7}{sentinel:>7}" + "".join(
            f"{_fmt(s[k]):>{w}}" for k, w in (("mean", 11), ("std", 10), ("min", 10), ("p50", 10), ("max", 10))))
    return "\n".join(lines)


def _fmt(v) -> str:
    """A statistic in at most 9 characters, so the columns of the table never run together."""
    if v is None:
        return "-"
    text = f"{v:.2f}"
    return text if len(text) <= 9 else f"{v:.3g}"


def _step_word(time: dict) -> str:
    """'1h', not pandas' bare 'h' (nor 'min', 'D'): a step with its number, as the window options write it."""
    text = str(time.get("frequency"))
    return text if not text or text[0].isdigit() or text == "None" else "1" + text
