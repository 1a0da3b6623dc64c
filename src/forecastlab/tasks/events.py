"""Event detection in a stream, on the same engine: a per-timestep event head that sees only the past,
scored event by event within a tolerance, with the lead time of each early flag.

    series = load_series("synthetic", freq="1h")      # or "tmy3" (hourly already)
    result = detect_fronts(series, seed=0)
    result.leaderboard()      # event precision, recall, F1 (tolerance 3 h), median lead time; baselines beside
    result.classifier.save("runs/fronts")            # served and reloaded like any classifier

The demo event is a **front passage**, labelled by a documented rule (front_labels) on hourly rows: at
row r, the pressure fell by at least `drop` mbar over the `fall_hours` up to r, and the wind direction
turned by at least `turn` degrees between the `turn_hours` before r and the `turn_hours` after it
(circular means of the unit vectors). The rows that satisfy both are merged into events when less than
`merge_hours` apart. The rule looks `turn_hours` into the future; the detector never does.

The head: at every hourly row t, a registered model reads the `lookback_hours` of history that end at t
(every column, normalized with training statistics, derived inputs as in the recipe) and gives
P(a front is under way at some row of [t, t + `warn_hours`]) through two logits and cross-entropy,
trained on the chronological 50 % training split. Rows whose probability passes a threshold, tuned on
the validation split for event F1, are flagged; runs of flags are the detected events. An event is found
when a flag falls in its zone, its rows widened by `warn_hours` + `tolerance_hours` before and
`tolerance_hours` after; precision is row-wise, the share of flagged rows inside some zone (score_flags),
so that one endless flag cannot score 1; its lead time is its first row minus the first flag in its zone.

Baselines, each scored the same way on the same rows: "pressure falling now" (the past `fall_hours`'
pressure change below a threshold tuned on train, a rule that sees only the past), and the trivial
detectors (random flags as many as the model's, and always), which show what event-wise scores give away.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecastlab.errors import ForecastlabError
from forecastlab.tasks.classification import _where

EVENT_CLASSES = ["no front", "front ahead"]
# Chosen on validation event F1 (synthetic, seed 0; docs/events.md names the commands): gru_stacked (units 16)
# for 8 epochs of 300 batches tied the pressure rule there; 4 epochs of 150, and tcn, did worse.
# About 50 fronts a year on the synthetic record and 79 in tmy3's year; a milder rule (2 mbar, 45 degrees)
# gives 160 and 170, more than one every three days.
RULE = {"drop": 3.0, "fall_hours": 6, "turn": 60.0, "turn_hours": 3, "merge_hours": 6}
FRONT_DEFAULTS = {"model": "gru_stacked", "model_params": {"units": 16}, "epochs": 8, "batch_size": 256,
                  "optimizer": "adam", "lr": 1e-3, "max_steps": 300, "lookback_hours": 24, "warn_hours": 6,
                  "tolerance_hours": 3, "feature_set": "auto"}
# Bounds of the task's hour options (docs/events.md). A tolerance is how far from a front's zone a flag may
# fall and still find it: past a day the zones (each front's rows widened by warn_hours + tolerance before and
# tolerance after) cover most hours of a record with a front every week, so flagging every hour ("trivial:
# always") scores F1 near 1 and the scores stop telling detectors apart. A warning more than a week ahead is
# no front warning; a lookback past 30 days makes every window 720 steps or more for the recurrent head.
MAX_TOLERANCE_HOURS = 24
MAX_WARN_HOURS = 168
MAX_LOOKBACK_HOURS = 720
LOOKBACK_HOURS_MIN = 2  # the shortest lookback the head takes (check_event_options)


def check_event_options(*, warn_hours: int = FRONT_DEFAULTS["warn_hours"],
                        tolerance_hours: int = FRONT_DEFAULTS["tolerance_hours"],
                        lookback_hours: int = FRONT_DEFAULTS["lookback_hours"]) -> None:
    """Refuse hour options outside the task's bounds (MAX_WARN_HOURS, MAX_TOLERANCE_HOURS, MAX_LOOKBACK_HOURS),
    before any data is read; `forecastlab events` calls it first."""
    for name, value, low, high, default, why in (
            ("warn_hours", warn_hours, 0, MAX_WARN_HOURS, 6, "a front warning is hours ahead, not weeks"),
            ("tolerance_hours", tolerance_hours, 0, MAX_TOLERANCE_HOURS, 3, "a wider tolerance widens every "
             "front's zone until flagging every hour ('trivial: always') scores F1 near 1"),
            ("lookback_hours", lookback_hours, LOOKBACK_HOURS_MIN, MAX_LOOKBACK_HOURS, 24, "30 days of hourly "
             "history per window is the most the head reads")):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or not low <= value <= high:
            raise ForecastlabError(f"{name} must be a whole number of hours from {low} to {high}, got {value!r}: "
                                   f"{why}", arg=name,
                                   fix=f"pass {name}={default} (the default) or another value up to {high}")


def check_lookback_fits(series, lookback_hours: int) -> None:
    """Refuse a lookback longer than each split of `series` can hold one window of (the book's 50/25/25
    chronological split; the test split needs the window and as many rows again), naming the events option.

    The bound is the window check's own (WindowSpec.check_rows of the head's window, lookback_hours steps of
    one row predicting one row ahead): a lookback is accepted here exactly when that check accepts it. The
    advice is true: the lookback it names fits this record (and is one the option takes, 2 or more), and the
    record length it names is WindowSpec.min_rows, from which every longer record fits too (a record too short
    for even the shortest lookback is advised a record length only)."""
    from forecastlab.windows import WindowSpec
    from forecastlab.windows.split import chronological_split

    sizes = chronological_split(len(series))
    most = min(sizes[0], sizes[1], sizes[2] // 2)
    if lookback_hours > most:
        need = WindowSpec(sequence_length=lookback_hours, sampling_rate=1, horizon=1).min_rows()
        if most >= LOOKBACK_HOURS_MIN:
            fix = (f"pass lookback_hours={most} or less (the default is {FRONT_DEFAULTS['lookback_hours']}), "
                   "or use a longer record")
        else:  # not even the shortest lookback fits: only a longer record helps
            shortest = WindowSpec(sequence_length=LOOKBACK_HOURS_MIN, sampling_rate=1, horizon=1).min_rows()
            fix = f"use a record of at least {need:,} hourly rows" + (
                f" ({shortest:,} with lookback_hours={LOOKBACK_HOURS_MIN}, the shortest)"
                if lookback_hours > LOOKBACK_HOURS_MIN else "")
        raise ForecastlabError(
            f"lookback_hours={lookback_hours} is longer than this record allows: every split needs a window of "
            f"that many hourly rows (the test split twice that), and its {len(series):,} hourly rows split "
            f"{sizes[0]:,}/{sizes[1]:,}/{sizes[2]:,} hold windows of at most {most:,}; that lookback needs a "
            f"record of at least {need:,} hourly rows",
            where=_where(series), arg="lookback_hours", fix=fix)


def _column(series, *names: str) -> int:
    for i, c in enumerate(series.columns):
        if any(c.lower().startswith(n) for n in names):
            return i
    signal = "pressure" if "pressure" in names else "wind direction"
    cleaning = (getattr(series, "quality", None) or {}).get("cleaning") or {}
    dropped = [c for c in cleaning.get("constant_columns_dropped") or []
               if any(c.lower().startswith(n) for n in names)]
    if dropped:  # the file has the column, but one value throughout (tmy3-sandpoint's pressure): no signal
        raise ForecastlabError(
            f"the record's {dropped[0]!r} column holds one value throughout, so the loader dropped it as a constant "
            f"column: this record has no {signal} signal, and the front rule needs a pressure fall and a wind turn",
            where=f"{_where(series)}, column {dropped[0]!r} (the series' quality report lists it in "
            "cleaning.constant_columns_dropped)",
            fix="use a weather record with a measured pressure and wind direction, e.g. data='tmy3', "
            "'synthetic' or 'jena'")
    raise ForecastlabError(f"no {' or '.join(repr(n) for n in names)} column to label fronts on",
                           where=_where(series),
                           fix="use a weather record with pressure and wind direction (Jena's 'p (mbar)' and "
                           "'wd (deg)', or tmy3)")


def hourly_step(series) -> None:
    from forecastlab.data.faults import step_hours

    if abs(step_hours(series) - 1.0) > 1e-9:
        raise ForecastlabError(f"the event task reads hourly rows; this series' step is {step_hours(series):g} h",
                               where=series.provenance.path or series.provenance.source,
                               fix="load it with freq='1h' (--freq 1h is applied by `forecastlab events`)")


def front_labels(series, *, drop: float = RULE["drop"], fall_hours: int = RULE["fall_hours"],
                 turn: float = RULE["turn"], turn_hours: int = RULE["turn_hours"],
                 merge_hours: int = RULE["merge_hours"]) -> list[tuple[int, int]]:
    """The front passages of an hourly `series` by the module's rule: (start_row, end_row) inclusive."""
    from forecastlab.data.faults import runs_of

    hourly_step(series)
    p = series.values[:, _column(series, "p (", "pressure")].astype(np.float64)
    wd = np.deg2rad(series.values[:, _column(series, "wd (", "wind direction")].astype(np.float64))
    n = len(p)
    fall = np.full(n, np.nan)
    fall[fall_hours:] = p[fall_hours:] - p[:-fall_hours]
    u, v = pd.Series(np.sin(wd)), pd.Series(np.cos(wd))
    before = np.arctan2(u.rolling(turn_hours).mean(), v.rolling(turn_hours).mean()).to_numpy()
    # the turn_hours after r: rows r+1 .. r+turn_hours
    after = np.full(n, np.nan)
    after[:n - turn_hours] = before[turn_hours:]
    change = np.degrees(np.abs(np.angle(np.exp(1j * (after - before)))))
    hit = (fall <= -drop) & (change >= turn)
    for r in np.asarray(series.breaks, dtype=np.int64):  # a jump in the record (tmy3's months) is no front
        hit[max(0, r - turn_hours):r + fall_hours] = False
    events = runs_of(np.nan_to_num(hit, nan=0).astype(bool))
    merged: list[list[int]] = []
    for a, b in events:
        if merged and a - merged[-1][1] <= merge_hours:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def warning_targets(events: list[tuple[int, int]], n: int, warn_hours: int) -> np.ndarray:
    """Per row t: 1 when some event row lies in [t, t + warn_hours] (a front is under way or coming)."""
    active = np.zeros(n + warn_hours + 1, dtype=np.int64)
    for a, b in events:
        active[a:b + 1] = 1
    cum = np.concatenate([[0], np.cumsum(active)])
    return ((cum[np.arange(n) + warn_hours + 1] - cum[np.arange(n)]) > 0).astype(np.int64)


