"""Holes in the time grid of a user's file, end to end: the loader's gap policy and the windows that
would straddle a hole, through the real CLI on files the tests write."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from forecastlab.data import load_series
from forecastlab.errors import DataQualityWarning, GapWindowsWarning, SyntheticDataWarning
from forecastlab.windows import WindowSpec, make_datasets_from_series
from jena_files import jena_like_csv

BOOK_LIKE = ["--target", "temp", "--sampling-rate", "1", "--sequence-length", "48", "--horizon", "24"]


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "forecastlab", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env=os.environ)


def hourly_csv(path, rows=8000, holes=((6100, 72),)):
    """An hourly `time,temp,pres` CSV whose grid misses `n` consecutive timestamps from each (row, n)."""
    t = pd.date_range("2020-01-01", periods=rows, freq="h")
    keep = np.ones(rows, dtype=bool)
    for start, n in holes:
        keep[start:start + n] = False
    x = np.arange(rows)
    frame = pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M:%S"), "temp": 10 + 5 * np.sin(x / 24),
                          "pres": 1000 + np.cos(x / 100)})
    frame[keep].to_csv(path, index=False)
    return path


def test_windows_never_straddle_a_long_hole_by_default_and_say_so(tmp_path):
    # 72 missing hours at row 4500: inside the val split (rows 3,964..5,945 of 7,928).
    hourly_csv(tmp_path / "hourly_hole.csv", holes=((4500, 72),))
    dropped = run_cli("baseline", "--data", "hourly_hole.csv", *BOOK_LIKE, "--json", cwd=tmp_path)
    assert dropped.returncode == 0, dropped.stderr
    gone = json.loads(dropped.stdout)["windows"]["dropped_crossing_gaps"]
    assert gone == {"val": 71, "test": 0}  # windows a..a+71 rows long; one hole between two rows
    assert "71 of 1,935 val windows straddle a hole in the time grid" in dropped.stderr
    assert "dropped" in dropped.stderr and "--keep-gap-windows" in dropped.stderr
    assert "72 missing timestamps" in dropped.stderr  # the loader's warning about the hole itself

    kept = run_cli("baseline", "--data", "hourly_hole.csv", *BOOK_LIKE, "--keep-gap-windows", "--json", cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["windows"]["dropped_crossing_gaps"] == {"val": 0, "test": 0}
    assert "71 of 1,935 val windows straddle" in kept.stderr and "kept" in kept.stderr


def test_gaps_error_fails_on_missing_timestamps_naming_the_hole(tmp_path):
    hourly_csv(tmp_path / "gap.csv", rows=3000, holes=((1000, 100),))
    inspect = ["data", "inspect", "gap.csv", "--target", "temp", "--no-plots"]
    for args in (["baseline", "--data", "gap.csv", *BOOK_LIKE], inspect):
        result = run_cli(*args, "--gaps", "error", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        err = result.stderr
        assert "100 timestamps are missing from the 1h time grid between 2020-02-11 15:00:00 and " \
               "2020-02-15 20:00:00" in err
        assert "gap.csv, line 1002" in err and "--gaps interpolate:N" in err and "Traceback" not in err


def test_interpolate_limit_fills_short_holes_onto_the_grid_and_leaves_long_ones(tmp_path):
    path = hourly_csv(tmp_path / "holes.csv", rows=500, holes=((100, 3), (300, 10)))
    with pytest.warns(DataQualityWarning, match="1 hole"):
        s = load_series(path, target="temp", gaps="interpolate:3")
    c = s.quality["cleaning"]
    assert (c["grid_holes"], c["grid_slots_filled"], c["grid_holes_left_count"]) == (2, 3, 1)
    assert len(s) == 490 and s.breaks.tolist() == [300]  # 3 rows put back; the 10-hour hole stays
    hours = (s.timestamps[:300] - s.timestamps[0]) // np.timedelta64(1, "h")
    assert hours.tolist() == list(range(300))  # the filled rows sit on the hourly grid
    x = np.arange(100, 103)
    np.testing.assert_allclose(s.column("temp")[100:103], 10 + 5 * np.sin(x / 24), atol=0.03)  # smooth: linear ~ true

    with pytest.warns(DataQualityWarning, match=r"2 hole\(s\) in the 1h time grid were not filled") as said:
        drop = load_series(path, target="temp", gaps="drop")
    assert drop.breaks.tolist() == [100, 297] and drop.quality["cleaning"]["grid_slots_filled"] == 0
    assert "gaps='drop'" in str(said[0].message) and "--" not in str(said[0].message)  # Python's spelling


def test_jena_format_keeps_gap_windows_as_the_book_does_and_says_so(tmp_path):
    path = jena_like_csv(tmp_path / "jena.csv", rows=3000, slots=3010)  # 10 single-row holes
    s = load_series(path)
    assert len(s.breaks) == 10 and s.quality["format"]["book_faithful"]
    spec = WindowSpec(sequence_length=10, sampling_rate=6, horizon=4)
    with pytest.warns(GapWindowsWarning, match="kept, as the book does") as said:
        book = make_datasets_from_series(s, spec)
    assert book.train.dropped_windows == 0 and "drop_gap_windows=True" in str(said[0].message)
    dropped = make_datasets_from_series(s, spec, drop_gap_windows=True)
    assert dropped.train.dropped_windows == book.gap_windows["train"]["straddling"] > 0


def test_too_short_series_names_the_file(tmp_path):
    hourly_csv(tmp_path / "short.csv", rows=50, holes=())
    result = run_cli("baseline", "--data", "short.csv", "--target", "temp", cwd=tmp_path)
    assert result.returncode == 2
    assert "Where: short.csv, 50 rows split 25/12/13" in result.stderr


def test_book_counts_are_exact_on_the_full_jena_format_file():
    with pytest.warns(SyntheticDataWarning):
        s = load_series("synthetic")  # the real grid: 3 multi-row holes and ~127 single missing rows
    with pytest.warns(GapWindowsWarning, match="kept, as the book does"):
        sets = make_datasets_from_series(s)
    assert len(s.breaks) > 100
    assert (sets.train.num_windows, sets.val.num_windows, sets.test.num_windows) == (209_511, 104_398, 103_542)
