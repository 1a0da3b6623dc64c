"""Property tests of the loader: random CSV files, each loaded from a real file by `load_series`.

Every example must end in a valid Series (finite float32 values, datetime64[ns] timestamps, one per
row, the target among the columns) or in a ForecastlabError of one paragraph with a fix; never another
exception, and never more than a few seconds. The files vary what hostile or careless users vary:
columns and their names, cell types, timestamps (formats, time zones, order, duplicates), missing cells,
-9999 sentinels, inf and huge values, encodings, delimiters, gzip/zip wrapping and truncation.

Examples are derandomized (the same every run, so CI failures reproduce): 300 in all, about 5 s.
FORECASTLAB_FUZZ_PROFILE=thorough runs ten times more, with fresh random examples each run.
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecastlab.data import load_series
from forecastlab.data.jena_schema import JENA_COLUMNS
from forecastlab.errors import ForecastlabError

# Profiles for this file only (applied per test, not loaded globally, so other Hypothesis tests keep theirs).
settings.register_profile("fuzz-ci", derandomize=True, database=None, deadline=5_000, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("fuzz-thorough", parent=settings.get_profile("fuzz-ci"), derandomize=False)
PROFILE = "fuzz-" + os.environ.get("FORECASTLAB_FUZZ_PROFILE", "ci")
FUZZ = settings.get_profile(PROFILE)
SCALE = 10 if PROFILE == "fuzz-thorough" else 1

EXAMPLES = {"generic": 170, "jena": 50, "mangled": 80}  # x SCALE; 300 in all by default
SECONDS_PER_EXAMPLE = 5.0

TIME_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%d.%m.%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%Y-%m-%d",
                "%Y%m%d%H%M", "epoch"]
TEXT = st.characters(codec="utf-8", exclude_characters="\x00")  # any text: quotes, delimiters, line breaks
PLAIN = st.characters(categories=["L", "Nd"])  # letters and digits: a station name, a code
ZONES = ["", "", "", "Z", "+01:00", "-0500", " UTC"]
NAMES = ["x", "y", "load", "T (degC)", "p (mbar)", "wert ä", " x", "a;b", 'q"uote', "x.1", "日本", ""]
BENIGN_CELLS = ["", "nan", "NaN", "-9999", "-9999.0", "  7 ", "-0", "1e-320", "3.4e38"]
HOSTILE_CELLS = ["inf", "-inf", "1e300", "-1e39", "abc", "1,5", "0x10", "99999999999999999999999", "N/A", "null"]


def cell(draw, kind: str, hostile: bool) -> str:
    if kind == "float":
        value = draw(st.floats(-1e6, 1e6, allow_nan=False))
        return repr(round(value, draw(st.integers(0, 4))))
    if kind == "int":
        return str(draw(st.integers(-10**6, 10**6)))
    if kind == "special":
        return draw(st.sampled_from(HOSTILE_CELLS if hostile else BENIGN_CELLS))
    return draw(st.text(alphabet=TEXT if hostile else PLAIN, max_size=6))


def column(draw, kind: str, rows: int, hostile: bool) -> list[str]:
    """`rows` cells of `kind`; a third of columns get some missing/sentinel cells; in a `hostile` file, a
    column may get any text (quotes, delimiters, line breaks) or one hostile cell (inf, 1e300, 'abc')."""
    wild = hostile and draw(st.integers(0, 4)) == 0
    cells = [cell(draw, kind, wild) for _ in range(rows)]
    if rows and kind in ("float", "int") and draw(st.integers(0, 2)) == 0:
        for r in draw(st.lists(st.integers(0, rows - 1), max_size=max(1, rows // 3))):
            cells[r] = cell(draw, "special", False)
    if rows and hostile and draw(st.integers(0, 2)) == 0:
        cells[draw(st.integers(0, rows - 1))] = cell(draw, "special", True)
    return cells


def stamps(draw, rows: int) -> list[str]:
    fmt = pick(draw, TIME_FORMATS[0], *TIME_FORMATS[1:])
    zone = draw(st.sampled_from(ZONES))
    mixed = draw(st.integers(0, 19)) == 0  # a few files mix zones, or aware and naive stamps
    step = draw(st.sampled_from([60, 600, 3600, 86400]))
    start = np.datetime64("2020-01-01T00:00") + np.timedelta64(draw(st.integers(0, 10**6)), "m")
    offsets = list(range(rows))
    order = draw(st.sampled_from(["sorted"] * 4 + ["shuffled", "reversed", "duplicated", "holes"]))
    if order == "shuffled":
        offsets = draw(st.permutations(offsets))
    elif order == "reversed":
        offsets = offsets[::-1]
    elif order == "duplicated" and rows > 1:
        offsets = sorted(offsets[:-1] + [draw(st.sampled_from(offsets[:-1]))])
    elif order == "holes":
        offsets = sorted(draw(st.sets(st.integers(0, 3 * rows), min_size=rows, max_size=rows))) if rows else []
    out = []
    for k in offsets:
        t = (start + np.timedelta64(k * step, "s")).astype("datetime64[s]").item()
        text = str(int(t.timestamp())) if fmt == "epoch" else t.strftime(fmt)
        out.append(text + (draw(st.sampled_from(ZONES)) if mixed else zone))
    return out


def pick(draw, usual, *rare):
    """`usual` about four times in five, else one of `rare`."""
    return usual if not rare or draw(st.integers(0, 9)) < 8 else draw(st.sampled_from(rare))


@st.composite
def generic_files(draw) -> tuple[bytes, dict]:
    """(file bytes, load_series options) for a random table with a time column."""
    rows = draw(st.integers(1, 30))
    kinds = draw(st.lists(st.sampled_from(["float", "float", "float", "int", "text"]), min_size=1, max_size=4))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=len(kinds), max_size=len(kinds), unique=True))
    if len(names) > 1 and draw(st.integers(0, 29)) == 0:
        names[-1] = names[0]  # a duplicated header name
    time_name = draw(st.sampled_from(["time", "date", "Date Time", "when", "stamp"]))
    hostile = draw(st.integers(0, 9)) < 3
    columns = [stamps(draw, rows), *(column(draw, kind, rows, hostile) for kind in kinds)]
    body = [list(line) for line in zip(*columns, strict=True)]
    delimiter = pick(draw, ",", ";", "\t", "|", " ")
    text = render([time_name, *names], body, delimiter, quote=draw(st.booleans()),
                  newline=pick(draw, "\n", "\r\n", "\r"))
    numeric = [n for n, k in zip(names, kinds, strict=True) if k != "text"] or names
    options = {
        "target": pick(draw, numeric[0], None, names[-1], "missing"),
        "features": pick(draw, None, numeric, names[:1], [*names, names[0]]),
        "freq": pick(draw, None, "1h", "10min", "0min", "1ns", "-1h", "bogus", "1D"),
        "gaps": pick(draw, "interpolate", "interpolate:2", "drop", "error"),
        "clean": pick(draw, True, False),
    }
    return wrap(draw, encode(draw, text)), options


@st.composite
def jena_files(draw) -> tuple[bytes, dict]:
    """A Jena-format file (its exact header, so kept row for row): random rows, order and cells."""
    rows = draw(st.integers(1, 25))
    base = np.datetime64("2009-01-01T00:10")
    offsets = sorted(draw(st.lists(st.integers(0, 60), min_size=rows, max_size=rows)))
    if draw(st.integers(0, 3)) == 0:
        offsets = draw(st.permutations(offsets))
    times = [(base + np.timedelta64(10 * k, "m")).astype("datetime64[s]").item().strftime("%d.%m.%Y %H:%M:%S")
             for k in offsets]
    hostile = draw(st.integers(0, 9)) < 3
    columns = [times, *(column(draw, "float", rows, hostile and draw(st.integers(0, 4)) == 0)
                        for _ in JENA_COLUMNS[1:])]
    text = render(list(JENA_COLUMNS), [list(line) for line in zip(*columns, strict=True)], ",", quote=False)
    text = text.replace(JENA_COLUMNS[1], f'"{JENA_COLUMNS[1]}"', 1) if draw(st.booleans()) else text
    options = {"freq": pick(draw, None, "1h"), "gaps": pick(draw, "interpolate", "drop", "error")}
    return wrap(draw, encode(draw, text)), options


@st.composite
def mangled_files(draw) -> tuple[bytes, dict]:
    """A small valid CSV with random bytes overwritten, inserted or deleted."""
    data = bytearray(b"time,x,y\n2024-01-01 00:00,1,10\n2024-01-01 01:00,2,20\n2024-01-01 02:00,3,30\n"
                     b"2024-01-01 03:00,4,40\n")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["set", "insert", "delete"]))
        byte = draw(st.integers(0, 255))
        if op == "insert":
            data.insert(at, byte)
        elif at < len(data):
            if op == "set":
                data[at] = byte
            else:
                del data[at]
    return wrap(draw, bytes(data)), {"target": pick(draw, "x", None)}


def render(header: list[str], body: list[list[str]], delimiter: str, *, quote: bool, newline: str = "\n") -> str:
    def field(text: str) -> str:
        return f'"{text}"' if quote and '"' not in text else text

    return "".join(delimiter.join(field(c) for c in line) + newline for line in [header, *body])


def encode(draw, text: str) -> bytes:
    codec = pick(draw, "utf-8", "utf-8-sig", "latin-1", "utf-16", "utf-16-le", "utf-16-be", "utf-32")
    return text.encode(codec, "replace")


def wrap(draw, data: bytes) -> bytes:
    how = pick(draw, "plain", "gzip", "zip")
    if how == "gzip":
        data = gzip.compress(data)
    elif how == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("data.csv", data)
        data = buf.getvalue()
    if len(data) > 1 and draw(st.integers(0, 7)) == 0:  # truncated at a random byte
        # a percentage: Hypothesis draws small numbers from a wide range far more often than large ones
        data = data[: max(1, len(data) * draw(st.integers(1, 99)) // 100)]
    return data


def check(data: bytes, options: dict) -> None:
    """Load `data` from a real file: a valid Series or a one-paragraph ForecastlabError, in time."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        path.write_bytes(data)
        start = time.perf_counter()
        try:
            series = load_series(path, **options)
        except ForecastlabError as err:
            message = str(err)
            assert "\n" not in message and "Fix:" in message, message
            return
        finally:
            assert time.perf_counter() - start < SECONDS_PER_EXAMPLE
    assert series.values.dtype == np.float32 and series.values.ndim == 2
    assert np.isfinite(series.values).all()
    assert series.timestamps.dtype == np.dtype("datetime64[ns]")
    assert len(series.values) == len(series.timestamps) > 0
    assert series.target in series.columns and len(series.columns) == series.values.shape[1]
    if not series.quality["format"]["book_faithful"]:
        assert (np.diff(series.timestamps.view(np.int64)) > 0).all()
    assert ((series.breaks > 0) & (series.breaks < len(series))).all()


