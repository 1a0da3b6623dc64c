"""`persistence`: the book's common-sense baseline (code 10-9) as a model that follows the contract.

It forecasts every horizon as the target's last value inside the window, so it trains, evaluates,
predicts and backtests like any other model, with conformal intervals calibrated on the validation
split. Its MAE equals forecastlab.evaluation.baselines' persistence on the same windows (a test pins it);
it needs the target to be one of the input columns.
"""

from __future__ import annotations

import numpy as np

from forecastlab.errors import ForecastlabError
from forecastlab.models.contract import Estimator, window_arrays
from forecastlab.models.registry import register_model


@register_model("persistence")
class PersistenceModel(Estimator):
    """The last value of the target seen in the window, for every horizon (the book's baseline)."""

    book_code = "10-9"
    default_target_transform = "none"
    supported_losses = ("mse", "mae", "huber")
    param_ranges: dict = {}

    def __init__(self, n_features: int, sequence_length: int | None = None):
        super().__init__(n_features, sequence_length)
        self.column_ = None
        self.mean_, self.std_ = 0.0, 1.0

    def fit(self, datasets, **_) -> PersistenceModel:
        self.head = self._head_for(datasets)
        column = getattr(datasets, "target_column", None)
        if column is None:
            raise ForecastlabError("persistence needs the target to be one of the input columns",
                                   where="datasets.target_column", arg="features",
                                   fix="include the target among the features, or build the datasets with "
                                   "make_datasets_from_series (which records where it is)")
        normalizer = getattr(datasets, "normalizer", None)
        self.column_ = int(column)
        if normalizer is not None:
            self.mean_, self.std_ = float(normalizer.mean_[column]), float(normalizer.std_[column])
        self.train_windows_ = datasets.train.num_windows
        self.fitted_ = True
        return self

    def predict(self, windows, *, end_times=None) -> np.ndarray:
        self._require_fitted()
        out = [x[:, -1, self.column_].astype(np.float64) * self.std_ + self.mean_ for x, _ in window_arrays(windows)]
        last = np.concatenate(out) if out else np.zeros(0)
        return np.broadcast_to(last[:, None, None], (len(last), self.head.horizons, 1)).copy()

    def state(self) -> dict:
        return {"column": self.column_, "mean": self.mean_, "std": self.std_}

    def restore(self, state: dict, files: dict[str, bytes]) -> None:
        column = state["column"]
        if isinstance(column, bool) or not isinstance(column, int) or not 0 <= column < self.n_features:
            raise ValueError(f"column {column!r} is not one of the {self.n_features} inputs")
        self.column_, self.mean_, self.std_ = column, float(state["mean"]), float(state["std"])
