"""Honest comparisons over seeds: a mean with its spread, and "better" only beyond both spreads.

One training run is one draw: its seed moves the weights, the dropout masks and the shuffle order, and
with them the MAE by a few hundredths of a degree. So a model is called better than another only if the
difference of their mean MAEs exceeds both models' seed spreads (the standard deviation over seeds,
ddof=1). With a single seed there is no spread, and nothing is called better.
"""

from __future__ import annotations

import math

import numpy as np


def spread(values) -> dict:
    """{"mean", "std", "n", "values"}: std is over seeds with ddof=1 (None for a single value)."""
    arr = np.asarray(list(values), dtype=np.float64)
    if arr.size == 0:
        return {"mean": None, "std": None, "n": 0, "values": []}
    std = float(arr.std(ddof=1)) if arr.size > 1 else None
    return {"mean": float(arr.mean()), "std": std, "n": int(arr.size), "values": arr.tolist()}


def clearly_better(a: dict, b: dict) -> bool:
    """True when `a` (a spread() of MAEs, lower is better) beats `b` by more than both seed spreads."""
    if a.get("std") is None or b.get("std") is None or a.get("mean") is None or b.get("mean") is None:
        return False
    diff = b["mean"] - a["mean"]
    return math.isfinite(diff) and diff > a["std"] and diff > b["std"]
