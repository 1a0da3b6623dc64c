"""Honest baselines, scored on exactly the windows the models are scored on.

- persistence (the book's code 10-9): the last target value inside the window, carried
  `horizon` steps ahead. "The temperature 24 hours from now equals the temperature now."
- seasonal persistence: the target value one day before the target time. With the book's
  24-hour horizon that row is exactly the window's last row, so it matches persistence except
  where rows are missing; it earns its place at other horizons (e.g. 6 h ahead, where persistence
  carries the wrong time of day).
- climatology: the train split's mean for the target's (day of year, hour of day).

All three are computed from the raw (un-normalized) target column at the windows'
start positions, so they average over every window, partial last batch included,
exactly as the book's loop does, without gathering a single window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecastlab.data.series import Series

BASELINES = ("persistence", "seasonal_persistence", "climatology")


@dataclass(frozen=True)
class WindowRows:
    """Row indices (into the series) that matter for scoring one split's windows."""

    last_input: np.ndarray  # the last row each window sees
    target: np.ndarray  # the row each window must predict

    @classmethod
    def of(cls, dataset, spec) -> WindowRows:
        # As in the book's `targets=temperature[delay:]`, the window whose first input is row r
        # predicts row r + delay of the series.
        start = np.asarray(dataset.start_rows, dtype=np.int64)
        return cls(last_input=np.asarray(dataset.last_input_rows, dtype=np.int64), target=start + spec.delay)


def _mae(pred: np.ndarray, truth: np.ndarray) -> float:
    # float64 accumulation: 100k float32 errors summed in float32 drift in the third decimal.
    return float(np.mean(np.abs(pred.astype(np.float64) - truth.astype(np.float64))))


def persistence(target: np.ndarray, rows: WindowRows) -> float:
    """The book's common-sense baseline: predict the last value seen."""
    return _mae(target[rows.last_input], target[rows.target])


def seasonal_persistence(target: np.ndarray, timestamps: np.ndarray, rows: WindowRows, period="1D") -> float:
    """Predict the value one period (default: a day) before the target time.

    Looked up by timestamp, not by row offset, so missing rows do not shift the lookup. When the
    exact time is absent the latest earlier row is used. The lookup may fall after the window's
    last input when horizon < period, which is allowed: that row is still in the past of the target.
    """
    wanted = timestamps[rows.target] - pd.Timedelta(period).to_timedelta64()
    idx = np.searchsorted(timestamps, wanted, side="right") - 1
    idx = np.clip(idx, 0, len(target) - 1)
    return _mae(target[idx], target[rows.target])


def climatology_table(target: np.ndarray, timestamps: np.ndarray, train_rows: int) -> pd.Series:
    """Mean target per (day of year, hour of day) over the train split only."""
    ts = pd.DatetimeIndex(timestamps[:train_rows])
    frame = pd.DataFrame({"doy": ts.day_of_year, "hour": ts.hour, "y": target[:train_rows].astype(np.float64)})
    return frame.groupby(["doy", "hour"])["y"].mean()


def climatology(target: np.ndarray, timestamps: np.ndarray, rows: WindowRows, train_rows: int) -> float:
    """Predict the train split's mean for the target's day of year and hour.

    Slots the train split never saw (e.g. 29 February in a short series) fall back to the
    hour-of-day mean, then to the overall train mean, so every window gets a prediction.
    """
    table = climatology_table(target, timestamps, train_rows)
    ts = pd.DatetimeIndex(timestamps[rows.target])
    keys = pd.MultiIndex.from_arrays([ts.day_of_year, ts.hour], names=["doy", "hour"])
    pred = table.reindex(keys).to_numpy(dtype=np.float64, copy=True)
    missing = np.isnan(pred)
    if missing.any():
        by_hour = table.groupby(level="hour").mean()
        pred[missing] = by_hour.reindex(ts.hour[missing]).to_numpy()
        pred[np.isnan(pred)] = float(np.mean(target[:train_rows]))
    return _mae(pred, target[rows.target])


def compute_baselines(series: Series, datasets) -> dict[str, dict[str, float]]:
    """{baseline: {"val_mae": ..., "test_mae": ...}} over the val and test windows of `datasets`.

    `datasets` is a forecastlab.windows.SplitDatasets built from this series (so its start
    positions index this series' rows).
    """
    target = series.targets
    train_rows = datasets.sizes[0]
    out: dict[str, dict[str, float]] = {name: {} for name in BASELINES}
    for split in ("val", "test"):
        rows = WindowRows.of(getattr(datasets, split), datasets.spec)
        out["persistence"][f"{split}_mae"] = persistence(target, rows)
        out["seasonal_persistence"][f"{split}_mae"] = seasonal_persistence(target, series.timestamps, rows)
        out["climatology"][f"{split}_mae"] = climatology(target, series.timestamps, rows, train_rows)
    return out
