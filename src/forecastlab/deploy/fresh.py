"""Forecasts from fresh data: the last window of a file (or a request's rows) in the training format.

The input is read with the training's own loader, cleaning and gap policy (the run's recipe), gets the
run's derived columns, and must then hold, ending at the forecast origin (its last row):
- the columns the run read from its training file, the same ones in the same order, and its target;
- `rows_needed` rows at the training's time step, with no hole in the grid (plus, for derived tendency
  columns such as the 24-hour pressure change, the hours of history they look back);
- no missing cell in those rows: a blank, NaN or -9999 that the gap policy would have filled is refused,
  since a forecast made from invented inputs would look like any other;
- times of the same kind as the training's: with a UTC offset (or Unix time) when the run's were, and
  without one when they were not. Zoned times are read as UTC and naive ones as they are, so a mix would
  shift the input by its offset against the training times; it is refused, never guessed. The training's
  kind is config.json's data.time_zone when recorded, else read again from the training file (same
  sha256); a run whose training times cannot be told is not checked.
Each refusal says exactly what is needed, e.g. "need 720 rows at 10-minute spacing ending at the forecast
origin; got 100".
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecastlab.errors import ForecastlabError
from forecastlab.windows.horizons import duration_text

MAX_RECORDS = 200_000  # rows of a JSON request; the CSV/Parquet byte limit bounds the rest
_TENDENCY = re.compile(r"^d(\d+)h ")


@dataclass
class Forecast:
    """One forecast from the latest window: per horizon, the time it is for, the value and its interval.
    `rows` is what the service answers (plain values, cheap); `table` and `history` are built on demand."""

    model: str
    target: str
    unit: str | None
    origin: pd.Timestamp
    rows: list[dict]  # per horizon: horizon, ahead, target_time (Timestamp), value, and lower/upper with intervals
    interval: dict | None  # {"method", "level"} of the intervals, or None
    recent_times: np.ndarray  # the input's last rows' times and target values (for a fan chart)
    recent_values: np.ndarray
    source: str
    utc: bool = False  # the input's stamps had time zones: every time here is UTC (said in to_dict's times)

    @property
    def table(self) -> pd.DataFrame:
        """origin, horizon, ahead, target_time, value, unit, and lower, upper with intervals: one row per horizon."""
        frame = pd.DataFrame(self.rows)
        frame.insert(0, "origin", self.origin)
        frame.insert(frame.columns.get_loc("value") + 1, "unit", self.unit)
        return frame

    @property
    def history(self) -> pd.Series:
        """The target's recent values in the input, indexed by time, up to the forecast origin."""
        return pd.Series(self.recent_values, index=pd.to_datetime(self.recent_times), name=self.target)

    def to_dict(self) -> dict:
        """The JSON `predict --json` prints and POST /forecast answers (strict JSON: no NaN)."""
        rows = [r | {"target_time": _iso(r["target_time"], self.utc)} for r in self.rows]
        return {"model": self.model, "target": self.target, "unit": self.unit, "origin": _iso(self.origin, self.utc),
                "interval": self.interval, "forecasts": rows, "input": self.source}

MAX_SCAN_ROWS = 10_000  # rows one POST /anomalies scans at most (its windows are built at once)


def requirements(run) -> dict:
    """What an input must hold for `run` (a LoadedRun): rows, time step, columns, target, time column."""
    data = run.config.get("data") or {}
    step = step_seconds(run.config)
    history = _history_rows(run, step)
    recipe = run.recipe
    return {"rows": run.span_rows + history, "window_rows": run.span_rows, "history_rows": history,
            "step_seconds": step, "step": _step_text(step), "columns": list(data.get("source_columns")
                                                                           or data.get("columns") or []),
            "target": data.get("target"), "time_column": getattr(getattr(recipe, "data", None), "time_col", None)}


def step_seconds(config: dict) -> float | None:
    """The training data's time step: recorded by new runs; for older ones, estimated from its first and
    last timestamps and row count (rounded to the minute above a minute)."""
    data = config.get("data") or {}
    if data.get("step_seconds"):
        return float(data["step_seconds"])
    first, last, rows = data.get("first_timestamp"), data.get("last_timestamp"), data.get("rows")
    if not (first and last and rows and rows > 1):
        return None
    seconds = (pd.Timestamp(last) - pd.Timestamp(first)).total_seconds() / (rows - 1)
    return float(round(seconds / 60) * 60 if seconds >= 60 else round(seconds))