def score_flags(flags: np.ndarray, events: list[tuple[int, int]], *, tolerance: int, warn_hours: int) -> dict:
    """Scores of per-row `flags` against `events` (rows of one split). Each event's zone is its rows widened
    by warn_hours + tolerance before and tolerance after: a flag there warns of it or marks it.

    - recall: the share of events with a flag in their zone;
    - precision: the share of flagged rows that lie in some zone (row-wise, so that flagging everything,
      one long "event", scores the zones' share of the rows and not 1, as plain event-wise precision would);
    - event_f1: their harmonic mean; false_alarms: runs of flags outside every zone, also per 30 days;
    - lead_hours: per event found, its start minus its first flag (positive: flagged before it began)."""
    from forecastlab.data.faults import runs_of

    flags = np.asarray(flags, dtype=bool)
    n = len(flags)
    zone = np.zeros(n, dtype=bool)
    leads = []
    for a, b in events:
        lo, hi = max(0, a - warn_hours - tolerance), min(n - 1, b + tolerance)
        zone[lo:hi + 1] = True
        hits = np.flatnonzero(flags[lo:hi + 1])
        if len(hits):
            leads.append(int(a - (lo + hits[0])))
    recall = len(leads) / len(events) if events else 0.0
    precision = float(flags[zone].sum() / flags.sum()) if flags.any() else 0.0
    alarms = sum(not zone[a:b + 1].any() for a, b in runs_of(flags))
    return {"events": len(events), "found": len(leads), "event_recall": recall, "event_precision": precision,
            "event_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "false_alarms": int(alarms), "false_alarms_per_30d": alarms / max(n, 1) * 24 * 30,
            "flagged_share": float(flags.mean()) if n else 0.0, "tolerance_rows": tolerance,
            "lead_hours": leads, "median_lead_hours": float(np.median(leads)) if leads else math.nan,
            "flagged_before_start": float(np.mean([x > 0 for x in leads])) if leads else 0.0}


