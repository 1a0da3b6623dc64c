"""Anomaly scores and their honest evaluation: robust z-scores of residuals, events, event-wise and range-based
metrics, and trivial detectors to compare with.

    z = robust_z(residuals, window=1008)              # (r - rolling median) / (1.4826 rolling MAD)
    flagged = events_from_scores(np.abs(z), 5.0)      # [(start, end, peak)] runs above the threshold
    m = event_metrics(true_ranges, found_ranges, tolerance=6, n=len(z))

Why not point-adjusted F1 alone: point adjustment counts a whole true event as found as soon as one of its
points is flagged, so a detector that flags random points scores near the top on long events (Kim et al.,
"Towards a rigorous evaluation of time-series anomaly detection", AAAI 2022). `event_metrics` reports:

  - event-wise precision and recall with a tolerance: a true event counts as found when a flagged range
    overlaps it, widened by `tolerance` rows on each side; a flagged range counts as correct when it overlaps
    a (widened) true event. F1 is their harmonic mean;
  - range-based precision and recall (Tatbul et al., NeurIPS 2018) with alpha = 0 (no existence reward),
    flat positional bias and cardinality factor 1: recall is the mean, over true ranges, of the share of the
    range that flagged rows cover; precision the mean, over flagged ranges, of the share that true rows
    cover. F1 is their harmonic mean;
  - point-adjusted F1, for comparison only, beside the other two.

`trivial_detectors` gives the same metrics for a detector that flags as many rows as ours at random, and for
one that flags every row, so a number can be read against what nothing achieves.
"""

from __future__ import annotations

import numpy as np

from forecastlab.data.faults import runs_of as _runs
from forecastlab.errors import ForecastlabError

FLAT_SCALE = 1e-9  # the scale of a stream with no spread so far


