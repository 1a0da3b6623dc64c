"""Classification scores against hand-computed values, and the baselines' rules (majority, threshold, 1-NN)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.classification import (
    best_threshold,
    classification_scores,
    confusion_matrix,
    majority_class,
    nearest_neighbour,
)


def test_confusion_matrix_rows_are_true_classes_columns_predicted():
    m = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_scores_match_a_hand_computation():
    y = [0, 0, 0, 1, 1, 2]
    pred = [0, 0, 1, 1, 0, 0]
    s = classification_scores(y, pred, classes=["a", "b", "c"])
    # a: tp 2, predicted 4, actual 3 -> P 0.5, R 2/3, F1 4/7; b: tp 1, predicted 2, actual 2 -> F1 0.5;
    # c: never predicted -> F1 0 (zero_division=0).
    assert s["accuracy"] == pytest.approx(3 / 6)
    assert s["per_class"]["a"] == pytest.approx({"precision": 0.5, "recall": 2 / 3, "f1": 4 / 7, "support": 3})
    assert s["per_class"]["c"]["f1"] == 0.0
    assert s["macro_f1"] == pytest.approx((4 / 7 + 0.5 + 0.0) / 3)
    assert s["confusion"] == [[2, 1, 0], [1, 1, 0], [1, 0, 0]]
    assert "log_loss" not in s  # class ids carry no probabilities


def test_probabilities_give_log_loss_and_brier():
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    s = classification_scores([0, 1, 1], p, classes=["no", "yes"])
    assert s["accuracy"] == pytest.approx(2 / 3)
    assert s["log_loss"] == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3)
    assert s["brier"] == pytest.approx(((0.1**2 * 2) + (0.2**2 * 2) + (0.6**2 * 2)) / 3)


def test_a_majority_rule_scores_high_accuracy_but_low_macro_f1():
    y = np.array([0] * 90 + [1] * 10)
    s = classification_scores(y, np.zeros(100, dtype=int), classes=["no", "yes"])
    assert s["accuracy"] == 0.9
    assert s["macro_f1"] == pytest.approx((2 * 90 / 190 + 0) / 2)


@pytest.mark.parametrize(("y", "pred", "needle"), [
    ([0, 1], np.ones((2, 3)) / 3, "probabilities of shape"),
    ([], [], "no cases"),
    ([0, 3], [0, 1], "class ids must be 0..1"),
])
def test_bad_inputs_are_refused(y, pred, needle):
    with pytest.raises(ForecastlabError, match=needle):
        classification_scores(y, pred, classes=["a", "b"])


def test_majority_class_breaks_ties_towards_the_lowest_id():
    assert majority_class([2, 2, 1, 1, 0]) == 1
    assert majority_class([1, 0, 1]) == 1


def test_best_threshold_separates_separable_scores_both_ways():
    score = np.array([-3.0, -2.0, -1.0, 4.0, 5.0, 6.0])
    y = np.array([1, 1, 1, 0, 0, 0])
    t = best_threshold(score, y, larger_is_positive=False)
    assert -1.0 < t < 4.0
    assert ((score < t).astype(int) == y).all()
    t = best_threshold(-score, y)
    assert ((-score > t).astype(int) == y).all()


def test_nearest_neighbour_finds_the_closest_training_series():
    train = np.array([[[0.0], [0.0]], [[10.0], [10.0]], [[0.0], [10.0]]])
    labels = np.array([0, 1, 2])
    test = np.array([[[1.0], [0.5]], [[9.0], [11.0]], [[0.2], [9.0]], [[5.0], [5.0]]])
    got = nearest_neighbour(train, labels, test, chunk=2)  # chunks smaller than the test set
    # The last case is equally far (50) from cases 0, 1 and 2: the first wins.
    assert got.tolist() == [0, 1, 2, 0]