def _best_threshold(prob: np.ndarray, events, *, tolerance: int, warn_hours: int) -> float:
    """The flag threshold with the best event F1 (ties: the higher threshold), over a fixed grid."""
    best, best_f1 = 0.5, -1.0
    for t in np.round(np.arange(0.05, 0.96, 0.05), 2)[::-1]:
        f1 = score_flags(prob >= t, events, tolerance=tolerance, warn_hours=warn_hours)["event_f1"]
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return best


@dataclass
class EventResult:
    """A detector, its per-split scores beside the baselines, the labelled events, the training history."""

    classifier: object
    rows: list[dict]
    events: dict  # split -> [(start_row, end_row)] in that split's own rows
    history: list[dict]
    best_epoch: int
    threshold: float
    seconds: float
    data: dict
    fronts: list = field(default_factory=list)  # the rule's fronts in the whole series, (start_row, end_row)
    series: object = field(default=None, repr=False)  # the series they were labelled in

    def leaderboard(self) -> pd.DataFrame:
        out = []
        for r in self.rows:
            row = {"method": r["name"], "kind": r["kind"]}
            for split in ("val", "test"):
                s = r.get(split) or {}
                for key in ("event_precision", "event_recall", "event_f1", "median_lead_hours"):
                    row[f"{split}_{key}"] = s.get(key, math.nan)
            out.append(row)
        return pd.DataFrame(out)

    def to_dict(self) -> dict:
        return {"task": "events:front", "rule": self.data.get("rule"), "data": self.data, "rows": self.rows,
                "events": {s: [list(e) for e in v] for s, v in self.events.items()}, "history": self.history,
                "best_epoch": self.best_epoch, "threshold": self.threshold, "seconds": self.seconds}


