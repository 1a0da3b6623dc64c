"""Rolling-origin backtesting: K consecutive test folds after the training period, an expanding training
window, and per fold and horizon the model's MAE beside the baselines' on exactly the same windows.

    result = backtest("lightgbm", series, folds=5, refit=True)      # a model name: fitted per fold
    result = backtest(load_run("runs/lstm"), series, folds=5)       # a trained run, as it is
    result.table()                                                  # one row per fold and forecaster

How the folds are cut. The windows are cut once, over the whole series, by the same lazy window engine
every run uses (normalized once, with the statistics of the training period's train split); a fold is
a boolean mask over them, so no dataset is rebuilt per fold. A window belongs to the fold that holds its
forecast origin, its last input row. The test period (the rows after the run's train and val splits, or
the book's last 25%) is divided into K consecutive folds of equal rows.

Refit (an expanding window, as Darts' `historical_forecasts(retrain=True)` and neuralforecast's
`cross_validation`): before fold k the model is fitted again on every window whose targets all lie
before the fold's first row, the first two thirds of those rows for training and the rest for
validation (the book's 50/25 proportion), with the run's own recipe. Without refit the model is the
one trained on the training period, applied to every fold.

Baselines per fold: persistence and seasonal persistence on the same windows, and climatology from all
rows before the fold (the past only).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.baselines import BASELINES, WindowRows, climatology, persistence, seasonal_persistence
from forecastlab.evaluation.intervals import coverage
from forecastlab.evaluation.metrics import EVAL_BATCH, forecast_dataset
from forecastlab.windows import Normalizer, WindowSpec
from forecastlab.windows.dataset import timeseries_dataset_from_array
from forecastlab.windows.spec import TooFewRowsError
from forecastlab.windows.split import chronological_split

MAX_FOLDS = 100


@dataclass
class BacktestResult:
    """Per fold: rows, times, windows, and each forecaster's MAE overall and per horizon; summary: the mean
    and standard deviation over the folds."""

    model: str
    refit: bool
    horizons: list[int]
    unit: str | None
    folds: list[dict]
    summary: dict
    seconds: dict = field(default_factory=dict)  # total, fit, forecast, baselines
    run_dir: str | None = None

    def to_dict(self) -> dict:
        return {"model": self.model, "refit": self.refit, "horizons": self.horizons, "unit": self.unit,
                "run_dir": self.run_dir, "folds": self.folds, "summary": self.summary, "seconds": self.seconds}

    def table(self) -> pd.DataFrame:
        """One row per fold and forecaster (the model, then the baselines): MAE overall and per horizon."""
        rows = []
        for fold in self.folds:
            for name, scores in fold["mae"].items():
                rows.append({"fold": fold["fold"], "forecaster": name, "first_origin": fold["first_origin"],
                             "windows": fold["windows"], "mae": scores["all"]}
                            | {f"mae_h{h}": m for h, m in zip(self.horizons, scores["by_horizon"], strict=True)})
        return pd.DataFrame(rows)


def backtest(source, series, *, folds: int = 5, refit: bool = False, spec: WindowSpec | None = None,
             batch_size: int = 256, seed: int = 0, train_options: dict | None = None,
             progress: bool = False) -> BacktestResult:
    """Rolling-origin evaluation of `source` on `series` (see the module's docstring for the folds).

    source: a LoadedRun (forecastlab.training.load_run), a run directory, or a registered model name.
        A run brings its window spec, normalizer and recipe (refit fits its model again with them); a
        name is fitted with `train_options` (forecastlab.training.train's keywords: epochs, loss,
        target_transform, max_steps_per_epoch, model_params, ...) on `spec` (default: the book's).
    folds: K, from 1 to 100. refit: fit again before every fold on all earlier data (an expanding window).
    """
    from forecastlab.training.loading import LoadedRun, load_run

    if isinstance(folds, bool) or not isinstance(folds, int) or not 1 <= folds <= MAX_FOLDS:
        raise ForecastlabError(f"folds must be an integer from 1 to {MAX_FOLDS}, got {folds!r}", arg="folds",
                               fix="e.g. folds=5")
    started = time.perf_counter()
    run = load_run(source) if isinstance(source, str | Path) and Path(source).is_dir() else source
    if isinstance(run, LoadedRun):
        from forecastlab.training.forecast import check_columns

        check_columns(run, series)
        name, spec, normalizer = run.config["model"]["name"], run.spec, run.normalizer
        if refit and getattr(run.model, "kind", "") == "ensemble":
            raise ForecastlabError(
                "an ensemble run cannot be refitted before each fold: it combines finished runs, and has no "
                "recipe of its own to train again", where=str(run.run_dir), arg="refit",
                fix="backtest it without refit=True (its members' forecasts, fold by fold), or backtest each "
                "member with refit=True")
        options = _run_options(run.config) | (train_options or {})
        sizes = tuple(run.config.get("data", {}).get("sizes") or ()) or None
        if sizes is not None and sum(sizes) != len(series):
            sizes = None  # other data than the run's: the book's proportions on it
    elif isinstance(source, str):
        from forecastlab.models import get_model_class

        get_model_class(source)  # an unknown name fails here, before any work
        run, name, spec = None, source, spec or WindowSpec()
        options, normalizer, sizes = dict(train_options or {}), None, None
    else:
        raise ForecastlabError(f"cannot backtest {type(source).__name__}", arg="source",
                               fix="pass a run directory, a LoadedRun, or a registered model name")
    sizes = sizes or chronological_split(len(series), (0.5, 0.25, 0.25))
    try:
        spec.check_rows(len(series), sizes, series.provenance.path or series.provenance.source)
    except TooFewRowsError as err:
        if run is not None:  # a run's window comes with it (the CLI refuses window flags with a run): rows only
            err.fixed_window("the run's window needs them")
        raise
    if normalizer is None:
        normalizer = Normalizer().fit(series.values, end=sizes[0], columns=list(series.columns))
    windows = _all_windows(series, spec, normalizer, batch_size, seed)
    origins = windows.last_input_rows
    first_row = sizes[0] + sizes[1]
    edges = np.linspace(first_row, origins[-1] + 1, folds + 1).round().astype(np.int64)
    if len(np.unique(edges)) != len(edges):
        raise ForecastlabError(f"the test period has too few forecast origins for {folds} folds",
                               arg="folds", fix="use fewer folds")
    farthest = windows.start_rows + spec.delay
    columns = list(series.columns)
    target_column = columns.index(series.target) if series.target in columns else None
    result_folds, clock = [], {"fit": 0.0, "forecast": 0.0, "baselines": 0.0}
    label = f"model:{name}" if name in BASELINES else name  # `persistence` the model beside the baseline
    model = run.model if run is not None else None
    # A run's model was fitted on its train and val splits, the rows before the test period.
    fit_info = {"run_dir": str(run.run_dir), "rows_before": first_row} if run is not None else None
    head = run.head if run is not None else None
    calibration = run.calibration if run is not None else None
    for k in range(folds):
        lo, hi = int(edges[k]), int(edges[k + 1])
        if model is None or refit:
            t0 = time.perf_counter()
            fitted, fit_info = _fit(name, windows, farthest, lo, spec, normalizer, sizes, options, seed, progress,
                                    target_column, k)
            model, head, calibration = fitted.model, _head(fitted), _calibration(fitted)
            clock["fit"] += time.perf_counter() - t0
        fold = windows.subset((origins >= lo) & (origins < hi), shuffle=False)
        t0 = time.perf_counter()
        pred, y = forecast_dataset(model, fold, head)
        clock["forecast"] += time.perf_counter() - t0
        point = pred[..., head.loss.median_index]
        err = np.abs(point - y)
        scores = {label: {"all": float(err.mean()), "by_horizon": err.mean(axis=0).tolist()}}
        t0 = time.perf_counter()
        scores |= _baselines(series, fold, spec, train_rows=lo)
        clock["baselines"] += time.perf_counter() - t0
        entry = {"fold": k + 1, "first_origin": _time(series, lo), "last_origin": _time(series, hi - 1),
                 "rows": [lo, hi - 1], "windows": fold.num_windows, "mae": scores, "fit": fit_info}
        if calibration is not None:
            outer = pred[..., [0, -1]] if calibration.method == "cqr" else point
            lower, upper = calibration.interval(outer)
            entry["intervals"] = {"level": calibration.level, "method": calibration.method} | coverage(lower, upper, y)
        result_folds.append(entry)
    clock["total"] = time.perf_counter() - started
    return BacktestResult(name, bool(refit), list(spec.steps), series.target_unit, result_folds,
                          _summary(result_folds), {k: round(v, 3) for k, v in clock.items()},
                          str(run.run_dir) if run is not None else None)


def _all_windows(series, spec: WindowSpec, normalizer, batch_size: int, seed: int):
    """Every window of the series, cut once (the same lazy engine and targets as make_datasets)."""
    data = normalizer.transform(series.values)
    windows = timeseries_dataset_from_array(
        data[: -spec.delay], targets=spec.target_matrix(series.targets), sampling_rate=spec.sampling_rate,
        sequence_length=spec.sequence_length, shuffle=False, batch_size=batch_size, seed=seed)
    windows.times = np.asarray(series.timestamps)
    fmt = series.quality.get("format", {})
    book = fmt.get("book_faithful", series.provenance.source in ("jena", "synthetic"))
    if not book and len(series.breaks):  # as make_datasets_from_series does: no window across a hole
        windows = windows.drop_windows_crossing(series.breaks, span=spec.delay)
        windows.times = np.asarray(series.timestamps)
    return windows


def _fit(name, windows, farthest, fold_start, spec, normalizer, sizes, options, seed, progress, target_column,
         k):
    """The model fitted on every window whose targets lie before fold_start (2/3 train, 1/3 val)."""
    from forecastlab.training.engine import train
    from forecastlab.windows.spec import SplitDatasets

    val_start = int(round(fold_start * sizes[0] / (sizes[0] + sizes[1])))
    starts = windows.start_rows
    train_mask = farthest < val_start
    val_mask = (starts >= val_start) & (farthest < fold_start)
    if not train_mask.any() or not val_mask.any():
        raise ForecastlabError(f"fold {k + 1} has no complete train or validation window before it",
                               arg="folds", fix="use fewer folds, or shorter windows")
    if spec.stride > 1:  # the recipe trains on every stride-th window, as make_datasets does
        train_mask = train_mask & (np.arange(len(train_mask)) % spec.stride == 0)
    train_ds = windows.subset(train_mask, shuffle=True, seed=seed)
    val_ds = windows.subset(val_mask, shuffle=False)
    datasets = SplitDatasets(train_ds, val_ds, val_ds, normalizer, spec,
                             (val_start, fold_start - val_start, 0), target_column=target_column)
    opts = dict(options)
    epochs = opts.pop("epochs", None)
    epochs = _default_epochs(name) if epochs is None else epochs  # 0 is refused by train(), never replaced
    fitted = train(name, datasets, epochs=epochs, seed=seed, progress=progress, **opts)
    info = {"train_windows": train_ds.num_windows, "val_windows": val_ds.num_windows,
            "last_target_row": int(farthest[train_mask | val_mask].max()), "val_first_row": val_start}
    return fitted, info


def _default_epochs(name: str) -> int:
    from forecastlab.models import get_model_class

    return get_model_class(name).book_epochs


def _head(fitted):
    from forecastlab.models.head import Head

    return Head.from_dict(fitted.config.get("head"))


def _calibration(fitted):
    from forecastlab.evaluation.intervals import Calibration

    return Calibration.from_dict(fitted.intervals) if fitted.intervals else None


def _run_options(config: dict) -> dict:
    """The recipe a run was trained with, as train() keywords (for refits)."""
    t = config["training"]
    model_config = {k: v for k, v in config["model"]["config"].items()
                    if k not in ("name", "n_features", "sequence_length", "n_outputs")}
    options = {"loss": t.get("loss", "mse"), "target_transform": t.get("target_transform", "none"),
               "interval_level": t.get("interval_level", 0.8), "max_steps_per_epoch": t.get("max_steps_per_epoch"),
               "early_stopping": t.get("early_stopping"), "lr_schedule": t.get("lr_schedule"),
               "model_params": model_config, "epochs": t["epochs"]}
    if t["optimizer"] != "none":
        options |= {"optimizer": t["optimizer"], "lr": t["lr"], "weight_decay": t.get("weight_decay"),
                    "clip_norm": t.get("clip_norm")}
    return options


def _baselines(series, fold, spec: WindowSpec, *, train_rows: int) -> dict:
    rows = WindowRows.of(fold, spec)
    target, ts = series.targets, series.timestamps
    found = {"persistence": persistence(target, rows),
             "seasonal_persistence": seasonal_persistence(target, ts, rows),
             "climatology": climatology(target, ts, rows, train_rows)}
    return {name: {"all": float(found[name][0]), "by_horizon": found[name][1:].tolist()} for name in BASELINES}


def _summary(folds: list[dict]) -> dict:
    """{"mae": {forecaster: {"mean", "std", "mean_by_horizon", "std_by_horizon"}}, "coverage": {"mean", "min",
    "max"}} over the folds (std: the sample standard deviation; 0 for one fold)."""
    mae = {}
    ddof = 1 if len(folds) > 1 else 0
    for name in folds[0]["mae"]:
        overall = np.array([f["mae"][name]["all"] for f in folds])
        by_h = np.array([f["mae"][name]["by_horizon"] for f in folds])
        mae[name] = {"mean": float(overall.mean()), "std": float(overall.std(ddof=ddof)),
                     "mean_by_horizon": by_h.mean(axis=0).tolist(),
                     "std_by_horizon": by_h.std(axis=0, ddof=ddof).tolist()}
    out = {"mae": mae}
    covers = [f["intervals"]["coverage_all"] for f in folds if "intervals" in f]
    if covers:
        out["coverage"] = {"mean": float(np.mean(covers)), "min": float(np.min(covers)), "max": float(np.max(covers))}
    return out


def _time(series, row: int) -> str:
    return str(pd.Timestamp(series.timestamps[min(row, len(series) - 1)]))


__all__ = ["EVAL_BATCH", "BacktestResult", "backtest"]