class FreshForecaster:
    """Forecasts from fresh inputs for one loaded run, with what an input must hold worked out once (the
    service keeps one per model). forecast() checks and forecasts one input; forecast_many() checks each
    and runs the model once on all their windows."""

    def __init__(self, run):
        self.run = run
        self.need = requirements(run)
        recipe = run.recipe
        kwargs = recipe.data.load_kwargs() if recipe is not None else {}
        kwargs.pop("data_dir", None)
        # Dates like 05/03/2024 read in the training file's order: a day's rows alone cannot settle it.
        kwargs["day_first"] = (run.config.get("data") or {}).get("day_first")
        self._implied_target = None
        if not kwargs.get("target"):  # a run on a public record names no target (its default): the one it used
            kwargs["target"] = self._implied_target = (run.config.get("data") or {}).get("target")
        self._kwargs = kwargs
        self._feature_set = recipe.data.feature_set if recipe is not None else None
        self._derived = (recipe.data.derived_columns() if recipe is not None else None) or []
        self._interval = ({"method": run.calibration.method, "level": run.calibration.level}
                          if run.calibration else None)
        self._trained_zone = _UNTOLD  # worked out on the first input (it may read the training file)

    def load(self, source, *, name: str | None = None, clean: bool | None = None, derived: bool = True):
        """The Series of `source` as the run's recipe reads it, derived columns added, its columns checked.

        source: a CSV or Parquet path, the bytes of one (an HTTP body), or JSON-like records (a list of
        {column: value} rows, the time column among them). clean=False keeps sentinels such as -9999 as
        they are (an anomaly scan wants to see them); None: as the recipe says. derived=False: without the
        run's derived columns (a scan judges the record's own, and the forecaster's are made from them)."""
        from forecastlab.data.derived import add_features

        kwargs = self._kwargs | ({"clean": clean} if clean is not None else {})
        try:
            series = self._read(source, name, kwargs)
        except ForecastlabError as err:
            missing = _MISSING_COLUMN.fullmatch(err.what)
            if missing or (self._implied_target and err.what.startswith("the target column")):
                # said as any missing column: the input is read with the run's columns, none of them chosen here
                # (the loader's "choose from" advises target= or features=, which an input cannot change)
                lacks = missing[1] if missing else repr(self._implied_target)
                raise ForecastlabError(f"the input lacks the column(s) {lacks}", where=err.where,
                                       fix=f"send the training columns, in this order: "
                                       f"{', '.join(self.need['columns'])}") from None
            if "time_col=" not in (err.fix or ""):
                raise
            # The loader's advice (time_col=) is not for a forecast: its input is read as the training was.
            trained = (self.run.config.get("data") or {}).get("time_column")
            raise ForecastlabError(err.what, where=err.where, fix=(
                f"give the input the training file's time column{f' {trained!r}' if trained else ''}, one date per "
                "row (like 2024-01-31 12:00:00), beside the training columns")) from None
        if self._trained_zone is _UNTOLD:
            self._trained_zone = trained_time_zone(self.run)
        _check_time_zone(self._trained_zone, series, name)
        _check_source_columns(self.need["columns"], series)
        if self._feature_set and derived:
            series = add_features(series, self._feature_set, self._derived or None)
        return series

    def _read(self, source, name: str | None, kwargs: dict):
        from forecastlab.data.loader import load_bytes, load_series

        if isinstance(source, str | Path):
            series = load_series(input_path(source), **kwargs, download=False)
        elif isinstance(source, bytes):
            series = load_bytes(source, name or "request", **kwargs)
        else:  # JSON records: their keys have no order, so they are put in the training order
            raw = records_csv(source, name or "records", order=self.need["columns"])
            try:
                series = load_bytes(raw, name or "request", **kwargs)
            except ForecastlabError as err:
                raise _as_records(err) from None
            end = (series.quality.get("cleaning") or {}).get("dropped_at_end")
            if end:  # raised later, by window(): its place in record numbers too
                end["where"] = _record_numbers(end["where"])
        return series

    def window(self, source, *, name: str | None = None):
        """(the input's last rows_needed rows as a Series, where it came from), after every check."""
        from forecastlab.training.forecast import check_columns

        series = self.load(source, name=name)
        check_columns(self.run, series)
        where = series.provenance.path or name or "the input"
        _check_last_rows(series, where)
        _check_duplicates(series, where)
        need = self.need
        rows, step = need["rows"], need["step_seconds"]
        if len(series) < rows:
            spacing = f" at {need['step']} spacing" if step else ""
            history = (f" ({need['window_rows']} for the window and {need['history_rows']} before it for the "
                       "derived tendency columns)") if need["history_rows"] else ""
            raise ForecastlabError(f"need {rows} rows{spacing} ending at the forecast origin{history}; got "
                                   f"{len(series)}", where=where, fix=f"send the last {rows} rows, oldest first")
        tail = slice(len(series) - rows, len(series))
        if step and not _calendar_grid(series.timestamps[tail], step):
            _check_spacing(series.timestamps[tail], step, rows, where)
        _check_missing(series, tail, where, step)
        _check_range(self.run.normalizer, series, tail, where)
        return _cut(series, tail), str(where)

    def scan(self, source, *, name: str | None = None) -> dict:
        """Anomalies in `source` (forecastlab.tasks.anomaly.detect_anomalies, at its default threshold and
        window), read uncleaned: the sensor-fault rules on every row, and the run's forecast residuals when
        the input is long enough for a forecast to land inside it (else "residuals" says why not)."""
        from forecastlab.tasks.anomaly import detect_anomalies

        series = self.load(source, name=name, clean=False, derived=False)  # the record's own columns
        if len(series) > MAX_SCAN_ROWS:  # the residuals' windows grow with the rows: bound the work
            raise ForecastlabError(f"{len(series):,} rows are more than the {MAX_SCAN_ROWS:,} one scan reads",
                                   where=str(series.provenance.path or name or "the input"),
                                   fix=f"send at most the last {MAX_SCAN_ROWS:,} rows, or scan a whole record "
                                   "with `forecastlab anomalies --run RUN --data FILE`")
        delay = self.run.spec.delays[0]
        if len(series) > delay:
            result, residuals = detect_anomalies(series, run=self.run), "scored"
        else:
            result = detect_anomalies(series)
            residuals = (f"not scored: {len(series)} rows are too few, since the run's first forecast is for row "
                         f"{delay}; send well over {delay + 1} rows to score them")
        return result.to_dict() | {"residuals": residuals, "source": str(series.provenance.path or name or "input")}

    def forecast(self, source, *, name: str | None = None) -> Forecast:
        """The forecast from the last window of `source`."""
        return self.forecast_many([source], names=[name])[0]

    def forecast_many(self, sources: list, *, names: list | None = None) -> list[Forecast]:
        """One forecast per source (each checked as forecast() checks it), the model run once on all."""
        from forecastlab.training.forecast import forecast_table
        from forecastlab.training.loading import intervals, point_forecast, predict

        names = list(names or [None] * len(sources))
        cut = [self.window(source, name=name) for source, name in zip(sources, names, strict=True)]
        step = self.need["step_seconds"]
        if not step:  # a run that does not know its step: the forecast's times come from the input's own
            return [self._forecast(series, where, self._table_rows(forecast_table(self.run, series, last=1)))
                    for series, where in cut]
        run, span = self.run, self.run.span_rows
        windows = np.stack([series.values[len(series) - span::run.sampling_rate] for series, _ in cut])
        ends = np.array([series.timestamps[-1] for series, _ in cut], dtype="datetime64[ns]")
        forecasts = predict(run, windows, end_times=ends)
        point, bounds = point_forecast(run, forecasts), intervals(run, forecasts)
        step_ns = int(round(step * 1e9))
        rows_ahead = [delay - span + 1 for delay in run.spec.delays]
        out = []
        for i, (series, where) in enumerate(cut):
            origin = pd.Timestamp(ends[i])
            calendar = _calendar_grid(series.timestamps, step)  # months, years: k rows on is k calendar steps
            rows = []
            for j, (h, k) in enumerate(zip(run.spec.steps, rows_ahead, strict=True)):
                target = origin + calendar * k if calendar is not None else origin + pd.Timedelta(step_ns * k, "ns")
                row = {"horizon": int(h), "ahead": duration_text(int((target - origin).value)), "target_time": target,
                       "value": float(point[i, j])}
                if bounds is not None:
                    row |= {"lower": float(bounds[0][i, j]), "upper": float(bounds[1][i, j])}
                rows.append(row)
            out.append(self._forecast(series, where, rows))
        return out

    def _table_rows(self, table: pd.DataFrame) -> list[dict]:
        rows = []
        for rec in table.to_dict(orient="records"):
            row = {"horizon": int(rec["horizon"]), "ahead": rec["ahead"],
                   "target_time": pd.Timestamp(rec["forecast_for"]), "value": float(rec["prediction"])}
            if "lower" in rec:
                row |= {"lower": float(rec["lower"]), "upper": float(rec["upper"])}
            rows.append(row)
        return rows

    def _forecast(self, series, where: str, rows: list[dict]) -> Forecast:
        keep = min(len(series), 3 * self.run.span_rows)
        return Forecast(self.run.config["model"]["name"], series.target, series.target_unit,
                        pd.Timestamp(series.timestamps[-1]), rows, self._interval,
                        series.timestamps[-keep:], series.targets[-keep:].astype(np.float64), where,
                        utc=bool(((series.quality or {}).get("time") or {}).get("utc")))


