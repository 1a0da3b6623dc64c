"""Every bad input gets one paragraph naming the file, the row or column, and the fix.

Each case is a real file written here; a few go through the real CLI in a subprocess too.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from forecastlab.data import Provenance, Series, load_series, require_min_rows
from forecastlab.errors import ForecastlabError
from jena_files import jena_like_csv

GOOD = "time,x,y\n2024-01-01 00:00,1,10\n2024-01-01 01:00,2,20\n2024-01-01 02:00,3,30\n"


def write(path, text: str | bytes):
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


def error_for(path, **kwargs) -> ForecastlabError:
    with pytest.raises(ForecastlabError) as err:
        load_series(path, **kwargs)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "Fix:" in message
    return err.value


def test_empty_and_blank_files(tmp_path):
    for name, text in (("empty.csv", ""), ("blank.csv", "\n\n  \n")):
        assert "the file is empty" in str(error_for(write(tmp_path / name, text)))


def test_header_only(tmp_path):
    assert "header but no data rows" in str(error_for(write(tmp_path / "h.csv", "time,x,y\n")))


def test_missing_target_column(tmp_path):
    err = error_for(write(tmp_path / "g.csv", GOOD), target="T (degC)")
    assert "'T (degC)' is not in the file" in err.what and "'x', 'y'" in err.fix and "header" in err.where


def test_non_numeric_cell_names_line_column_and_text(tmp_path):
    bad = GOOD.replace("2024-01-01 01:00,2,20", "2024-01-01 01:00,2,twenty")
    err = error_for(write(tmp_path / "n.csv", bad), target="x")
    assert "'twenty'" in err.what and err.where.endswith("line 3, column 'y'")


def test_decimal_comma_gets_a_hint(tmp_path):
    text = "date;v\n2024-01-01 00:00;1.5\n2024-01-01 01:00;2,5\n"
    err = error_for(write(tmp_path / "c.csv", text))
    assert "'2,5'" in err.what and "decimal commas" in err.what and "line 3" in err.where


def test_decimal_commas_throughout_a_semicolon_file_are_read_as_numbers(tmp_path):
    text = ('"Date Time";"p (mbar)";"T (degC)"\n01.01.2009 00:10:00;990,00;5,00\n'
            "01.01.2009 00:20:00;991,50;-5,25\n01.01.2009 00:30:00;992;\n01.01.2009 00:40:00;993,00;4,75\n")
    s = load_series(write(tmp_path / "eu.csv", text))
    assert s.columns == ["p (mbar)", "T (degC)"] and s.quality["format"]["decimal"] == ","
    assert s.column("p (mbar)").tolist() == [990.0, 991.5, 992.0, 993.0]
    assert s.targets.tolist() == [5.0, -5.25, -0.25, 4.75]  # the blank is interpolated


def test_decimal_commas_in_a_comma_file_get_the_hint_not_a_guess(tmp_path):
    # With ',' separators, "1,000" may be a thousands separator: not converted, but explained.
    text = 'time,p,T\n2024-01-01 00:00,"990,00","5,00"\n2024-01-01 01:00,"991,00","6,00"\n'
    err = error_for(write(tmp_path / "q.csv", text))
    assert "no numeric column" in err.what and "'990,00'" in err.what and "decimal commas" in err.what


def test_unparseable_timestamp_names_its_line(tmp_path):
    bad = GOOD.replace("2024-01-01 02:00", "yesterday")
    err = error_for(write(tmp_path / "t.csv", bad), target="x")
    assert "'yesterday'" in err.what and err.where.endswith("line 4, column 'time'")


def test_unparseable_jena_timestamp(tmp_path):
    path = jena_like_csv(tmp_path / "j.csv", rows=100, slots=100)
    lines = path.read_text().splitlines()
    lines[50] = "31.02.2009 25:00:00" + lines[50][19:]
    err = error_for(write(path, "\n".join(lines) + "\n"))
    assert "'31.02.2009 25:00:00'" in err.what and "line 51, column 'Date Time'" in err.where


def test_non_monotonic_timestamps_name_the_line(tmp_path):
    bad = "time,x\n2024-01-01 00:00,1\n2024-01-01 02:00,2\n2024-01-01 01:00,3\n"
    err = error_for(write(tmp_path / "m.csv", bad))
    assert "go backwards" in err.what and "line 4" in err.where and "sort" in err.fix


def test_series_shorter_than_one_window():
    import numpy as np

    series = Series(np.array(["2024-01-01"], dtype="datetime64[ns]"), np.zeros((1, 1), np.float32), ["x"], "x",
                    Provenance("file", path="short.csv"))
    require_min_rows(series, 1, "anything")
    with pytest.raises(ForecastlabError) as err:
        require_min_rows(series, 745, "one window of 120 steps x 6 plus a 24-step horizon")
    assert "has 1 rows" in err.value.what and "745" in err.value.what and err.value.where == "short.csv"
    assert "sequence_length=" in err.value.fix and "--" not in str(err.value)


def test_all_nan_column(tmp_path):
    text = "time,x,empty\n2024-01-01 00:00,1,\n2024-01-01 01:00,2,\n"
    err = error_for(write(tmp_path / "e.csv", text), target="x")
    assert "'empty' has no values" in err.what and "features=" in err.fix
    assert load_series(tmp_path / "e.csv", features=["x"]).columns == ["x"]


def test_ragged_delimited_file_is_an_error_not_one_column(tmp_path):
    text = "date;a;b\n2024-01-01 00:00;1;2\n2024-01-01 01:00;3\n2024-01-01 02:00;4;5\n"
    err = error_for(write(tmp_path / "r.csv", text))
    assert "single column" in err.what and "';'" in err.what


def test_ragged_line_in_comma_file_names_the_line(tmp_path):
    text = GOOD + "2024-01-01 03:00,4\n" + "2024-01-01 04:00,5,50\n"
    err = error_for(write(tmp_path / "r.csv", text), target="x")
    assert "line 5 has 2 fields but the header has 3" in err.what


def test_gzip_and_zip_are_read_transparently(tmp_path):
    plain = load_series(write(tmp_path / "p.csv", GOOD), target="x")
    gz = load_series(write(tmp_path / "data.csv", gzip.compress(GOOD.encode())), target="x")
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as zf:
        zf.writestr("inner.csv", GOOD)
    zipped = load_series(tmp_path / "z.zip", target="x")
    assert plain.targets.tolist() == gz.targets.tolist() == zipped.targets.tolist() == [1, 2, 3]
    assert gz.quality["format"]["compression"] == "gzip" and zipped.quality["format"]["compression"] == "zip"


def test_zip_with_several_files_and_truncated_archives(tmp_path):
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as zf:
        zf.writestr("a.csv", GOOD)
        zf.writestr("b.csv", GOOD)
    assert "holds 2 files" in error_for(tmp_path / "two.zip").what
    packed = gzip.compress(GOOD.encode() * 50)
    err = error_for(write(tmp_path / "cut.csv.gz", packed[: len(packed) // 2]))
    assert "truncated or corrupted" in err.what


def test_missing_path_and_binary_file(tmp_path):
    assert "does not exist" in error_for(tmp_path / "nope.csv").what
    assert "binary" in error_for(write(tmp_path / "b.csv", b"\x00\x01\x02garbage" * 10)).what


def run_cli(*args, cwd):
    # Wide stderr, as tests/run_helpers.cli gives: a message wrapped at 80 columns can split the path it names.
    env = dict(os.environ, COLUMNS="250")
    return subprocess.run([sys.executable, "-m", "forecastlab", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env=env)


@pytest.mark.parametrize(
    ("name", "text", "extra", "words"),
    [
        ("empty.csv", "", [], ["empty"]),
        ("target.csv", GOOD, ["--target", "T (degC)"], ["'T (degC)'", "not in the file"]),
        ("cell.csv", GOOD.replace(",20", ",n/a?"), ["--target", "x"], ["'n/a?'", "line 3", "column 'y'"]),
        ("order.csv", "time,x\n2024-01-02 00:00,1\n2024-01-01 00:00,2\n", [], ["backwards", "line 3"]),
    ],
)
def test_cli_exits_2_with_one_paragraph_and_no_traceback(tmp_path, name, text, extra, words):
    path = write(tmp_path / name, text)
    result = run_cli("data", "inspect", str(path), "--no-plots", *extra, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert all(w in result.stderr for w in words), result.stderr
    assert str(path) in result.stderr.replace("\n", "")


# -- hostile inputs (issue 8) ---------------------------------------------------------------------------


def zip_of_zeros(path, megabytes: int, name: str = "big.csv"):
    """A zip whose one member inflates to `megabytes` MiB (a header, then zeros), written streaming so the
    test holds one MiB at a time: a zip bomb in well under a second."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open(name, "w", force_zip64=True) as member:
            member.write(b"time,x\n")
            block = b"0" * (1 << 20)
            for _ in range(megabytes):
                member.write(block)
    return path


