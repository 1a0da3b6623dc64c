"""The fan chart of a forecast from fresh data: the target's recent history, then the forecast per
horizon with its interval band, after the forecast origin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from forecastlab.reporting.png import save_png


def fan_chart_figure(history: pd.Series, forecast: pd.DataFrame, *, unit: str | None = None,
                     title: str | None = None, level: float | None = None):
    """history: the target's values indexed by time (up to the origin); forecast: rows with target_time
    and value, and lower/upper when the model has intervals (forecastlab.deploy.fresh.Forecast.table)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(history.index, history.to_numpy(), color="0.3", lw=1.2, label="observed")
    times = pd.to_datetime(forecast["target_time"]).to_numpy()
    values = forecast["value"].to_numpy(dtype=np.float64)
    origin_time = history.index[-1] if len(history) else times[0]
    line_t = np.concatenate(([np.datetime64(origin_time)], times)) if len(history) else times
    line_v = np.concatenate(([history.iloc[-1]], values)) if len(history) else values
    ax.plot(line_t, line_v, color="tab:blue", lw=1.5, marker="o", ms=4, label="forecast")
    if "lower" in forecast:
        lower, upper = forecast["lower"].to_numpy(np.float64), forecast["upper"].to_numpy(np.float64)
        band = f"{level:.0%} interval" if level else "interval"
        if len(times) > 1:
            ax.fill_between(times, lower, upper, color="tab:blue", alpha=0.2, label=band)
        else:
            ax.errorbar(times, values, yerr=[values - lower, upper - values], fmt="none", ecolor="tab:blue",
                        capsize=6, label=band)
    ax.axvline(origin_time, color="0.5", ls="--", lw=1, label="forecast origin")
    ax.set_ylabel(unit or "value")
    ax.set_title(title or "Forecast")
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def plot_fan_chart(history: pd.Series, forecast: pd.DataFrame, path: str | Path, **kwargs) -> Path:
    """fan_chart_figure(...) written as a PNG, atomically."""
    return save_png(fan_chart_figure(history, forecast, **kwargs), path)
