"""A saved run applied to a Series: forecasts from its latest windows, and scores on its splits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.metrics import evaluate
from forecastlab.training.loading import LoadedRun, predict

EVAL_BATCH = 4096  # inference holds no activations for backward, so much larger batches than training fit


def check_columns(run: LoadedRun, series) -> None:
    """The series must offer the columns the model was trained on, in the same order, and the same
    target: a temperature model scored against pressure, or its forecast labelled with pressure's unit,
    would be a wrong number with no error."""
    data = run.config.get("data", {})
    target = data.get("target")
    if target is not None and series.target != target:
        raise ForecastlabError(
            f"the run forecasts {target!r}, but the data's target is {series.target!r}",
            where=f"--target {series.target}" if series.target else "the data's target",
            fix=f"leave --target out (the run's own is used) or pass --target {target!r}; to forecast "
            f"{series.target!r}, train a run for it",
        )
    want = data.get("columns")
    if want and list(series.columns) != list(want):
        raise ForecastlabError(
            f"the data's columns {list(series.columns)} differ from the run's {want}",
            where=f"{series.provenance.path or series.provenance.source}, header",
            fix="pass data with the training columns (--features with the same list, in the same order)",
        )


def forecast_table(run: LoadedRun, series, *, last: int = 1) -> pd.DataFrame:
    """Predictions from the last `last` windows of `series`: the time each window ends, the time it
    forecasts, the prediction, and the actual value when the series already holds it."""
    check_columns(run, series)
    if last < 1:
        raise ForecastlabError(f"--last must be 1 or more, got {last}", where="--last", fix="pass --last 1")
    delay = int(run.config["window"]["delay"])
    preds = predict(run, series.values, last=last)
    count = len(series) - run.span_rows + 1
    starts = np.arange(count - len(preds), count)
    end_rows = starts + run.span_rows - 1
    target_rows = starts + delay
    ts = pd.to_datetime(series.timestamps)
    step = pd.Series(ts).diff().median() if len(ts) > 1 else pd.Timedelta(0)
    known = target_rows < len(series)
    if not known.all() and not step > pd.Timedelta(0):
        raise ForecastlabError(
            f"the data's time does not advance (median step {step}), so the forecast's time cannot be given",
            where=f"{series.provenance.path or series.provenance.source}, time column",
            fix="sort the file by time, oldest first")
    if not np.isfinite(preds).all():
        raise ForecastlabError(
            f"{int((~np.isfinite(preds)).sum())} of {len(preds)} forecasts are NaN or infinite",
            where=str(run.run_dir / "best.pt"),
            fix="check the input rows for extreme values; a diverged model must be retrained with a lower --lr")
    forecast_for = [
        ts[r] if ok else ts[e] + step * (r - e) for r, e, ok in zip(target_rows, end_rows, known, strict=True)
    ]
    actual = np.where(known, series.targets[np.minimum(target_rows, len(series) - 1)], np.nan)
    return pd.DataFrame({
        "window_end": ts[end_rows], "forecast_for": forecast_for,
        "prediction": preds.astype(np.float64), "actual": actual.astype(np.float64),
    })


def evaluate_run(run: LoadedRun, series) -> dict:
    """MAE/MSE of the run's best model on the val and test splits of `series`, cut with the run's window
    spec and normalized with the run's training statistics (never refitted on new data)."""
    check_columns(run, series)
    values = run.normalizer.transform(series.values) if run.normalizer is not None else series.values
    datasets = run.spec.make_datasets(
        values, series.targets, batch_size=EVAL_BATCH, shuffle_train=False, normalize=False,
    )
    return {split: evaluate(run.model, getattr(datasets, split)) for split in ("val", "test")}
