"""`lightgbm`: gradient-boosted trees (the `lightgbm` package) on summary features of each window.

The direct strategy: one booster per horizon (and per quantile, for a quantile loss), each trained on
the same feature matrix (binned once, relabelled per booster) with early stopping on the validation
split. Features (forecastlab.windows.features): every column's last value, means and ranges over several
spans, changes over several lags, and calendar terms of the window's last input time.

The losses map to LightGBM's objectives: mse -> l2, mae -> l1, huber -> huber (alpha = delta),
quantile:q1,..,qk -> one `quantile` booster per q. Boosters are saved in LightGBM's own text format
(`Booster.model_to_string`), one file each, and read back with `Booster(model_str=...)`: no pickle.
Not one of the book's models: it learns a standardized target by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from forecastlab.errors import ForecastlabError
from forecastlab.models.base import Choice, Float, Int, IntList
from forecastlab.models.contract import Estimator, window_arrays
from forecastlab.models.registry import register_model
from forecastlab.windows.features import WindowFeatures

_OBJECTIVES = {"mse": ("regression", "l2"), "mae": ("regression_l1", "l1"), "huber": ("huber", "huber"),
               "quantile": ("quantile", "quantile")}


def _lightgbm():
    try:
        import lightgbm
    except ImportError as err:  # a dependency of forecastlab; only a broken install lacks it
        raise ForecastlabError(f"the lightgbm package cannot be imported ({err})", where="model 'lightgbm'",
                               fix="pip install 'lightgbm>=4.3' (and the system's libgomp1)") from None
    return lightgbm


@register_model("lightgbm")
class LightGBMModel(Estimator):
    """Gradient-boosted trees (LightGBM), one booster per horizon and quantile, on window summary features."""

    needs_sequence_length = True
    param_ranges = {
        "n_estimators": Int(1, 100_000, why="more rounds than that never pay"),
        "learning_rate": Float(1e-4, 1.0),
        "num_leaves": Int(2, 131_072),
        "min_child_samples": Int(1, 10**8),
        "feature_fraction": Float(0.01, 1.0),
        "early_stopping_rounds": Int(1, 100_000, optional=True),
        "spans": IntList(Int(1, 100_000), max_len=16),
        "lags": IntList(Int(1, 100_000), min_len=0, max_len=16),
        "calendar": Choice(True, False),
        "num_threads": Int(0, 1024),
    }

    def __init__(self, n_features: int, sequence_length: int | None = None, n_estimators: int = 500,
                 learning_rate: float = 0.05, num_leaves: int = 31, min_child_samples: int = 100,
                 feature_fraction: float = 0.8, early_stopping_rounds: int | None = 50,
                 spans: tuple[int, ...] = (6, 24, 120), lags: tuple[int, ...] = (1, 24), calendar: bool = True,
                 num_threads: int = 0):
        super().__init__(n_features, sequence_length)
        self.n_estimators, self.learning_rate, self.num_leaves = n_estimators, learning_rate, num_leaves
        self.min_child_samples, self.feature_fraction = min_child_samples, feature_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.spans, self.lags, self.calendar, self.num_threads = spans, lags, calendar, num_threads
        self.features = WindowFeatures(sequence_length, spans, lags, calendar)
        self.boosters_: list[list] = []  # [horizon][quantile] -> lightgbm.Booster
        self.best_iterations_: list[list[int]] = []

    # -- the contract ---------------------------------------------------------------------------------

    def fit(self, datasets, *, max_windows: int | None = None,
            progress: Callable[[int, int, dict], None] | None = None) -> LightGBMModel:
        """Fit every booster on datasets.train, stopping each on datasets.val. `max_windows` keeps only the
        first that many train windows of the first epoch's shuffled order (what a torch model sees in
        max_windows // batch_size steps); `progress(done, total, row)` is called after each booster."""
        lgb = _lightgbm()
        head = self._head_for(datasets)
        self.head = head
        train, val = datasets.train, datasets.val
        positions = None
        if max_windows is not None and max_windows < train.num_windows:
            order = train.order(0) if train.shuffle else np.arange(train.num_windows)
            positions = np.sort(order[:max_windows])
        x_train, y_train = self._matrix(train, positions)
        x_val, y_val = self._matrix(val)
        self.train_windows_ = len(x_train)
        loss = head.loss
        objective, metric = _OBJECTIVES[loss.name]
        quantiles = loss.quantiles if loss.name == "quantile" else (None,)
        common = {"learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                  "min_data_in_leaf": self.min_child_samples, "feature_fraction": self.feature_fraction,
                  "seed": self.seed, "deterministic": True, "force_row_wise": True, "verbose": -1,
                  "num_threads": self.num_threads, "metric": list(dict.fromkeys([metric, "l1"])),
                  "first_metric_only": True}
        # Binned once: every booster reuses the bins with its own label.
        d_train = lgb.Dataset(x_train, label=y_train[:, 0], free_raw_data=False, params={"verbose": -1})
        d_val = lgb.Dataset(x_val, label=y_val[:, 0], reference=d_train, free_raw_data=False)
        total = head.horizons * len(quantiles)
        self.boosters_, self.best_iterations_, curves = [], [], []
        started = time.perf_counter()
        for j in range(head.horizons):
            d_train.set_label(y_train[:, j])
            d_val.set_label(y_val[:, j])
            row_boosters, row_best = [], []
            for k, q in enumerate(quantiles):
                params = dict(common, objective=objective)
                if q is not None:
                    params["alpha"] = q
                if loss.name == "huber":
                    params["alpha"] = loss.delta
                record: dict = {}
                callbacks = [lgb.record_evaluation(record)]
                if self.early_stopping_rounds:
                    callbacks.append(lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True,
                                                        verbose=False))
                booster = lgb.train(params, d_train, num_boost_round=self.n_estimators,
                                    valid_sets=[d_train, d_val], valid_names=["train", "val"], callbacks=callbacks)
                best = booster.best_iteration or booster.current_iteration()
                row_boosters.append(booster)
                row_best.append(int(best))
                record["point"] = k == loss.median_index  # the MAE columns follow the point forecast
                curves.append(record)
                if progress is not None:
                    done = len(curves)
                    progress(done, total, _history_row(curves, len(record["val"][metric]) - 1, metric,
                                                       head.target.scale, self.learning_rate, started))
            self.boosters_.append(row_boosters)
            self.best_iterations_.append(row_best)
        self.history_ = _history(curves, metric, head.target.scale, self.learning_rate, started)
        self.fitted_ = True
        return self

    def predict(self, windows, *, end_times=None) -> np.ndarray:
        self._require_fitted()
        out = []
        for x, times in window_arrays(windows):
            features = self._features(x, end_times if times is None else times, where="predict")
            scaled = np.stack([np.stack([b.predict(features, num_iteration=it, num_threads=self.num_threads)
                                         for b, it in zip(row, best, strict=True)], axis=-1)
                               for row, best in zip(self.boosters_, self.best_iterations_, strict=True)], axis=1)
            out.append(self.head.to_units(torch.from_numpy(scaled), torch.from_numpy(x)).numpy())
        if not out:
            return np.zeros((0, self.head.horizons, self.head.loss.outputs))
        return np.concatenate(out).astype(np.float64, copy=False)

    # -- saving ---------------------------------------------------------------------------------------

    def state(self) -> dict:
        return {"best_iterations": self.best_iterations_, "boosters": [[_file(j, k) for k in range(len(row))]
                                                                       for j, row in enumerate(self.boosters_)],
                "feature_names": self.feature_names()}

    def files(self) -> dict[str, bytes]:
        return {_file(j, k): b.model_to_string(num_iteration=it).encode("utf-8")
                for j, (row, best) in enumerate(zip(self.boosters_, self.best_iterations_, strict=True))
                for k, (b, it) in enumerate(zip(row, best, strict=True))}

    def restore(self, state: dict, files: dict[str, bytes]) -> None:
        lgb = _lightgbm()
        grid, best = state["boosters"], state["best_iterations"]
        horizons, outputs = self.head.horizons, self.head.loss.outputs
        if len(grid) != horizons or any(len(row) != outputs for row in grid) or len(best) != horizons:
            raise ValueError(f"expected {horizons} x {outputs} boosters, the state lists another grid")
        self.boosters_ = []
        for row in grid:
            boosters = []
            for name in row:
                try:
                    booster = lgb.Booster(model_str=files[name].decode("utf-8"))
                except lgb.basic.LightGBMError as err:
                    raise ValueError(f"{name} is not a LightGBM model ({str(err)[:200]})") from None
                if booster.num_feature() != len(self.feature_names()):
                    raise ValueError(f"{name} takes {booster.num_feature()} features, this model makes "
                                     f"{len(self.feature_names())}")
                boosters.append(booster)
            self.boosters_.append(boosters)
        self.best_iterations_ = [[int(i) for i in row] for row in best]

    def count_params(self) -> int:
        """Tree nodes over every booster (splits plus leaves), at the kept iterations."""
        total = 0
        for row, best in zip(self.boosters_, self.best_iterations_, strict=True):
            for booster, it in zip(row, best, strict=True):
                trees = booster.trees_to_dataframe()
                total += int((trees["tree_index"] < it).sum())
        return total

    def feature_names(self) -> list[str]:
        return self.features.feature_names([str(j) for j in range(self.n_features)])

    # -- helpers --------------------------------------------------------------------------------------

    def _features(self, x: np.ndarray, end_times, *, where: str) -> np.ndarray:
        if x.ndim != 3 or x.shape[1:] != (self.sequence_length, self.n_features):
            raise ForecastlabError(f"model 'lightgbm' expects (N, {self.sequence_length}, {self.n_features}) "
                                   f"windows, got shape {x.shape}", where=f"lightgbm {where}",
                                   fix="cut windows with the run's window spec and feature columns")
        if self.calendar and end_times is None:
            raise ForecastlabError(
                "model 'lightgbm' uses calendar terms, so it needs each window's last input time",
                where=f"lightgbm {where}", arg="end_times",
                fix="pass the rows' times (predict(run, series.values, times=series.timestamps)), windows cut "
                "from a Series (make_datasets_from_series keeps its times) or end_times=, or build the model with "
                "calendar=False")
        return self.features.transform(x, end_times)

    def _matrix(self, dataset, positions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(features (N, n_features) float32, scaled targets (N, H) float64) of a dataset's windows."""
        windows = dataset if positions is None else dataset.subset(np.isin(dataset.start_positions, positions))
        if windows.num_windows == 0:
            raise ForecastlabError("a split has no windows to fit on", where="datasets",
                                   fix="use more data or shorter windows")
        parts = [self._features(x, t, where="fit") for x, t in window_arrays(windows)]
        t = self.head.target
        base = t.base_of_last(windows.last_inputs(t.column)) if t.needs_inputs else None
        y = self.head.scaled_targets(windows.all_targets().double(), base=base).numpy()
        return np.concatenate(parts), y


def _file(j: int, k: int) -> str:
    return f"booster-h{j + 1:03d}-q{k + 1}.txt"


def _at(values: list[float], i: int) -> float:
    return float(values[min(i, len(values) - 1)])


def _history_row(curves: list[dict], i: int, metric: str, scale: float, lr: float, started: float) -> dict:
    """Round i (0-based) averaged over the boosters so far (a booster stopped earlier keeps its last value);
    MAE in the target's units, the loss in the scaled space the boosters fit."""
    elapsed = time.perf_counter() - started
    point = [c for c in curves if c["point"]] or curves

    def mean(split: str, name: str, of: list[dict]) -> float:
        return float(np.mean([_at(c[split][name], i) for c in of]))

    return {"epoch": i + 1, "loss": mean("train", metric, curves), "mae": mean("train", "l1", point) * scale,
            "val_loss": mean("val", metric, curves), "val_mae": mean("val", "l1", point) * scale, "lr": lr,
            "seconds": elapsed, "train_seconds": elapsed}


def _history(curves: list[dict], metric: str, scale: float, lr: float, started: float) -> list[dict]:
    rounds = max(len(c["val"][metric]) for c in curves)
    elapsed = time.perf_counter() - started
    rows = [_history_row(curves, i, metric, scale, lr, started) for i in range(rounds)]
    for row in rows:  # the wall time of the whole fit, spread over its rounds
        row["seconds"] = row["train_seconds"] = elapsed / rounds
    return rows
