"""Conformal intervals reach their nominal coverage on exchangeable data, per horizon."""

from __future__ import annotations

import numpy as np
import pytest

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.intervals import (
    Calibration,
    calibrate_point,
    calibrate_quantiles,
    conformal_q,
    coverage,
)


def test_split_conformal_covers_80_percent_per_horizon():
    rng = np.random.default_rng(0)
    scale = np.array([0.5, 1.0, 3.0])  # each horizon has its own error size
    y_val, y_test = rng.normal(0, scale, (4000, 3)), rng.normal(0, scale, (20000, 3))
    cal = calibrate_point(np.zeros_like(y_val), y_val, 0.8)
    lo, hi = cal.interval(np.zeros_like(y_test))
    cov = coverage(lo, hi, y_test)
    assert all(0.78 <= c <= 0.82 for c in cov["coverage"]), cov
    assert cov["width"] == pytest.approx(list(2 * 1.2816 * scale), rel=0.05)
    assert Calibration.from_dict(cal.to_dict()) == cal


def test_cqr_corrects_intervals_that_are_too_narrow():
    rng = np.random.default_rng(1)
    y_val, y_test = rng.normal(0, 2, (4000, 1)), rng.normal(0, 2, (20000, 1))
    narrow = np.stack([np.full_like(y_test, -0.5), np.full_like(y_test, 0.5)], axis=-1)
    cal = calibrate_quantiles(np.full_like(y_val, -0.5), np.full_like(y_val, 0.5), y_val, (0.1, 0.9), 0.8)
    cov = coverage(*cal.interval(narrow), y_test)
    assert 0.78 <= cov["coverage_all"] <= 0.82 and cal.q[0] > 0


def test_the_finite_sample_rank_and_its_edge_cases():
    scores = np.arange(1, 11, dtype=float)[:, None]  # n = 10: rank ceil(11 * 0.8) = 9
    assert conformal_q(scores, 0.8).tolist() == [9.0]
    assert conformal_q(scores, 0.95).tolist() == [np.inf]  # rank 11 > n: no finite interval is honest
    with pytest.raises(ForecastlabError, match="strictly between 0 and 1"):
        conformal_q(scores, 1.0)
