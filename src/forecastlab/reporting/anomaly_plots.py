"""The anomaly plot: the target over time, the rows each detector flagged shaded by kind, the true events
of an injected benchmark marked below, and the residual robust z-score in a second panel when there is one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forecastlab.reporting.png import save_png

COLORS = {"sentinel": "tab:red", "missing": "tab:gray", "stuck": "tab:purple", "spike": "tab:orange",
          "physics": "tab:brown", "residual": "tab:blue", "interval": "tab:cyan",
          "reconstruction": "tab:green"}


def anomaly_figure(timestamps, values, events: list[dict], *, target: str, residual_z=None, threshold=None,
                   truth: list[dict] | None = None, title: str | None = None):
    """timestamps (rows,), the target's values (rows,), events as Event.to_dict() (only the target's are
    drawn), the residual z per row or None, and the true events of a benchmark or None."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = np.asarray(timestamps).astype("datetime64[ns]")
    y = np.where(np.asarray(values, dtype=np.float64) <= -9990, np.nan, values)
    panels = 2 if residual_z is not None else 1
    fig = Figure(figsize=(11, 3.2 * panels + 0.6), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    ax = axes[0]
    ax.plot(t, y, color="0.25", lw=0.6, label=target)
    shown = set()
    for e in events:
        if e["channel"] != target and target not in e["channel"].split(" vs "):
            continue
        a, b = e["start_row"], e["end_row"]
        label = e["kind"] if e["kind"] not in shown else None
        shown.add(e["kind"])
        ax.axvspan(t[a], t[min(b + 1, len(t) - 1)], color=COLORS.get(e["kind"], "tab:green"), alpha=0.35,
                   lw=0, label=label)
    if truth:
        low = np.nanmin(y) if np.isfinite(y).any() else 0.0
        for i, e in enumerate(truth):
            ax.plot([t[e["start_row"]], t[e["end_row"]]], [low, low], color="k", lw=4, solid_capstyle="butt",
                    label="injected (truth)" if i == 0 else None)
    ax.set_ylabel(target)
    ax.set_title(title or "Anomalies")
    ax.legend(loc="upper right", fontsize=7, ncol=4)
    if residual_z is not None:
        az = axes[1]
        az.plot(t, np.abs(residual_z), color="tab:blue", lw=0.5)
        if threshold is not None:
            az.axhline(threshold, color="tab:red", ls="--", lw=1, label=f"threshold {threshold:g}")
            az.legend(loc="upper right", fontsize=7)
        az.set_ylabel("|residual robust z|")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def plot_anomalies(path: str | Path, *args, **kwargs) -> Path:
    """anomaly_figure(...) written as a PNG, atomically."""
    return save_png(anomaly_figure(*args, **kwargs), path)