def gzip_of_zeros(path, megabytes: int):
    import zlib

    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # wbits 31: the gzip container
    with open(path, "wb") as f:
        f.write(packer.compress(b"time,x\n"))
        block = b"0" * (1 << 20)
        for _ in range(megabytes):
            f.write(packer.compress(block))
        f.write(packer.flush())
    return path


def timed_error(path, seconds: float = 5.0, **kwargs) -> ForecastlabError:
    """The one-paragraph error for `path`, raised within `seconds`; it need not name the file (an error
    about an option, e.g. --freq, names the option instead)."""
    import time

    start = time.perf_counter()
    with pytest.raises(ForecastlabError) as err:
        load_series(path, **kwargs)
    assert time.perf_counter() - start < seconds
    assert "\n" not in str(err.value) and "Fix:" in str(err.value)
    return err.value


def test_zip_bomb_is_refused_by_its_declared_size_before_inflating(tmp_path):
    err = timed_error(zip_of_zeros(tmp_path / "bomb.zip", 200), 1.0)
    assert "zip bomb" in err.what and "200.0 MiB" in err.what and "200:1" in err.what
    assert "decompress it yourself" in err.fix and "FORECASTLAB_MAX_COMPRESSION_RATIO=N (now 200)" in err.fix


def test_the_zip_bomb_ratio_can_be_raised(tmp_path, monkeypatch):
    from forecastlab.data.readers import RATIO_ENV

    monkeypatch.setenv(RATIO_ENV, "100000")
    # inflated in full, then found to be no CSV: 1-2 s alone, 7 s seen on a 2-core machine under 4 jobs
    err = timed_error(zip_of_zeros(tmp_path / "zeros.zip", 70), 15.0)
    assert "zip bomb" not in err.what


