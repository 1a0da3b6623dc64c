"""Derived input columns, chosen by a named feature set and recorded in the run's recipe.

    series = add_features(load_series("synthetic"), "weather")

- `book` (the default): the columns as loaded, nothing added; the book's path.
- `weather`: for the Jena file and the synthetic one, by their column names (wv, max. wv, wd, p, T):
  - wind as vectors: each wind speed crossed with the direction's cos and sin ("wv x", "wv y",
    "max. wv x", "max. wv y"), replacing the raw speeds and the angle in degrees, whose 359 -> 0 jump
    means nothing to a network;
  - calendar terms: sin and cos of the hour of day and of the day of year;
  - tendencies: the change of the pressure over 3 and 24 hours, and of the target over 24 hours.
- `auto`: the same for any other record (a TMY3 file, a user's CSV), by name: wind columns are found by their
  names (wv/wd, "wind speed"/"wind direction"), pressure by "p (" or "pressure"; calendar terms are
  added at the time scales the data resolves (hour of day below a daily step; day of year only over a
  span of at least two years, so that the chronological split's first half, the training part, holds
  every day of the year: on a one-year record the validation and test seasons would take day-of-year
  values training never saw, which trees and networks can only extrapolate); the target's 24-hour
  change when the step divides a day.

Every derived value at row t uses rows up to t only (a change is x[t] - x[t - lag], looked up by
timestamp, so missing rows never shift it); where the earlier row does not exist, or lies across a
splice (a break where the time grid runs on, as at tmy3's month boundaries), the change is 0.
The target column is never replaced. Derived columns carry names that say what they are, and the
Series records the feature set in `quality["features"]`, so the run's recipe (DataRecipe.feature_set)
makes the same columns again for predict, evaluate and backtest.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from forecastlab.data.series import Series
from forecastlab.errors import ForecastlabError

FEATURE_SETS = ("book", "weather", "auto")
_HOUR_NS = 3600 * 10**9
_DAY_NS = 24 * _HOUR_NS
_YEAR_DAYS = 365.2425
# auto adds the day-of-year terms over at least this span (see the module docstring)
AUTO_YEAR_SPAN_DAYS = 2 * _YEAR_DAYS

# (speed column, direction column) pairs of the Jena file and of TMY3-style names
_WIND_NAMES = [("wv (m/s)", "wd (deg)"), ("max. wv (m/s)", "wd (deg)")]
_SPEED = re.compile(r"(^|\b)(wv|wind ?speed|wspd)\b", re.IGNORECASE)
_DIRECTION = re.compile(r"(^|\b)(wd|wind ?dir(ection)?|wdir)\b", re.IGNORECASE)
_PRESSURE = re.compile(r"(^p \(|pressure|^pres\b)", re.IGNORECASE)


def add_features(series: Series, feature_set: str | None, columns: list[str] | None = None) -> Series:
    """`series` with the derived columns of `feature_set` ('book', 'weather' or 'auto'; None is 'book').

    columns: the derived columns to make, as a run recorded them (`quality["features"]["added"]` of the
    series it was trained on; DataRecipe.derived). `auto` decides some columns from the data's span and
    step; with `columns` a new file (a week to predict on) gets exactly the run's columns instead, or an
    error naming the one it cannot make.
    """
    name = (feature_set or "book").strip().lower()
    if name not in FEATURE_SETS:
        raise ForecastlabError(f"unknown feature set {feature_set!r}", arg="feature_set",
                               fix=f"use one of: {', '.join(FEATURE_SETS)}")
    if name == "book":
        return series
    wanted = None if columns is None else list(columns)
    columns = {c: series.values[:, i].astype(np.float64) for i, c in enumerate(series.columns)}
    units = dict(zip(series.columns, series.units, strict=True))
    known = series.missing.size > 0  # which cells were filled: each derived cell inherits its sources'
    holes = {c: series.missing[:, i] if known else None for i, c in enumerate(series.columns)}
    step = _step_ns(series)
    added: list[str] = []

    pairs = _wind_pairs(series, name)
    if name == "weather" and wanted is None and not pairs and "p (mbar)" not in series.columns:
        import warnings

        from forecastlab.errors import DataQualityWarning

        warnings.warn(DataQualityWarning(
            "feature set 'weather' reads the Jena file's column names (wv, max. wv, wd, p (mbar)), and this data "
            "has none of them: only calendar terms and the target's 24 h change are added; feature_set='auto' "
            "(--feature-set auto) finds wind and pressure columns by name"), stacklevel=2)
    for speed, direction in pairs:
        angle = np.deg2rad(columns[direction])
        base = re.sub(r"\s*\(.*\)\s*$", "", speed)
        unit = units.get(speed)
        for suffix, trig in (("x", np.cos), ("y", np.sin)):
            key = f"{base} {suffix}" + (f" ({unit})" if unit else "")
            columns[key] = columns[speed] * trig(angle)
            holes[key] = holes[speed] | holes[direction] if known else None
            units[key] = unit
            added.append(key)
    for speed, direction in pairs:
        for c in (speed, direction):
            if c != series.target:
                columns.pop(c, None)
                holes.pop(c, None)

    for key, values in _calendar(series.timestamps, step, name, wanted).items():
        columns[key], units[key], holes[key] = values, None, None
        added.append(key)

    splices = _splices(series)
    for column, hours in _tendencies(series, name, step, wanted):
        key = f"d{hours}h {column}"
        columns[key] = _change(columns[column], series.timestamps, hours * _HOUR_NS, splices)
        holes[key] = holes[column]
        units[key] = units.get(column)
        added.append(key)

    if wanted is not None and sorted(added) != sorted(wanted):
        missing = sorted(set(wanted) - set(added)) or sorted(set(added) - set(wanted))
        raise ForecastlabError(
            f"the data cannot make the derived column(s) the run was trained with: {', '.join(missing)}",
            where=f"{series.provenance.path or series.provenance.source}, feature set {name!r}",
            fix="give data with the run's input columns (forecastlab runs show RUN_DIR lists them)")
    names = list(columns)
    quality = dict(series.quality) | {"features": {"set": name, "added": added, "source_columns": list(series.columns),
                                                   "removed": [c for c in series.columns if c not in columns]}}
    missing = (np.column_stack([holes[c] if holes[c] is not None else np.zeros(len(series), dtype=bool)
                                for c in names]) if known else series.missing)
    return dataclasses.replace(series, values=np.column_stack([columns[c] for c in names]).astype(np.float32),
                               columns=names, units=[units.get(c) for c in names], quality=quality,
                               missing=missing)


def _step_ns(series: Series) -> int | None:
    if series.step_ns:
        return series.step_ns
    if len(series.timestamps) > 1:
        diffs = np.diff(series.timestamps.astype("datetime64[ns]").astype(np.int64))
        return int(np.median(diffs)) if len(diffs) else None
    return None


def _wind_pairs(series: Series, name: str) -> list[tuple[str, str]]:
    present = set(series.columns)
    pairs = [(s, d) for s, d in _WIND_NAMES if s in present and d in present]
    if pairs or name == "weather":
        return pairs
    speeds = [c for c in series.columns if _SPEED.search(c) and not _DIRECTION.search(c)]
    directions = [c for c in series.columns if _DIRECTION.search(c)]
    return [(s, directions[0]) for s in speeds] if len(directions) == 1 else []


def _calendar(timestamps: np.ndarray, step: int | None, name: str, wanted: list[str] | None = None
              ) -> dict[str, np.ndarray]:
    ns = timestamps.astype("datetime64[ns]").astype(np.int64)
    out = {}
    span = int(ns[-1] - ns[0]) if len(ns) else 0
    hours = "hour sin" in wanted if wanted is not None else name == "weather" or (step is not None and step < _DAY_NS)
    days = "year sin" in wanted if wanted is not None else name == "weather" or span >= AUTO_YEAR_SPAN_DAYS * _DAY_NS
    if hours:
        day = 2 * np.pi * (ns % _DAY_NS) / _DAY_NS
        out |= {"hour sin": np.sin(day), "hour cos": np.cos(day)}
    if days:
        year = 2 * np.pi * ((ns / _DAY_NS) % _YEAR_DAYS) / _YEAR_DAYS
        out |= {"year sin": np.sin(year), "year cos": np.cos(year)}
    return out


def _tendencies(series: Series, name: str, step: int | None, wanted: list[str] | None = None
                ) -> list[tuple[str, int]]:
    if wanted is not None:  # as the run recorded them: 'd3h p (mbar)' -> ('p (mbar)', 3)
        found = [re.match(r"^d(\d+)h (.+)$", w) for w in wanted]
        return [(m[2], int(m[1])) for m in found if m and m[2] in series.columns]
    if step is None or step > _DAY_NS:
        return []
    pressure = [c for c in series.columns if c == "p (mbar)"] if name == "weather" else \
        [c for c in series.columns if _PRESSURE.search(c) and c != series.target]
    out = [(c, h) for c in pressure[:1] for h in (3, 24) if (h * _HOUR_NS) % step == 0]
    if _DAY_NS % step == 0:
        out.append((series.target, 24))
    return out


def _splices(series) -> np.ndarray:
    """The breaks where the time grid runs on without a gap: two records joined (a typical meteorological
    year's months, each from another year), so no row before one is the past of a row after it. A break at
    a hole in time is not one: the rows before the hole are the same record's past."""
    breaks = np.asarray(getattr(series, "breaks", ()), dtype=np.int64)
    breaks = breaks[(breaks > 0) & (breaks < len(series.timestamps))]
    if not len(breaks) or not series.step_ns:
        return np.zeros(0, dtype=np.int64)
    ns = series.timestamps.astype("datetime64[ns]").astype(np.int64)
    return np.sort(breaks[ns[breaks] - ns[breaks - 1] <= series.step_ns])


def _change(values: np.ndarray, timestamps: np.ndarray, lag_ns: int, splices: np.ndarray | None = None) -> np.ndarray:
    """values[t] - values[t - lag], the earlier row found by timestamp; 0 where it does not exist, or lies
    before a splice (forecastlab.data.derived._splices) that row t is after: that row is another record."""
    ns = timestamps.astype("datetime64[ns]").astype(np.int64)
    earlier = np.searchsorted(ns, ns - lag_ns)
    found = (earlier < len(ns)) & (ns[np.minimum(earlier, len(ns) - 1)] == ns - lag_ns)
    if splices is not None and len(splices):
        rows = np.arange(len(ns))
        found &= np.searchsorted(splices, rows, side="right") == np.searchsorted(splices, earlier, side="right")
    out = np.zeros_like(values)
    out[found] = values[found] - values[earlier[found]]
    return out
