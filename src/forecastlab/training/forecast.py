"""A saved run applied to a Series: forecasts from its latest windows, every window of a split beside
the actual values and persistence (split_forecasts), and scores on its splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.intervals import coverage
from forecastlab.evaluation.metrics import EVAL_BATCH, evaluate, forecast_dataset
from forecastlab.training.loading import LoadedRun, intervals, point_forecast, predict
from forecastlab.windows.horizons import duration_text


def check_columns(run: LoadedRun, series) -> None:
    """The series must offer the columns the model was trained on, in the same order, and the same
    target: a temperature model scored against pressure, or its forecast labelled with pressure's unit,
    would be a wrong number with no error."""
    data = run.config.get("data", {})
    target = data.get("target")
    if target is not None and series.target != target:
        raise ForecastlabError(
            f"the run forecasts {target!r}, but the data's target is {series.target!r}",
            where=f"target={series.target!r}" if series.target else "the data's target", arg="target",
            fix=f"leave target= out (the run's own is used) or pass target={target!r}; to forecast "
            f"{series.target!r}, train a run for it",
        )
    want = data.get("columns")
    if want and list(series.columns) != list(want):
        raise ForecastlabError(
            f"the data's columns {list(series.columns)} differ from the run's {want}",
            where=f"{series.provenance.path or series.provenance.source}, header",
            fix="pass data with the training columns (features= with the same list, in the same order)",
        )


def forecast_table(run: LoadedRun, series, *, last: int = 1) -> pd.DataFrame:
    """Forecasts from the last `last` windows of `series`, one row per window and horizon: the time each
    window ends, the horizon (sampled steps and time), the time it forecasts, the forecast, the interval
    at the run's calibrated level when it has one, and the actual value when the series already holds it."""
    check_columns(run, series)
    if last < 1:
        raise ForecastlabError(f"last must be 1 or more, got {last}", arg="last", fix="pass last=1")
    forecasts = predict(run, series.values, last=last, times=series.timestamps)  # (windows, H, Q)
    if not np.isfinite(forecasts).all():
        raise ForecastlabError(
            f"{int((~np.isfinite(forecasts)).sum())} of {forecasts.size} forecasts are NaN or infinite",
            where=str(run.run_dir / "best.pt"),
            fix="check the input rows for extreme values; a diverged model must be retrained with a lower lr=")
    point = point_forecast(run, forecasts)
    bounds = intervals(run, forecasts)
    count = len(series) - run.span_rows + 1
    starts = np.arange(count - len(forecasts), count)
    end_rows = starts + run.span_rows - 1
    from forecastlab.data.quality import calendar_offset

    ts = pd.to_datetime(series.timestamps)
    step = pd.Series(ts).diff().median() if len(ts) > 1 else pd.Timedelta(0)
    calendar = calendar_offset(series.timestamps)  # months, quarters, years: k rows on is k calendar steps
    rows = []
    for j, (h, delay) in enumerate(zip(run.spec.steps, run.spec.delays, strict=True)):
        target_rows = starts + delay
        known = target_rows < len(series)
        if not known.all() and not step > pd.Timedelta(0):
            raise ForecastlabError(
                f"the data's time does not advance (median step {step}), so the forecast's time cannot be given",
                where=f"{series.provenance.path or series.provenance.source}, time column",
                fix="sort the file by time, oldest first")
        forecast_for = [ts[r] if ok else ts[e] + (calendar * int(r - e) if calendar is not None else step * (r - e))
                        for r, e, ok in zip(target_rows, end_rows, known, strict=True)]
        actual = np.where(known, series.targets[np.minimum(target_rows, len(series) - 1)], np.nan)
        part = {"window_end": ts[end_rows], "horizon": h,
                "ahead": [duration_text(int((f - e).value)) for f, e in zip(forecast_for, ts[end_rows], strict=True)],
                "forecast_for": forecast_for, "prediction": point[:, j].astype(np.float64)}
        if bounds is not None:
            part |= {"lower": bounds[0][:, j], "upper": bounds[1][:, j]}
        rows.append(pd.DataFrame(part | {"actual": actual.astype(np.float64)}))
    table = pd.concat(rows, ignore_index=True).sort_values(["window_end", "horizon"], kind="stable")
    return table.reset_index(drop=True)


def _target_column(series) -> int | None:
    columns = list(series.columns)
    return columns.index(series.target) if series.target in columns else None


