"""Sensor-fault rules on real files: each rule fires where a fault was written, with its reason, and a
physically consistent clean file gives none; injected faults are written exactly where the truth says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecastlab.data import load_series
from forecastlab.data.faults import INJECTED, inject_faults, runs_of, sensor_faults
from forecastlab.errors import ForecastlabError
from tests_data_helpers import consistent_jena


@pytest.fixture()
def files(tmp_path):
    clean = consistent_jena(tmp_path / "clean.csv")
    faulty = clean.copy()
    faulty.loc[100:102, "wv (m/s)"] = -9999.0  # sentinel (wv's max. wv comparison skips these rows)
    faulty.loc[200:299, "T (degC)"] = 31.5  # stuck for 100 rows (16.7 h), above Tdew, at a value T never takes
    faulty.loc[500, "p (mbar)"] = faulty.loc[500, "p (mbar)"] + 40  # spike
    faulty.loc[700:701, "rh (%)"] = 104.0  # impossible humidity
    faulty.loc[900, "VPact (mbar)"] = faulty.loc[900, "VPmax (mbar)"] + 2  # VPact > VPmax
    faulty.loc[1100, "max. wv (m/s)"] = faulty.loc[1100, "wv (m/s)"] - 1  # max. wv < wv
    faulty["sh (g/kg)"] = faulty["sh (g/kg)"].astype(object)
    faulty.loc[1300:1301, "sh (g/kg)"] = ""  # blank cells: missing
    faulty.to_csv(tmp_path / "faulty.csv", index=False)
    return tmp_path / "clean.csv", tmp_path / "faulty.csv"


def test_each_rule_fires_where_its_fault_was_written_with_its_reason(files):
    clean, faulty = files
    assert sensor_faults(load_series(str(clean), clean=False)) == []  # a test that can fail: no false alarm
    events = sensor_faults(load_series(str(faulty), clean=False))
    got = {(e.kind, e.channel): (e.start, e.end, e.reason) for e in events}
    assert got[("sentinel", "wv (m/s)")][:2] == (100, 102) and "-9999" in got[("sentinel", "wv (m/s)")][2]
    assert got[("stuck", "T (degC)")][:2] == (200, 299) and "31.5 unchanged for 100 rows (16.7 h)" in \
        got[("stuck", "T (degC)")][2]
    assert got[("spike", "p (mbar)")][:2] == (500, 500) and "robust scales" in got[("spike", "p (mbar)")][2]
    assert got[("physics", "rh (%)")][:2] == (700, 701) and "above 100 %" in got[("physics", "rh (%)")][2]
    assert got[("physics", "VPact (mbar) vs VPmax (mbar)")][:2] == (900, 900)
    assert got[("physics", "max. wv (m/s) vs wv (m/s)")][:2] == (1100, 1100)
    assert got[("missing", "sh (g/kg)")][:2] == (1300, 1301)
    # Nothing else: every event is one of the written faults (the spike's neighbours are not flagged); the
    # humidity of 104 % and the vapour pressure 2 mbar up are jumps too, so they are also spikes.
    assert {(e.kind, e.channel, e.start) for e in events} == {
        ("sentinel", "wv (m/s)", 100), ("stuck", "T (degC)", 200), ("spike", "p (mbar)", 500),
        ("physics", "rh (%)", 700), ("spike", "rh (%)", 700), ("physics", "VPact (mbar) vs VPmax (mbar)", 900),
        ("spike", "VPact (mbar)", 900), ("physics", "max. wv (m/s) vs wv (m/s)", 1100),
        ("missing", "sh (g/kg)", 1300)}, [(e.kind, e.channel, e.start) for e in events]
    # Cleaned the default way, the sentinel is a missing cell, still flagged, with that reason.
    cleaned = sensor_faults(load_series(str(faulty)))
    assert any(e.kind == "missing" and e.channel == "wv (m/s)" and (e.start, e.end) == (100, 102) for e in cleaned)


def test_a_value_that_is_the_columns_most_common_may_hold(tmp_path):
    frame = consistent_jena(tmp_path / "calm.csv")
    frame.loc[::2, "wv (m/s)"] = 0.0  # calm is the mode of wv
    frame.loc[300:450, "wv (m/s)"] = 0.0  # a long calm
    frame["max. wv (m/s)"] = frame["wv (m/s)"] + 1.0
    frame.to_csv(tmp_path / "calm.csv", index=False)
    events = sensor_faults(load_series(str(tmp_path / "calm.csv"), clean=False))
    assert not [e for e in events if e.kind == "stuck"]


def test_injected_faults_are_written_exactly_where_the_truth_says_and_the_rules_find_them(tmp_path):
    consistent_jena(tmp_path / "clean.csv", days=50)
    series = load_series(str(tmp_path / "clean.csv"), clean=False)
    faulty, truth = inject_faults(series, seed=3, per_kind=3)
    assert sorted(e.kind for e in truth) == sorted(k for k in INJECTED for _ in range(3))
    j = series.columns.index(series.target)
    changed = ~np.isclose(faulty.values, series.values, equal_nan=False) | np.isnan(faulty.values)
    inside = np.zeros(len(series), dtype=bool)
    for e in truth:
        inside[e.start:e.end + 1] = True
        assert e.channel == series.target and e.reason.startswith(f"injected {e.kind}")
    assert not changed[:, [c for c in range(len(series.columns)) if c != j]].any()  # only the target
    rows = np.flatnonzero(changed[:, j])
    assert rows.size and set(rows) <= set(np.flatnonzero(inside)) | {e.end + 1 for e in truth} | \
        {e.start - 1 for e in truth}
    starts = sorted(e.start for e in truth)
    assert min(np.diff(starts)) >= 144  # a day apart at least
    assert faulty.missing[:, j].sum() == sum(e.end - e.start + 1 for e in truth if e.kind == "dropout")
    found = sensor_faults(faulty)
    for e in truth:
        if e.kind in ("sentinel", "dropout", "spike", "stuck"):
            assert any(f.channel == e.channel and f.start <= e.end and e.start <= f.end for f in found), e
    # Same seed, same faults; too many for the series is refused with what to do.
    assert [(e.start, e.kind) for e in inject_faults(series, seed=3, per_kind=3)[1]] == [(e.start, e.kind)
                                                                                       for e in truth]
    with pytest.raises(ForecastlabError, match="room for"):
        inject_faults(series, per_kind=50)
    with pytest.raises(ForecastlabError, match="choose kinds"):
        inject_faults(series, kinds=("flood",))


def test_runs_of_finds_every_run_inclusive():
    assert runs_of(np.array([0, 1, 1, 0, 1], dtype=bool)) == [(1, 2), (4, 4)]
    assert runs_of(np.zeros(3, dtype=bool)) == []
    assert runs_of(np.ones(2, dtype=bool)) == [(0, 1)]


def test_too_many_events_are_cut_with_a_warning_not_silently(files, monkeypatch):
    from forecastlab.data import faults
    from forecastlab.errors import DataQualityWarning

    monkeypatch.setattr(faults, "MAX_EVENTS", 3)
    with pytest.warns(DataQualityWarning, match="only the first 3 are kept"):
        events = sensor_faults(load_series(str(files[1]), clean=False))
    assert len(events) == 3


def test_a_mostly_zero_column_moving_is_not_a_spike_and_coarse_steps_still_get_whole_faults(tmp_path):
    frame = consistent_jena(tmp_path / "rain.csv")
    frame["sh (g/kg)"] = 0.0
    frame.loc[[200, 900, 1500], "sh (g/kg)"] = 0.1  # a rain-like column: mostly 0, now and then a little
    frame.to_csv(tmp_path / "rain.csv", index=False)
    events = sensor_faults(load_series(str(tmp_path / "rain.csv"), clean=False))
    assert not [e for e in events if e.channel == "sh (g/kg)"]
    daily = pd.DataFrame({"time": pd.date_range("2000-01-01", periods=2000, freq="D"),
                          "x": np.sin(np.arange(2000) / 30.0)})
    daily.to_csv(tmp_path / "daily.csv", index=False)
    series = load_series(str(tmp_path / "daily.csv"), clean=False)
    _, truth = inject_faults(series, seed=0, per_kind=2)
    assert all(e.end >= e.start for e in truth) and {e.kind for e in truth} == set(INJECTED)
    assert min(e.end - e.start + 1 for e in truth if e.kind in ("stuck", "drift")) >= 2


def _bearings(path, days=20) -> pd.DataFrame:
    """consistent_jena's file with the wind from the north (bearings on both sides of 0/360), then from the
    south (so its x component is negative), then the north again; two calms (speed 0, direction 0) from the
    south; and three true direction spikes, at rows 600 (175 among ~355), 1300 (20 among ~180) and 2500 (90
    among ~355)."""
    frame = consistent_jena(path, days=days)
    rng = np.random.default_rng(1)
    n = len(frame)
    base = np.where((np.arange(n) >= 1000) & (np.arange(n) < 2000), 180.0, 355.0)
    frame["wd (deg)"] = np.round((base + rng.normal(0, 3, n)) % 360, 1)
    frame.loc[[600, 1300, 2500], "wd (deg)"] = [175.0, 20.0, 90.0]
    frame.loc[[1200, 1500], ["wv (m/s)", "wd (deg)"]] = 0.0  # calm: TMY3 writes direction 0
    frame["max. wv (m/s)"] = frame["wv (m/s)"] + 1.0
    frame.to_csv(path, index=False)
    return frame


def test_wind_direction_spikes_are_turns_on_the_circle_and_a_calm_is_none(tmp_path):
    _bearings(tmp_path / "wind.csv")
    events = sensor_faults(load_series(str(tmp_path / "wind.csv"), clean=False))
    direction = [e for e in events if e.channel == "wd (deg)"]
    # Only the three true spikes: not the wraps past north (359 beside 2), not the calms (0 among ~180).
    assert [(e.kind, e.start, e.end) for e in direction] == [("spike", 600, 600), ("spike", 1300, 1300),
                                                             ("spike", 2500, 2500)], direction
    assert all("degrees on the circle" in e.reason for e in direction)


def test_the_public_records_wind_direction_is_judged_on_the_circle_without_its_calms():
    series = load_series("tmy3-sandpoint", clean=False)  # pvlib's file: direction 0 is calm or undefined
    wd = series.values[:, series.columns.index("Wind direction (deg)")].astype(np.float64)
    speed = series.values[:, series.columns.index("Wind speed (m/s)")]
    events = [e for e in sensor_faults(series) if e.channel == "Wind direction (deg)"]
    assert 0 < len(events) <= 30  # 239 before, when the bearing was a line and a calm a reading
    for e in events:
        assert e.kind == "spike", e
        for r in range(e.start, e.end + 1):
            assert wd[r] != 0 and speed[r] != 0, e
            around = [wd[k] for k in range(r - 3, r + 4)
                      if k != r and 0 <= k < len(wd) and wd[k] != 0 and speed[k] != 0]
            turn = [min(abs(wd[r] - a) % 360, 360 - abs(wd[r] - a) % 360) for a in around]
            assert len(around) >= 3 and np.median(turn) >= 90, (e, r, around)  # a turn of more than 90 degrees


def test_derived_columns_are_not_judged_and_a_vector_component_is_no_wind_speed(tmp_path):
    from forecastlab.data.derived import add_features

    _bearings(tmp_path / "wind.csv")
    raw = load_series(str(tmp_path / "wind.csv"), clean=False)
    derived = add_features(raw, "weather")
    added = derived.quality["features"]["added"]
    assert "wv x (m/s)" in added and "max. wv x (m/s)" in added and (derived.values[:, derived.columns.index(
        "wv x (m/s)")] < -1).sum() > 500  # from the south the x component is negative, as it should be
    events = sensor_faults(derived)
    assert not [e for e in events if any(c in added for c in e.channel.split(" vs "))], events
    assert not [e for e in events if e.kind == "physics"]
    from forecastlab.data.faults import own_columns

    assert own_columns(derived) == [c for c in derived.columns if c not in added] and own_columns(raw) == raw.columns
    # Asked to judge every column, a component is still no wind speed: no "wind speed < 0", no "max. wv < wv".
    every = sensor_faults(derived, columns=derived.columns)
    assert not [e for e in every if e.kind == "physics"], [e.reason for e in every if e.kind == "physics"][:3]
    with pytest.raises(ForecastlabError, match="no column 'wd' to check"):
        sensor_faults(derived, columns=["wd"])


def test_a_spike_is_judged_against_its_own_side_of_a_break(tmp_path):
    """nyc-jfk's pressure fell 8 mbar over 8 dropped hours, and the first reading after them was flagged as a
    spike against the readings before the hole. Neighbours across a break are hours away and are not used:
    here the reading after the hole has no judged neighbour on its side (the next three are blank)."""
    t = pd.date_range("2016-01-01", periods=400, freq="h")
    p = 1015.0 + 0.05 * np.sin(np.arange(400) / 5)
    p[200:] -= 8.0  # the level after the hole
    frame = pd.DataFrame({"time": t, "p (mbar)": p})
    frame.loc[201:203, "p (mbar)"] = np.nan  # blank readings: filled, marked missing, never neighbours
    holed = frame.drop(index=range(192, 200))  # 8 hours not written: a break before row 200's reading
    holed.to_csv(tmp_path / "holed.csv", index=False)
    series = load_series(tmp_path / "holed.csv", clean=False)
    assert len(series.breaks) == 1
    assert not [e for e in sensor_faults(series) if e.kind == "spike"]
    # The same readings with no hole between them: the step is a spike against the neighbours before it.
    holed.assign(time=pd.date_range("2016-01-01", periods=len(holed), freq="h")).to_csv(tmp_path / "joined.csv",
                                                                                      index=False)
    joined = load_series(tmp_path / "joined.csv", clean=False)
    assert len(joined.breaks) == 0 and [e for e in sensor_faults(joined) if e.kind == "spike"]
