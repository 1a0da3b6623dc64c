"""`load_series`: any source (real Jena, built-in synthetic Jena, a public benchmark record, a CSV or
Parquet file) to a Series.

The public records 'elecdemand' and 'tmy3' (forecastlab.data.public, extra `bench`) are read by
`load_public`: their time index is built there, they have no missing values, and `freq=`/`time_col=`
do not apply to them.

The order of operations, each step reported in `Series.quality`:
  read -> pick columns -> parse timestamps -> order and duplicates -> count gaps, NaN, sentinels
  -> clean (sentinels to missing) -> resample (--freq only) -> gap policy -> breaks.

Jena-format input (the real file or the synthetic one) is kept row for row, as the book uses it: no
resampling, duplicates and isolated backward steps kept, holes in the 10-minute grid reported and
recorded in `breaks` but not filled. Time running backwards is still refused there: a last timestamp
not after the first, or more backward steps than BACKWARD_SHARE of all steps (at least one allowed).
Any other file must have increasing timestamps; duplicated ones keep the first.

Every cell must be blank (missing), or a finite number that fits float32 (|x| <= 3.4e38), since the
series is float32: 'inf' or 1e300 anywhere (in any split) is an error naming the line and column, not a
NaN that surfaces later as "test MAE nan". `--freq` must be a positive step that makes at most
max(RESAMPLE_FACTOR x rows read, MAX_RESAMPLED_ROWS) rows, counted before resampling.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings

import numpy as np
import pandas as pd

from forecastlab.data import columns as cols
from forecastlab.data.jena_schema import jena_columns
from forecastlab.data.public import is_public, load_public
from forecastlab.data.quality import (
    HOUR_NS,
    LISTED,
    SPRING_FORWARD_ZONES,
    GapPolicy,
    apply_gap_policy,
    breaks_from,
    cell_counts,
    daylight_saving_holes,
    detect_step,
    fill_grid,
    freq_string,
    grid_holes,
    sentinels_to_missing,
    stamp,
    time_report,
)
from forecastlab.data.readers import Table, read_table, shorten
from forecastlab.data.series import Provenance, Series
from forecastlab.data.sources import resolve_source
from forecastlab.errors import DataQualityWarning, ForecastlabError

BACKWARD_SHARE = 0.001  # Jena format: backward steps allowed, as a share of all steps
FLOAT32_MAX = float(np.finfo(np.float32).max)
RESAMPLE_FACTOR = 10
MAX_RESAMPLED_ROWS = 10_000_000


def load_series(
    data: str | os.PathLike = "auto",
    *,
    time_col: str | None = None,
    target: str | None = None,
    features: list[str] | None = None,
    freq: str | None = None,
    gaps: str = "interpolate",
    clean: bool = True,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    day_first: bool | None = None,
) -> Series:
    """Load `data` into a Series: 'jena', 'synthetic', 'auto', 'elecdemand', 'tmy3', 'ucr:InternalBleeding16'
    (a labelled anomaly series, forecastlab.data.ucr) or a CSV/Parquet path (.gz/.zip too).

    'jena' uses the verified cached file, downloading it if needed (and `download`); 'synthetic' the
    built-in Jena-format data, with a loud banner every time; 'auto' real Jena when cached or
    downloadable, else synthetic with the banner. 'elecdemand' and 'tmy3' are the public benchmark
    records of forecastlab.data.public (they need `pip install 'forecastlab[bench]'`): `target` and
    `features` choose their columns; `gaps`, `clean`, `data_dir` and `download` change nothing for them,
    and `time_col`/`freq` are refused. `features` default to every numeric column; the target defaults
    to 'T (degC)' when present, or the only numeric column. `freq` resamples to a regular grid (mean);
    `gaps` is the missing-value policy (see forecastlab.data.quality); `clean` turns -9999 sentinels
    into missing values first. `day_first`: how to read dates like 05/03/2024 whose order the stamps do
    not settle (a forecast's input is read in its training file's order, quality["time"]["day_first"]);
    None: decided from the stamps (forecastlab.data.columns).
    """
    policy = GapPolicy.parse(gaps)
    if is_public(data):
        _refuse_public_options(str(data), time_col=time_col, freq=freq, gaps=policy)
        return load_public(str(data), target=target, features=features, build=build_series)
    if isinstance(data, str) and data.strip().lower().startswith("ucr:"):
        # A labelled UCR anomaly series from the pinned aeon wheel (forecastlab.data.ucr): one column 'value'.
        from forecastlab.data.ucr import load_ucr_anomaly

        _refuse_public_options(data, time_col=time_col, freq=freq)
        if target not in (None, "value") or features not in (None, ["value"]):
            raise ForecastlabError(f"{data.strip()!r} has one column, 'value'", arg="target" if target else "features",
                                   fix="leave out target= and features=")
        series, _truth, _train_rows = load_ucr_anomaly(data.split(":", 1)[1], data_dir=data_dir, download=download)
        return series
    source = resolve_source(data, data_dir=data_dir, download=download)
    table = read_table(source.path)
    return build_series(table, source.provenance, time_col=time_col, target=target, features=features,
                        freq=freq, policy=policy, clean=clean, day_first=day_first)


def load_bytes(raw: bytes, name: str, *, time_col: str | None = None, target: str | None = None,
               features: list[str] | None = None, freq: str | None = None, gaps: str = "interpolate",
               clean: bool = True, day_first: bool | None = None) -> Series:
    """load_series for a file's content in memory (CSV or Parquet bytes, e.g. an HTTP request's body):
    the same reading, cleaning and gap policy; `name` stands for the file in messages and provenance."""
    from forecastlab.data.readers import table_from_bytes

    policy = GapPolicy.parse(gaps)
    table = table_from_bytes(raw, name)
    return build_series(table, Provenance(source="file", path=name), time_col=time_col, target=target,
                        features=features, freq=freq, policy=policy, clean=clean, day_first=day_first)


def _refuse_public_options(name: str, *, time_col: str | None, freq: str | None,
                           gaps: GapPolicy | None = None) -> None:
    """A public record comes with its own regular time index: there is no time column to pick, and
    resampling it would move the tmy3 month-boundary breaks. Its gap policy is fixed too (nyc-jfk's is
    the default, the others have no holes): another gaps= would be recorded in a run and never applied."""
    if gaps is not None and gaps != GapPolicy.parse("interpolate"):
        raise ForecastlabError(f"gaps= does not apply to the public dataset {name.strip()!r}, whose gap policy is "
                               "fixed (forecastlab.data.public: the default, interpolate:6)", arg="gaps",
                               fix="leave out gaps=, or export the series to a CSV file and load that")
    for arg, value in (("time_col", time_col), ("freq", freq)):
        if value is not None:
            raise ForecastlabError(f"{arg}= does not apply to the public dataset {name.strip()!r}, whose time index "
                                   "is built by forecastlab (see forecastlab.data.public)", arg=arg,
                                   fix=f"leave out {arg}=, or export the series to a CSV file and load that")


# Unix time: a whole-number time column, in seconds (or ms, us, ns) since 1970-01-01 00:00 UTC. Read only from
# a column named like a time (or the one time_col= names) whose every value lies in 1973-03-03..2100-01-01 in
# one unit: those ranges do not overlap, so the unit is never a guess; any other whole numbers are no time.
# A word of the name, not inside another ('update_count', 'downtime (min)' are no times).
_TIME_LIKE = re.compile(r"(?<![a-z])(?:date|time|epoch|unix|posix|stamp)|^ts$|^ds$|^dt$|^when$", re.IGNORECASE)
EPOCH_SECONDS = (100_000_000, 4_102_444_800)  # 1973-03-03 09:46:40 and 2100-01-01 00:00:00 UTC
EPOCH_UNITS = (("s", "seconds", 1), ("ms", "milliseconds", 10**3), ("us", "microseconds", 10**6),
               ("ns", "nanoseconds", 10**9))
# Dates written as digits, 2016030100 (yyyymmddHH): in the seconds range too, so told apart and refused.
_DIGIT_DATES = {8: ("%Y%m%d", "yyyymmdd"), 10: ("%Y%m%d%H", "yyyymmddHH"), 12: ("%Y%m%d%H%M", "yyyymmddHHMM"),
                14: ("%Y%m%d%H%M%S", "yyyymmddHHMMSS")}
_EPOCH_EXAMPLE = "1451606400 (seconds) or 1451606400000 (milliseconds) for 2016-01-01 00:00 UTC"


def _read_epoch_times(table: Table, time_col: str | None) -> tuple[Table, dict | None]:
    """The table with its Unix-time column (if it has one) as UTC datetimes, and what was read: {"column",
    "unit", "example"}, or None. Without time_col=, only when no column is of dates already or holds text and
    is named like a time: then the first numeric column named like one. Whole numbers named like a time that
    are not Unix time are refused, saying what was found, when no other column can hold the dates."""
    frame = table.frame
    if time_col is not None:
        if time_col not in frame.columns or not _numeric(frame[time_col]):
            return table, None
        name = time_col
    else:
        if any(pd.api.types.is_datetime64_any_dtype(frame[c]) or (_TIME_LIKE.search(str(c)) and not _numeric(frame[c]))
               for c in frame.columns):
            return table, None
        candidates = [c for c in frame.columns if _TIME_LIKE.search(str(c)) and _numeric(frame[c])]
        # the first that holds Unix time in some unit, else the first (refused below, saying what it holds)
        name = next((c for c in candidates if _epoch_unit(frame[c]) is not None), candidates[0] if candidates else None)
        if name is None or any(_looks_like_dates(frame[c]) for c in frame.columns if not _numeric(frame[c])):
            return table, None  # a text column of dates (named 'Datum', say) is the time: find_time_column's
    s = frame[name]
    x = s.to_numpy(dtype=np.float64, na_value=np.nan)
    present = x[~np.isnan(x)]
    if not len(present):
        return table, None
    where = table.where(column=name)
    first = s.loc[s.notna()].iloc[0]
    finite = bool(np.isfinite(present).all())
    whole = finite and bool((present == np.round(present)).all())
    shown = f"{int(first)}" if whole else repr(float(first))
    if whole:
        _refuse_digit_dates(s, name, where)
    unit = _epoch_unit(s)
    if unit is not None:
        word = next(w for u, w, _per in EPOCH_UNITS if u == unit)
        # whole numbers with blanks (a float column) as Int64: float64 would round nanoseconds
        exact = pd.array(s, dtype="Int64") if whole and s.dtype.kind == "f" else s
        converted = pd.Series(pd.to_datetime(exact, unit=unit, utc=True), index=frame.index)
        as_date = f"{converted.loc[s.notna()].iloc[0]:%Y-%m-%d %H:%M:%S} UTC"
        epoch = {"column": str(name), "unit": word, "example": f"{shown} is {as_date}"}
        warnings.warn(DataQualityWarning(
            f"the time column {shorten(name)!r} holds {'whole ' if whole else ''}numbers, read as Unix time in "
            f"{word} since 1970-01-01 00:00 UTC ({shown} is {as_date}; their range settles the unit): the times "
            f"are in UTC. If they are something else, write the times as dates like 2016-01-01 00:00:00 ({where})"),
            stacklevel=4)
        frame = frame.copy(deep=False)
        frame[name] = converted
        return dataclasses.replace(table, frame=frame), epoch
    if time_col is None and any(not _numeric(frame[c]) for c in frame.columns):
        return table, None  # the dates may be in a text column: find_time_column looks there
    kind = "whole numbers" if whole else "numbers"
    odd = _odd_one_out(s)
    if odd is not None:  # most of the column is Unix time in one unit: name the value that is not
        row, value, word = odd
        raise ForecastlabError(
            f"the time column {shorten(name)!r} holds Unix time in {word} since 1970, except the value {value}, "
            f"which is not in that unit between 1973 and 2100", where=table.where(row, name),
            fix=f"correct or remove that row, so that every time is Unix {word} (or a date like 2016-01-01 00:00:00)")
    raise ForecastlabError(
        f"the time column {shorten(name)!r} holds {kind} ({shown}, ...), not dates, and they are not Unix time in "
        "seconds or milliseconds since 1970 between 1973 and 2100, which would read like " + _EPOCH_EXAMPLE,
        where=where,
        fix="write the times as dates like 2016-01-01 00:00:00 (from Unix seconds: pd.to_datetime(column, unit='s', "
        "utc=True))" + (", or pass time_col= with the column that holds the dates" if time_col is not None else ""))


def _epoch_unit(s: pd.Series) -> str | None:
    """The unit ('s', 'ms', 'us', 'ns') in whose Unix-time range every number of `s` lies, or None."""
    x = s.to_numpy(dtype=np.float64, na_value=np.nan)
    x = x[~np.isnan(x)]
    if not len(x) or not np.isfinite(x).all():
        return None
    return next((unit for unit, _word, per in EPOCH_UNITS if _in_epoch_range(x, per).all()), None)


def _in_epoch_range(x: np.ndarray, per_second: int) -> np.ndarray:
    """Which numbers lie in the Unix-time range (EPOCH_SECONDS) of the unit with `per_second` per second."""
    with np.errstate(invalid="ignore"):
        return (x >= EPOCH_SECONDS[0] * per_second) & (x <= EPOCH_SECONDS[1] * per_second)


def _odd_one_out(s: pd.Series) -> tuple[int, str, str] | None:
    """(row, value, unit word) of the first number outside the Unix-time unit that most of `s` is in (at
    least 90% of its numbers), or None when no unit holds most of them."""
    x = s.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~np.isnan(x)
    for _unit, word, per in EPOCH_UNITS:
        inside = present & _in_epoch_range(x, per)
        if present.sum() and inside.sum() >= 0.9 * present.sum():
            row = int(np.flatnonzero(present & ~inside)[0])
            value = s.iloc[row]
            return row, (f"{int(value)}" if float(value).is_integer() else repr(float(value))), word
    return None


def _looks_like_dates(s: pd.Series) -> bool:
    """Whether a text column's first values read as dates (find_time_column's last resort)."""
    first = s.dropna().astype(str).head(5)
    if not len(first):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(pd.to_datetime(first, errors="coerce", format="mixed").notna().all())


def _numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _refuse_digit_dates(s: pd.Series, name: str, where: str) -> None:
    """Whole numbers that all read as dates written as digits (20160301, 2016030100): not Unix time."""
    text = s.dropna().astype(np.int64).astype(str)
    lengths = text.str.len().unique()
    if len(lengths) != 1 or int(lengths[0]) not in _DIGIT_DATES:
        return
    fmt, layout = _DIGIT_DATES[int(lengths[0])]
    read = pd.to_datetime(text, format=fmt, errors="coerce")
    if read.notna().all() and ((read.dt.year >= 1900) & (read.dt.year <= 2100)).all():
        raise ForecastlabError(
            f"the time column {shorten(name)!r} holds whole numbers like {text.iloc[0]} that read as dates written "
            f"as digits ({layout}: {read.iloc[0]}), not as Unix time", where=where,
            fix=f"write the times as dates like {read.iloc[0]:%Y-%m-%d %H:%M:%S} (pd.to_datetime(column.astype(str), "
            f"format='{fmt}')); if they are Unix time after all, convert them with pd.to_datetime(column, unit='s', "
            "utc=True)")


_ZONE_SUFFIX = re.compile(r"([zZ]|[+-]\d{2}(?::?\d{2})?|UTC|GMT)\s*$")


def time_zone(table: Table, name: str) -> str | None:
    """The zone of a time column whose stamps carry one, as a reader would name it: 'UTC' (Z, +00:00, UTC, GMT),
    '+01:00', '+01:00, +02:00' (a local clock with daylight saving) or a zone's name (a Parquet
    column's, 'Europe/Berlin'); None for naive stamps."""
    s = table.frame[name]
    if pd.api.types.is_datetime64_any_dtype(s):
        tz = getattr(s.dt, "tz", None)
        if tz is None:
            return None
        if str(tz) not in ("UTC", "UTC+00:00"):
            return str(tz)  # a Parquet column's zone
        found = table.zones or ("UTC",)  # a CSV's offsets, which the reader converted to UTC
    else:
        found = s.dropna().astype(str).str.extract(_ZONE_SUFFIX, expand=False).dropna().unique()
    seen = list(dict.fromkeys(_zone_text(z) for z in found))
    if not seen:
        return None
    return ", ".join(seen[:3]) + (f" and {len(seen) - 3} more" if len(seen) > 3 else "")


