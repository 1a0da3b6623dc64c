from __future__ import annotations

import pytest

from forecastlab.evaluation.seeds import clearly_better, spread


def test_spread_is_the_mean_and_sample_std_over_seeds():
    s = spread([2.0, 2.2, 2.4])
    assert s["mean"] == pytest.approx(2.2) and s["std"] == pytest.approx(0.2) and s["n"] == 3
    assert spread([2.0])["std"] is None and spread([])["mean"] is None


def test_better_only_when_the_difference_exceeds_both_spreads():
    a, b = {"mean": 2.0, "std": 0.05}, {"mean": 2.2, "std": 0.1}
    assert clearly_better(a, b) and not clearly_better(b, a)
    assert not clearly_better(a, {"mean": 2.04, "std": 0.01})  # inside a's spread
    assert not clearly_better(a, {"mean": 2.3, "std": 0.4})  # inside b's spread
    assert not clearly_better({"mean": 2.0, "std": None}, b)  # one seed: no claim