_UNTOLD = object()  # the training's time zone is not known yet (None is naive, not unknown)
_NAIVE = "naive"


# The loader's refusal of a target or feature column the file lacks (forecastlab.data.columns.select_columns).
_MISSING_COLUMN = re.compile(r"the (?:target|feature) column (.+) is not in the file")


def input_path(source: str | os.PathLike) -> str:
    """The path of a fresh input file, checked (a file that exists, not a folder, a device or a pipe), as
    load_series is to read it: always as a file, so an input called `synthetic`, `jena`, `tmy3` or `ucr:...`
    is that file, never the built-in data of that name. Its refusals speak of the input, not of data=."""
    from forecastlab.data.readers import require_file

    path = Path(source).expanduser()
    require_file(path, "the input", missing="the input file does not exist",
                 missing_fix="check the path: the input is a CSV or Parquet file in the training format",
                 dir_fix="give the CSV or Parquet file itself (a path inside that folder)")
    text = str(path)
    if not path.is_absolute() and os.sep not in text and _data_keyword(text):
        text = os.path.join(os.curdir, text)  # './synthetic': a path to load_series, not its data keyword
    return text


def _data_keyword(text: str) -> bool:
    """Whether load_series would read `text` as built-in or public data rather than as a file name."""
    from forecastlab.data.public import is_public
    from forecastlab.training.recipe import DATA_KEYWORDS

    key = text.strip().lower()
    return key in DATA_KEYWORDS or key.startswith("ucr:") or is_public(key)


