"""The chapter's two data plots: the whole temperature record (code 10-3) and its first 10 days (10-4)."""

from __future__ import annotations

import os
from pathlib import Path

from forecastlab.data.quality import detect_step
from forecastlab.data.series import Series
from forecastlab.errors import ForecastlabError
from forecastlab.reporting.png import save_png

WHOLE = "temperature_whole_record.png"  # code listing 10-3
FIRST_DAYS = "temperature_first_10_days.png"  # code listing 10-4
DAYS = 10


def rows_for_days(series: Series, days: float = DAYS) -> int:
    """How many rows cover `days` at the series' frequency: 1,440 for 10 days of 10-minute data."""
    step = detect_step(series.timestamps)
    if not step:
        return len(series)
    return max(1, int(round(days * 86_400e9 / step)))


def _figure(series: Series, rows: slice, title: str):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(series.timestamps[rows], series.targets[rows], linewidth=0.6 if rows.stop is None else 1.0)
    ax.set_ylabel(series.target)  # Jena-style names carry their unit: 'T (degC)'
    ax.set_title(f"{title} ({series.provenance.source}: {Path(series.provenance.path or '').name})")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return fig


def temperature_figures(series: Series) -> list:
    """The two figures, in memory: the target over the whole record (10-3) and over its first 10 days (10-4)."""
    n = rows_for_days(series)
    return [_figure(series, slice(None), "Whole record"),
            _figure(series, slice(0, n), f"First {DAYS} days ({min(n, len(series)):,} rows)")]


def plot_temperature(series: Series, out_dir: str | os.PathLike) -> list[Path]:
    """Write the target over the whole record and over its first 10 days as PNGs in `out_dir`
    (created if needed; our own two file names are overwritten). Returns the two paths."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ForecastlabError("the plots folder is a file, not a folder", where=str(out),
                               fix="give a folder for the plots (it is created if needed), or move the file away")
    out.mkdir(parents=True, exist_ok=True)
    whole, first = temperature_figures(series)
    return [save_png(whole, out / WHOLE), save_png(first, out / FIRST_DAYS)]
