"""The backtest plot: MAE per fold for the model and the baselines, and MAE per horizon (mean over the
folds, with their spread), from forecastlab.training.backtest's result as a plain dict."""

from __future__ import annotations

from pathlib import Path

from forecastlab.reporting.png import save_png

_STYLES = {"persistence": ("tab:red", "--"), "seasonal_persistence": ("tab:orange", ":"),
           "climatology": ("tab:gray", "-.")}


def plot_backtest(result: dict, path: str | Path) -> Path:
    """Write a PNG with two panels: MAE by fold (left) and by horizon, mean +/- one standard deviation over
    the folds (right; with one horizon, a bar per forecaster). Written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    folds, horizons, unit = result["folds"], result["horizons"], result.get("unit")
    names = list(folds[0]["mae"])
    fig = Figure(figsize=(11, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    by_fold, by_horizon = fig.subplots(1, 2)
    x = [f["fold"] for f in folds]
    for name in names:
        color, style = _STYLES.get(name, ("tab:blue", "-"))
        by_fold.plot(x, [f["mae"][name]["all"] for f in folds], marker="o", color=color, linestyle=style,
                     label=name, linewidth=2.2 if name not in _STYLES else 1.4)
    by_fold.set_xticks(x, [f"{f['fold']}\n{f['first_origin'][:10]}" for f in folds], fontsize=8)
    by_fold.set_xlabel("fold (first forecast origin)")
    by_fold.set_ylabel(f"MAE ({unit})" if unit else "MAE")
    by_fold.set_title(f"{result['model']}: MAE per fold ({'refit per fold' if result['refit'] else 'no refit'})")
    by_fold.grid(alpha=0.3)
    by_fold.legend(fontsize=8)
    summary = result["summary"]["mae"]
    if len(horizons) > 1:
        for name in names:
            color, style = _STYLES.get(name, ("tab:blue", "-"))
            mean, std = summary[name]["mean_by_horizon"], summary[name]["std_by_horizon"]
            by_horizon.plot(horizons, mean, color=color, linestyle=style, marker=".", label=name)
            by_horizon.fill_between(horizons, [m - s for m, s in zip(mean, std, strict=True)],
                                    [m + s for m, s in zip(mean, std, strict=True)], color=color, alpha=0.12)
        by_horizon.set_xlabel("horizon (sampled steps)")
    else:
        means = [summary[n]["mean"] for n in names]
        by_horizon.bar(range(len(names)), means, yerr=[summary[n]["std"] for n in names], capsize=4,
                       color=[_STYLES.get(n, ("tab:blue",))[0] for n in names])
        by_horizon.set_xticks(range(len(names)), names, fontsize=8, rotation=15)
    by_horizon.set_title(f"mean MAE over {len(folds)} folds, +/- one standard deviation")
    by_horizon.grid(alpha=0.3)
    fig.tight_layout()
    return save_png(fig, path)