def trained_time_zone(run):
    """How the run's training times were written: 'naive' (no zone), the zone of zoned ones ('UTC', '+01:00',
    '+01:00, +02:00'), or None when it cannot be told (an older run whose training file is gone or changed).
    config.json's data.time_zone when recorded (null: naive); the built-in records are naive, the public ones
    as PUBLIC_DATASETS says (nyc-jfk: 'UTC'; the others naive); else
    the training file's time column, read again (with the sha256 config.json recorded)."""
    data = run.config.get("data") or {}
    if "time_zone" in data:
        return data["time_zone"] or _NAIVE
    provenance = data.get("provenance") or {}
    if provenance.get("source") == "public":  # built by forecastlab.data.public: naive, or as its entry says
        from forecastlab.data.public import PUBLIC_DATASETS

        return (PUBLIC_DATASETS.get(provenance.get("variant") or "") or {}).get("time_zone") or _NAIVE
    if provenance.get("source") != "file":
        return _NAIVE if provenance.get("source") else None  # jena, synthetic: built naive
    path, column = provenance.get("path"), data.get("time_column")
    if not (path and column and Path(path).is_file()):
        return None
    from forecastlab.data.loader import table_time_zone
    from forecastlab.data.readers import read_table

    try:
        table = read_table(path)
        if provenance.get("sha256") and table.sha256 != provenance["sha256"]:
            return None  # not the file the run was trained on any more
        return table_time_zone(table, column) or _NAIVE
    except (ForecastlabError, KeyError):
        return None