def run_datasets(run: LoadedRun, series, *, batch_size: int = EVAL_BATCH):
    """The train, val and test windows of `series` (forecastlab.windows.SplitDatasets) as the run was scored
    on them: cut with the run's window spec and its gap rule (windows across a hole or a break dropped, as
    training dropped them), and normalized with the run's training statistics (never refitted on new data)."""
    import dataclasses

    from forecastlab.training.recipe import recipe_of

    check_columns(run, series)
    recipe = recipe_of(run.config)
    drop = recipe.window.drop_gap_windows if recipe is not None else None
    if drop is None:  # auto, as make_datasets_from_series: keep them only on Jena-format data used row for row
        fmt = series.quality.get("format", {})
        drop = not fmt.get("book_faithful", series.provenance.source in ("jena", "synthetic"))
    values = run.normalizer.transform(series.values) if run.normalizer is not None else series.values
    sets = run.spec.make_datasets(
        values, series.targets, batch_size=batch_size, shuffle_train=False, normalize=False,
        breaks=series.breaks, drop_gap_windows=drop, source=series.provenance.path or series.provenance.source,
        times=series.timestamps, target_column=_target_column(series),
    )
    return dataclasses.replace(sets, normalizer=run.normalizer)


@dataclass
class SplitForecasts:
    """Every window of one split, forecast by the run: (windows,) or (windows, horizons) arrays, in the
    target's units, chronological. `persistence` is the book's baseline on the same targets (the last
    target value each window sees); `lower`/`upper` the run's calibrated interval, when it has one."""

    split: str
    horizons: tuple[int, ...]  # sampled steps
    window_end: np.ndarray  # (N,) datetime64: each window's last input row
    target_time: np.ndarray  # (N, H) datetime64: the time each forecast is for
    prediction: np.ndarray  # (N, H)
    actual: np.ndarray  # (N, H)
    persistence: np.ndarray  # (N, H)
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    level: float | None = None  # the intervals' nominal coverage

    def mae(self, of: str = "prediction") -> np.ndarray:
        """(H,) mean absolute error per horizon of `prediction` or `persistence`."""
        return np.abs(getattr(self, of) - self.actual).mean(axis=0)


def split_forecasts(run: LoadedRun, series, split: str = "test", datasets=None) -> SplitForecasts:
    """The run's forecasts for every window of `split` ("val" or "test") of `series`, beside the actual
    values and persistence; `datasets`: run_datasets(run, series), when already cut."""
    if split not in ("val", "test"):
        raise ForecastlabError(f"split must be 'val' or 'test', got {split!r}", arg="split", fix="pass split='test'")
    datasets = datasets if datasets is not None else run_datasets(run, series)
    dataset = getattr(datasets, split)
    forecasts, actual = forecast_dataset(run.model, dataset, run.head)
    start = np.asarray(dataset.start_rows, dtype=np.int64)
    last_input = np.asarray(dataset.last_input_rows, dtype=np.int64)
    target_rows = start[:, None] + np.asarray(run.spec.delays, dtype=np.int64)[None, :]
    times = np.asarray(series.timestamps)
    persistence = np.broadcast_to(series.targets[last_input][:, None], target_rows.shape).astype(np.float64)
    bounds = intervals(run, forecasts)
    return SplitForecasts(
        split, tuple(run.spec.steps), times[last_input], times[target_rows],
        point_forecast(run, forecasts).astype(np.float64), np.asarray(actual, dtype=np.float64), persistence,
        *(bounds if bounds is not None else (None, None)), run.calibration.level if bounds is not None else None)


def evaluate_run(run: LoadedRun, series) -> dict:
    """Scores of the run's best model on the val and test splits of `series`, cut with the run's window
    spec and normalized with the run's training statistics (never refitted on new data): MAE and MSE
    overall and per horizon, and on test the empirical coverage and mean width of its intervals."""
    datasets = run_datasets(run, series)
    scores = {split: evaluate(run.model, getattr(datasets, split), head=run.head, split=split)
              for split in ("val", "test")}
    if run.calibration is not None:
        forecasts, y = forecast_dataset(run.model, datasets.test, run.head)
        lower, upper = intervals(run, forecasts)
        scores["test"]["intervals"] = {"method": run.calibration.method, "level": run.calibration.level} | \
            coverage(lower, upper, y)
    return scores
