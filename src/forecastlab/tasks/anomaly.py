"""Anomaly detection, unsupervised: sensor-fault rules, and robust z-scores of a trained forecaster's residuals.

    series = load_series("data.csv", clean=False)           # keep -9999 as read, so the rule can name it
    result = detect_anomalies(series, run=load_run("runs/lgbm"))
    result.table()                                           # start, end, channel, kind, score, reason
    report = fault_benchmark(series, run, seed=0)            # inject known faults, detect, score honestly

Detectors (each gives events: runs of flagged rows, with a channel, a kind, a score and a reason):
  - rules (forecastlab.data.faults.sensor_faults): sentinels, missing cells, stuck values, spikes, and
    impossible physics, each with its own reason, on the record's own columns only: the columns a run's
    feature set derives (wind vectors, calendar terms, tendencies) are not sensors' readings and are not
    judged. A scan reads the record as it is (forecastlab.tasks.recipes.load_anomaly_series, the served
    scan), so the raw columns a feature set replaces (a weather set's wind speed and direction) are judged
    too, and the run's derived columns are made from it for the forecaster (model_input);
  - autoencoder (autoencoder=True): a small sequence autoencoder (forecastlab.models.autoencoder) trained on
    the first half of the record (the training split, normalized with its own statistics) to reconstruct
    windows of AE_HOURS at the hourly step (every column in, every column out); each row's score is the
    trailing robust z-score of the target's absolute reconstruction error at that row, as the last step of
    the window that ends there, flagged above `threshold` (kind `reconstruction`);
  - residual (needs a run): the run's first-horizon forecast for every row it can forecast, the residual
    (actual - forecast) of the target, and its trailing robust z-score (forecastlab.evaluation.anomaly.
    robust_z, over `window_hours`); rows with |z| > `threshold` are flagged. A run with calibrated intervals
    also gives `interval` events: rows whose value falls more than `interval_widths` interval widths outside
    the interval.

The forecaster reads windows of the series: a fault in a window's inputs changes the forecasts that read
it, so the residual detector flags some rows after a fault too. Sentinels and NaN cells are replaced by the
previous finite value of their column before the forecaster sees them (the rules still see them as they are).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecastlab.data.faults import SENTINEL, Event, inject_faults, runs_of, sensor_faults, step_hours
from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.anomaly import (
    event_metrics,
    events_from_scores,
    interval_excess,
    ranges_mask,
    robust_z,
    trivial_detectors,
)

THRESHOLD = 5.0
WINDOW_HOURS = 7 * 24.0
INTERVAL_WIDTHS = 1.0
DETECTORS = ("rules", "residual", "interval", "autoencoder")
AE_HOURS = 24  # the autoencoder's window: a day
AE_STEPS = 600  # optimizer steps of 256 training windows


@dataclass
class AnomalyResult:
    """What detect_anomalies found: the events of every detector, and the per-row residual scores."""

    source: str
    rows: int
    columns: list[str]
    target: str
    events: list[Event]
    detectors: list[str]
    timestamps: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)  # the target as the rules saw it (float64: sentinels as read)
    residual_z: np.ndarray | None = field(default=None, repr=False)  # per row; NaN where no forecast
    settings: dict = field(default_factory=dict)
    reconstruction_z: np.ndarray | None = field(default=None, repr=False)  # per row, with the autoencoder

    def table(self) -> pd.DataFrame:
        columns = ["start", "end", "start_row", "end_row", "channel", "kind", "score", "reason"]
        return pd.DataFrame([e.to_dict() for e in self.events], columns=columns)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.events:
            out[e.kind] = out.get(e.kind, 0) + 1
        return out

    def to_dict(self) -> dict:
        return {"source": self.source, "rows": self.rows, "target": self.target, "detectors": self.detectors,
                "settings": self.settings, "counts": self.counts(), "events": [e.to_dict() for e in self.events]}


def _forecaster_input(values: np.ndarray) -> np.ndarray:
    """Sentinels and NaN replaced by the previous finite value of their column (the first rows by the next)."""
    frame = pd.DataFrame(np.where(values <= SENTINEL, np.nan, values).astype(np.float64))
    return frame.ffill().bfill().fillna(0.0).to_numpy(np.float32)


def model_input(run, series):
    """The series the run's forecaster reads: `series` itself when it holds the run's columns (or the run has
    no feature set); the record as read, without the derived columns of the run's feature set, gets them made
    here (forecastlab.data.derived.add_features, the run's columns), from its cells with sentinels and NaN
    replaced first (_forecaster_input). So a fault in a raw reading (an injected one, a -9999) reaches the
    derived columns as a bad reading reaches them, never as a -9999 turned into a huge tendency."""
    from forecastlab.data.derived import add_features
    from forecastlab.training.recipe import recipe_of

    recipe = recipe_of(run.config)
    data = recipe.data if recipe is not None else None
    if data is None or (data.feature_set or "book").strip().lower() == "book":
        return series
    wanted = data.derived_columns()
    if wanted and set(wanted) <= set(series.columns):
        return series  # already made, as the run's recipe loads its data
    filled = dataclasses.replace(series, values=_forecaster_input(series.values))
    return add_features(filled, data.feature_set, wanted)


def residual_scores(run, series, *, window_hours: float = WINDOW_HOURS) -> dict:
    """The run's first-horizon residuals of the target on every row it can forecast, their trailing robust
    z-scores, and the interval excess where the run has intervals; each (rows,), NaN where there is none.
    `series` is the record as read or with the run's derived columns (model_input)."""
    from forecastlab.training.forecast import check_columns
    from forecastlab.training.loading import intervals, point_forecast, predict

    model = model_input(run, series)
    check_columns(run, model)
    target = series.columns.index(series.target)
    values = _forecaster_input(model.values)
    n = len(values)
    delay = run.spec.delays[0]
    if n <= delay:  # no forecast would land inside the series
        raise ForecastlabError(f"{n} rows are too few: the run's first forecast is for row {delay} (a window of "
                               f"{run.span_rows} rows, then its horizon)", where=series.provenance.path or
                               series.provenance.source, fix=f"pass well over {delay + 1} rows, e.g. a few weeks")
    forecasts = predict(run, values, times=series.timestamps)
    rows = np.arange(len(forecasts)) + delay  # the row each window's first-horizon forecast is for
    keep = rows < n
    # A window whose rows, up to its target's, straddle a break (a hole in the time grid, a dropped run of
    # rows) reads across it and is scored against a row that is not `delay` steps on: no residual, as
    # training drops such windows (forecastlab.windows, drop_gap_windows).
    breaks = np.asarray(series.breaks, dtype=np.int64)
    if len(breaks):
        starts = np.arange(len(forecasts))
        after = np.searchsorted(breaks, starts, side="right")  # the first break after each window's start
        crossing = (after < len(breaks)) & (breaks[np.minimum(after, len(breaks) - 1)] <= starts + delay)
        keep &= ~crossing
    forecast = np.full(n, np.nan)
    forecast[rows[keep]] = point_forecast(run, forecasts)[keep, 0]
    forecast[~np.isfinite(forecast)] = np.nan  # an overflowing input gives no residual, never an infinite one
    actual = np.where(series.values[:, target] <= SENTINEL, np.nan, series.values[:, target]).astype(np.float64)
    residual = actual - forecast
    window = max(3, int(round(window_hours / step_hours(series))))
    z = robust_z(residual, window)
    out = {"forecast": forecast, "residual": residual, "z": z, "excess": None}
    bounds = intervals(run, forecasts)
    if bounds is not None:
        lower, upper = np.full(n, np.nan), np.full(n, np.nan)
        lower[rows[keep]], upper[rows[keep]] = bounds[0][keep, 0], bounds[1][keep, 0]
        with np.errstate(invalid="ignore"):
            out["excess"] = interval_excess(actual, lower, upper)
    return out


def detect_anomalies(series, *, run=None, threshold: float = THRESHOLD, window_hours: float = WINDOW_HOURS,
                     interval_widths: float = INTERVAL_WIDTHS, rules: bool = True, autoencoder: bool = False,
                     autoencoder_seed: int = 0, autoencoder_steps: int = AE_STEPS) -> AnomalyResult:
    """Every detector's events on `series`: the rules (unless rules=False), the residual detectors with a
    run, and the autoencoder with autoencoder=True (trained here, with `autoencoder_seed`)."""
    for name, value in (("threshold", threshold), ("window_hours", window_hours), ("interval_widths", interval_widths)):
        if not value > 0:  # NaN too
            raise ForecastlabError(f"{name} must be above 0, got {value}", arg=name, fix=f"give {name}= above 0")
    events: list[Event] = sensor_faults(series) if rules else []
    detectors = ["rules"] if rules else []
    z = ae_z = None
    if run is not None:
        scores = residual_scores(run, series, window_hours=window_hours)
        z = scores["z"]
        detectors.append("residual")
        events += _score_events(series, np.abs(z), threshold, "residual",
                                lambda s, e, p: f"forecast residual {p:.1f} robust z from the last "
                                f"{window_hours:g} h's median")
        if scores["excess"] is not None:
            detectors.append("interval")
            level = run.calibration.level
            events += _score_events(series, scores["excess"], interval_widths, "interval",
                                    lambda s, e, p: f"{p:.2f} interval widths outside the {level:.0%} interval")
    if autoencoder:
        detectors.append("autoencoder")
        ae_z = reconstruction_scores(series, window_hours=window_hours, seed=autoencoder_seed,
                                     steps=autoencoder_steps)
        events += _score_events(series, ae_z, threshold, "reconstruction",
                                lambda s, e, p: f"window reconstruction error {p:.1f} robust z from the last "
                                f"{window_hours:g} h's median")
    events.sort(key=lambda e: (e.start, e.channel, e.kind))
    target = series.columns.index(series.target)
    values = series.values[:, target].astype(np.float64)
    return AnomalyResult(series.provenance.path or series.provenance.source, len(series), list(series.columns),
                         series.target, events, detectors, series.timestamps, values, z,
                         {"threshold": threshold, "window_hours": window_hours, "interval_widths": interval_widths,
                          "model": run.config["model"]["name"] if run is not None else None}, ae_z)


def _score_events(series, scores, threshold, kind, reason) -> list[Event]:
    return [Event(a, b, series.target, kind, peak, reason(a, b, peak), series.timestamps[a], series.timestamps[b])
            for a, b, peak in events_from_scores(scores, threshold)]


def reconstruction_scores(series, *, window_hours: float = WINDOW_HOURS, hours: int = AE_HOURS,
                          steps: int = AE_STEPS, seed: int = 0) -> np.ndarray:
    """Per row, the trailing robust z-score of the autoencoder's absolute reconstruction error of the target
    (normalized) at that row, as the last step of the hourly window of `hours` that ends there; NaN where no
    window ends. The autoencoder reads and reconstructs every column."""
    import torch

    from forecastlab.models.autoencoder import SequenceAutoencoder
    from forecastlab.training.optim import make_optimizer

    per_hour = 1.0 / step_hours(series)
    rate = max(1, int(round(per_hour)))  # sampled hourly, as the book samples its windows
    length = int(max(4, (hours * per_hour / rate) // 4 * 4))
    values = _forecaster_input(series.values).astype(np.float64)
    target = series.columns.index(series.target)
    n = len(values)
    span = (length - 1) * rate + 1
    train_rows = n // 2
    if train_rows < span + 1:
        raise ForecastlabError(f"{n} rows are too few to train the autoencoder on windows of {span} rows",
                               where=series.provenance.path or series.provenance.source,
                               fix="use a longer record, or leave the autoencoder out")
    mean, std = values[:train_rows].mean(0), values[:train_rows].std(0)
    x = ((values - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(x, span, axis=0)[:, :, ::rate].transpose(0, 2, 1)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SequenceAutoencoder(x.shape[1])
    optimizer = make_optimizer("adam", model.parameters(), lr=3e-3)
    train_windows = train_rows - span + 1
    model.train()
    for _ in range(steps):
        idx = torch.randint(train_windows, (min(256, train_windows),), generator=generator).numpy()
        batch = torch.from_numpy(np.ascontiguousarray(windows[idx]))
        loss = torch.mean((model(batch) - batch) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    errors = np.full(n, np.nan)
    with torch.inference_mode():
        for i in range(0, len(windows), 4096):
            batch = torch.from_numpy(np.ascontiguousarray(windows[i:i + 4096]))
            # The target's error at the last step, so a fault is scored at its own row and not again by
            # every later window.
            err = (model(batch) - batch)[:, -1, target].abs().numpy()
            errors[i + span - 1:i + span - 1 + len(err)] = err
    window = max(3, int(round(window_hours / step_hours(series))))
    return robust_z(errors, window)


def _on(event: Event, channel: str) -> bool:
    """Whether `event` concerns `channel`: its own, or one side of a physics check ("a vs b")."""
    return event.channel == channel or channel in event.channel.split(" vs ")


def score_against(result: AnomalyResult, truth: list[Event], *, tolerance_rows: int, seed: int = 0) -> dict:
    """Each detector's metrics (forecastlab.evaluation.anomaly.event_metrics) on the channels of `truth`, the
    union of all of them, and the trivial detectors beside the union."""
    channels = {e.channel for e in truth}
    ranges = [(e.start, e.end) for e in truth]

    def found(kinds) -> list[tuple[int, int]]:
        return sorted((e.start, e.end) for e in result.events
                      if e.kind in kinds and any(_on(e, c) for c in channels))

    rule_kinds = {"sentinel", "missing", "stuck", "spike", "physics"}
    by = {"rules": rule_kinds, "residual": {"residual"}, "interval": {"interval"}, "autoencoder": {"reconstruction"}}
    out = {name: event_metrics(ranges, found(by[name]), n=result.rows, tolerance=tolerance_rows)
           for name in result.detectors}
    union = found(set().union(*(by[d] for d in result.detectors)))
    union = runs_of(ranges_mask(union, result.rows))  # overlapping events of several detectors: one range
    out["all"] = event_metrics(ranges, union, n=result.rows, tolerance=tolerance_rows)
    out["trivial"] = trivial_detectors(ranges, union, n=result.rows, tolerance=tolerance_rows, seed=seed)
    return out


def recall_by_kind(result: AnomalyResult, truth: list[Event], *, tolerance_rows: int) -> dict[str, float]:
    """Per injected kind, the share of its true events that some event of any detector overlaps."""
    out = {}
    for kind in sorted({e.kind for e in truth}):
        own = [e for e in truth if e.kind == kind]
        hit = sum(any(f.start <= t.end + tolerance_rows and t.start <= f.end + tolerance_rows
                      and _on(f, t.channel)
                      for f in result.events) for t in own)
        out[kind] = hit / len(own)
    return out


def fault_benchmark(series, run=None, *, seed: int = 0, per_kind: int = 5, tolerance_hours: float = 6.0,
                    **detect_options) -> dict:
    """Inject known faults into the target of `series` (forecastlab.data.faults.inject_faults), detect, and
    score every detector against the truth beside the trivial detectors. Also scans the clean series: its
    events on the target are false alarms (or faults of the record itself), counted by kind. The
    autoencoder, if asked for, is trained with `seed` unless detect_options give autoencoder_seed."""
    detect_options.setdefault("autoencoder_seed", seed)
    faulty, truth = inject_faults(series, seed=seed, per_kind=per_kind)
    tolerance = int(round(tolerance_hours / step_hours(series)))
    result = detect_anomalies(faulty, run=run, **detect_options)
    clean = detect_anomalies(series, run=run, **detect_options)
    return {"truth": [e.to_dict() for e in truth], "tolerance_rows": tolerance, "tolerance_hours": tolerance_hours,
            "metrics": score_against(result, truth, tolerance_rows=tolerance, seed=seed),
            "recall_by_kind": recall_by_kind(result, truth, tolerance_rows=tolerance),
            "clean_series_events": _target_counts(clean), "result": result, "seed": seed, "per_kind": per_kind}


def labelled_truth(series) -> list[Event] | None:
    """The labelled anomalies a public series carries (forecastlab.data.ucr: quality['public']['labelled']),
    as events on its target; None for a series without labels."""
    labelled = ((series.quality or {}).get("public") or {}).get("labelled")
    if not labelled:
        return None
    return [Event(int(a), int(b), series.target, "labelled", 1.0, "labelled anomaly (the archive's)",
                  series.timestamps[int(a)], series.timestamps[int(b)]) for a, b in labelled]


def top1_hits(result: AnomalyResult, truth: list[Event], *, tolerance_rows: int) -> dict[str, dict]:
    """The UCR anomaly archive's own score (Wu and Keogh 2021): does the single highest-scoring row of each
    score detector fall within `tolerance_rows` of a labelled range? Per detector: that row and the hit."""
    out = {}
    for name, z in (("residual", result.residual_z), ("autoencoder", result.reconstruction_z)):
        if z is None or not np.isfinite(z).any():
            continue
        row = int(np.nanargmax(np.abs(z)))
        hit = any(e.start - tolerance_rows <= row <= e.end + tolerance_rows for e in truth)
        out[name] = {"row": row, "hit": bool(hit), "score": float(np.abs(z[row]))}
    return out


def labelled_benchmark(series, run=None, *, tolerance_hours: float = 100.0, seed: int = 0,
                       **detect_options) -> dict:
    """Detect on a series with labelled anomalies (e.g. load_series('ucr:InternalBleeding16')) and score
    every detector against the labels beside the trivial detectors, plus the archive's top-1 hit. The
    default tolerance, 100 rows at the series' hourly clock, is the archive's."""
    truth = labelled_truth(series)
    if truth is None:
        raise ForecastlabError("the series carries no labelled anomalies", where=_where(series),
                               fix="use a labelled public series (ucr:InternalBleeding16), or --inject faults")
    detect_options.setdefault("autoencoder_seed", seed)
    tolerance = int(round(tolerance_hours / step_hours(series)))
    result = detect_anomalies(series, run=run, **detect_options)
    return {"truth": [e.to_dict() for e in truth], "tolerance_rows": tolerance, "tolerance_hours": tolerance_hours,
            "metrics": score_against(result, truth, tolerance_rows=tolerance, seed=seed),
            "recall_by_kind": recall_by_kind(result, truth, tolerance_rows=tolerance),
            "top1": top1_hits(result, truth, tolerance_rows=tolerance), "result": result, "seed": seed,
            "labelled": True}


def _where(series) -> str:
    return series.provenance.path or series.provenance.source


def _target_counts(result: AnomalyResult) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in result.events:
        if _on(e, result.target):
            out[e.kind] = out.get(e.kind, 0) + 1
    return out