def test_gzip_bomb_stops_inflating_at_the_ratio_bound(tmp_path):
    err = timed_error(gzip_of_zeros(tmp_path / "bomb.csv.gz", 200), 1.0)
    assert "gzip file inflates to over 6" in err.what and "zip bomb" in err.what  # stopped near 64 MiB


def test_input_size_limit_is_documented_overridable_and_covers_plain_files(tmp_path, monkeypatch):
    from forecastlab.data.readers import MAX_INPUT_ENV

    monkeypatch.setenv(MAX_INPUT_ENV, str(1 << 20))
    err = timed_error(zip_of_zeros(tmp_path / "two.zip", 2), 1.0)  # 2 MiB: under the ratio floor
    assert "inflates to more than the 1.0 MiB input limit" in err.what and f"{MAX_INPUT_ENV}=BYTES" in err.fix
    err = timed_error(gzip_of_zeros(tmp_path / "two.gz", 2), 1.0)
    assert "inflates to more than the 1.0 MiB input limit" in err.what
    plain = write(tmp_path / "plain.csv", GOOD + "2024-01-01 03:00,4,40\n" * 60_000)
    err = timed_error(plain, 1.0)
    assert "more than the 1.0 MiB input limit" in err.what and "(now 1048576)" in err.fix
    monkeypatch.setenv(MAX_INPUT_ENV, "lots")
    assert MAX_INPUT_ENV in timed_error(write(tmp_path / "g.csv", GOOD)).what


def test_zero_and_tiny_freq_are_refused_before_resampling(tmp_path):
    path = write(tmp_path / "g.csv", GOOD)
    for freq in ("0min", "-1h"):
        err = timed_error(path, 1.0, target="x", freq=freq)
        assert "not a positive time step" in err.what and err.where == "freq" and err.arg == "freq"
    err = timed_error(path, 1.0, target="x", freq="1ns")
    assert "7,200,000,000,002 rows" in err.what and "limit of 10,000,000" in err.what and err.where == "freq"
    assert load_series(path, target="x", freq="30min").targets.tolist() == [1, 1.5, 2, 2.5, 3]


def test_a_20_mb_cell_gives_a_series_or_an_error_naming_its_line(tmp_path):
    huge = "9" * 20_000_000
    err = error_for(write(tmp_path / "n.csv", GOOD.replace(",20", "," + huge)), target="x")
    assert "(20,000,000 characters)" in err.what and err.where.endswith("line 3, column 'y'") and len(str(err)) < 500
    text = "time,x,note\n2024-01-01 00:00,1,a\n2024-01-01 01:00,2," + "z" * 20_000_000 + "\n2024-01-01 02:00,3,b\n"
    assert load_series(write(tmp_path / "t.csv", text)).targets.tolist() == [1, 2, 3]
    ragged = GOOD + "2024-01-01 03:00," + "7" * 300_000 + "\n"
    assert "line 5 has 2 fields" in error_for(write(tmp_path / "r.csv", ragged)).what


