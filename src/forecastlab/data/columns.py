"""Pick and parse a table's columns: the timestamp column, the target and the numeric features.

Every failure names the file, the line and the column, and shows the offending text.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from forecastlab.data.jena_schema import TARGET as JENA_TARGET
from forecastlab.data.jena_schema import TIME_FORMAT as JENA_TIME_FORMAT
from forecastlab.data.readers import Table, shorten
from forecastlab.errors import ForecastlabError

_JENA_STAMP = re.compile(r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$")
# 13/01/2023, 01.02.2023 14:00, 1-2-2023: day and month in either order, the year last.
_NUMERIC_DATE = re.compile(r"^\s*\d{1,2}([/.-])\d{1,2}\1\d{4}\b")
_TIME_NAME = re.compile(r"date|time|^ds$|^dt$|^when$", re.IGNORECASE)
# A clock time followed by a zone: 'Z', '+01:00', '-0500', '+01', 'UTC' or 'GMT' (the offset must follow a
# time, or the '-01' ending every '2024-01-01' would count).
_ZONED = r"\d:\d{2}(:\d{2}([.,]\d+)?)?\s*([zZ]|[+-]\d{2}(:?\d{2})?|UTC|GMT)\s*$"
# datetime64[ns] runs from 1677-09-21 to 2262-04-11; pandas parses wider (in us), and numpy's cast to ns
# wraps silently (year 3000 became 1830), so stamps outside are refused.
_NS_RANGE = (np.datetime64("1677-09-22", "D"), np.datetime64("2262-04-11", "D"))


def _line(table: Table, row: int) -> str:
    """'line 17' (CSV) or 'row 16' (Parquet): a place inside the file already named in the message."""
    return table.where(row).removeprefix(f"{table.path}, ")


def _listing(columns) -> str:
    return ", ".join(repr(shorten(c)) for c in columns)


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s) or s.dtype == object


def find_time_column(table: Table, requested: str | None) -> str:
    """`requested`, else a datetime-typed column, else one named like date/time, else the first text
    column whose first values parse as timestamps."""
    frame = table.frame
    if requested is not None:
        if requested not in frame.columns:
            raise ForecastlabError(f"there is no column {requested!r} for time_col=", where=f"{table.where()}, header",
                                   fix=f"choose one of: {_listing(frame.columns)}")
        return requested
    typed = [name for name in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[name])]
    if typed:  # several (a 'created' beside a 'timestamp'): the one named like time, else the first
        return next((name for name in typed if _TIME_NAME.search(str(name))), typed[0])
    for name in frame.columns:
        if _TIME_NAME.search(str(name)) and _is_text(frame[name]):
            return name
    for name in frame.columns:
        if _is_text(frame[name]):
            head = frame[name].dropna().head(20)
            if len(head) and _to_datetime(head).notna().all():
                return name
    raise ForecastlabError("no timestamp column was found", where=f"{table.where()}, header",
                           fix="pass time_col= with the column that holds the dates; columns: "
                           + _listing(frame.columns))


def split_names(text: str) -> list[str]:
    """Column names from a comma-separated list; a name with a comma in it is quoted, as in a CSV header:
    'T (degC),"wind, max (m/s)"'. Spaces around each name are dropped."""
    import csv

    return [name.strip() for row in csv.reader([text], skipinitialspace=True) for name in row if name.strip()]


def join_names(names: list[str]) -> str:
    """The comma-separated list split_names reads back: names with a comma or a quote are quoted."""
    return ",".join('"' + n.replace('"', '""') + '"' if ("," in n or '"' in n) else n for n in names)


def _to_datetime(s: pd.Series) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format" is expected for odd columns
        out = pd.to_datetime(s, errors="coerce", utc=True)
    return out.dt.tz_convert(None)


def parse_times(table: Table, name: str, day_first: bool | None = None) -> tuple[np.ndarray, bool | None]:
    """(the column as datetime64[ns], the order dates like 05/03/2024 were read in: True day first, None
    for dates whose order is never in doubt). Jena's `dd.mm.yyyy HH:MM:SS` is parsed with an explicit
    format (fast). Time-zone-aware stamps are converted to UTC; a column mixing aware and naive ones is
    refused. `day_first` given: such dates are read in that order (a forecast's input, as its training
    file was), with no guess and no warning."""
    import pyarrow as pa
    import pyarrow.compute as pc

    s = table.frame[name]
    order = None
    if pd.api.types.is_datetime64_any_dtype(s):
        parsed = s.dt.tz_convert(None) if getattr(s.dt, "tz", None) is not None else s
    elif pd.api.types.is_numeric_dtype(s):
        raise ForecastlabError(f"the time column {shorten(name)!r} holds numbers, not dates",
                               where=table.where(column=name),
                               fix="pass time_col= with a column of dates like 2024-01-31 12:00:00")
    else:
        first = s.dropna().head(1)
        if len(first) and _JENA_STAMP.match(str(first.iloc[0])):
            stamps = pc.strptime(pa.array(s.astype(object)), format=JENA_TIME_FORMAT, unit="ns", error_is_null=True)
            parsed = pd.Series(stamps.to_numpy(zero_copy_only=False))
        else:
            _refuse_mixed_zones(table, name)
            parsed, order = _day_or_month_first(table, name, s, first, day_first) if len(first) else (None, None)
            if parsed is None:
                parsed = _to_datetime(s)
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        raise _unparsed(table, name, int(bad[0]))
    _refuse_out_of_range(table, name, parsed)
    return parsed.to_numpy().astype("datetime64[ns]"), order


def _day_or_month_first(table: Table, name: str, s: pd.Series, first: pd.Series,
                        day_first: bool | None = None) -> tuple[pd.Series | None, bool | None]:
    """Dates like 13/01/2023 or 01.02.2023, whose day and month may come in either order: read both ways,
    the order that reads every stamp wins; when both do (no day above 12), the one whose steps are the
    more regular, else day first for dots and dashes and month first for slashes, with a warning saying so.
    (None, None): not such dates (pandas reads them as it does any other). `day_first` given: that order,
    unless the stamps cannot be read so (then the one that reads them, as without it)."""
    from pandas.tseries.api import guess_datetime_format

    text = str(first.iloc[0]).strip()
    match = _NUMERIC_DATE.match(text)
    if not match:
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        formats = {day_first: guess_datetime_format(text, dayfirst=day_first) for day_first in (False, True)}
        if None in formats.values() or formats[False] == formats[True]:
            return None, None  # a layout pandas does not guess, or one the first stamp already settles
        reads = {day_first: pd.to_datetime(s, errors="coerce", utc=True, format=fmt).dt.tz_convert(None)
                 for day_first, fmt in formats.items()}
    complete = [d for d, r in reads.items() if r.notna().sum() == s.notna().sum()]
    if day_first is not None and day_first in complete:
        return reads[day_first], day_first
    if len(complete) == 1:
        return reads[complete[0]], complete[0]
    if not complete:
        return None, None  # the stamp that fails both ways is reported by _unparsed
    regular = {d: _regularity(r) for d, r in reads.items()}
    if regular[True] != regular[False]:
        day_first = regular[True] > regular[False]
        why = "its steps are the more regular that way"
    else:
        day_first = match[1] != "/"
        why = "no day is above 12 and the steps do not tell; " + (
            "dates with dots or dashes are most often day first" if day_first else
            "dates with slashes are most often month first")
    order = "day/month/year" if day_first else "month/day/year"
    from forecastlab.errors import DataQualityWarning

    warnings.warn(f"the time column {shorten(name)!r} ({shorten(first.iloc[0])!r}, ...) could be day or month "
                  f"first; it is read as {order}: {why}. If that is wrong, rewrite the dates as year-month-day "
                  f"(2023-01-31 12:00) ({table.where(column=name)})", DataQualityWarning, stacklevel=5)
    return reads[day_first], day_first


def _regularity(parsed: pd.Series) -> float:
    """The share of steps equal to the most common positive step (1.0: a regular, increasing grid)."""
    d = np.diff(parsed.dropna().to_numpy().astype("datetime64[ns]").view(np.int64))
    positive = d[d > 0]
    if not len(positive):
        return 0.0
    return float(np.unique(positive, return_counts=True)[1].max() / len(d))


def _unparsed(table: Table, name: str, row: int) -> ForecastlabError:
    """The error for the first stamp that did not parse: a valid stamp in another format than the column's
    first one is said to be so (pandas infers one format per column)."""
    s = table.frame[name]
    text = s.iloc[row]
    fix = "fix or remove that line; dates like 2024-01-31 12:00:00 or Jena's 31.01.2024 12:00:00 are understood"
    if pd.isna(text) or not str(text).strip():
        return ForecastlabError("the timestamp is missing", where=table.where(row, name), fix=fix)
    present = np.flatnonzero(s.notna().to_numpy())
    first = int(present[0]) if len(present) else row
    if first != row and pd.notna(_to_datetime(pd.Series([str(text)])).iloc[0]):
        return ForecastlabError(
            f"the timestamp {shorten(text)!r} is written in another format than the column's first one, "
            f"{shorten(s.iloc[first])!r} ({_line(table, first)})", where=table.where(row, name),
            fix="write every timestamp of the column in the same format")
    return ForecastlabError(f"the timestamp {shorten(text)!r} cannot be parsed", where=table.where(row, name), fix=fix)


def _refuse_mixed_zones(table: Table, name: str) -> None:
    """Stamps with a time zone ('...Z', '...+01:00') and without one cannot be put on one time axis."""
    import pyarrow as pa
    import pyarrow.compute as pc

    s = table.frame[name]
    text = s.astype(str)  # str: pyarrow's engine gives datetime.date objects for a date-only column
    zoned = pc.match_substring_regex(pa.array(text.to_numpy(dtype=object), type=pa.string()), _ZONED)
    zoned = zoned.to_numpy(zero_copy_only=False)
    present = s.notna().to_numpy() & (text.str.strip() != "").to_numpy()
    aware, naive = np.flatnonzero(present & (zoned == True)), np.flatnonzero(present & (zoned == False))  # noqa: E712
    if len(aware) and len(naive):
        a, n = int(aware[0]), int(naive[0])
        raise ForecastlabError(
            f"the time column mixes timestamps with a time zone ({shorten(s.iloc[a])!r}, {_line(table, a)}) and "
            f"without one ({shorten(s.iloc[n])!r}, {_line(table, n)})", where=table.where(max(a, n), name),
            fix="write every timestamp with its zone (like 2024-01-31T12:00:00Z or +01:00), or every one without")


def has_zones(table: Table, name: str) -> bool:
    """Whether the time column's stamps carry a time zone (then parse_times gives them in UTC)."""
    s = table.frame[name]
    if pd.api.types.is_datetime64_any_dtype(s):
        return getattr(s.dt, "tz", None) is not None
    first = s.dropna().head(1)
    return bool(len(first)) and re.search(_ZONED, str(first.iloc[0])) is not None


