"""Sensor faults: rules that flag them, each with its reason, and a generator that injects them with their truth.

    series = load_series("synthetic", clean=False)      # keep -9999 sentinels as they were read
    events = sensor_faults(series)                       # [Event(start, end, channel, kind, score, reason)]
    faulty, truth = inject_faults(series, seed=0)        # a copy with known faults, and the list of them

The rules (`sensor_faults`), per column of the record's own (`own_columns`: not the columns a feature set of
forecastlab.data.derived added, such as the wind vectors 'wv x (m/s)', calendar terms or 'd24h' tendencies,
which are no sensor's readings and may rightly be negative), each an `Event` per run of consecutive flagged rows:
  - sentinel: a value <= -9990 (Jena's -9999 for "no reading"); load with clean=False to see them, since
    the default cleaning turns them into missing values;
  - missing: a cell that was not read as a number (blank, NaN, a hole in the time grid) and was filled by
    the gap policy (Series.missing), or a NaN left in the values;
  - stuck: the same value in consecutive rows for at least STUCK_HOURS and at least STUCK_OVER_P99 times
    the column's own 99th-percentile run of equal values, when it has at least STUCK_MIN_RUNS of them (a
    pressure rounded to whole mbar holds for hours), unless the column takes that value in at least
    STUCK_COMMON of its other rows (a calm wind of 0.0 or no rain is plausible for hours; a temperature
    that holds 12.34 for 6 hours is not);
  - spike: a value farther than SPIKE_SCALES robust scales from the median of the SPIKE_HALF rows on each
    side (a Hampel filter); the scale is 1.4826 x the local median absolute deviation, but at least the
    column's typical step (1.4826 x the median |x(t) - x(t-1)|, over the nonzero steps when most are 0, at
    least 1e-6) so flat stretches do not make every wiggle a spike; rows flagged as sentinel or missing are left out.
    A wind direction ('wd (deg)', 'Wind direction (deg)') is a bearing, judged on the circle: every difference
    is the smallest turn between two bearings (350 and 10 are 20 degrees apart), the reference the neighbours'
    median about their circular mean; a 0 (calm or undefined in TMY3 and other records, which write north as
    360) and a row whose wind speed reads 0 (calm) are neither judged nor used as neighbours, and a row with
    fewer than SPIKE_HALF judged neighbours is not judged;
  - physics, where the columns exist (found by name among the checked ones): relative humidity above
    100.5 % or below 0; the actual vapour pressure above the saturation one by more than 0.05 mbar (Jena's
    VPact > VPmax); the maximum wind speed below the mean one by more than 0.05 m/s (Jena's max. wv < wv); a
    wind speed below 0; the dew point above the air temperature by more than 0.5 K. A wind speed is the
    speed column itself ('wv (m/s)', 'max. wv (m/s)', 'Wind speed (m/s)'), never a vector component.

An Event's `start` and `end` are row indices (end inclusive) and their timestamps; its `score` is how far
past the rule's threshold it went (for a spike, its largest distance in robust scales). `inject_faults`
writes stuck runs, spikes, slow drifts, -9999 sentinels and dropouts (NaN) into chosen columns of a copy
and returns exactly where; it never overlaps two faults, so each true event has one kind.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from forecastlab.data.series import Series
from forecastlab.errors import ForecastlabError

SENTINEL = -9990.0
STUCK_HOURS = 6.0
STUCK_OVER_P99 = 1.25
STUCK_MIN_RUNS = 200
STUCK_COMMON = 0.01  # share of the other rows at which a value counts as common
SPIKE_HALF = 3
SPIKE_SCALES = 8.0
KINDS = ("sentinel", "missing", "stuck", "spike", "physics")
INJECTED = ("stuck", "spike", "drift", "sentinel", "dropout")
MAX_EVENTS = 100_000  # per call: a file that is all faults is reported as its first MAX_EVENTS


@dataclass(frozen=True)
class Event:
    """A run of rows [start, end] (inclusive) flagged in one channel, for one reason."""

    start: int
    end: int
    channel: str
    kind: str
    score: float
    reason: str
    start_time: np.datetime64 | None = None
    end_time: np.datetime64 | None = None

    def to_dict(self) -> dict:
        return {"start": _iso(self.start_time), "end": _iso(self.end_time), "start_row": int(self.start),
                "end_row": int(self.end), "channel": self.channel, "kind": self.kind, "score": float(self.score),
                "reason": self.reason}


def _iso(t) -> str | None:
    return None if t is None else str(np.datetime_as_string(np.datetime64(t, "s")))


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) inclusive of every run of True in a 1-d boolean array."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    edges = np.diff(np.concatenate([[0], mask.view(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def step_hours(series: Series) -> float:
    """The series' typical step in hours (the median of its time steps); 1 when it has fewer than 2 rows."""
    if len(series.timestamps) < 2:
        return 1.0
    steps = np.diff(series.timestamps.astype("datetime64[ns]").astype(np.int64))
    return max(float(np.median(steps)) / 3.6e12, 1e-9)