def test_values_beyond_float32_and_infinities_name_line_and_column(tmp_path):
    err = error_for(write(tmp_path / "big.csv", GOOD.replace(",20", ",1e300")), target="x")
    assert "1e+300 does not fit float32" in err.what and err.where.endswith("line 3, column 'y'")
    # an inf in the last (test-split) row used to surface only as "test MAE nan"
    err = error_for(write(tmp_path / "inf.csv", GOOD.replace(",30", ",-inf")), target="x")
    assert "-infinity" in err.what and err.where.endswith("line 4, column 'y'")
    s = load_series(write(tmp_path / "ok.csv", GOOD.replace(",20", ",3e38")), target="x")
    assert np.isfinite(s.values).all()


def test_utf16_and_utf32_files_are_read(tmp_path):
    for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"):
        s = load_series(write(tmp_path / f"{codec}.csv", GOOD.encode(codec)), target="x")
        assert s.targets.tolist() == [1, 2, 3] and s.columns == ["x", "y"], codec
        assert s.quality["format"]["encoding"] == ("utf-8" if codec == "utf-8-sig" else codec)
    cut = GOOD.encode("utf-16")[:-1]  # an odd byte count: cut off mid-character
    assert "UTF-16" in error_for(write(tmp_path / "cut.csv", cut)).what


def test_mixed_time_zone_awareness_names_a_line_of_each_kind(tmp_path):
    text = "time,x\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n2024-01-01T02:00Z,3\n"
    err = error_for(write(tmp_path / "z.csv", text))
    assert "mixes timestamps with a time zone ('2024-01-01T02:00Z', line 4)" in err.what
    assert "without one ('2024-01-01 00:00', line 2)" in err.what
    aware = "time,x\n2024-01-01T00:00+01:00,1\n2024-01-01T00:00Z,2\n"  # all aware: converted to UTC
    assert load_series(write(tmp_path / "a.csv", aware)).timestamps.astype(str).tolist() == [
        "2023-12-31T23:00:00.000000000", "2024-01-01T00:00:00.000000000"]


def test_a_timestamp_in_another_format_is_said_to_be_one(tmp_path):
    text = "time,x\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n01/02/2024 02:00,3\n"
    err = error_for(write(tmp_path / "f.csv", text))
    assert "in another format than the column's first one, '2024-01-01 00:00' (line 2)" in err.what
    assert err.where.endswith("line 4, column 'time'")


def test_timestamps_beyond_nanosecond_range_are_refused_not_wrapped(tmp_path):
    err = error_for(write(tmp_path / "y.csv", GOOD.replace("2024", "3000")), target="x")
    assert "'3000-01-01 00:00:00' is outside the years 1678 to 2261" in err.what and "line 2" in err.where


def test_space_separated_files_are_read(tmp_path):
    text = "time   x  y\n2024-01-01T00:00  1 10\n2024-01-01T01:00 2   20\n2024-01-01T02:00 3 30\n"
    s = load_series(write(tmp_path / "s.txt", text), target="x")
    assert s.columns == ["x", "y"] and s.targets.tolist() == [1, 2, 3] and s.quality["format"]["delimiter"] == " "
    # a date and a time as two space-separated fields under one header name
    s = load_series(write(tmp_path / "d.txt", GOOD.replace(",", " ")), target="x")
    assert s.targets.tolist() == [1, 2, 3] and str(s.timestamps[1]) == "2024-01-01T01:00:00.000000000"
    ragged = "time x y\n2024-01-01T00:00 1 10\n2024-01-01T01:00 2\n2024-01-01T02:00 3 30 4\n"
    err = error_for(write(tmp_path / "r.txt", ragged))
    assert "looks separated by spaces" in err.what


def test_duplicate_header_names_and_features_are_refused(tmp_path):
    err = error_for(write(tmp_path / "h.csv", "time,x,y,x\n2024-01-01 00:00,1,2,3\n"))
    assert "two columns 'x' (fields 2 and 4)" in err.what and err.where.endswith("line 1")
    err = timed_error(write(tmp_path / "g.csv", GOOD), features=["x", "y", "x"])
    assert "features lists 'x' twice" in err.what and err.where == "features"