def _refuse_out_of_range(table: Table, name: str, parsed: pd.Series) -> None:
    values = parsed.to_numpy()
    if values.dtype == np.dtype("datetime64[ns]") or not len(values):
        return
    low, high = (t.astype(values.dtype) for t in _NS_RANGE)  # numpy would compare in ns, and wrap
    outside = np.flatnonzero((values < low) | (values > high))
    if len(outside):
        row = int(outside[0])
        raise ForecastlabError(
            f"the timestamp {shorten(table.frame[name].iloc[row])!r} is outside the years 1678 to 2261 that "
            "nanosecond timestamps can hold", where=table.where(row, name), fix="correct that timestamp")


def to_numeric(table: Table, name: str, required: bool) -> np.ndarray | None:
    """The column as float64 (blank cells become NaN). A column with no number in it at all is a text
    column: None when not `required`, else an error; a numeric column with one bad cell is an error."""
    s = table.frame[name]
    if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_timedelta64_dtype(s):
        if not required:  # a second date column is not a number to learn from (its nanoseconds since 1970)
            return None
        raise ForecastlabError(f"column {shorten(name)!r} holds dates or durations, not numbers",
                               where=table.where(column=name),
                               fix="choose numeric columns for target= and features= (the time column is "
                               "chosen with time_col=)")
    if pd.api.types.is_numeric_dtype(s):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        numbers = pd.to_numeric(s, errors="coerce")
        present = s.notna().to_numpy() & (s.astype(str).str.strip() != "").to_numpy()
        bad = np.flatnonzero(present & numbers.isna().to_numpy())
        if len(bad) and len(bad) == present.sum():
            if not required:
                return None
            first = str(s.iloc[bad[0]]).strip()
            grouped = re.fullmatch(r"-?\d{1,3}([,.' ]\d{3})+([.,]\d+)?", first) is not None
            raise ForecastlabError(f"column {shorten(name)!r} is not numeric (first value "
                                   f"{shorten(s.iloc[bad[0]])!r}"
                                   + (", which looks like a number with thousands separators" if grouped else "")
                                   + ")", where=table.where(int(bad[0]), name),
                                   fix="save the numbers without thousands separators (1234.5, not 1,234.5)"
                                   if grouped else "choose numeric columns for target= and features=")
        if len(bad):
            row = int(bad[0])
            text = str(s.iloc[row])
            hint = (" (decimal commas are read only in a ';'- or tab-separated file whose column uses them in "
                    "every number; otherwise write '.')") if re.fullmatch(r"-?\d+,\d+", text.strip()) else ""
            raise ForecastlabError(f"the cell {shorten(text)!r} is not a number{hint}", where=table.where(row, name),
                                   fix="correct that cell, or leave it blank to mark it missing (blanks follow gaps=)")
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(values).all():
        raise ForecastlabError(f"column {shorten(name)!r} has no values at all (every cell is missing)",
                               where=table.where(column=name),
                               fix="leave it out by listing the columns you want with features=")
    return values