def _events(series: Series, mask: np.ndarray, channel: str, kind: str, scores: np.ndarray, reason) -> list[Event]:
    out = []
    for start, end in runs_of(mask):
        text = reason(start, end) if callable(reason) else reason
        out.append(Event(start, end, channel, kind, float(np.max(scores[start:end + 1])), text,
                         series.timestamps[start], series.timestamps[end]))
    return out


def _column(series: Series, *patterns: str, among: list[str] | None = None) -> int | None:
    """The index of the first column (of `among`, default all) whose name matches one of the regular
    expressions (case-insensitive)."""
    for pattern in patterns:
        for j, name in enumerate(series.columns):
            if (among is None or name in among) and re.search(pattern, name, flags=re.IGNORECASE):
                return j
    return None


def own_columns(series: Series) -> list[str]:
    """The record's own columns: those of `series` that forecastlab.data.derived did not add (its
    `quality["features"]["added"]`: wind vectors, calendar terms, tendencies), in the series' order."""
    added = set(((series.quality or {}).get("features") or {}).get("added") or ())
    return [c for c in series.columns if c not in added]


def sensor_faults(series: Series, *, stuck_hours: float = STUCK_HOURS, spike_scales: float = SPIKE_SCALES,
                  spike_half: int = SPIKE_HALF, columns: list[str] | None = None) -> list[Event]:
    """Every rule's events (see the module), ordered by start row, then channel.

    columns: the columns the rules judge (default: own_columns(series), the record's own; a derived wind
    vector component is negative by design, and a tendency is not a sensor)."""
    if stuck_hours <= 0 or spike_scales <= 0 or spike_half < 1:
        raise ForecastlabError(f"stuck_hours={stuck_hours}, spike_scales={spike_scales}, spike_half={spike_half}",
                               arg="stuck_hours", fix="give stuck_hours > 0, spike_scales > 0 and spike_half >= 1")
    checked = own_columns(series) if columns is None else list(columns)
    unknown = [c for c in checked if c not in series.columns]
    if unknown:
        raise ForecastlabError(f"no column {unknown[0]!r} to check for faults", arg="columns",
                               fix=f"choose from: {', '.join(series.columns)}")
    values = np.asarray(series.values, dtype=np.float64)
    rows = len(values)
    missing = series.missing if series.missing.shape == values.shape else np.zeros(values.shape, dtype=bool)
    missing = missing | np.isnan(values)
    sentinel = values <= SENTINEL
    stuck_rows = max(2, int(np.ceil(stuck_hours / step_hours(series))))
    events: list[Event] = []
    calm = _calm(series, values, sentinel | missing, checked)
    for j, channel in enumerate(series.columns):
        if channel not in checked:
            continue
        x = values[:, j]
        events += _events(series, sentinel[:, j], channel, "sentinel", np.abs(x),
                          lambda s, e, x=x: f"sentinel value {x[s]:g} (no reading) in {e - s + 1} row(s)")
        events += _events(series, missing[:, j], channel, "missing", np.ones(rows),
                          lambda s, e: f"no number read in {e - s + 1} row(s) (filled by the gap policy)")
        bad = sentinel[:, j] | missing[:, j]
        events += _stuck(series, x, bad, channel, stuck_rows)
        if j in calm:  # a bearing: compared on the circle, calm (undefined) rows left out
            events += _spikes(series, x, bad | calm[j], channel, spike_scales, spike_half, circular=True)
        else:
            events += _spikes(series, x, bad, channel, spike_scales, spike_half)
    events += _physics(series, values, sentinel | missing, checked)
    events.sort(key=lambda e: (e.start, e.channel, e.kind))
    if len(events) > MAX_EVENTS:
        import warnings

        from forecastlab.errors import DataQualityWarning

        warnings.warn(f"{len(events):,} fault events were found; only the first {MAX_EVENTS:,} are kept. A series "
                      "that is mostly faults needs its sensors checked, or other thresholds", DataQualityWarning,
                      stacklevel=2)
    return events[:MAX_EVENTS]