def robust_z(residuals: np.ndarray, window: int, *, min_periods: int | None = None) -> np.ndarray:
    """(r - median) / (1.4826 MAD), trailing: the median of the `window` rows ending at each row, and as MAD
    the median over those rows of each row's distance from its own trailing median (past-only, like the
    median). NaN where fewer than `min_periods` (default window // 4) values are there. Where that MAD is
    0 (a flat stretch), the scale is 1.4826 x the MAD of every earlier row; where that is 0 too (exactly
    flat so far), FLAT_SCALE, so any departure scores as extreme. Nothing is divided by zero and nothing
    later is used."""
    import pandas as pd

    r = np.asarray(residuals, dtype=np.float64)
    if r.ndim != 1 or window < 3:
        raise ForecastlabError(f"robust_z needs a 1-d array and window >= 3; got shape {r.shape}, window {window}",
                               arg="window", fix="pass the residuals of one channel and a window of 3 rows or more")
    min_periods = max(2, window // 4) if min_periods is None else min_periods
    s = pd.Series(r)
    med = s.rolling(window, min_periods=min_periods).median()
    mad = (s - med).abs().rolling(window, min_periods=min_periods).median().to_numpy()
    past = (s - s.expanding(min_periods=2).median()).abs().expanding(min_periods=2).median().to_numpy()
    scale = 1.4826 * np.where(mad > 0, mad, past)
    # A stream that was exactly flat so far has no spread at all: any departure from it is extreme.
    scale = np.where(scale > 0, scale, FLAT_SCALE)
    z = (r - med.to_numpy()) / scale
    return np.where(np.isfinite(mad), z, np.nan)


def interval_excess(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """How far outside [lower, upper] each value falls, in widths of the interval (0 inside)."""
    width = np.maximum(np.asarray(upper, dtype=np.float64) - lower, 1e-12)
    return np.maximum(0.0, np.maximum(lower - y, y - upper)) / width


def events_from_scores(scores: np.ndarray, threshold: float, *, merge: int = 0) -> list[tuple[int, int, float]]:
    """(start, end inclusive, peak score) of every run of rows with score > threshold; runs closer than
    `merge` rows are joined. NaN scores are never flagged."""
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    runs = _runs(s > threshold)
    joined: list[list[int]] = []
    for start, end in runs:
        if joined and start - joined[-1][1] - 1 <= merge:
            joined[-1][1] = end
        else:
            joined.append([start, end])
    return [(a, b, float(np.max(s[a:b + 1]))) for a, b in joined]


def ranges_mask(ranges, n: int) -> np.ndarray:
    """(n,) bool: True on every row of the (start, end inclusive) ranges."""
    m = np.zeros(n, dtype=bool)
    for a, b in ranges:
        m[max(0, a):min(n, b + 1)] = True
    return m


def event_metrics(truth: list[tuple[int, int]], found: list[tuple[int, int]], *, n: int,
                  tolerance: int = 0) -> dict:
    """Event-wise (with `tolerance` rows), range-based (Tatbul et al., alpha 0) and point-adjusted scores of
    the `found` ranges against the `truth` ranges over `n` rows (ranges are (start, end) inclusive)."""
    truth = [(int(a), int(b)) for a, b in truth]
    found = [(int(a), int(b)) for a, b in found]
    if tolerance < 0:
        raise ForecastlabError(f"tolerance={tolerance}", arg="tolerance", fix="give a tolerance of 0 rows or more")

    def overlaps(x, y, pad):
        return x[0] <= y[1] + pad and y[0] <= x[1] + pad

    hit_truth = sum(any(overlaps(t, f, tolerance) for f in found) for t in truth)
    hit_found = sum(any(overlaps(f, t, tolerance) for t in truth) for f in found)
    ev_p = hit_found / len(found) if found else 0.0
    ev_r = hit_truth / len(truth) if truth else 0.0
    tmask, fmask = ranges_mask(truth, n), ranges_mask(found, n)
    rr = float(np.mean([fmask[a:b + 1].mean() for a, b in truth])) if truth else 0.0
    rp = float(np.mean([tmask[a:b + 1].mean() for a, b in found])) if found else 0.0
    # Point adjustment: every point of a true event counts as flagged once one of them is.
    adjusted = fmask.copy()
    for a, b in truth:
        if fmask[a:b + 1].any():
            adjusted[a:b + 1] = True
    tp = int((adjusted & tmask).sum())
    pa_p = tp / int(adjusted.sum()) if adjusted.any() else 0.0
    pa_r = tp / int(tmask.sum()) if tmask.any() else 0.0
    return {"events": len(truth), "found": len(found), "tolerance_rows": tolerance,
            "event_precision": ev_p, "event_recall": ev_r, "event_f1": _f1(ev_p, ev_r),
            "range_precision": rp, "range_recall": rr, "range_f1": _f1(rp, rr),
            "point_adjusted_f1": _f1(pa_p, pa_r), "flagged_share": float(fmask.mean()) if n else 0.0}


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def trivial_detectors(truth: list[tuple[int, int]], found: list[tuple[int, int]], *, n: int, tolerance: int = 0,
                      seed: int = 0, repeats: int = 20) -> dict:
    """The metrics of two detectors that know nothing: `random` flags as many single rows as `found` flags
    in all, uniformly at random (the mean of `repeats` draws), and `always` flags every row."""
    rng = np.random.default_rng(seed)
    k = int(ranges_mask(found, n).sum())
    draws = []
    for _ in range(repeats):
        rows = np.sort(rng.choice(n, size=min(k, n), replace=False)) if k else np.zeros(0, dtype=int)
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        draws.append(event_metrics(truth, _runs(mask), n=n, tolerance=tolerance))
    random = {key: float(np.mean([d[key] for d in draws])) for key in draws[0]} if draws else {}
    always = event_metrics(truth, [(0, n - 1)] if n else [], n=n, tolerance=tolerance)
    return {"random": random, "always": always}
