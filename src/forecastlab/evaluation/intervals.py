"""Calibrated prediction intervals for any model, per horizon, from the validation split.

- A point model: split-conformal (Vovk et al.; Lei et al., 2018). The scores are |y - ŷ| on the
  validation windows; per horizon, q̂ is their ⌈(n+1)(1-α)⌉-th smallest, and the interval is ŷ ± q̂.
- A quantile model: conformalized quantile regression (Romano et al., 2019). The scores are
  max(lo - y, y - hi) for its outer quantiles; the interval is [lo - q̂, hi + q̂] (q̂ may be negative:
  intervals that were too wide shrink).

Either way, under exchangeability the coverage on new windows is at least 1 - α. Time series are not
exchangeable, so `coverage()` on test measures what the intervals really do.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from forecastlab.errors import ForecastlabError

DEFAULT_LEVEL = 0.8


@dataclass(frozen=True)
class Calibration:
    """What turns forecasts into intervals: the method, the nominal level, q̂ per horizon."""

    method: str  # "split-conformal" or "cqr"
    level: float
    q: tuple[float, ...]  # per horizon, in the target's units
    n: int  # calibration windows
    quantiles: tuple[float, float] | None = None  # cqr: the model's lower and upper quantile

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        return cls(d["method"], float(d["level"]), tuple(float(v) for v in d["q"]), int(d["n"]),
                   tuple(d["quantiles"]) if d.get("quantiles") else None)

    def interval(self, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper), each (N, H): from the point forecast (N, H), or (N, H, 2) lo/hi for cqr."""
        q = np.asarray(self.q)
        if self.method == "cqr":
            return forecast[..., 0] - q, forecast[..., 1] + q
        return forecast - q, forecast + q


def _check(level: float) -> None:
    if not 0 < level < 1:
        raise ForecastlabError(f"the interval level must be strictly between 0 and 1, got {level}",
                               where="interval_level", fix="e.g. 0.8 for 80% intervals")


def conformal_q(scores: np.ndarray, level: float) -> np.ndarray:
    """Per column of `scores` (N, H): the ⌈(n+1)·level⌉-th smallest score (inf when n is too small)."""
    _check(level)
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.shape[0]
    k = math.ceil((n + 1) * level)
    if n == 0 or k > n:
        return np.full(scores.shape[1:], np.inf)
    return np.sort(scores, axis=0)[k - 1]


def calibrate_point(point: np.ndarray, y: np.ndarray, level: float = DEFAULT_LEVEL) -> Calibration:
    """Split-conformal calibration of a point forecaster on validation forecasts `point` (N, H)."""
    scores = np.abs(np.asarray(y, dtype=np.float64) - np.asarray(point, dtype=np.float64))
    return Calibration("split-conformal", level, tuple(conformal_q(scores, level).tolist()), len(scores))


def calibrate_quantiles(lo: np.ndarray, hi: np.ndarray, y: np.ndarray, quantiles: tuple[float, float],
                        level: float = DEFAULT_LEVEL) -> Calibration:
    """Conformalized quantile regression on validation quantile forecasts `lo`, `hi` (N, H)."""
    y = np.asarray(y, dtype=np.float64)
    scores = np.maximum(np.asarray(lo, dtype=np.float64) - y, y - np.asarray(hi, dtype=np.float64))
    return Calibration("cqr", level, tuple(conformal_q(scores, level).tolist()), len(scores),
                       (float(quantiles[0]), float(quantiles[1])))


def coverage(lower: np.ndarray, upper: np.ndarray, y: np.ndarray) -> dict:
    """Per horizon and overall: the share of targets inside [lower, upper], and the mean width."""
    y = np.asarray(y, dtype=np.float64)
    inside = (y >= lower) & (y <= upper)
    width = np.asarray(upper, dtype=np.float64) - np.asarray(lower, dtype=np.float64)
    return {"coverage": inside.mean(axis=0).tolist(), "width": width.mean(axis=0).tolist(),
            "coverage_all": float(inside.mean()), "width_all": float(width.mean())}