def _stuck(series, x, bad, channel, stuck_rows) -> list[Event]:
    if (~bad).sum() < stuck_rows:
        return []
    same = np.zeros(len(x), dtype=bool)
    same[1:] = (x[1:] == x[:-1]) & ~bad[1:] & ~bad[:-1]
    runs = [(start - 1, end) for start, end in runs_of(same)]  # a run starts at the row before its first repeat
    lengths = np.array([end - start + 1 for start, end in runs])
    # What is plausible for this column: its 99th-percentile run of equal values, plus a quarter (a pressure
    # rounded to whole mbar holds for hours), and never less than stuck_rows. Judged only from at least
    # STUCK_MIN_RUNS runs, so that a few long faults cannot set their own bar.
    need = stuck_rows
    if len(lengths) >= STUCK_MIN_RUNS:
        need = max(stuck_rows, int(np.ceil(STUCK_OVER_P99 * np.quantile(lengths, 0.99))))
    common = max(stuck_rows, STUCK_COMMON * len(x))
    out = []
    for start, end in runs:
        length = end - start + 1
        if length < need:
            continue
        # A value the column often takes elsewhere (a calm wind of 0.0, no rain) may hold for hours.
        elsewhere = int(np.count_nonzero(x == x[start])) - length
        if elsewhere >= common:
            continue
        hours = length * step_hours(series)
        out.append(Event(start, end, channel, "stuck", length / need,
                         f"value {x[start]:g} unchanged for {length} rows ({hours:.1f} h)",
                         series.timestamps[start], series.timestamps[end]))
    return out


def _wrap(degrees):
    """Angles in degrees brought into [-180, 180): the signed smallest turn."""
    return (degrees + 180.0) % 360.0 - 180.0


def _calm(series: Series, values: np.ndarray, bad: np.ndarray, checked: list[str]) -> dict[int, np.ndarray]:
    """For each checked wind-direction column (by name), the rows where its bearing is undefined: a 0
    (TMY3 and other records write 0 for calm or undefined, 360 for north) or a calm, where the wind speed
    column reads 0."""
    speed = _column(series, _SPEED, among=checked)
    out = {}
    for j, name in enumerate(series.columns):
        if name in checked and re.search(_DIRECTION, name, flags=re.IGNORECASE):
            out[j] = values[:, j] == 0
            if speed is not None:
                out[j] |= (values[:, speed] == 0) & ~bad[:, speed]
    return out