def select_columns(
    table: Table, time_col: str, target: str | None, features: list[str] | None
) -> tuple[list[str], str, np.ndarray, list[str]]:
    """(columns, target, float64 values (rows, columns), skipped text columns).

    Columns are `features` (with the target appended if missing) or every numeric column but the time.
    """
    frame = table.frame
    _refuse_repeated(features)
    for name in [*(features or []), *([target] if target else [])]:
        if name not in frame.columns:
            what = "target" if name == target else "feature"
            raise ForecastlabError(f"the {what} column {shorten(name)!r} is not in the file",
                                   where=f"{table.where()}, header",
                                   fix=f"choose from: {_listing(c for c in frame.columns if c != time_col)}")
    names = list(features) if features else [c for c in frame.columns if c != time_col]
    if target and target not in names:
        names.append(target)
    columns, arrays, skipped = [], [], []
    for name in names:
        values = to_numeric(table, name, required=bool(features) or name == target)
        if values is None:
            skipped.append(str(name))
        else:
            columns.append(str(name))
            arrays.append(values)
    if not columns:
        raise ForecastlabError("the file has no numeric column to forecast" + _decimal_comma_hint(table, skipped),
                               where=f"{table.where()}, header",
                               fix="give a file with at least one numeric column besides the time")
    target = target or _default_target(table, columns)
    if not features:
        columns, arrays = _leave_out_sparse(table, columns, arrays, target)
    return columns, target, np.column_stack(arrays), skipped


