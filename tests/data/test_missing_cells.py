"""Series.missing: which cells the gap policy filled (blank, NaN, a -9999 sentinel, a slot made for a hole in
the time grid), aligned with the rows kept by every policy, carried through the derived columns, and
forgotten (not guessed) when a series is cut by hand. Forecasts from fresh data refuse a window with one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from forecastlab.data import load_series
from forecastlab.data.derived import add_features
from run_helpers import write_jena_csv


@pytest.fixture
def holed(tmp_path):
    path = write_jena_csv(tmp_path / "mini.csv", days=4)
    frame = pd.read_csv(path).astype({"rh (%)": object, "wd (deg)": object})
    frame.loc[10, "rh (%)"] = ""
    frame.loc[20, "wd (deg)"] = -9999
    frame.to_csv(path, index=False)
    return path


def test_blank_and_sentinel_cells_are_marked_where_they_were(holed):
    series = load_series(str(holed))
    assert series.missing.shape == series.values.shape
    assert sorted(map(tuple, np.argwhere(series.missing))) == [
        (10, series.columns.index("rh (%)")), (20, series.columns.index("wd (deg)"))]
    assert np.isfinite(series.values).all()  # filled by the gap policy, as always


def test_a_clean_file_marks_nothing(tmp_path):
    assert load_series(str(write_jena_csv(tmp_path / "clean.csv", days=2))).missing.size == 0


def test_drop_policy_keeps_the_mask_aligned(tmp_path):
    path = tmp_path / "plain.csv"  # not the Jena format: a regular grid, so rows can be dropped
    frame = pd.DataFrame({"time": pd.date_range("2020-01-01", periods=50, freq="h"), "a": np.arange(50.0),
                          "b": np.arange(50.0)})
    frame.loc[5, "a"] = np.nan
    frame.to_csv(path, index=False)
    dropped = load_series(str(path), gaps="drop", target="a")
    assert len(dropped) == 49 and dropped.missing.size == 0  # the row with the missing cell is gone
    filled = load_series(str(path), gaps="interpolate", target="a")
    assert np.argwhere(filled.missing).tolist() == [[5, 0]]


def test_derived_columns_inherit_their_sources_cells(holed):
    series = add_features(load_series(str(holed)), "weather")
    col = {c: i for i, c in enumerate(series.columns)}
    assert series.missing.shape == series.values.shape
    assert series.missing[20, col["wv x (m/s)"]] and series.missing[20, col["wv y (m/s)"]]  # from wd
    assert series.missing[10, col["rh (%)"]] and not series.missing[10, col["hour sin"]]


def test_a_series_cut_by_hand_forgets_rather_than_misplaces(holed):
    series = load_series(str(holed))
    cut = dataclasses.replace(series, timestamps=series.timestamps[5:], values=series.values[5:])
    assert cut.missing.size == 0


def test_a_blank_wind_direction_is_filled_the_short_way_round_the_circle(tmp_path):
    # Before: linear interpolation between 350 and 10 degrees gave 180 (a southerly wind in a northerly hour),
    # and the weather feature set then made reversed wind vectors of it.
    t = pd.date_range("2016-01-01", periods=48, freq="h")
    frame = pd.DataFrame({"time": t, "T (degC)": np.linspace(0, 5, 48), "wd (deg)": 350.0,
                          "Wind direction (deg)": 20.0, "load (deg)": 350.0})
    frame.loc[24:, ["wd (deg)", "load (deg)"]] = 10.0
    frame.loc[23, ["wd (deg)", "Wind direction (deg)", "load (deg)"]] = np.nan
    frame.loc[24, "Wind direction (deg)"] = 340.0
    frame.to_csv(tmp_path / "wind.csv", index=False)
    s = load_series(tmp_path / "wind.csv", target="T (degC)")
    assert s.column("wd (deg)")[23] == pytest.approx(360.0, abs=1e-3)  # halfway from 350 to 10, via north
    assert s.column("Wind direction (deg)")[23] == pytest.approx(360.0, abs=1e-3)  # 20 and 340: north too
    assert s.column("load (deg)")[23] == pytest.approx(180.0)  # not a wind direction: a straight line
    assert s.missing[23, s.columns.index("wd (deg)")]
