"""The HTML report's own figures, from plain numpy and pandas inputs: forecasts against the actual values
over a stretch of the test split (with the interval band), errors by group (horizon, hour of day, season)
beside persistence, and the intervals' empirical coverage against their nominal level.

Each returns a matplotlib Figure drawn with the object API (no pyplot, no global state, no GUI backend);
forecastlab.reporting.html embeds it, forecastlab.reporting.png writes it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MODEL_COLOR, PERSISTENCE_COLOR, ACTUAL_COLOR = "tab:blue", "tab:red", "black"


def _figure(width: float = 10, height: float = 4.2):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _units(label: str, unit: str | None) -> str:
    return f"{label} ({unit})" if unit else label


def forecast_figure(times, actual, prediction, *, lower=None, upper=None, persistence=None, level: float | None = None,
                    title: str = "Forecast and actual", unit: str | None = None, label: str = "forecast",
                    ylabel: str | None = None):
    """The actual values (black) and the forecasts for the same times (blue), with the interval band
    [lower, upper] when given (its nominal `level` in the legend) and persistence (dashed red) when given.
    `ylabel`: the target's name (Jena-style names carry their unit), else "value (unit)"."""
    fig = _figure()
    ax = fig.add_subplot()
    times = pd.to_datetime(np.asarray(times))
    if lower is not None and upper is not None:
        band = f"{level:.0%} interval" if level is not None else "interval"
        ax.fill_between(times, lower, upper, color=MODEL_COLOR, alpha=0.18, linewidth=0, label=band)
    ax.plot(times, actual, color=ACTUAL_COLOR, linewidth=1.0, label="actual")
    ax.plot(times, prediction, color=MODEL_COLOR, linewidth=1.0, label=label)
    if persistence is not None:
        ax.plot(times, persistence, color=PERSISTENCE_COLOR, linewidth=0.8, linestyle="--", alpha=0.8,
                label="persistence")
    ax.set_title(title)
    ax.set_ylabel(ylabel or _units("value", unit))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", ncol=4, fontsize="small")
    fig.autofmt_xdate()
    return fig


def error_bars_figure(groups, errors: dict[str, np.ndarray], *, title: str, xlabel: str, unit: str | None = None,
                      counts=None):
    """Side-by-side MAE bars per group (one colour per forecast: the model first, then persistence);
    `counts` (targets per group), when given, label the groups so a thin group is visible as one."""
    fig = _figure(width=max(6.0, min(12.0, 0.45 * len(groups) * max(1, len(errors)) + 3)))
    ax = fig.add_subplot()
    x = np.arange(len(groups))
    width = 0.8 / max(1, len(errors))
    colors = [MODEL_COLOR, PERSISTENCE_COLOR, "tab:green", "tab:purple"]
    for i, (name, values) in enumerate(errors.items()):
        ax.bar(x + (i - (len(errors) - 1) / 2) * width, np.asarray(values, dtype=float), width=width, label=name,
               color=colors[i % len(colors)])
    labels = [str(g) if counts is None else f"{g}\n(n={int(c):,})" for g, c in
              zip(groups, counts if counts is not None else groups, strict=True)]
    ax.set_xticks(x, labels, fontsize="small" if len(groups) > 8 else None,
                  rotation=90 if len(groups) > 12 and counts is not None else 0)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_units("MAE", unit))
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize="small")
    return fig


def coverage_figure(labels, coverage, level: float, *, title: str = "Interval coverage on the test split"):
    """Empirical coverage per horizon (bars) against the nominal level (dashed line), in %."""
    fig = _figure(width=max(6.0, min(12.0, 0.5 * len(labels) + 3)), height=3.8)
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    values = 100.0 * np.asarray(coverage, dtype=float)
    ax.bar(x, values, color=MODEL_COLOR, width=0.6, label="empirical coverage")
    ax.axhline(100.0 * level, color="black", linestyle="--", linewidth=1, label=f"nominal {level:.0%}")
    ax.set_xticks(x, [str(v) for v in labels], fontsize="small" if len(labels) > 8 else None)
    ax.set_ylim(0, 100)
    ax.set_ylabel("coverage (%)")
    ax.set_xlabel("horizon")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(loc="lower right", fontsize="small")
    return fig