def test_utf16_file_was_called_binary_and_now_loads(tmp_path):
    # The probe's file: a spreadsheet's "Unicode text" export (UTF-16 with BOM, tab-separated).
    text = "time\tx\n2024-01-01 00:00\t1\n2024-01-01 01:00\t2\n"
    assert load_series(write(tmp_path / "u.txt", text.encode("utf-16"))).targets.tolist() == [1, 2]


@pytest.mark.parametrize(
    ("name", "make", "extra", "words"),
    [
        ("bomb.zip", lambda p: zip_of_zeros(p, 100), [], ["zip bomb", "200:1"]),
        ("freq.csv", lambda p: write(p, GOOD), ["--target", "x", "--freq", "0min"], ["--freq", "positive"]),
        ("big.csv", lambda p: write(p, GOOD.replace(",20", ",1e300")), ["--target", "x"],
         ["float32", "line 3", "column 'y'"]),
        ("dup.csv", lambda p: write(p, GOOD), ["--features", "x,y,x"], ["twice"]),
    ],
)
def test_cli_hostile_inputs_exit_2_without_traceback(tmp_path, name, make, extra, words):
    path = make(tmp_path / name)
    result = run_cli("data", "inspect", str(path), "--no-plots", *extra, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert all(w in result.stderr.replace("\n", " ") for w in words), result.stderr


def test_a_short_line_in_a_latin1_file_is_named_not_padded(tmp_path):
    # Latin-1 files went through pandas' C engine, which filled the missing field with NaN without a word.
    text = "time,temp\xe9,y\n2024-01-01 00:00,1,2\n2024-01-01 01:00,3\n2024-01-01 02:00,4,5\n".encode("latin-1")
    err = error_for(write(tmp_path / "l.csv", text), target="y")
    assert "line 3 has 2 fields but the header has 3" in err.what
    s = load_series(write(tmp_path / "ok.csv", "time,temp\xe9\n2024-01-01 00:00,1\n".encode("latin-1")))
    assert s.columns == ["temp\xe9"] and s.quality["format"]["encoding"] == "latin-1"


def test_a_mostly_missing_column_is_left_out_of_the_default_features_with_one_warning(tmp_path):
    import numpy as np
    import pandas as pd

    from forecastlab.errors import DataQualityWarning

    rows = 500
    t = np.arange(rows, dtype=float)
    sparse = np.where(t % 10 == 0, t, np.nan)  # 90% missing
    frame = pd.DataFrame({"time": pd.date_range("2024-01-01", periods=rows, freq="h").astype(str),
                          "T": np.sin(t / 24), "p": 1000 + t % 7, "snow": sparse})
    frame.to_csv(tmp_path / "hourly.csv", index=False)
    with pytest.warns(DataQualityWarning, match=r"'snow' \(90% missing\).*features='T,p,snow'"):
        series = load_series(tmp_path / "hourly.csv", target="T", gaps="drop")
    assert series.columns == ["T", "p"] and len(series) == rows  # no row lost to the sparse column
    kept = load_series(tmp_path / "hourly.csv", target="T", features=["T", "p", "snow"], gaps="drop")
    assert kept.columns == ["T", "p", "snow"] and len(kept) == 50


def test_a_repeated_daylight_saving_hour_is_named_and_sorting_is_not_advised(tmp_path):
    import pandas as pd

    from forecastlab.data import load_series

    first = pd.date_range("2023-10-29 00:00", periods=12, freq="15min")  # local times, no offset: 02:00-02:45
    again = pd.date_range("2023-10-29 02:00", periods=12, freq="15min")  # ... and the same hour once more
    stamps = list(first.strftime("%Y-%m-%d %H:%M")) + list(again.strftime("%Y-%m-%d %H:%M"))
    pd.DataFrame({"time": stamps, "kw": np.arange(24.0)}).to_csv(tmp_path / "dst.csv", index=False)
    with pytest.raises(ForecastlabError) as err:
        load_series(tmp_path / "dst.csv")
    assert "hour repeated when daylight saving time ends" in err.value.what
    assert "UTC offset" in err.value.fix and "sort the file" not in err.value.fix


def test_a_comment_line_is_named_as_one(tmp_path):
    from forecastlab.data import load_series

    rows = "".join(f"2023-01-01 {h:02d}:00,{h},{h}\n" for h in range(20))
    (tmp_path / "c.csv").write_text("time,a,b\n" + rows + "# exported by logger v2\n")
    with pytest.raises(ForecastlabError, match="line 22 has 1 fields but the header has 3 .it starts with '#'"):
        load_series(tmp_path / "c.csv")