def detect_fronts(series, *, model: str = FRONT_DEFAULTS["model"], model_params: dict | None = None,
                  epochs: int = FRONT_DEFAULTS["epochs"], batch_size: int = FRONT_DEFAULTS["batch_size"],
                  lr: float | None = FRONT_DEFAULTS["lr"], optimizer: str = FRONT_DEFAULTS["optimizer"],
                  max_steps: int | None = FRONT_DEFAULTS["max_steps"],
                  lookback_hours: int = FRONT_DEFAULTS["lookback_hours"],
                  warn_hours: int = FRONT_DEFAULTS["warn_hours"],
                  tolerance_hours: int = FRONT_DEFAULTS["tolerance_hours"],
                  feature_set: str | None = FRONT_DEFAULTS["feature_set"], seed: int = 0, rule: dict | None = None,
                  progress: bool = False, checkpoint=None, resume: bool = False) -> EventResult:
    """Label front passages by the rule, train the per-timestep head on the training split, tune its flag
    threshold on validation (event F1), and score validation and test beside the baselines. `checkpoint`
    and `resume`: fit_classifier's (the training state after every epoch; continue after a kill)."""
    from forecastlab.data.derived import add_features
    from forecastlab.evaluation.classification import classification_scores
    from forecastlab.tasks.classification import (
        Classifier,
        _batches_of_dataset,
        _dataset_probabilities,
        _inputs_of,
        fit_classifier,
    )
    from forecastlab.windows import WindowSpec, make_datasets_from_series

    started = time.perf_counter()
    check_event_options(warn_hours=warn_hours, tolerance_hours=tolerance_hours, lookback_hours=lookback_hours)
    check_lookback_fits(series, lookback_hours)
    rule = RULE | dict(rule or {})
    events = front_labels(series, **rule)
    n = len(series)
    if not events:
        raise ForecastlabError("the rule finds no front passage in the series", where=_where(series),
                               fix="use a longer weather record, or a milder rule (e.g. drop=1.0)")
    target = warning_targets(events, n, warn_hours)
    featured = add_features(series, feature_set)
    derived = list((featured.quality.get("features") or {}).get("added") or [])
    spec = WindowSpec(sequence_length=lookback_hours, sampling_rate=1, horizon=1, stride=1)
    # The window whose last input row is t has its target at row t + 1: give it row t's warning label.
    shifted = np.concatenate([[0], target[:-1]])
    sets = make_datasets_from_series(featured, spec, targets=shifted, batch_size=batch_size, seed=seed)
    splits = ("train", "val", "test")
    origin = {s: getattr(sets, s).last_input_rows for s in splits}
    y = {s: target[origin[s]] for s in splits}
    if len(np.unique(y["train"])) < 2:
        if y["train"].all():  # every hour is within warn_hours of a front: nothing to tell apart
            raise ForecastlabError(f"with warn_hours={warn_hours} every training window lies within that many hours "
                                   "of a front, so there is no hour without a warning to learn from",
                                   where=_where(series), arg="warn_hours",
                                   fix="use a shorter warn_hours=, e.g. 6 (the default)")
        raise ForecastlabError(f"the training split's {len(y['train']):,} windows hold no front passage",
                               where=_where(series),
                               fix="use a longer record, or a milder rule (e.g. drop=1.0), or a shorter "
                               f"lookback_hours= than {lookback_hours} (a window across a break in the record is "
                               "dropped)")

    def split_events(s):  # events as positions among the split's rows (windows across a gap are dropped)
        out = []
        for a, b in events:
            lo, hi = int(np.searchsorted(origin[s], a)), int(np.searchsorted(origin[s], b, side="right")) - 1
            if lo <= hi:
                out.append((lo, hi))
        return out

    truth = {s: split_events(s) for s in splits}
    tolerance = int(tolerance_hours)

    def scores(module, split):
        return classification_scores(y[split], _dataset_probabilities(module, getattr(sets, split)),
                                     classes=EVENT_CLASSES)

    defaults = dict(FRONT_DEFAULTS["model_params"]) if model == FRONT_DEFAULTS["model"] else {}
    params = defaults | dict(model_params or {})
    module, history, best_epoch = fit_classifier(
        model, len(featured.columns), lookback_hours, EVENT_CLASSES, _batches_of_dataset(sets.train),
        epochs=epochs, lr=lr, optimizer=optimizer, seed=seed, model_params=params, max_steps=max_steps,
        validate=lambda m: scores(m, "val"), progress=progress, norm_batches=lambda: _inputs_of(sets.train, 40),
        checkpoint=checkpoint, resume=resume,
        fingerprint={"data": series.provenance.to_dict(), "rows": len(series), "rule": rule, "batch_size": batch_size,
                     "warn_hours": warn_hours, "feature_set": feature_set})
    prob = {s: _dataset_probabilities(module, getattr(sets, s))[:, 1] for s in splits}
    threshold = _best_threshold(prob["val"], truth["val"], tolerance=tolerance, warn_hours=warn_hours)
    fit_s = time.perf_counter() - started
    model_row = {"name": model, "kind": "model", "threshold": threshold, "seconds": fit_s, "params": params,
                 **{s: score_flags(prob[s] >= threshold, truth[s], tolerance=tolerance, warn_hours=warn_hours)
                    for s in ("val", "test")}}
    for s in ("val", "test"):
        model_row[s]["window_scores"] = {k: v for k, v in scores(module, s).items() if k != "per_class"}
    rows = _baselines(series, rule, origin, y, truth, tolerance, warn_hours, prob, threshold, seed) + [model_row]
    task = {"kind": "events", "event": "front passage", "rule": rule, "warn_hours": warn_hours, "hours": warn_hours,
            "lookback_hours": lookback_hours, "tolerance_hours": tolerance_hours, "threshold": threshold,
            "seed": seed, "epochs": epochs, "feature_set": feature_set, "derived": derived, "target": series.target}
    classifier = Classifier(module, EVENT_CLASSES, sets.normalizer.mean_, sets.normalizer.std_,
                            columns=list(featured.columns), window=spec.to_dict(), task=task,
                            metrics={s: {k: model_row[s][k] for k in ("event_precision", "event_recall", "event_f1")}
                                     for s in ("val", "test")})
    data = {"source": _where(series), "rows": n, "events": len(events), "rule": rule,
            "events_per_split": {s: len(truth[s]) for s in splits},
            "positive_share": {s: float(y[s].mean()) for s in splits}}
    classifier.metrics |= {"leaderboard": rows, "history": history, "data": data}
    return EventResult(classifier, rows, truth, history, best_epoch, threshold, time.perf_counter() - started, data,
                       fronts=list(events), series=series)


