"""Scores of a classifier: accuracy, macro F1, the confusion matrix and log loss, from class ids or
probabilities; and the rule baselines every classification leaderboard shows beside the models.

    scores = classification_scores(y_true, probabilities, classes=["no frost", "frost"])
    scores["accuracy"], scores["macro_f1"], scores["confusion"]   # confusion[i][j]: true i predicted j

Macro F1 is the mean over classes of each class's F1, a class never predicted and never present
counting as F1 0 (as scikit-learn's zero_division=0); it is what a majority-class rule cannot game,
unlike accuracy on imbalanced classes such as frost.
"""

from __future__ import annotations

import numpy as np

from forecastlab.errors import ForecastlabError


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts: row = true class, column = predicted class."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ForecastlabError(f"{len(y_true)} labels but {len(y_pred)} predictions", fix="pass one per case")
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_f1(confusion: np.ndarray) -> np.ndarray:
    tp = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(0), confusion.sum(1)
    denominator = predicted + actual
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


def classification_scores(y_true, predicted, *, classes: list[str]) -> dict:
    """Accuracy, macro F1, per-class precision/recall/F1 and the confusion matrix; with probabilities
    ((cases, classes) rows summing to 1) also the log loss and the Brier score."""
    y_true = np.asarray(y_true, dtype=np.int64)
    predicted = np.asarray(predicted)
    k = len(classes)
    probabilities = None
    if predicted.ndim == 2:
        if predicted.shape != (len(y_true), k):
            raise ForecastlabError(f"probabilities of shape {predicted.shape}, expected ({len(y_true)}, {k})",
                                   fix="pass one row of class probabilities per case")
        probabilities = predicted.astype(np.float64)
        y_pred = probabilities.argmax(1)
    else:
        y_pred = predicted.astype(np.int64)
    if len(y_true) == 0:
        raise ForecastlabError("no cases to score", fix="pass at least one case")
    if y_true.min() < 0 or y_true.max() >= k or y_pred.min() < 0 or y_pred.max() >= k:
        raise ForecastlabError(f"class ids must be 0..{k - 1}", fix="map the labels to class ids first")
    confusion = confusion_matrix(y_true, y_pred, k)
    f1 = per_class_f1(confusion)
    tp = np.diag(confusion)
    precision = np.divide(tp, confusion.sum(0), out=np.zeros(k), where=confusion.sum(0) > 0)
    recall = np.divide(tp, confusion.sum(1), out=np.zeros(k), where=confusion.sum(1) > 0)
    out = {"cases": int(len(y_true)), "accuracy": float((y_pred == y_true).mean()), "macro_f1": float(f1.mean()),
           "confusion": confusion.tolist(), "classes": list(classes),
           "per_class": {c: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                             "support": int(confusion[i].sum())} for i, c in enumerate(classes)}}
    if probabilities is not None:
        eps = 1e-12
        picked = np.clip(probabilities[np.arange(len(y_true)), y_true], eps, 1.0)
        onehot = np.eye(k)[y_true]
        out["log_loss"] = float(-np.log(picked).mean())
        out["brier"] = float(((probabilities - onehot) ** 2).sum(1).mean())
    return out


def majority_class(y_train) -> int:
    """The most frequent class of the training labels (the lowest id on a tie)."""
    return int(np.bincount(np.asarray(y_train, dtype=np.int64)).argmax())


def best_threshold(score, y, *, larger_is_positive: bool = True) -> float:
    """The threshold t on a 1-d `score` whose rule (score > t, or score < t) best separates the binary
    labels `y` by macro F1, searched over the midpoints of the observed scores (at most 512 quantiles)."""
    score, y = np.asarray(score, dtype=np.float64), np.asarray(y, dtype=np.int64)
    candidates = np.unique(np.quantile(score, np.linspace(0, 1, 513)))
    mids = np.concatenate([[candidates[0] - 1.0], (candidates[1:] + candidates[:-1]) / 2, [candidates[-1] + 1.0]])
    best, best_f1 = mids[0], -1.0
    for t in mids:
        pred = (score > t) if larger_is_positive else (score < t)
        f1 = per_class_f1(confusion_matrix(y, pred.astype(np.int64), 2)).mean()
        if f1 > best_f1:
            best, best_f1 = t, f1
    return float(best)


def nearest_neighbour(train_x, train_y, test_x, *, chunk: int = 256) -> np.ndarray:
    """1-NN with the Euclidean distance over whole series, the UCR archive's classic baseline: the class
    of each test case's nearest training case (ties: the first)."""
    a = np.asarray(train_x, dtype=np.float64).reshape(len(train_x), -1)
    b = np.asarray(test_x, dtype=np.float64).reshape(len(test_x), -1)
    out = np.empty(len(b), dtype=np.int64)
    sq = (a**2).sum(1)
    for i in range(0, len(b), chunk):
        d = sq[None, :] - 2 * b[i:i + chunk] @ a.T
        out[i:i + chunk] = np.asarray(train_y)[d.argmin(1)]
    return out
