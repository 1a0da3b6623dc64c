"""What is wrong with a series (gaps, duplicates, missing cells, sentinels) and the documented cleaning.

The report parts are plain dicts so they go straight into `Series.quality` and `--json`.

Gap policy (`--gaps`):
  error             any missing cell is an error naming its row and column
  interpolate[:N]   runs of at most N consecutive missing cells in a column are bridged by linear
                    interpolation in time (default N = DEFAULT_INTERPOLATE_LIMIT); a longer run, or
                    one at the start or end, is never bridged: its rows are dropped, the hole is
                    recorded in `Series.breaks` and listed under cleaning.unbridged_runs
  drop              rows with any missing cell are dropped; the holes are recorded in `breaks`
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecastlab.errors import ForecastlabError

SENTINELS = (-9999.0,)  # exact values only: -9999 is the Jena logger's "no reading"
DEFAULT_INTERPOLATE_LIMIT = 6  # rows: one hour of Jena's 10-minute data
LISTED = 10  # how many gaps / runs the report spells out


@dataclass(frozen=True)
class GapPolicy:
    mode: str  # "error", "interpolate" or "drop"
    limit: int | None = None  # interpolate: longest run of missing cells that is bridged

    @classmethod
    def parse(cls, text: str) -> GapPolicy:
        """'error', 'drop', 'interpolate' (limit DEFAULT_INTERPOLATE_LIMIT) or 'interpolate:N'."""
        mode, _, limit = text.strip().lower().partition(":")
        if mode in {"error", "drop"} and not limit:
            return cls(mode)
        if mode == "interpolate":
            if not limit:
                return cls(mode, DEFAULT_INTERPOLATE_LIMIT)
            if limit.isdigit() and int(limit) >= 1:
                return cls(mode, int(limit))
        raise ForecastlabError(f"gaps={text!r} is not a gap policy", arg="gaps",
                               fix="use 'error', 'drop', 'interpolate' or 'interpolate:N' with N >= 1 rows")

    def __str__(self) -> str:
        return f"{self.mode}:{self.limit}" if self.limit else self.mode


def stamp(ns: np.datetime64 | int) -> str:
    return str(pd.Timestamp(np.datetime64(int(ns), "ns") if isinstance(ns, int | np.integer) else ns))


def detect_step(ts: np.ndarray) -> int | None:
    """The most common positive step between timestamps, in ns (None for fewer than two distinct times)."""
    d = np.diff(ts.astype("datetime64[ns]").view(np.int64))
    d = d[d > 0]
    if not len(d):
        return None
    values, counts = np.unique(d, return_counts=True)
    return int(values[np.argmax(counts)])


def calendar_offset(ts: np.ndarray):
    """The calendar step of timestamps on a month, quarter or year grid (pandas' 'MS', 'ME', 'QS-JAN', 'YS-JAN',
    ...), as a pandas DateOffset, or None for a fixed step (10 minutes, a day, a week) or no regular grid.
    Such a grid has steps of 28 to 31 days (or 365 and 366): a time k rows ahead is k calendar steps on, not k
    times one step's length (2023-12-01 plus 3 months is 2024-03-01, not 2024-03-03)."""
    if len(ts) < 3:
        return None
    try:
        with warnings.catch_warnings():  # pandas 3 warns that infer_freq will return an offset: to_offset takes both
            warnings.simplefilter("ignore", DeprecationWarning)
            freq = pd.infer_freq(pd.DatetimeIndex(ts[-min(len(ts), 60):]))
    except (TypeError, ValueError):
        return None
    if freq is None:
        return None
    offset = pd.tseries.frequencies.to_offset(freq)
    fixed = isinstance(offset, pd.tseries.offsets.Tick) or isinstance(offset, pd.tseries.offsets.Week) \
        or isinstance(offset, pd.tseries.offsets.Day)
    return None if fixed else offset


def freq_string(step_ns: int | None) -> str | None:
    if step_ns is None:
        return None
    return pd.tseries.frequencies.to_offset(pd.Timedelta(step_ns, "ns")).freqstr