def _check_time_zone(trained, series, name: str | None) -> None:
    """Refuse an input whose times are zoned when the training's were naive, or naive when they were zoned."""
    if trained is None:
        return
    time = (series.quality or {}).get("time") or {}
    zoned = bool(time.get("utc"))
    if zoned == (trained != _NAIVE):
        return
    column = ((series.quality or {}).get("format") or {}).get("time_column")
    where = f"{series.provenance.path or name or 'the input'}" + (f", column {column!r}" if column else "")
    last = pd.Timestamp(series.timestamps[-1]) if len(series) else pd.Timestamp("2016-01-01")
    bare = f"{last:%Y-%m-%d %H:%M:%S}"
    if not zoned:
        iso = bare.replace(" ", "T")
        utc = trained.startswith("UTC")
        kind = f"in {trained}" if utc else f"with a UTC offset ({trained}), read as UTC"
        like = (f"like {iso}+00:00" if utc else f"as the training file did (like {iso}{trained})"
                if re.fullmatch(r"[+-]\d{2}:\d{2}", trained) else f"as the training file did ({trained})")
        raise ForecastlabError(
            f"the input's times have no time zone (like {bare}), but the run was trained on times {kind}: a time "
            "without its offset cannot be put on that time axis, and taking it for UTC (or for local time) would "
            "shift the input against the training times", where=where,
            fix=f"write every time with its UTC offset, {like}" + ("" if utc else f", or in UTC ({iso}+00:00)"))
    zone = time.get("zone") or "a UTC offset"
    raise ForecastlabError(
        f"the input's times carry a time zone, {zone}, but the run was trained on times without one (naive, on "
        "the training file's own clock): the input's would be read as UTC and shifted against the training times "
        "by their offset", where=where,
        fix="write the times as the training file did, without an offset and on the same clock (like "
        "2016-01-01 00:00:00, no 'Z' or '+01:00'), or train the run on times with their UTC offsets")


def load_input(run, source, *, name: str | None = None):
    """FreshForecaster(run).load(source): the input as the run's recipe reads it, with its checks."""
    return FreshForecaster(run).load(source, name=name)


def forecast_fresh(run, source, *, name: str | None = None) -> Forecast:
    """The forecast of `run` from the last window of `source`, after every check of the module (a
    FreshForecaster made for one call; keep one to forecast many times)."""
    return FreshForecaster(run).forecast(source, name=name)


def records_csv(records, name: str, order: list[str] | None = None) -> bytes:
    """JSON records ([{column: value}, ...]) as the CSV the loader reads, bounded in count; every record
    must have the same columns (in any order: a JSON object's keys have none), and every value be a number,
    text or null. Columns are written in record 0's order, or with `order` (the training columns) those
    columns in that order, after the others (the time column)."""
    if not isinstance(records, list) or not records:
        raise ForecastlabError("records must be a non-empty list of rows ({column: value})", where=name,
                               fix='send {"records": [{"Date Time": "...", "p (mbar)": 996.5, ...}, ...]}')
    if len(records) > MAX_RECORDS:
        raise ForecastlabError(f"{len(records):,} records are more than the {MAX_RECORDS:,} a request may hold",
                               where=name, fix="send only the rows the forecast needs (GET /model says how many)")
    first = records[0]
    if not isinstance(first, dict) or not first:
        raise ForecastlabError("record 0 is not an object with columns", where=f"{name}, record 0",
                               fix="send each row as {column: value}")
    columns = list(first)
    if order:
        rank = {c: k for k, c in enumerate(order)}
        columns = [c for c in columns if c not in rank] + sorted((c for c in columns if c in rank), key=rank.get)
    keys = set(columns)
    for i, row in enumerate(records):
        if not isinstance(row, dict) or row.keys() != keys:
            what = f"a {type(row).__name__}, not an object" if not isinstance(row, dict) else \
                _other_keys(row, keys)
            raise ForecastlabError(f"record {i} {'is ' if not isinstance(row, dict) else ''}{what}",
                                   where=f"{name}, record {i}",
                                   fix=f"give every record the same columns: {columns}")
    frame = pd.DataFrame.from_records(records, columns=columns)
    for j, column in enumerate(columns):
        values = frame.iloc[:, j]
        if values.dtype in (object, bool):  # numbers, text and None only; the numeric columns are already float
            bad = next(((k, v) for k, v in enumerate(values)
                        if not (v is None or isinstance(v, str | int | float)) or isinstance(v, bool)), None)
            if bad is not None:
                raise ForecastlabError(f"record {bad[0]}'s {column!r} is a {type(bad[1]).__name__}, not a number or "
                                       "text", where=f"{name}, record {bad[0]}, column {column!r}",
                                       fix="send numbers, text or null")
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def _other_keys(row: dict, keys: set) -> str:
    missing, extra = sorted(map(str, keys - row.keys())), sorted(map(str, row.keys() - keys))
    parts = ([f"lacks {', '.join(map(repr, missing))}"] if missing else []) + \
        ([f"has {', '.join(map(repr, extra))}"] if extra else [])
    return "has other columns than record 0: it " + " and ".join(parts)