@settings(FUZZ, max_examples=EXAMPLES["generic"] * SCALE)
@given(generic_files())
def test_random_csv_files_load_or_fail_cleanly(example):
    check(*example)


@settings(FUZZ, max_examples=EXAMPLES["jena"] * SCALE)
@given(jena_files())
def test_random_jena_format_files_load_or_fail_cleanly(example):
    check(*example)


@settings(FUZZ, max_examples=EXAMPLES["mangled"] * SCALE)
@given(mangled_files())
def test_mangled_bytes_load_or_fail_cleanly(example):
    check(*example)


# -- plain regressions: the minimal file of each bug the properties found ----------------------------------


def write(tmp_path, data: bytes | str) -> Path:
    path = tmp_path / "data.csv"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_regression_a_column_of_only_sentinels_is_named_not_a_numpy_error(tmp_path):
    # np.interp raised "array of sample points is empty" under --gaps interpolate
    path = write(tmp_path, "time,x,y\n2024-01-01 00:00,1,-9999\n2024-01-01 01:00,2,-9999\n")
    for gaps in ("interpolate", "drop", "error"):
        try:
            load_series(path, target="x", gaps=gaps)
        except ForecastlabError as err:
            assert "column 'y' has no values once its -9999 readings count as missing" in err.what
            assert err.where.endswith("column 'y'") and "clean=False" in err.fix
        else:
            raise AssertionError("no error")
    assert load_series(path, target="x", clean=False).column("y").tolist() == [-9999, -9999]


def test_regression_a_date_only_column_loads(tmp_path):
    # pyarrow's engine gives datetime.date objects, which the time-zone check did not expect (ArrowTypeError)
    series = load_series(write(tmp_path, "date,x\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n"))
    assert series.targets.tolist() == [1, 2, 3] and series.quality["time"]["frequency_seconds"] == 86_400


def test_regression_a_lone_header_without_newline_is_a_header_without_rows(tmp_path):
    # was "the CSV cannot be parsed (No columns to parse from file)"
    try:
        load_series(write(tmp_path, "time,x"))
    except ForecastlabError as err:
        assert "header but no data rows" in err.what
    else:
        raise AssertionError("no error")


def test_regression_carriage_return_line_endings(tmp_path):
    for newline in ("\r\n", "\r"):
        text = newline.join(["time,x", "2024-01-01 00:00,1", "2024-01-01 01:00,2"]) + newline
        assert load_series(write(tmp_path, text)).targets.tolist() == [1, 2]
