"""Honest baselines, scored on exactly the windows the models are scored on.

- persistence (the book's code 10-9): the last target value inside the window, carried
  `horizon` steps ahead. "The temperature 24 hours from now equals the temperature now."
- seasonal persistence: the latest target value at the target's time of day that the forecast origin
  knows: one day before the target time up to 24 hours ahead, k days before it at a lead of up to k
  days (36 h ahead: two days before, 12 h before the origin), never a value after the window's last
  input. With the book's 24-hour horizon that is exactly the window's last row, so it matches
  persistence, except for a window across missing rows, whose target is more than 24 hours after its
  last input (it then looks two days back); it earns its place at other horizons (e.g. 6 h ahead,
  where persistence carries the wrong time of day).
- climatology: the train split's mean for the target's (day of year, hour of day).

All three are computed from the raw (un-normalized) target column at the windows'
start positions, so they average over every window, partial last batch included,
exactly as the book's loop does, without gathering a single window. With several horizons each is
scored per horizon on the same windows (`*_mae_by_horizon`), and `*_mae` is the mean over all.
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

    last_input: np.ndarray  # (N, 1): the last row each window sees
    target: np.ndarray  # (N, H): the rows each window must predict, one per horizon

    @classmethod
    def of(cls, dataset, spec) -> WindowRows:
        # As in the book's `targets=temperature[delay:]`, the window whose first input is row r
        # predicts row r + delay of the series (one delay per horizon).
        start = np.asarray(dataset.start_rows, dtype=np.int64)[:, None]
        delays = np.asarray(getattr(spec, "delays", (spec.delay,)), dtype=np.int64)[None, :]
        return cls(last_input=np.asarray(dataset.last_input_rows, dtype=np.int64)[:, None], target=start + delays)


def _mae(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """MAE over all windows and horizons, then per horizon: [overall, h1, h2, ...]."""
    # float64 accumulation: 100k float32 errors summed in float32 drift in the third decimal.
    err = np.abs(pred.astype(np.float64) - truth.astype(np.float64))
    return np.concatenate(([np.mean(err)], np.mean(err, axis=0)))


def persistence(target: np.ndarray, rows: WindowRows) -> np.ndarray:
    """The book's common-sense baseline: predict the last value seen."""
    return _mae(np.broadcast_to(target[rows.last_input], rows.target.shape), target[rows.target])


def seasonal_persistence(target: np.ndarray, timestamps: np.ndarray, rows: WindowRows, period="1D") -> np.ndarray:
    """Predict the latest value at the target's phase of the period (default: a day) that is known at the
    forecast origin: the value k periods before the target time, with k = ceil(lead / period) for the lead
    from the window's last input to the target (k = 1 up to one period ahead: the value one day before).

    So a forecast 36 h ahead uses the value 48 h before its target (12 h before the origin), never one
    after the origin that a real forecast could not have. Looked up by timestamp, not by row offset, so
    missing rows do not shift the lookup; when the exact time is absent the latest earlier row is used,
    and never a row after the window's last input.
    """
    step = pd.Timedelta(period).to_timedelta64().astype("timedelta64[ns]").astype(np.int64)
    times = timestamps.astype("datetime64[ns]")
    lead = (times[rows.target] - times[rows.last_input]).astype(np.int64)  # (N, H) ns, broadcast
    periods = np.maximum(1, -(-lead // step))  # ceil
    wanted = times[rows.target] - (periods * step).astype("timedelta64[ns]")
    idx = np.searchsorted(times, wanted, side="right") - 1
    idx = np.clip(np.minimum(idx, rows.last_input), 0, len(target) - 1)
    return _mae(target[idx], target[rows.target])


def climatology_table(target: np.ndarray, timestamps: np.ndarray, train_rows: int) -> pd.Series:
    """Mean target per (day of year, hour of day) over the train split only."""
    ts = pd.DatetimeIndex(timestamps[:train_rows])
    frame = pd.DataFrame({"doy": ts.day_of_year, "hour": ts.hour, "y": target[:train_rows].astype(np.float64)})
    return frame.groupby(["doy", "hour"])["y"].mean()


def climatology(target: np.ndarray, timestamps: np.ndarray, rows: WindowRows, train_rows: int) -> np.ndarray:
    """Predict the train split's mean for the target's day of year and hour.

    Slots the train split never saw (e.g. 29 February in a short series) fall back to the
    hour-of-day mean, then to the overall train mean, so every window gets a prediction.
    """
    table = climatology_table(target, timestamps, train_rows)
    ts = pd.DatetimeIndex(timestamps[rows.target.reshape(-1)])
    keys = pd.MultiIndex.from_arrays([ts.day_of_year, ts.hour], names=["doy", "hour"])
    pred = table.reindex(keys).to_numpy(dtype=np.float64, copy=True)
    missing = np.isnan(pred)
    if missing.any():
        by_hour = table.groupby(level="hour").mean()
        pred[missing] = by_hour.reindex(ts.hour[missing]).to_numpy()
        pred[np.isnan(pred)] = float(np.mean(target[:train_rows]))
    return _mae(pred.reshape(rows.target.shape), target[rows.target])


def compute_baselines(series: Series, datasets) -> dict[str, dict]:
    """{baseline: {"val_mae", "test_mae", "val_mae_by_horizon", "test_mae_by_horizon"}} over the val and
    test windows of `datasets` (the means over all horizons, then one MAE per horizon).

    `datasets` is a forecastlab.windows.SplitDatasets built from this series (so its start
    positions index this series' rows).
    """
    target = series.targets
    train_rows = datasets.sizes[0]
    out: dict[str, dict] = {name: {} for name in BASELINES}
    for split in ("val", "test"):
        rows = WindowRows.of(getattr(datasets, split), datasets.spec)
        scores = {"persistence": persistence(target, rows),
                  "seasonal_persistence": seasonal_persistence(target, series.timestamps, rows),
                  "climatology": climatology(target, series.timestamps, rows, train_rows)}
        for name, mae in scores.items():
            out[name][f"{split}_mae"] = float(mae[0])
            out[name][f"{split}_mae_by_horizon"] = mae[1:].tolist()
    return out