def time_report(ts: np.ndarray, step_ns: int | None) -> dict:
    """Gaps (steps longer than `step_ns`), duplicated timestamps, backward steps and irregular steps."""
    t = ts.astype("datetime64[ns]").view(np.int64)
    d = np.diff(t)
    report = {
        "rows": len(ts),
        "first": stamp(t[0]) if len(t) else None,
        "last": stamp(t[-1]) if len(t) else None,
        "frequency": freq_string(step_ns),
        "frequency_seconds": step_ns / 1e9 if step_ns else None,
        "duplicates": int((d == 0).sum()),
        "backward_steps": int((d < 0).sum()),
    }
    if not step_ns:
        return report | {"gaps": {"count": 0, "missing_slots": 0, "largest": None, "first": []},
                         "irregular_steps": 0, "complete_grid_rows": len(ts)}
    starts = np.flatnonzero(d > step_ns) + 1
    slots = np.rint(d[starts - 1] / step_ns).astype(np.int64) - 1

    def gap(k: int) -> dict:
        i = int(starts[k])
        return {"row": i, "after": stamp(t[i - 1]), "before": stamp(t[i]), "missing_slots": int(slots[k])}

    report["gaps"] = {
        "count": len(starts),
        "missing_slots": int(slots.sum()),
        "largest": gap(int(np.argmax(slots))) if len(starts) else None,
        "first": [gap(k) for k in range(min(LISTED, len(starts)))],
    }
    report["irregular_steps"] = int(((d > 0) & (d % step_ns != 0)).sum())
    report["complete_grid_rows"] = int((t.max() - t.min()) // step_ns + 1)
    return report


def cell_counts(values: np.ndarray, columns: list[str]) -> dict:
    """Missing (NaN) and sentinel cells per column, before any cleaning."""
    nan = np.isnan(values).sum(axis=0)
    sentinel = np.isin(values, SENTINELS).sum(axis=0)
    return {
        "nan": {c: int(n) for c, n in zip(columns, nan, strict=True)},
        "sentinel": {c: int(n) for c, n in zip(columns, sentinel, strict=True)},
        "sentinel_values": list(SENTINELS),
    }


def sentinels_to_missing(values: np.ndarray) -> int:
    """Turn sentinel cells into NaN in place; return how many there were."""
    mask = np.isin(values, SENTINELS)
    values[mask] = np.nan
    return int(mask.sum())


def _runs(missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) of each run of True."""
    edges = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


# A wind direction in degrees, by name (Jena's 'wd (deg)', TMY's and nyc-jfk's 'Wind direction (deg)').
_BEARING = re.compile(r"^\s*(wd|wind[ _]?dir(ection)?)\b.*\((deg|degrees|°)\)\s*$", re.IGNORECASE)


def is_bearing(column: str) -> bool:
    """Whether a column is a compass bearing in degrees, which is interpolated on the circle (350 to 10 passes
    north, not south)."""
    return _BEARING.match(str(column)) is not None


def apply_gap_policy(
    values: np.ndarray, ts: np.ndarray, columns: list[str], policy: GapPolicy, where
) -> tuple[np.ndarray, np.ndarray, dict, np.ndarray]:
    """(values, timestamps, report, missing) after `policy`; `where(row, column)` locates a cell for messages.
    missing: the cells that were missing and filled, for the rows kept (empty when none was missing)."""
    missing = np.isnan(values)
    report = {"gap_policy": str(policy), "interpolated": 0, "rows_dropped": 0, "unbridged_runs": [],
              "unbridged_run_count": 0}
    if not missing.any():
        return values, ts, report, np.zeros((0, 0), dtype=bool)
    if policy.mode == "error":
        row, col = (int(i) for i in np.argwhere(missing)[0])
        raise ForecastlabError(
            f"a value is missing at {stamp(ts[row])} ({int(missing.sum()):,} missing cells in all)",
            where=where(row, columns[col]),
            fix="fill it in, or choose gaps='interpolate[:N]' (bridge short runs) or gaps='drop' (drop rows); "
            "-9999 readings count as missing unless clean=False keeps them raw")
    drop = missing.any(axis=1)
    if policy.mode == "interpolate":
        drop = np.zeros(len(values), dtype=bool)
        t = ts.astype("datetime64[ns]").view(np.int64)
        # Interpolate in time; where time does not strictly increase (kept Jena duplicates), by row.
        x = (t - t[0]).astype(np.float64) if np.all(np.diff(t) > 0) else np.arange(len(t), dtype=np.float64)
        runs = []
        for j in np.flatnonzero(missing.any(axis=0)):
            starts, ends = _runs(missing[:, j])
            short = (ends - starts <= policy.limit) & (starts > 0) & (ends < len(values))
            fill = np.zeros(len(values), dtype=bool)
            for s, e, ok in zip(starts, ends, short, strict=True):
                (fill if ok else drop)[s:e] = True
                if not ok:
                    runs.append((int(s), int(e), columns[j]))
            ok_rows = ~missing[:, j]
            if fill.any() and is_bearing(columns[j]):  # a wind direction: the short way round the circle
                angle = np.deg2rad(values[ok_rows, j].astype(np.float64))
                sin = np.interp(x[fill], x[ok_rows], np.sin(angle))
                cos = np.interp(x[fill], x[ok_rows], np.cos(angle))
                degrees = np.round(np.rad2deg(np.arctan2(sin, cos)), 6) % 360.0
                values[fill, j] = np.where(degrees == 0.0, 360.0, degrees)  # north is 360 (0: calm, in TMY files)
            elif fill.any():  # np.interp raises on no known points even with nothing to fill
                values[fill, j] = np.interp(x[fill], x[ok_rows], values[ok_rows, j])
            report["interpolated"] += int(fill.sum())
        runs.sort()
        report["unbridged_run_count"] = len(runs)
        report["unbridged_runs"] = [
            {"column": c, "row": s, "rows": e - s, "from": stamp(ts[s]), "to": stamp(ts[e - 1]),
             "where": where(s, c)} for s, e, c in runs[:LISTED]]
    report["rows_dropped"] = int(drop.sum())
    # The last rows dropped for missing values: the series then ends before the file does, which a forecast
    # from fresh data must refuse (its origin is the input's last row).
    trailing = len(drop) - int(np.flatnonzero(~drop)[-1]) - 1 if (~drop).any() else len(drop)
    if trailing:
        row = len(drop) - trailing
        col = int(np.flatnonzero(missing[row])[0])
        report["dropped_at_end"] = {"rows": trailing, "from": stamp(ts[row]), "to": stamp(ts[-1]),
                                    "column": columns[col], "where": where(row, columns[col])}
    kept = missing[~drop]
    return values[~drop], ts[~drop], report, kept if kept.any() else np.zeros((0, 0), dtype=bool)


def breaks_from(ts: np.ndarray, step_ns: int | None) -> np.ndarray:
    """Row indices i where the step from row i-1 to row i is longer than `step_ns`: holes in the grid."""
    if not step_ns or len(ts) < 2:
        return np.zeros(0, dtype=np.int64)
    d = np.diff(ts.astype("datetime64[ns]").view(np.int64))
    return (np.flatnonzero(d > step_ns) + 1).astype(np.int64)


@dataclass(frozen=True)
class GridHoles:
    """Holes in a regular time grid: `rows[k]` is the row after hole k, `missing[k]` its missing slots.
    A hole is `exact` when it is a whole number of steps, so the missing timestamps are known."""

    rows: np.ndarray
    missing: np.ndarray
    exact: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


def grid_holes(ts: np.ndarray, step_ns: int | None) -> GridHoles:
    """Every step longer than `step_ns` in increasing timestamps `ts`."""
    t = ts.astype("datetime64[ns]").view(np.int64)
    d = np.diff(t)
    if not step_ns or not len(d):
        empty = np.zeros(0, dtype=np.int64)
        return GridHoles(empty, empty, empty.astype(bool))
    after = np.flatnonzero(d > step_ns)
    steps = d[after]
    return GridHoles(after + 1, steps // step_ns - 1 + (steps % step_ns != 0), steps % step_ns == 0)


def fill_grid(ts: np.ndarray, values: np.ndarray, source_rows: np.ndarray, step_ns: int, holes: GridHoles,
              limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Insert the missing timestamps of every exact hole of at most `limit` slots, with NaN values (the
    gap policy then interpolates them) and source row -1. Returns (ts, values, source_rows, slots added)."""
    fill = holes.exact & (holes.missing <= limit)
    extra = np.zeros(len(ts), dtype=np.int64)
    extra[holes.rows[fill] - 1] = holes.missing[fill]
    if not extra.any():
        return ts, values, source_rows, 0
    repeat = extra + 1
    first = np.cumsum(repeat) - repeat  # where each original row lands
    offset = np.arange(int(repeat.sum())) - np.repeat(first, repeat)
    t = np.repeat(ts.astype("datetime64[ns]").view(np.int64), repeat) + offset * step_ns
    out = np.full((len(t), values.shape[1]), np.nan)
    out[first] = values
    rows = np.full(len(t), -1, dtype=np.int64)
    rows[first] = source_rows
    return t.view("datetime64[ns]"), out, rows, int(extra.sum())


# Zones whose clocks spring forward (an hour of local time that never happens), to tell a naive file's hole
# of exactly one hour from any other: the EU's and the UK's, Eastern Europe's, North America's, Brazil's and
# Chile's (before they stopped or moved), Australia's, New Zealand's, Israel's and Iran's.
SPRING_FORWARD_ZONES = ("Europe/Berlin", "Europe/London", "Europe/Helsinki", "America/New_York", "America/Chicago",
                        "America/Denver", "America/Los_Angeles", "America/Sao_Paulo", "America/Santiago",
                        "Australia/Sydney", "Pacific/Auckland", "Asia/Jerusalem", "Asia/Tehran")
HOUR_NS = 3600 * 10**9


def daylight_saving_holes(ts: np.ndarray, step_ns: int | None) -> list[dict]:
    """The holes in increasing naive (local, no offset) timestamps `ts` that look like the hour skipped when
    daylight saving time starts: exactly one hour of the `step_ns` grid missing (02:00 to 02:50 of 10-minute
    rows), every missing time one that does not exist on the clock of a common zone (SPRING_FORWARD_ZONES)
    that day. Per hole: row (the row after it), after, before, first_missing, last_missing, skipped
    ('02:00-03:00'), date, zones (those whose clocks skipped it) and offsets (the first zone's UTC offsets
    before and after, '+01:00' and '+02:00'). The zone itself cannot be known: only that the hole fits one."""
    if not step_ns or step_ns > HOUR_NS or HOUR_NS % step_ns or len(ts) < 2:
        return []
    t = ts.astype("datetime64[ns]").view(np.int64)
    rows = np.flatnonzero(np.diff(t) == HOUR_NS + step_ns) + 1
    if not len(rows):
        return []
    first = pd.DatetimeIndex((t[rows - 1] + step_ns).view("datetime64[ns]"))
    last = pd.DatetimeIndex((t[rows] - step_ns).view("datetime64[ns]"))
    dst = np.ones(len(rows), dtype=bool)  # an autumn (ambiguous) time is no hit: any reading of it will do
    zones: dict[int, list[str]] = {}
    for zone in SPRING_FORWARD_ZONES:
        try:
            gone = (first.tz_localize(zone, nonexistent="NaT", ambiguous=dst).isna()
                    & last.tz_localize(zone, nonexistent="NaT", ambiguous=dst).isna())
        except Exception:  # noqa: BLE001 - a zone the system's time zone database lacks: no evidence either way
            continue
        for k in np.flatnonzero(gone):
            zones.setdefault(int(k), []).append(zone)
    out = []
    for k in sorted(zones):
        before, after = pd.Timestamp(t[rows[k]]), pd.Timestamp(t[rows[k] - 1])
        zone = zones[k][0]
        offsets = [_offset(x.tz_localize(zone, ambiguous=True)) for x in (after, before)]
        out.append({"row": int(rows[k]), "after": stamp(t[rows[k] - 1]), "before": stamp(t[rows[k]]),
                    "first_missing": str(first[k]), "last_missing": str(last[k]),
                    "skipped": f"{first[k]:%H:%M}-{before:%H:%M}", "date": f"{first[k]:%Y-%m-%d}",
                    "zones": zones[k], "offsets": offsets})
    return out


def _offset(t: pd.Timestamp) -> str:
    """'+01:00' of an aware timestamp."""
    return t.isoformat()[-6:]