_LINE = re.compile(r"\bline (\d+)")


def _record_numbers(text: str | None) -> str | None:
    """Line numbers of the CSV made from JSON records as record numbers (line 2 of that CSV is record 0)."""
    return _LINE.sub(lambda m: f"record {int(m[1]) - 2}" if int(m[1]) >= 2 else "the records' keys",
                     text) if text else text


def _as_records(err: ForecastlabError) -> ForecastlabError:
    """An error the loader raised about the CSV made from JSON records, its places in record numbers."""
    return ForecastlabError(_record_numbers(err.what), where=_record_numbers(err.where), fix=_record_numbers(err.fix),
                            arg=err.arg)


def _check_source_columns(want: list[str], series) -> None:
    got = list(series.columns)
    if not want or got == want:
        return
    where = f"{series.provenance.path or 'the input'}, header"
    missing, extra = [c for c in want if c not in got], [c for c in got if c not in want]
    if missing:
        raise ForecastlabError(f"the input lacks the column(s) {', '.join(map(repr, missing))}", where=where,
                               fix=f"send the training columns, in this order: {', '.join(want)}")
    if extra:
        raise ForecastlabError(f"the input has column(s) the model was not trained on: {', '.join(map(repr, extra))}",
                               where=where, fix=f"send exactly the training columns, in this order: {', '.join(want)}")
    k = next(i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
    raise ForecastlabError(f"the input's columns are reordered: value column {k + 1} (after the time column) is "
                           f"{got[k]!r} where the model "
                           f"expects {want[k]!r}", where=where,
                           fix=f"send the columns in the training order: {', '.join(want)}")


def _calendar_grid(ts: np.ndarray, step: float):
    """The calendar offset (months, quarters, years) of an input whose rows lie on one, when the run's step
    is of that kind (28 to 31 days for months, up to 366 for years), else None: such a grid is regular by the
    calendar, not by a fixed number of seconds."""
    from forecastlab.data.quality import calendar_offset

    if not step or step < 27 * 86_400:
        return None
    offset = calendar_offset(ts)
    if offset is None:
        return None
    typical = pd.Timestamp("2001-01-01") + offset * 12
    per_step = (typical - pd.Timestamp("2001-01-01")).total_seconds() / 12  # the offset's mean length
    return offset if 0.85 < per_step / step < 1.15 else None


def _check_spacing(ts: np.ndarray, step: float, rows: int, where: str) -> None:
    ns = np.diff(ts.astype("datetime64[ns]").view(np.int64))
    bad = np.flatnonzero(ns != int(round(step * 1e9)))
    if len(bad):
        i = int(bad[0])
        gap = int(ns[i])
        what = (f"a gap of {duration_text(gap)}" if gap > int(round(step * 1e9))
                else f"a step of only {duration_text(gap)} (rows closer together than the model's)" if gap > 0
                else "a repeated timestamp" if gap == 0 else "time going backwards")
        raise ForecastlabError(
            f"need {rows} rows at {_step_text(step)} spacing ending at the forecast origin; the rows from "
            f"{pd.Timestamp(ts[i])} to {pd.Timestamp(ts[i + 1])} have {what}", where=where,
            fix=f"send {rows} consecutive rows, one every {_step_text(step)}, oldest first, without holes")


def _check_duplicates(series, where: str) -> None:
    """A repeated timestamp whose row differs from the first: the loader keeps the first row, which for a
    forecast would silently discard a reading (perhaps the newest one, at the origin)."""
    twice = ((series.quality or {}).get("time") or {}).get("conflicting_duplicates") or {}
    if twice.get("count"):
        more = f" ({twice['count']} such repeats in all)" if twice["count"] > 1 else ""
        raise ForecastlabError(
            f"the input holds two different rows for {twice['first']}{more}; a forecast reads one row per time "
            "and would have to drop one of them", where=where,
            fix="send each time once, with the reading you mean (identical repeated rows are allowed)")


def _check_last_rows(series, where: str) -> None:
    """The gap policy drops rows with a missing value it cannot bridge, at the end too: the series would
    then end before the input, and the forecast start from an earlier origin than the input's last row."""
    end = ((series.quality or {}).get("cleaning") or {}).get("dropped_at_end")
    if end:
        rows = (f"row at {end['from']} holds" if end["rows"] == 1
                else f"{end['rows']} rows from {end['from']} to {end['to']} hold")
        raise ForecastlabError(
            f"the input's last {rows} a missing value ({end['column']!r} is blank, NaN or a -9999 sentinel), "
            "and the forecast origin is the input's last row", where=end["where"],
            fix="send the rows up to the forecast origin with every value measured, or end the input at its last "
            "complete row; missing values are never filled in for a forecast")


def _check_missing(series, tail: slice, where: str, step: float | None = None) -> None:
    if not series.missing.size:
        return
    hit = np.argwhere(series.missing[tail])
    if len(hit):
        row, col = (int(v) for v in hit[0])
        stamp = pd.Timestamp(series.timestamps[tail][row])
        if series.missing[tail][row].all():  # a slot the grid policy made for a missing timestamp, or a blank row
            raise ForecastlabError(
                f"the forecast window lacks the row for {stamp}: there is no row for that time in the input, or "
                f"every value in it is blank, NaN or a -9999 sentinel ({len(hit)} missing cell(s) in the rows the "
                "forecast needs)", where=where,
                fix=f"send one row{f' every {duration_text(int(round(step * 1e9)))}' if step else ''} up to the "
                "forecast origin, each with every value measured; missing rows are never filled in for a forecast")
        raise ForecastlabError(
            f"the forecast window holds a missing value: {series.columns[col]!r} at {stamp} is blank, NaN or a "
            f"-9999 sentinel ({len(hit)} missing cell(s) in the rows the forecast needs)", where=where,
            fix="send the window's rows with every value measured; missing values are never filled in for a forecast")


# A reading this many training standard deviations from the training mean is no measurement the model has
# any knowledge of (1e30 in a temperature column): its forecast, and float32's rounding of it, mean nothing.
MAX_STANDARD_DEVIATIONS = 1000.0


def _check_range(normalizer, series, tail: slice, where: str) -> None:
    if normalizer is None or getattr(normalizer, "mean_", None) is None or normalizer.transforms:
        return
    values = np.asarray(series.values[tail], dtype=np.float64)
    mean, std = np.asarray(normalizer.mean_), np.asarray(normalizer.std_)
    if values.shape[1] != len(mean):
        return
    z = np.abs(values - mean) / std
    hit = np.argwhere(~(z <= MAX_STANDARD_DEVIATIONS))
    if len(hit):
        row, col = (int(v) for v in hit[0])
        stamp = pd.Timestamp(series.timestamps[tail][row])
        raise ForecastlabError(
            f"{series.columns[col]!r} at {stamp} is {values[row, col]:.6g}, {z[row, col]:.3g} training standard "
            f"deviations from the training mean ({mean[col]:.6g}): no reading the model knows anything about",
            where=where, fix=f"check that value and its units; values within {MAX_STANDARD_DEVIATIONS:,.0f} standard "
            f"deviations ({std[col]:.4g} each) of the training mean are forecast from")


def _cut(series, rows: slice):
    import dataclasses

    return dataclasses.replace(series, timestamps=series.timestamps[rows], values=series.values[rows],
                               missing=series.missing[rows] if series.missing.size else series.missing,
                               breaks=np.zeros(0, dtype=np.int64))


def _history_rows(run, step: float | None) -> int:
    """Rows of history before the window that the run's derived tendency columns look back over."""
    columns = (run.config.get("data") or {}).get("columns") or []
    hours = [int(m.group(1)) for c in columns if (m := _TENDENCY.match(str(c)))]
    if not hours or not step:
        return 0
    return int(np.ceil(max(hours) * 3600 / step))


def _step_text(step: float | None) -> str:
    if not step:
        return "its"
    text = duration_text(int(round(step * 1e9)))
    return text.replace("min", "-minute").replace("h", "-hour") if text[0].isdigit() else text


def _iso(value, utc: bool = False) -> str:
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if utc and stamp.tzinfo is None else stamp).isoformat()

