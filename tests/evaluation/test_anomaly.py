"""Anomaly metrics against hand counts, the point-adjustment trap they guard against, and a trailing z-score."""

from __future__ import annotations

import numpy as np
import pytest

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.anomaly import (
    event_metrics,
    events_from_scores,
    interval_excess,
    robust_z,
    trivial_detectors,
)


def test_event_and_range_metrics_match_hand_counts():
    truth = [(10, 19), (50, 59), (90, 90)]
    found = [(15, 24), (62, 63), (200, 209)]  # half of event 1; 2 rows after event 2; a false alarm
    m = event_metrics(truth, found, n=300, tolerance=0)
    assert m["event_recall"] == pytest.approx(1 / 3) and m["event_precision"] == pytest.approx(1 / 3)
    m3 = event_metrics(truth, found, n=300, tolerance=3)  # 62 is within 3 rows of 59
    assert m3["event_recall"] == pytest.approx(2 / 3) and m3["event_precision"] == pytest.approx(2 / 3)
    assert m3["event_f1"] == pytest.approx(2 / 3)
    # Range-based (alpha 0, flat bias): recall = mean covered share of each true range; precision likewise.
    assert m["range_recall"] == pytest.approx((5 / 10 + 0 + 0) / 3)
    assert m["range_precision"] == pytest.approx((5 / 10 + 0 + 0) / 3)
    # Point adjustment: event 1 counts as wholly found (10 rows), the false rows stay false.
    tp, flagged = 10, 10 + 5 + 2 + 10  # the adjusted event, found's 5 rows outside it, and the two others
    p, r = tp / flagged, tp / 21
    assert m["point_adjusted_f1"] == pytest.approx(2 * p * r / (p + r))
    assert event_metrics(truth, [], n=300)["event_f1"] == 0.0
    with pytest.raises(ForecastlabError, match="tolerance"):
        event_metrics(truth, found, n=300, tolerance=-1)


def test_random_flags_score_high_point_adjusted_f1_but_not_range_f1():
    truth = [(i, i + 199) for i in range(500, 10_000, 1_000)]  # ten long events
    trivial = trivial_detectors(truth, [(0, 99)], n=10_000, seed=0)  # as many rows (100) flagged at random
    random = trivial["random"]
    assert random["point_adjusted_f1"] > 0.5  # the trap (Kim et al., 2022): nothing known, a high score
    assert random["range_f1"] < 0.05 and random["flagged_share"] == pytest.approx(0.01)
    always = trivial["always"]
    assert always["event_f1"] == 1.0 and always["range_precision"] == pytest.approx(0.2)  # events alone mislead


def test_robust_z_is_trailing_and_scale_free():
    rng = np.random.default_rng(0)
    r = rng.normal(size=2_000)
    z = robust_z(r, 200)
    r2 = r.copy()
    r2[1_500:] += 50  # the future changes nothing before it
    z2 = robust_z(r2, 200)
    np.testing.assert_array_equal(z[:1_500], z2[:1_500])
    assert np.isnan(z[:49]).all() and np.isfinite(z[100:]).all()  # the MAD needs 50 medians first
    assert 0.7 < np.nanstd(z[200:]) < 1.5  # about unit scale for Gaussian residuals
    np.testing.assert_allclose(robust_z(10 * r, 200), z, rtol=1e-9, equal_nan=True)
    flat = robust_z(np.r_[np.zeros(100), rng.normal(size=100)], 20)  # MAD 0 and no spread in the past
    assert np.isfinite(flat[10:]).all() and (flat[10:100] == 0).all() and abs(flat[100]) > 1e6  # departure: extreme
    spike = np.zeros(100)
    spike[99] = 5
    assert robust_z(spike, 20)[-1] > 1e6
    with pytest.raises(ForecastlabError, match="window"):
        robust_z(r, 2)


def test_events_from_scores_merge_and_ignore_nan():
    s = np.array([0, 6, 7, 0, 0, 9, np.nan, 8, 0], dtype=float)
    assert events_from_scores(s, 5) == [(1, 2, 7.0), (5, 5, 9.0), (7, 7, 8.0)]
    assert events_from_scores(s, 5, merge=2) == [(1, 7, 9.0)]
    np.testing.assert_allclose(interval_excess(np.array([0.0, 3.0, -2.0]), np.zeros(3) - 1, np.ones(3)),
                               [0.0, 1.0, 0.5])