def _baselines(series, rule, origin, y, truth, tolerance, warn_hours, prob, threshold, seed) -> list[dict]:
    from forecastlab.evaluation.classification import best_threshold

    p = series.values[:, _column(series, "p (", "pressure")].astype(np.float64)
    k = rule["fall_hours"]
    fall = np.zeros(len(p))
    fall[k:] = p[k:] - p[:-k]
    t = best_threshold(fall[origin["train"]], y["train"], larger_is_positive=False)
    rows = [{"name": f"pressure falling now ({k} h change below t)", "kind": "baseline", "threshold": t,
             **{s: score_flags(fall[origin[s]] < t, truth[s], tolerance=tolerance, warn_hours=warn_hours)
                for s in ("val", "test")}}]
    rng = np.random.default_rng(seed)
    for s in ("val", "test"):
        k = int((prob[s] >= threshold).sum())
        draws = []
        for _ in range(20):  # as many flagged rows as the model's, uniformly at random
            flags = np.zeros(len(origin[s]), dtype=bool)
            flags[rng.choice(len(flags), size=min(k, len(flags)), replace=False)] = True
            draws.append(score_flags(flags, truth[s], tolerance=tolerance, warn_hours=warn_hours))
        random = {key: float(np.nanmean([d[key] for d in draws])) for key in draws[0] if key != "lead_hours"}
        always = score_flags(np.ones(len(origin[s]), dtype=bool), truth[s], tolerance=tolerance,
                             warn_hours=warn_hours)
        if s == "val":
            rows += [{"name": "trivial: random (as many flags)", "kind": "baseline"},
                     {"name": "trivial: always", "kind": "baseline"}]
        rows[-2][s], rows[-1][s] = random, always
    return rows