SPARSE_SHARE = 0.5  # a default feature missing in more than this share of rows is left out


def _leave_out_sparse(table: Table, columns: list[str], arrays: list[np.ndarray], target: str):
    """Leave out of the default features every column (not the target) that is mostly missing: under the
    gap policy it would cost the whole series those rows (a real hourly weather file with one mostly
    empty column lost 6,196 of 8,703 rows). Said in one warning, with how to include them."""
    missing = {name: float(np.isnan(a).mean()) for name, a in zip(columns, arrays, strict=True)}
    sparse = [name for name in columns if name != target and missing[name] > SPARSE_SHARE]
    if not sparse:
        return columns, arrays
    from forecastlab.errors import DataQualityWarning

    listed = ", ".join(f"{shorten(n)!r} ({missing[n]:.0%} missing)" for n in sparse[:5])
    kept = [n for n in columns if n not in sparse]
    warnings.warn(DataQualityWarning(
        f"left out of the features, as mostly missing: {listed}{' and more' if len(sparse) > 5 else ''} in "
        f"{table.path}; to use them anyway, list the features yourself: features='{','.join(kept + sparse)}'"),
        stacklevel=4)
    keep = [i for i, n in enumerate(columns) if n not in sparse]
    return [columns[i] for i in keep], [arrays[i] for i in keep]


def _refuse_repeated(features: list[str] | None) -> None:
    """A column listed twice in `features` would be fed to the model twice."""
    seen: set[str] = set()
    for name in features or []:
        if name in seen:
            raise ForecastlabError(f"features lists {shorten(name)!r} twice", arg="features",
                                   fix="list each column once")
        seen.add(name)


def _decimal_comma_hint(table: Table, skipped: list[str]) -> str:
    for name in skipped:
        value = str(table.frame[name].dropna().astype(str).head(1).str.strip().iloc[0]) \
            if table.frame[name].notna().any() else ""
        if re.fullmatch(r"-?\d+,\d+", value):
            return (f" (column {name!r} holds values like {value!r}, with decimal commas: they are read as numbers "
                    "when the file is separated by ';' or tabs; with ',' separators, write them with '.')")
    return ""


def _default_target(table: Table, columns: list[str]) -> str:
    if JENA_TARGET in columns:
        return JENA_TARGET
    if len(columns) == 1:
        return columns[0]
    raise ForecastlabError("it is not clear which column to forecast", where=f"{table.where()}, header",
                           fix=f"pass target= with one of: {_listing(columns)}")
