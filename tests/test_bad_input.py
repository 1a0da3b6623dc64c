"""Every bad input gets one paragraph naming the file, the row or column, and the fix.

Each case is a real file written here; a few go through the real CLI in a subprocess too.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import zipfile

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
    assert "--sequence-length" in err.value.fix


def test_all_nan_column(tmp_path):
    text = "time,x,empty\n2024-01-01 00:00,1,\n2024-01-01 01:00,2,\n"
    err = error_for(write(tmp_path / "e.csv", text), target="x")
    assert "'empty' has no values" in err.what and "--features" in err.fix
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
    return subprocess.run([sys.executable, "-m", "forecastlab", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


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
