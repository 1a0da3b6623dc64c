"""`load_series`: any source (real Jena, built-in synthetic Jena, a CSV or Parquet file) to a Series.

The order of operations, each step reported in `Series.quality`:
  read -> pick columns -> parse timestamps -> order and duplicates -> count gaps, NaN, sentinels
  -> clean (sentinels to missing) -> resample (--freq only) -> gap policy -> breaks.

Jena-format input (the real file or the synthetic one) is kept row for row, as the book uses it: no
resampling, duplicates and backward steps kept, holes in the 10-minute grid reported and recorded in
`breaks` but not filled. Any other file must have increasing timestamps; duplicated ones keep the first.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from forecastlab.data import columns as cols
from forecastlab.data.quality import (
    LISTED,
    GapPolicy,
    apply_gap_policy,
    breaks_from,
    cell_counts,
    detect_step,
    fill_grid,
    freq_string,
    grid_holes,
    sentinels_to_missing,
    stamp,
    time_report,
)
from forecastlab.data.readers import Table, read_table
from forecastlab.data.series import Provenance, Series
from forecastlab.data.sources import resolve_source
from forecastlab.errors import ForecastlabError


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
) -> Series:
    """Load `data` into a Series: 'jena', 'synthetic', 'auto' or a CSV/Parquet path (.gz/.zip too).

    'jena' uses the verified cached file, downloading it if needed (and `download`); 'synthetic' the
    built-in Jena-format data, with a loud banner every time; 'auto' real Jena when cached or
    downloadable, else synthetic with the banner. `features` default to every numeric column; the
    target defaults to 'T (degC)' when present, or the only numeric column. `freq` resamples to a
    regular grid (mean); `gaps` is the missing-value policy (see forecastlab.data.quality); `clean`
    turns -9999 sentinels into missing values first.
    """
    policy = GapPolicy.parse(gaps)
    source = resolve_source(data, data_dir=data_dir, download=download)
    table = read_table(source.path)
    return build_series(table, source.provenance, time_col=time_col, target=target, features=features,
                        freq=freq, policy=policy, clean=clean)


def _is_jena_format(table: Table) -> bool:
    from forecastlab.data.jena import jena_columns

    return [str(c) for c in table.frame.columns] == jena_columns()


def build_series(
    table: Table, provenance: Provenance, *, time_col: str | None, target: str | None,
    features: list[str] | None, freq: str | None, policy: GapPolicy, clean: bool,
) -> Series:
    """The Series for an already-read table (see load_series for the options)."""
    jena = _is_jena_format(table)
    time_name = cols.find_time_column(table, time_col)
    names, target, values, skipped = cols.select_columns(table, time_name, target, features)
    ts = cols.parse_times(table, time_name)
    rows_read = len(ts)
    faithful = jena and freq is None
    source_rows = np.arange(rows_read)
    if not faithful:
        _require_increasing(table, time_name, ts)
    step = detect_step(ts)
    quality = {
        "format": table.info() | {"jena_format": jena, "book_faithful": faithful, "rows_read": rows_read,
                                  "time_column": time_name},
        "time": time_report(ts, step),
        "cells": cell_counts(values, names),
    }
    if not faithful:
        keep = np.concatenate(([True], np.diff(ts.view(np.int64)) != 0))
        ts, values, source_rows, duplicates_dropped = ts[keep], values[keep], np.flatnonzero(keep), (~keep).sum()
    quality["time"]["duplicates_action"] = ("kept, as the book does" if faithful
                                            else f"kept the first of each; dropped {duplicates_dropped}")
    cleaning = {"clean": clean, "sentinels_to_missing": sentinels_to_missing(values) if clean else 0,
                "skipped_text_columns": skipped, "resampled_to": None, "empty_slots_created": 0}
    if freq is not None:
        ts, values, step, created = _resample(table, ts, values, names, freq)
        source_rows = np.full(len(ts), -1)
        cleaning |= {"resampled_to": freq, "empty_slots_created": created}
    elif not faithful:
        ts, values, source_rows, grid = _grid_policy(table, time_name, ts, values, source_rows, step, policy)
        cleaning |= grid

    def where(row: int, column: str) -> str:
        if source_rows[row] >= 0:
            return table.where(int(source_rows[row]), column)
        made_by = "--freq" if freq is not None else "--gaps to fill a hole in the time grid"
        return f"{table.path}, the {stamp(ts[row])} slot made by {made_by}, column {column!r}"

    values, ts, policy_report = apply_gap_policy(values, ts, names, policy, where)
    cleaning |= policy_report
    quality["cleaning"] = cleaning
    _warn_unbridged(cleaning)
    _warn_holes_left(cleaning, step)
    breaks = breaks_from(ts, step)
    quality["breaks"] = len(breaks)
    if len(ts) == 0:
        raise ForecastlabError("no rows are left after the gap policy", where=table.where(),
                               fix="use --gaps interpolate:N with a larger N, or fill the missing cells")
    provenance = Provenance(**(provenance.to_dict() | {"rows": len(ts), "sha256": provenance.sha256 or table.sha256}))
    return Series(timestamps=ts.astype("datetime64[ns]"), values=values.astype(np.float32), columns=names,
                  target=target, provenance=provenance, quality=quality, breaks=breaks)


def _grid_policy(table: Table, time_name: str, ts: np.ndarray, values: np.ndarray, source_rows: np.ndarray,
                 step: int | None, policy: GapPolicy):
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
        raise ForecastlabError(
            f"{first['missing_timestamps']:,} timestamps are missing from the {_step_text(step)} time grid "
            f"between {first['after']} and {first['before']} ({len(holes):,} holes, "
            f"{report['grid_missing_timestamps']:,} missing timestamps in all)",
            where=first["where"],
            fix="add the missing rows, or choose --gaps interpolate:N to fill holes of up to N missing timestamps "
            "by interpolation (longer holes stay breaks that windows do not cross), or --gaps drop to keep every "
            "hole as a break")
    limit = policy.limit if policy.mode == "interpolate" else 0
    left = np.flatnonzero(~(holes.exact & (holes.missing <= limit)))
    report["grid_holes_left_count"] = len(left)
    report["grid_holes_left"] = [describe(int(k)) for k in left[:LISTED]]
    ts, values, source_rows, report["grid_slots_filled"] = fill_grid(ts, values, source_rows, step, holes, limit)
    return ts, values, source_rows, report


def _step_text(step: int | None) -> str:
    text = freq_string(step) or "?"
    return text if text[0].isdigit() else "1" + text


def _warn_holes_left(cleaning: dict, step: int | None) -> None:
    n = cleaning.get("grid_holes_left_count", 0)
    if n:
        from forecastlab.console import console

        first = cleaning["grid_holes_left"][0]
        why = ("longer than the limit" if cleaning["gap_policy"].startswith("interpolate")
               else "--gaps drop fills none")
        console.print(
            f"[bold yellow]warning:[/] {n:,} hole(s) in the {_step_text(step)} time grid were not filled "
            f"({why}, --gaps {cleaning['gap_policy']}) and are kept as breaks that windows do not cross. "
            f"First: {first['missing_timestamps']:,} missing timestamps between {first['after']} and "
            f"{first['before']} ({first['where']}).", soft_wrap=True)


def _require_increasing(table: Table, time_name: str, ts: np.ndarray) -> None:
    """Any non-Jena file: timestamps must not go backwards (equal ones are duplicates, handled later)."""
    back = np.flatnonzero(np.diff(ts.view(np.int64)) < 0)
    if len(back):
        row = int(back[0]) + 1
        raise ForecastlabError(
            f"the timestamps go backwards: {stamp(ts[row])} comes after {stamp(ts[row - 1])}",
            where=table.where(row, time_name), fix="sort the file by time (oldest first)")


def _resample(table: Table, ts: np.ndarray, values: np.ndarray, names: list[str], freq: str):
    """Mean per slot of a regular `freq` grid; slots with no row become missing (then the gap policy)."""
    frame = pd.DataFrame(values, index=pd.DatetimeIndex(ts), columns=names)
    try:
        step = pd.tseries.frequencies.to_offset(freq)
        resampled = frame.resample(step).mean()
        step_ns = pd.Timedelta(step).value
    except (ValueError, TypeError):
        raise ForecastlabError(f"--freq {freq!r} is not a fixed time step", where="--freq",
                               fix="use a pandas step such as '10min', '30min', '1h' or '1D'") from None
    counts = frame.iloc[:, 0].resample(step).size().to_numpy()
    out_ts = resampled.index.to_numpy().astype("datetime64[ns]")
    return out_ts, resampled.to_numpy(dtype=np.float64, copy=True), int(step_ns), int((counts == 0).sum())


def _warn_unbridged(cleaning: dict) -> None:
    n = cleaning["unbridged_run_count"]
    if n:
        from forecastlab.console import console

        first = cleaning["unbridged_runs"][0]
        console.print(
            f"[bold yellow]warning:[/] {n} run(s) of missing values were too long to interpolate "
            f"(--gaps {cleaning['gap_policy']}); their {cleaning['rows_dropped']:,} rows were dropped and the "
            f"holes recorded as breaks. First: {first['rows']} rows of {first['column']!r} from "
            f"{first['from']} ({first['where']}).", soft_wrap=True)


def require_min_rows(series: Series, rows_needed: int, what: str) -> None:
    """Raise a ForecastlabError when `series` has fewer than `rows_needed` rows for `what`
    (e.g. 'one window of --sequence-length 120 x --sampling-rate 6 plus --horizon 24')."""
    if len(series) < rows_needed:
        raise ForecastlabError(
            f"the series has {len(series):,} rows, but {what} needs at least {rows_needed:,}",
            where=series.provenance.path or series.provenance.source,
            fix="use a longer series, or make the window smaller (--sequence-length, --sampling-rate, "
            "--horizon)")