def table_time_zone(table: Table, time_col: str) -> str | None:
    """time_zone of a table's time column as build_series reads it (Unix time is UTC); None for naive stamps.
    Raises ForecastlabError where build_series would refuse the column."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # said when the file was loaded
        table, epoch = _read_epoch_times(table, time_col)
    if epoch:
        return "UTC (Unix time)"
    return time_zone(table, time_col) if cols.has_zones(table, time_col) else None


def _zone_text(suffix: str) -> str:
    if suffix.upper() in ("Z", "UTC", "GMT"):
        return "UTC"
    digits = suffix[1:].replace(":", "")
    text = f"{suffix[0]}{digits[:2]}:{digits[2:4] or '00'}"
    return "UTC" if text in ("+00:00", "-00:00") else text


def _is_jena_format(table: Table) -> bool:
    return [str(c) for c in table.frame.columns] == jena_columns()


def build_series(
    table: Table, provenance: Provenance, *, time_col: str | None, target: str | None,
    features: list[str] | None, freq: str | None, policy: GapPolicy, clean: bool, day_first: bool | None = None,
) -> Series:
    """The Series for an already-read table (see load_series for the options)."""
    jena = _is_jena_format(table)
    table, epoch = _read_epoch_times(table, time_col)
    time_name = cols.find_time_column(table, time_col)
    names, target, values, skipped = cols.select_columns(table, time_name, target, features)
    _refuse_unrepresentable(table, names, values)
    _warn_grouped_thousands(table, names, values)
    ts, read_day_first = cols.parse_times(table, time_name, day_first)
    rows_read = len(ts)
    faithful = jena and freq is None
    source_rows = np.arange(rows_read)
    if faithful:
        _refuse_time_reversed(table, time_name, ts)
    else:
        _require_increasing(table, time_name, ts)
    step = detect_step(ts)
    quality = {
        "format": table.info() | {"jena_format": jena, "book_faithful": faithful, "rows_read": rows_read,
                                  "time_column": time_name, "epoch": epoch},
        "time": time_report(ts, step),
        "cells": cell_counts(values, names),
    }
    if freq is None and not faithful:
        _warn_irregular(quality["time"], step, ts)
    if not faithful:
        keep = np.concatenate(([True], np.diff(ts.view(np.int64)) != 0))
        quality["time"]["conflicting_duplicates"] = _conflicting(ts, values, keep)
        _warn_conflicting(table, time_name, quality["time"]["conflicting_duplicates"], zoned=cols.has_zones(
            table, time_name))
        ts, values, source_rows, duplicates_dropped = ts[keep], values[keep], np.flatnonzero(keep), (~keep).sum()
    # Stamps with zones are on one UTC axis from here on; a forecast says its times are UTC.
    quality["time"]["utc"] = cols.has_zones(table, time_name)
    # What the stamps said about their zone ('+01:00', 'UTC'; None: none): a forecast's input must say the same.
    quality["time"]["zone"] = ("UTC (Unix time)" if epoch else time_zone(table, time_name)) if quality["time"]["utc"] \
        else None
    # A naive local clock's spring-forward hour looks like any missing hour: named, with the fix.
    shifts = [] if faithful or quality["time"]["utc"] else daylight_saving_holes(ts, step)
    for shift in shifts:
        shift["where"] = table.where(int(source_rows[shift.pop("row")]), time_name) + ", the first line after it"
    quality["time"]["day_first"] = read_day_first  # None: dates whose order is never in doubt
    quality["time"]["duplicates_action"] = ("kept, as the book does" if faithful
                                            else f"kept the first of each; dropped {duplicates_dropped}")
    cleaning = {"clean": clean, "sentinels_to_missing": sentinels_to_missing(values) if clean else 0,
                "skipped_text_columns": skipped, "resampled_to": None, "empty_slots_created": 0,
                "daylight_saving_holes": shifts[:LISTED], "daylight_saving_hole_count": len(shifts)}
    _refuse_empty_columns(table, names, values)
    if freq is not None:
        ts, values, step, created = _resample(table, ts, values, names, freq)
        source_rows = np.full(len(ts), -1)
        cleaning |= {"resampled_to": freq, "empty_slots_created": created}
    elif not faithful:
        ts, values, source_rows, grid = _grid_policy(table, time_name, ts, values, source_rows, step, policy, shifts)
        cleaning |= grid
    _warn_daylight_saving(shifts, step, policy, freq)

    def where(row: int, column: str) -> str:
        if source_rows[row] >= 0:
            return table.where(int(source_rows[row]), column)
        made_by = "freq=" if freq is not None else "gaps= to fill a hole in the time grid"
        return f"{table.path}, the {stamp(ts[row])} slot made by {made_by}, column {column!r}"

    values, ts, policy_report, missing = apply_gap_policy(values, ts, names, policy, where)
    cleaning |= policy_report
    quality["cleaning"] = cleaning
    # The step of the series' rows, which windows, derived features and fresh-data checks use: after
    # resampling it is freq's, not the file's (quality["time"] stays the report of the file as read).
    quality["step_seconds"] = step / 1e9 if step else None
    _warn_unbridged(cleaning)
    _warn_holes_left(cleaning, step)
    breaks = breaks_from(ts, step)
    quality["breaks"] = len(breaks)
    if len(ts) == 0:
        raise ForecastlabError("no rows are left after the gap policy", where=table.where(),
                               fix="use gaps='interpolate:N' with a larger N, or fill the missing cells")
    provenance = Provenance(**(provenance.to_dict() | {"rows": len(ts), "sha256": provenance.sha256 or table.sha256}))
    return Series(timestamps=ts.astype("datetime64[ns]"), values=values.astype(np.float32), columns=names,
                  target=target, provenance=provenance, quality=quality, breaks=breaks, missing=missing)



def _grid_policy(table: Table, time_name: str, ts: np.ndarray, values: np.ndarray, source_rows: np.ndarray,
                 step: int | None, policy: GapPolicy, shifts: list[dict] = ()):
    """Missing timestamps are missing values too: `error` names the first hole, `interpolate:N` inserts
    the rows of holes up to N slots long (the gap policy then interpolates them), and every other hole
    is left as a break that windows are kept from crossing."""
    holes = grid_holes(ts, step)
    report = {"grid_holes": len(holes), "grid_missing_timestamps": int(holes.missing.sum()),
              "grid_slots_filled": 0, "grid_holes_left_count": 0, "grid_holes_left": []}
    if not len(holes):
        return ts, values, source_rows, report

    def describe(k: int) -> dict:
        row = int(holes.rows[k])
        return {"missing_timestamps": int(holes.missing[k]), "after": stamp(ts[row - 1]), "before": stamp(ts[row]),
                "where": table.where(int(source_rows[row]), time_name) + " (the first line after the hole)"}

    if policy.mode == "error":
        first = describe(0)
        shift = shifts[0] if shifts else None
        raise ForecastlabError(
            f"{first['missing_timestamps']:,} timestamps are missing from the {_step_text(step)} time grid "
            f"between {first['after']} and {first['before']} ({len(holes):,} holes, "
            f"{report['grid_missing_timestamps']:,} missing timestamps in all)"
            + (("; it " if shift["after"] == first["after"] else
                f"; the hole between {shift['after']} and {shift['before']} ") + _shift_cause(shift) if shift else ""),
            where=first["where"],
            fix=(_shift_fix(shift) + "; or " if shift else "")
            + "add the missing rows, or choose gaps='interpolate:N' to fill holes of up to N missing timestamps "
            "by interpolation (longer holes stay breaks that windows do not cross), or gaps='drop' to keep every "
            "hole as a break")
    limit = policy.limit if policy.mode == "interpolate" else 0
    left = np.flatnonzero(~(holes.exact & (holes.missing <= limit)))
    report["grid_holes_left_count"] = len(left)
    report["grid_holes_left"] = [describe(int(k)) for k in left[:LISTED]]
    ts, values, source_rows, report["grid_slots_filled"] = fill_grid(ts, values, source_rows, step, holes, limit)
    return ts, values, source_rows, report


def _shift_cause(shift: dict) -> str:
    """'looks like a daylight-saving shift: the clock skipped 02:00-03:00 on 2016-03-27 (...)'."""
    zones = shift["zones"]
    return (f"looks like a daylight-saving shift: the clock skipped {shift['skipped']} on {shift['date']} (as clocks "
            f"did then in {', '.join(zones[:3])}{' and other zones' if len(zones) > 3 else ''}), in local times "
            "written without their UTC offset")


def _shift_fix(shift: dict) -> str:
    before, after = shift["offsets"]
    return (f"give the times in UTC or with their UTC offset ({shift['after'].replace(' ', 'T')}{before}, then "
            f"{shift['before'].replace(' ', 'T')}{after}), and the hour is no hole")


def _warn_daylight_saving(shifts: list[dict], step: int | None, policy: GapPolicy, freq: str | None) -> None:
    """The spring-forward hours of a naive local clock: each is a hole that is no gap in the readings."""
    if not shifts:
        return
    first, slots = shifts[0], HOUR_NS // (step or HOUR_NS)
    if freq is not None:
        done = (f"resampling to freq={freq!r} made slots without readings for that hour, which gaps={str(policy)!r} "
                "then handled" if _fixed_step(freq)[1] <= HOUR_NS else f"freq={freq!r} averages the rows around it")
    elif policy.mode == "interpolate" and slots <= (policy.limit or 0):
        done = ((f"its {slots:,} missing timestamps were" if slots > 1 else "its missing timestamp was")
                + f" filled in by interpolation (gaps={str(policy)!r}): "
                + ("rows for clock times" if slots > 1 else "a row for a clock time") + " that never happened")
    else:
        done = f"it is kept as a break that windows do not cross (gaps={str(policy)!r})"
    more = f" ({len(shifts):,} such holes in all)" if len(shifts) > 1 else ""
    warnings.warn(
        ("the time grid has no row for " + first["first_missing"] if first["first_missing"] == first["last_missing"]
         else f"the time grid has no rows from {first['first_missing']} to {first['last_missing']}") + f"{more}: it "
        f"{_shift_cause(first)}; {done}. Fix: {_shift_fix(first)} ({first['where']}).",
        DataQualityWarning, stacklevel=3)


def _step_text(step: int | None) -> str:
    text = freq_string(step) or "?"
    return text if text[0].isdigit() else "1" + text


def _warn_holes_left(cleaning: dict, step: int | None) -> None:
    n = cleaning.get("grid_holes_left_count", 0)
    if n:
        first = cleaning["grid_holes_left"][0]
        why = ("longer than the limit" if cleaning["gap_policy"].startswith("interpolate")
               else "gaps='drop' fills none")
        warnings.warn(
            f"{n:,} hole(s) in the {_step_text(step)} time grid were not filled "
            f"({why}, gaps={cleaning['gap_policy']!r}) and are kept as breaks that windows do not cross. "
            f"First: {first['missing_timestamps']:,} missing timestamps between {first['after']} and "
            f"{first['before']} ({first['where']}).", DataQualityWarning, stacklevel=3)


def _require_increasing(table: Table, time_name: str, ts: np.ndarray) -> None:
    """Any non-Jena file: timestamps must not go backwards (equal ones are duplicates, handled later)."""
    back = np.flatnonzero(np.diff(ts.view(np.int64)) < 0)
    if len(back):
        row = int(back[0]) + 1
        jump = int(ts[row - 1].astype("datetime64[ns]").astype(np.int64) - ts[row].astype("datetime64[ns]")
                   .astype(np.int64))
        clock = jump <= 3600 * 10**9 and len(back) == 1  # one step back by at most an hour: a clock change
        raise ForecastlabError(
            f"the timestamps go backwards: {stamp(ts[row])} comes after {stamp(ts[row - 1])}"
            + (" (once, by at most an hour: it looks like the hour repeated when daylight saving time ends, "
               "written in local time without its UTC offset)" if clock else ""),
            where=table.where(row, time_name),
            fix="write the times with their UTC offset (2023-10-29T02:00:00+02:00, then +01:00) or in UTC; "
            "sorting would interleave the two hours" if clock else "sort the file by time (oldest first)")


def _refuse_unrepresentable(table: Table, names: list[str], values: np.ndarray) -> None:
    """Infinite cells, and finite ones beyond float32's range (which would become inf in the float32
    series), are errors naming the first one; NaN is a missing value and follows the gap policy."""
    with np.errstate(invalid="ignore"):
        bad = np.abs(values) > FLOAT32_MAX  # inf included; NaN compares False
    if not bad.any():
        return
    row, col = (int(i) for i in np.argwhere(bad)[0])
    value = values[row, col]
    what = (f"the cell holds {'-' if value < 0 else ''}infinity" if np.isinf(value)
            else f"the value {value:.6g} does not fit float32 (largest magnitude {FLOAT32_MAX:.4g})")
    raise ForecastlabError(f"{what} ({int(bad.sum()):,} such cells in all)", where=table.where(row, names[col]),
                           fix="correct that cell, or leave it blank to mark it missing (blanks follow gaps=); "
                           "rescale a column whose values are that large")


def _refuse_empty_columns(table: Table, names: list[str], values: np.ndarray) -> None:
    """A column whose every cell is a -9999 sentinel has no value left once they count as missing."""
    empty = np.flatnonzero(np.isnan(values).all(axis=0)) if len(values) else []
    if len(empty):
        name = names[int(empty[0])]
        raise ForecastlabError(f"column {shorten(name)!r} has no values once its -9999 readings count as missing "
                               "(every cell is -9999 or blank)", where=table.where(column=name),
                               fix="leave it out by listing the columns you want with features=, or keep the raw "
                               "values with clean=False")


def _refuse_time_reversed(table: Table, time_name: str, ts: np.ndarray) -> None:
    """Jena format keeps isolated backward steps (as the book does), but not time running backwards."""
    back = np.flatnonzero(np.diff(ts.view(np.int64)) < 0)
    allowed = max(1, int(BACKWARD_SHARE * (len(ts) - 1)))
    if len(back) and (ts[-1] <= ts[0] or len(back) > allowed):
        row = int(back[0]) + 1
        raise ForecastlabError(
            f"time runs backwards in this Jena-format file: {len(back):,} of {len(ts) - 1:,} steps go back (at "
            f"most {allowed:,} are kept as in the real record), from {stamp(ts[0])} to {stamp(ts[-1])}; the first "
            f"is {stamp(ts[row])} after {stamp(ts[row - 1])}", where=table.where(row, time_name),
            fix="sort the file by time (oldest first)")


def _resample(table: Table, ts: np.ndarray, values: np.ndarray, names: list[str], freq: str):
    """Mean per slot of a regular `freq` grid; slots with no row become missing (then the gap policy)."""
    step, step_ns = _fixed_step(freq)
    if len(ts):
        rows = int((int(ts[-1].view(np.int64)) - int(ts[0].view(np.int64))) // step_ns + 2)  # +1 for bin alignment
        cap = max(RESAMPLE_FACTOR * len(ts), MAX_RESAMPLED_ROWS)
        if rows > cap:
            raise ForecastlabError(
                f"freq={freq!r} would make about {rows:,} rows from {len(ts):,} ({stamp(ts[0])} to "
                f"{stamp(ts[-1])}), more than the limit of {cap:,}", arg="freq",
                fix="choose a longer step, closer to the data's own (e.g. '10min' or '1h')")
    frame = pd.DataFrame(values, index=pd.DatetimeIndex(ts), columns=names)
    resampled = frame.resample(step).mean()
    counts = frame.iloc[:, 0].resample(step).size().to_numpy()
    out_ts = resampled.index.to_numpy().astype("datetime64[ns]")
    return out_ts, resampled.to_numpy(dtype=np.float64, copy=True), int(step_ns), int((counts == 0).sum())


# Jittered timestamps (a logger's 10:00:14, 11:00:22, ...): when more than this share of the steps is not a
# whole number of the most common one, the file is said to need resampling.
IRREGULAR_SHARE = 0.01
MAX_CALENDAR_STEPS = 8  # distinct odd steps a calendar grid (monthly, yearly) can have; jitter has many more
_ROUND_STEPS = ("1s", "5s", "10s", "15s", "30s", "1min", "2min", "5min", "10min", "15min", "20min", "30min",
                "1h", "2h", "3h", "6h", "12h", "1D", "7D")


def _warn_grouped_thousands(table, names: list[str], values: np.ndarray) -> None:
    """In a ';'- or tab-separated file (the European layout), integers written with a '.' between thousands
    ('1.242' for 1242, beside '892') are read as decimals: 1.242. Their mark: no whole number reaches 1000,
    every other value has exactly three decimals, between 1 and 1000, and both kinds are common. Warned, not
    refused: a column of such measurements is possible, if rare."""
    if table.info().get("delimiter") not in (";", "\t") or table.info().get("decimal") == ",":
        return
    for j, name in enumerate(names):
        x = values[:, j]
        x = x[np.isfinite(x)]
        if len(x) < 20:
            continue
        whole = np.isclose(x, np.round(x), rtol=0, atol=1e-9)
        thousandths = np.isclose(x * 1000, np.round(x * 1000), rtol=0, atol=1e-6) & ~whole  # ('1.240' is 1.24)
        three = thousandths & ~np.isclose(x * 100, np.round(x * 100), rtol=0, atol=1e-6)  # exactly 3 decimals
        if (whole | thousandths).all() and three.mean() > 0.05 and whole.mean() > 0.05 \
                and not (np.abs(x[whole]) >= 1000).any() and (np.abs(x[thousandths]) >= 1).all() \
                and (np.abs(x[thousandths]) < 1000).all():
            warnings.warn(DataQualityWarning(
                f"column {shorten(name)!r} of {table.path} looks like whole numbers with a '.' between thousands "
                f"('1.242' for 1242): none of its whole numbers reaches 1000, and its {thousandths.mean():.0%} other "
                "values all fit three decimals; they are read as decimals (1.242). If they are thousands, "
                "save the numbers without separators"), stacklevel=3)


def _conflicting(ts: np.ndarray, values: np.ndarray, keep: np.ndarray) -> dict:
    """The repeated timestamps whose rows disagree with the kept (first) row: {"count", "first"}. Dropping an
    identical repeat changes nothing; dropping a different one discards a reading, which a forecast refuses."""
    dropped = np.flatnonzero(~keep)
    if not len(dropped):
        return {"count": 0, "first": None}
    first_row = np.maximum.accumulate(np.where(keep, np.arange(len(keep)), 0))  # each row's kept row
    a, b = values[dropped], values[first_row[dropped]]
    differ = ~((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)
    rows = dropped[differ]
    return {"count": int(len(rows)), "first": stamp(ts[rows[0]]) if len(rows) else None,
            "first_row": int(rows[0]) if len(rows) else None}


def _warn_conflicting(table: Table, time_name: str, conflicts: dict, *, zoned: bool) -> None:
    """A repeated time whose rows disagree: the first row is kept and a reading is discarded, said once, and
    named as daylight saving's repeated autumn hour when a naive time is one that a common zone's clock
    shows twice."""
    n = conflicts.get("count") or 0
    if not n:
        return
    first = pd.Timestamp(conflicts["first"])
    zones = [] if zoned else [zone for zone in SPRING_FORWARD_ZONES if _ambiguous(first, zone)]
    why = (f"; it looks like the hour repeated when daylight saving time ended (as clocks did on {first:%Y-%m-%d} "
           f"in {zones[0]}), in local times written without their UTC offset" if zones else "")
    warnings.warn(
        f"{n:,} timestamp(s) appear twice with different readings, first {conflicts['first']}: the first row of "
        f"each was kept and the other's readings were dropped{why} ({table.where(conflicts['first_row'], time_name)}). "
        + ("Write the times with their UTC offset (+02:00, then +01:00) or in UTC to keep both hours."
           if zones else "Keep one row per time, or average the readings first, to choose which are used."),
        DataQualityWarning, stacklevel=3)


def _ambiguous(t: pd.Timestamp, zone: str) -> bool:
    try:
        t.tz_localize(zone, ambiguous="raise", nonexistent="NaT")
    except Exception as err:  # noqa: BLE001 - pytz/zoneinfo's AmbiguousTimeError, or a zone the system lacks
        return "ambiguous" in type(err).__name__.lower() or "ambiguous" in str(err).lower()
    return False


def _warn_irregular(time: dict, step: int | None, ts: np.ndarray) -> None:
    steps = max(time["rows"] - 1, 1)
    irregular = time.get("irregular_steps") or 0
    if not step or irregular <= max(2, IRREGULAR_SHARE * steps):
        return
    d = np.diff(ts.astype("datetime64[ns]").view(np.int64))
    odd = np.unique(d[(d > 0) & (d % step != 0)])
    if len(odd) <= MAX_CALENDAR_STEPS:  # months of 28 to 31 days, leap years: a calendar's few steps, not jitter
        return
    nearest = min(_ROUND_STEPS, key=lambda f: abs(np.log(pd.Timedelta(f).value / step)))
    warnings.warn(
        f"{irregular:,} of {steps:,} time steps are not a whole number of the most common step "
        f"({_step_text(step)}): the timestamps look jittered, and each step longer than that is a hole in the grid "
        f"that windows do not cross. Resample them onto a regular grid with freq='{nearest}' (each slot is the "
        f"mean of its rows).", DataQualityWarning, stacklevel=3)


def _fixed_step(freq: str):
    """(offset, nanoseconds) of --freq, which must be a positive fixed step ('0min' divided by zero)."""
    try:
        step = pd.tseries.frequencies.to_offset(freq)
        step_ns = pd.Timedelta(step).value
    except (ValueError, TypeError, OverflowError):
        raise ForecastlabError(f"freq={freq!r} is not a fixed time step", arg="freq",
                               fix="use a pandas step such as '10min', '30min', '1h' or '1D'") from None
    if step_ns <= 0:
        raise ForecastlabError(f"freq={freq!r} is not a positive time step", arg="freq",
                               fix="use a step longer than zero, such as '10min', '30min', '1h' or '1D'")
    return step, step_ns


def _warn_unbridged(cleaning: dict) -> None:
    n = cleaning["unbridged_run_count"]
    if n:
        first = cleaning["unbridged_runs"][0]
        warnings.warn(
            f"{n} run(s) of missing values were too long to interpolate "
            f"(gaps={cleaning['gap_policy']!r}); their {cleaning['rows_dropped']:,} rows were dropped and the "
            f"holes recorded as breaks. First: {first['rows']} rows of {first['column']!r} from "
            f"{first['from']} ({first['where']}).", DataQualityWarning, stacklevel=3)


def require_min_rows(series: Series, rows_needed: int, what: str) -> None:
    """Raise a ForecastlabError when `series` has fewer than `rows_needed` rows for `what`
    (e.g. 'one window of sequence_length=120 x sampling_rate=6 plus horizon=24')."""
    if len(series) < rows_needed:
        raise ForecastlabError(
            f"the series has {len(series):,} rows, but {what} needs at least {rows_needed:,}",
            where=series.provenance.path or series.provenance.source,
            fix="use a longer series, or make the window smaller (sequence_length=, sampling_rate=, "
            "horizon=)")
