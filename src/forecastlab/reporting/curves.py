"""The training-curve plot of the book's code 10-11: training and validation MAE per epoch."""

from __future__ import annotations

from pathlib import Path

from forecastlab.reporting.png import save_png


def plot_curves(
    history: list[dict],
    path: str | Path,
    *,
    title: str | None = None,
    best_epoch: int | None = None,
    baseline_mae: float | None = None,
    unit: str | None = None,
    xlabel: str = "Epochs",
) -> Path:
    """Write curves_figure(history, ...) as a PNG, atomically: training MAE (dots) and validation MAE
    (line) per epoch, as the book draws it."""
    fig = curves_figure(history, title=title, best_epoch=best_epoch, baseline_mae=baseline_mae, unit=unit,
                        xlabel=xlabel)
    return save_png(fig, path)


def curves_figure(
    history: list[dict],
    *,
    title: str | None = None,
    best_epoch: int | None = None,
    baseline_mae: float | None = None,
    unit: str | None = None,
    xlabel: str = "Epochs",
):
    """The matplotlib Figure of training MAE (dots) and validation MAE (line) per epoch.

    `history` rows need epoch, mae and val_mae (the engine's history). Optionally mark the best epoch
    and draw a baseline's MAE (e.g. persistence) as a dashed line, so "better than common sense?" can
    be read off the plot.
    """
    # The object API (no pyplot) keeps this free of global figure state and of any GUI backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    epochs = [row["epoch"] for row in history]
    fig = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(epochs, [row["mae"] for row in history], "bo", label="Training MAE")
    ax.plot(epochs, [row["val_mae"] for row in history], "b", label="Validation MAE")
    if best_epoch is not None:
        ax.axvline(best_epoch, color="gray", linestyle=":", label=f"best {xlabel.lower().rstrip('s')} ({best_epoch})")
    if baseline_mae is not None:
        ax.axhline(baseline_mae, color="tab:red", linestyle="--", label=f"persistence ({baseline_mae:.2f})")
    ax.set_title(title or "Training and validation MAE")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"MAE ({unit})" if unit else "MAE")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