def _spikes(series, x, bad, channel, scales, half, *, circular: bool = False) -> list[Event]:
    """A Hampel filter; circular: `x` is a bearing in degrees, every difference the smallest turn between
    two bearings, and the reference the neighbours' median about their circular mean."""
    n = len(x)
    if n < 2 * half + 1:
        return []
    filled = np.where(bad, np.nan, x)
    breaks = np.asarray(series.breaks, dtype=np.int64)
    breaks = breaks[(breaks > 0) & (breaks < n)]
    steps = np.diff(filled)
    steps[breaks - 1] = np.nan  # a step across a break (a hole, dropped rows) is no step of the signal
    diffs = np.abs(_wrap(steps) if circular else steps)
    diffs = diffs[np.isfinite(diffs)]
    if len(diffs) and np.count_nonzero(diffs) > 0 and np.median(diffs) == 0:
        diffs = diffs[diffs > 0]  # a mostly-zero column (rain, night-time sun): its typical step when it moves
    typical = 1.4826 * float(np.median(diffs)) if len(diffs) else 0.0
    floor = max(typical, 1e-6)
    padded = np.pad(filled, half, mode="constant", constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    # The rows on each side, not the row itself: a spike must not pull its own reference; and only those on
    # the row's side of a break (after a hole, the rows before it are hours away).
    around = np.delete(windows, half, axis=1)
    if len(breaks):
        segment = np.searchsorted(breaks, np.arange(n), side="right").astype(np.float64)
        padded_segment = np.pad(segment, half, mode="constant", constant_values=np.nan)
        sides = np.delete(np.lib.stride_tricks.sliding_window_view(padded_segment, 2 * half + 1), half, axis=1)
        around = np.where(sides == segment[:, None], around, np.nan)
    with np.errstate(all="ignore"), _quiet():
        if circular:
            # Unwrapped about the neighbours' circular mean, so that 350 and 10 are 20 degrees apart, not 340.
            angle = np.deg2rad(around)
            mean = np.rad2deg(np.arctan2(np.nanmean(np.sin(angle), axis=1), np.nanmean(np.cos(angle), axis=1)))
            offsets = _wrap(around - mean[:, None])
            centre = np.nanmedian(offsets, axis=1)
            med = mean + centre
            mad = np.nanmedian(np.abs(_wrap(offsets - centre[:, None])), axis=1)
            apart = np.abs(_wrap(filled - med))
            # Between calms a bearing may have one or two neighbours, too few for a median: not judged.
            apart[np.count_nonzero(np.isfinite(around), axis=1) < half] = np.nan
        else:
            med = np.nanmedian(around, axis=1)
            mad = np.nanmedian(np.abs(around - med[:, None]), axis=1)
            apart = np.abs(filled - med)
    scale = np.maximum(1.4826 * np.nan_to_num(mad, nan=0.0), floor)
    dist = apart / scale
    flag = np.nan_to_num(dist, nan=0.0) > scales
    where = " (degrees on the circle)" if circular else ""
    return _events(series, flag, channel, "spike", np.nan_to_num(dist, nan=0.0),
                   lambda s, e: f"{np.nanmax(dist[s:e + 1]):.1f} robust scales from the median of the "
                   f"{2 * half} rows around it{where}")


class _quiet:
    """np.nanmedian of an all-NaN slice warns; a row with no neighbours is simply not judged."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


# (kind of check, columns by name patterns, test on (a, b), tolerance, what it says)
_RH = r"^rh\b|relative humidity|^RH"
# A speed column is the speed itself ("wv (m/s)", "Wind speed (m/s)"), never a vector component ("wv x (m/s)").
_SPEED = r"^wv(\s*\(|$)|\bwind ?speed(\s*\(|$)"
_MAX_SPEED = r"^max\.? ?wv(\s*\(|$)"
_DIRECTION = r"^wd(\s*\(|$)|\bwind ?dir(ection)?(\s*\(|$)"
_PHYSICS = [
    ("humidity above 100 %", (_RH, None), lambda a, b: a - 100.5, "relative humidity {a:g} % is above 100 %"),
    ("humidity below 0", (_RH, None), lambda a, b: -a, "relative humidity {a:g} % is below 0"),
    ("VPact > VPmax", (r"^VPact", r"^VPmax"), lambda a, b: a - b - 0.05,
     "actual vapour pressure {a:g} exceeds the saturation pressure {b:g}"),
    ("max. wv < wv", (_MAX_SPEED, _SPEED), lambda a, b: b - a - 0.05,
     "maximum wind speed {a:g} is below the mean wind speed {b:g}"),
    ("wind speed < 0", (_SPEED, None), lambda a, b: -a, "wind speed {a:g} is negative"),
    ("dew point > temperature", (r"^Tdew|dew ?point", r"^T \(degC\)|^T$|dry.?bulb|^temperature"),
     lambda a, b: a - b - 0.5, "dew point {a:g} is above the air temperature {b:g}"),
]


def _physics(series: Series, values: np.ndarray, bad: np.ndarray, checked: list[str]) -> list[Event]:
    out = []
    for kind, (pa, pb), excess, text in _PHYSICS:
        ja = _column(series, pa, among=checked)
        jb = _column(series, pb, among=checked) if pb else None
        if ja is None or (pb and (jb is None or jb == ja)):
            continue
        a = values[:, ja]
        b = values[:, jb] if jb is not None else np.zeros_like(a)
        skip = bad[:, ja] | (bad[:, jb] if jb is not None else False)
        over = np.where(skip, -np.inf, excess(a, b))
        flag = over > 0
        channel = series.columns[ja] if jb is None else f"{series.columns[ja]} vs {series.columns[jb]}"
        out += _events(series, flag, channel, "physics", np.maximum(over, 0),
                       lambda s, e, a=a, b=b, text=text, kind=kind:
                       f"{kind}: {text.format(a=a[s], b=b[s])} ({e - s + 1} row(s))")
    return out


# -- injection --------------------------------------------------------------------------------------------------


def inject_faults(series: Series, *, seed: int = 0, per_kind: int = 5, kinds: tuple[str, ...] = INJECTED,
                  channels: list[str] | None = None) -> tuple[Series, list[Event]]:
    """A copy of `series` with `per_kind` faults of each kind written into `channels` (default: the target),
    never two within a day of each other, and the list of them (the ground truth).

    stuck: the value at its start held for 12 hours; spike: one row moved, up or down at random, by 10
    robust scales of the column's steps or 2 standard deviations of the column, whichever is larger;
    drift: an offset growing linearly to 3 standard deviations of the column over 2 days, then gone;
    sentinel: -9999 for 1 to 6 rows; dropout: NaN for 1 to 12 rows
    (marked missing, as a blank cell is). Times come from the series' step."""
    unknown = [k for k in kinds if k not in INJECTED]
    if unknown or per_kind < 1:
        raise ForecastlabError(f"cannot inject kinds={list(kinds)} with per_kind={per_kind}", arg="kinds",
                               fix=f"choose kinds from {', '.join(INJECTED)} and per_kind >= 1")
    channels = channels or [series.target]
    missing_cols = [c for c in channels if c not in series.columns]
    if missing_cols:
        raise ForecastlabError(f"no column {missing_cols[0]!r} to inject faults into", arg="channels",
                               fix=f"choose from: {', '.join(series.columns)}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ForecastlabError(f"the fault seed must be a whole number of 0 or more, got {seed!r}", arg="seed",
                               fix="give seed=0, for example")
    rng = np.random.default_rng(seed)
    values = np.array(series.values, dtype=np.float32, copy=True)
    missing = (series.missing.copy() if series.missing.shape == values.shape
               else np.zeros(values.shape, dtype=bool))
    per_hour = 1.0 / step_hours(series)
    lengths = {"stuck": lambda: max(3, int(round(12 * per_hour))), "spike": lambda: 1,
               "drift": lambda: max(2, int(round(48 * per_hour))), "sentinel": lambda: int(rng.integers(1, 7)),
               "dropout": lambda: int(rng.integers(1, 13))}
    plan = [(k, c) for k in kinds for c in channels for _ in range(per_kind)]
    gap = max(2, int(round(24 * per_hour)))
    n = len(values)
    longest = max(lengths[k]() for k in ("stuck", "drift")) if n else 0
    slots = n // max(1, longest + gap)
    if slots < len(plan):
        raise ForecastlabError(f"{n:,} rows hold room for {slots} separated faults, not {len(plan)}", arg="per_kind",
                               fix="inject fewer faults (per_kind) or use a longer series")
    chosen = np.sort(rng.choice(slots, size=len(plan), replace=False))
    order = rng.permutation(len(plan))
    # Each column's scales, from the series as given (not after earlier injections).
    scales = {}
    for channel in channels:
        j = series.columns.index(channel)
        x = values[:, j]
        col = x[~missing[:, j] & np.isfinite(x) & (x > SENTINEL)].astype(np.float64)
        step = max(1.4826 * float(np.median(np.abs(np.diff(col)))) if len(col) > 1 else 1.0, 1e-3)
        scales[channel] = (step, float(np.std(col)) if len(col) else 1.0)
    truth = []
    for slot, (kind, channel) in zip(chosen, [plan[i] for i in order], strict=True):
        j = series.columns.index(channel)
        start = int(slot * (longest + gap) + gap // 2)
        length = min(lengths[kind](), n - start)
        end = start + length - 1
        x = values[:, j]
        step_scale, spread = scales[channel]
        if kind == "stuck":
            x[start:end + 1] = x[start]
            if end + 1 < n and x[end + 1] == x[start]:
                x[end + 1] += np.float32(step_scale)
            if start > 0 and x[start - 1] == x[start]:
                x[start - 1] -= np.float32(step_scale)
            score, text = float(length), f"held at {x[start]:g} for {length} rows"
        elif kind == "spike":
            jump = max(10 * step_scale, 2 * spread) * (1 if rng.random() < 0.5 else -1)
            x[start] += np.float32(jump)
            score, text = abs(jump), f"moved by {jump:+.3g}"
        elif kind == "drift":
            top = 3 * spread
            x[start:end + 1] += np.linspace(top / length, top, length).astype(np.float32)
            score, text = top, f"offset growing to {top:+.3g} over {length} rows"
        elif kind == "sentinel":
            x[start:end + 1] = -9999.0
            score, text = 9999.0, f"-9999 in {length} row(s)"
        else:
            x[start:end + 1] = np.nan
            missing[start:end + 1, j] = True
            score, text = 1.0, f"no reading (NaN) in {length} row(s)"
        truth.append(Event(start, end, channel, kind, score, f"injected {kind}: {text}",
                           series.timestamps[start], series.timestamps[end]))
    truth.sort(key=lambda e: (e.start, e.channel))
    faulty = dataclasses.replace(series, values=values, missing=missing)
    return faulty, truth
