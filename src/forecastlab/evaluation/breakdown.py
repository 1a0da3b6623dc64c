"""Where a forecast errs: its MAE grouped by the hour of day, the month or the meteorological season of
the time it forecasts, beside other forecasts' (persistence) on the very same targets.

    mae_by_time(times, {"lstm": abs_err, "persistence": abs_err_p}, by="season")
    #   season  targets   lstm  persistence
    #   DJF      52,344  2.101        2.480 ...

Groups come in calendar order (hours 0 to 23, January to December, winter to autumn), and only those
the targets fall in: a test split of three months has three month rows and one or two seasons.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from forecastlab.errors import ForecastlabError

# Meteorological seasons (northern hemisphere): whole months, as weather services count them.
SEASONS = ("DJF (winter)", "MAM (spring)", "JJA (summer)", "SON (autumn)")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
GROUPINGS = ("hour", "month", "season")


def season_of(month: np.ndarray) -> np.ndarray:
    """0 (DJF) to 3 (SON) for months 1 to 12."""
    return (np.asarray(month) % 12) // 3


def mae_by_time(times, abs_errors: Mapping[str, np.ndarray], by: str) -> pd.DataFrame:
    """One row per group of target times present: the group, how many targets fall in it, and each
    forecast's mean absolute error there. `times` and every array of `abs_errors` hold one entry per
    target (any shape, flattened alike)."""
    if by not in GROUPINGS:
        raise ForecastlabError(f"cannot group errors by {by!r}", arg="by", fix=f"use one of: {', '.join(GROUPINGS)}")
    stamps = pd.DatetimeIndex(np.asarray(times).reshape(-1))
    errors = {name: np.asarray(err, dtype=np.float64).reshape(-1) for name, err in abs_errors.items()}
    for name, err in errors.items():
        if len(err) != len(stamps):
            raise ForecastlabError(f"{len(err)} errors of {name!r} for {len(stamps)} target times", arg="abs_errors",
                                   fix="pass one error per target time")
    if by == "hour":
        keys, labels = stamps.hour.to_numpy(), [f"{h:02d}:00" for h in range(24)]
    elif by == "month":
        keys, labels = stamps.month.to_numpy() - 1, list(MONTHS)
    else:
        keys, labels = season_of(stamps.month.to_numpy()), list(SEASONS)
    counts = np.bincount(keys, minlength=len(labels))
    present = np.flatnonzero(counts)
    frame = pd.DataFrame({by: [labels[k] for k in present], "targets": counts[present]})
    for name, err in errors.items():
        sums = np.bincount(keys, weights=err, minlength=len(labels))
        frame[name] = sums[present] / counts[present]
    return frame
