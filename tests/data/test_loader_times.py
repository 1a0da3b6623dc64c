"""How times are read from real files: a naive local clock's spring-forward hour is named as a daylight-saving
shift (not filled in silently), and Unix time (whole seconds or milliseconds since 1970) is read as UTC with
the unit said, while whole numbers that are no Unix time, or not in a time column, are never taken for one."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from forecastlab.data import load_series
from forecastlab.errors import DataQualityWarning, ForecastlabError
from run_helpers import cli


def _local_csv(path, start, end, freq, skip=None, extra=None):
    """A naive local-time CSV ('time', 'kw', 'temp') on a `freq` grid, the rows in [skip) left out."""
    t = pd.date_range(start, end, freq=freq)
    if skip is not None:
        t = t[~((t >= skip[0]) & (t < skip[1]))]
    n = np.arange(len(t))
    frame = pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M:%S"), "kw": np.sin(n / 9.0).round(4),
                          "temp": (10 + np.cos(n / 30.0)).round(3)} | (extra or {}))
    frame.to_csv(path, index=False)
    return path


def _dst_warnings(record) -> list[str]:
    return [str(w.message) for w in record if "daylight-saving" in str(w.message)]


@pytest.mark.parametrize("freq, missing", [("10min", 6), ("1h", 1)])
def test_a_naive_spring_forward_hour_is_named_as_a_daylight_saving_shift(tmp_path, freq, missing):
    """Berlin local times without offsets skip 02:00-03:00 on 2016-03-27: the hour was interpolated silently."""
    path = _local_csv(tmp_path / "berlin.csv", "2016-03-25", "2016-03-29", freq,
                      skip=("2016-03-27 02:00", "2016-03-27 03:00"))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        series = load_series(path, target="kw")
    found = _dst_warnings(record)
    assert len(found) == 1, [str(w.message) for w in record]
    text = found[0]
    assert "looks like a daylight-saving shift: the clock skipped 02:00-03:00 on 2016-03-27" in text
    assert "Europe/Berlin" in text and "written without their UTC offset" in text
    assert "give the times in UTC or with their UTC offset" in text
    assert "+01:00, then 2016-03-27T03:00:00+02:00" in text  # the offsets before and after, as an example
    assert f"{'its missing timestamp was' if missing == 1 else f'its {missing} missing timestamps were'} filled in" \
        in text and "never happened" in text
    assert "berlin.csv, line" in text and "column 'time'" in text
    holes = series.quality["cleaning"]["daylight_saving_holes"]  # in the data report too (data inspect --json)
    assert series.quality["cleaning"]["daylight_saving_hole_count"] == 1
    assert holes[0]["skipped"] == "02:00-03:00" and holes[0]["date"] == "2016-03-27"
    assert holes[0]["zones"] == ["Europe/Berlin"] and holes[0]["offsets"] == ["+01:00", "+02:00"]
    assert series.quality["cleaning"]["grid_slots_filled"] == missing  # filled, as before, but now said


def test_a_us_spring_forward_hour_is_named_with_american_zones(tmp_path):
    path = _local_csv(tmp_path / "ny.csv", "2016-03-12", "2016-03-15", "1h", skip=("2016-03-13 02:00",
                                                                                   "2016-03-13 03:00"))
    with pytest.warns(DataQualityWarning, match=r"the clock skipped 02:00-03:00 on 2016-03-13 \(as clocks did then "
                      r"in America/New_York, America/Chicago, America/Denver and other zones\)"):
        load_series(path, target="kw")


def test_an_hour_missing_on_another_day_or_with_offsets_is_no_daylight_saving_shift(tmp_path):
    """The same hour missing a day early is an ordinary hole; zoned times have no such ambiguity."""
    early = _local_csv(tmp_path / "early.csv", "2016-03-25", "2016-03-29", "1h",
                       skip=("2016-03-26 02:00", "2016-03-26 03:00"))
    longer = _local_csv(tmp_path / "longer.csv", "2016-03-25", "2016-03-29", "1h",
                        skip=("2016-03-27 02:00", "2016-03-27 04:00"))  # two hours: an outage, not the clock
    for path in (early, longer):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            series = load_series(path, target="kw")
        assert not _dst_warnings(record) and series.quality["cleaning"]["daylight_saving_hole_count"] == 0
    t = pd.date_range("2016-03-25", "2016-03-29", freq="h", tz="Europe/Berlin")  # 02:00 does not exist in it
    pd.DataFrame({"time": [x.isoformat() for x in t], "kw": np.arange(len(t), dtype=float)}).to_csv(
        tmp_path / "zoned.csv", index=False)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        zoned = load_series(tmp_path / "zoned.csv")
    assert not _dst_warnings(record) and zoned.quality["cleaning"]["grid_holes"] == 0


def test_a_daylight_saving_hole_under_gaps_error_or_kept_as_a_break_is_named(tmp_path):
    path = _local_csv(tmp_path / "berlin.csv", "2016-03-25", "2016-03-29", "10min",
                      skip=("2016-03-27 02:00", "2016-03-27 03:00"))
    with pytest.raises(ForecastlabError) as err:
        load_series(path, target="kw", gaps="error")
    assert "it looks like a daylight-saving shift: the clock skipped 02:00-03:00 on 2016-03-27" in err.value.what
    assert err.value.fix.startswith("give the times in UTC or with their UTC offset")
    with pytest.warns(DataQualityWarning, match=r"skipped 02:00-03:00 on 2016-03-27.*it is kept as a break that "
                      r"windows do not cross \(gaps='interpolate:3'\)"):
        load_series(path, target="kw", gaps="interpolate:3")


def test_data_inspect_names_the_daylight_saving_shift(tmp_path):
    _local_csv(tmp_path / "berlin.csv", "2016-03-25", "2016-03-29", "1h", skip=("2016-03-27 02:00",
                                                                                 "2016-03-27 03:00"))
    done = cli("data", "inspect", "berlin.csv", "--target", "kw", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "looks like a daylight-saving shift: the clock skipped 02:00-03:00 on 2016-03-27" in done.stderr
    assert "give the times in UTC or with their UTC offset" in done.stderr and "--gaps interpolate:6" in done.stderr
    report = json.loads(cli("data", "inspect", "berlin.csv", "--target", "kw", "--json", cwd=tmp_path).stdout)
    assert report["cleaning"]["daylight_saving_holes"][0]["skipped"] == "02:00-03:00"


def _epoch_csv(path, unit: int, name="timestamp", periods=200, start="2016-01-01"):
    t = pd.date_range(start, periods=periods, freq="h")
    seconds = (t - pd.Timestamp("1970-01-01")) // pd.Timedelta("1s")
    n = np.arange(periods)
    pd.DataFrame({name: seconds * unit, "kw": np.sin(n / 7.0).round(4), "count": n * 3}).to_csv(path, index=False)
    return path, t


@pytest.mark.parametrize("unit, word", [(1, "seconds"), (1000, "milliseconds")])
def test_unix_time_is_read_as_utc_with_its_unit_said(tmp_path, unit, word):
    path, t = _epoch_csv(tmp_path / "epoch.csv", unit)
    assert path.read_text().splitlines()[1].startswith(f"{1451606400 * unit},")  # 2016-01-01 00:00 UTC
    with pytest.warns(DataQualityWarning, match=f"the time column 'timestamp' holds whole numbers, read as Unix time "
                      f"in {word} since 1970-01-01 00:00 UTC \\({1451606400 * unit} is 2016-01-01 00:00:00 UTC"):
        series = load_series(path, target="kw")
    assert (series.timestamps == t.to_numpy().astype("datetime64[ns]")).all()
    assert series.columns == ["kw", "count"]  # the time column is no feature; 'count' is no time
    q = series.quality
    assert q["time"]["utc"] is True and q["time"]["zone"] == "UTC (Unix time)" and q["time"]["frequency"] == "h"
    assert q["format"]["time_column"] == "timestamp"
    assert q["format"]["epoch"] == {"column": "timestamp", "unit": word,
                                    "example": f"{1451606400 * unit} is 2016-01-01 00:00:00 UTC"}


@pytest.mark.parametrize("name", ["time", "unix_time", "epoch", "Timestamp (s)"])
def test_unix_time_is_found_by_a_time_like_name(tmp_path, name):
    path, t = _epoch_csv(tmp_path / "epoch.csv", 1, name=name)
    with pytest.warns(DataQualityWarning, match="read as Unix time in seconds"):
        series = load_series(path, target="kw")
    assert series.timestamps[0] == np.datetime64("2016-01-01T00:00", "ns")


def test_whole_numbers_not_named_like_a_time_are_never_taken_for_one(tmp_path):
    """An integer column in the seconds range, named 'count', beside no time column: no time is made up."""
    seconds = 1451606400 + 3600 * np.arange(50)
    pd.DataFrame({"count": seconds, "kw": np.arange(50.0)}).to_csv(tmp_path / "plain.csv", index=False)
    with pytest.raises(ForecastlabError, match="no timestamp column was found"):
        load_series(tmp_path / "plain.csv", target="kw")
    # beside a real time column, an epoch-like integer named like a time stays a feature
    t = pd.date_range("2016-01-01", periods=50, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    pd.DataFrame({"date": t, "timestamp": seconds, "kw": np.arange(50.0)}).to_csv(tmp_path / "both.csv", index=False)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        both = load_series(tmp_path / "both.csv", target="kw")
    assert both.quality["format"]["time_column"] == "date" and both.quality["format"]["epoch"] is None
    assert "timestamp" in both.columns and not [w for w in record if "Unix time" in str(w.message)]


def test_whole_numbers_in_a_time_column_that_are_no_unix_time_are_refused_saying_what_was_found(tmp_path):
    pd.DataFrame({"time": np.arange(0, 50 * 3600, 3600), "kw": np.arange(50.0)}).to_csv(tmp_path / "sec.csv",
                                                                                       index=False)
    with pytest.raises(ForecastlabError) as err:
        load_series(tmp_path / "sec.csv", target="kw")
    assert "the time column 'time' holds whole numbers (0, ...), not dates" in err.value.what
    assert "not Unix time in seconds or milliseconds since 1970" in err.value.what and "1451606400" in err.value.what
    assert "unit='s'" in err.value.fix
    # dates written as digits (yyyymmddHH) fall in the seconds range: read as dates they are, not as 2033
    hours = pd.date_range("2016-03-01", periods=50, freq="h").strftime("%Y%m%d%H").astype(np.int64)
    pd.DataFrame({"time": hours, "kw": np.arange(50.0)}).to_csv(tmp_path / "digits.csv", index=False)
    with pytest.raises(ForecastlabError) as err:
        load_series(tmp_path / "digits.csv", target="kw")
    assert "like 2016030100 that read as dates written as digits (yyyymmddHH: 2016-03-01 00:00:00)" in err.value.what
    assert "2016-03-01 00:00:00" in err.value.fix and "format='%Y%m%d%H'" in err.value.fix
    with pytest.raises(ForecastlabError, match="holds whole numbers .0, ...., not dates") as err:
        load_series(tmp_path / "sec.csv", target="kw", time_col="time")
    assert "time_col=" in err.value.fix


def test_data_inspect_reads_unix_time_and_says_the_unit(tmp_path):
    _epoch_csv(tmp_path / "epoch.csv", 1000)
    done = cli("data", "inspect", "epoch.csv", "--target", "kw", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "read as Unix time in milliseconds since 1970-01-01 00:00 UTC" in done.stderr
    report = json.loads(done.stdout)
    assert report["time"]["first"] == "2016-01-01 00:00:00" and report["time"]["utc"] is True
    assert report["input"]["format"]["epoch"]["unit"] == "milliseconds"


def test_a_blank_unix_time_is_named_and_fractional_seconds_are_read(tmp_path):
    (tmp_path / "blank.csv").write_text("timestamp,kw\n1451606400,1\n,2\n1451613600,3\n")
    with pytest.warns(DataQualityWarning, match="read as Unix time in seconds"), \
            pytest.raises(ForecastlabError, match="the timestamp is missing") as err:
        load_series(tmp_path / "blank.csv")
    assert err.value.where.endswith("blank.csv, line 3, column 'timestamp'")
    (tmp_path / "frac.csv").write_text("unix_time,kw\n1451606400.5,1\n1451610000.5,2\n1451613600.5,3\n")
    with pytest.warns(DataQualityWarning, match=r"holds numbers, read as Unix time in seconds .*1451606400.5 is "
                      r"2016-01-01 00:00:00 UTC"):
        series = load_series(tmp_path / "frac.csv")
    assert series.timestamps[0] == np.datetime64("2016-01-01T00:00:00.5", "ns")


def test_a_text_column_of_dates_wins_over_unix_like_numbers_in_a_time_named_column(tmp_path):
    # 'Datum' is not named like a time, but holds the dates; 'runtime' (seconds of a machine's uptime) is
    # named like one and its numbers lie in the Unix-seconds range: it must stay a feature.
    t = pd.date_range("2016-01-01", periods=200, freq="h")
    path = tmp_path / "datum.csv"
    pd.DataFrame({"Datum": t.strftime("%Y-%m-%d %H:%M"), "runtime": 1_500_000_000 + np.arange(200) * 7,
                  "temp": np.sin(np.arange(200))}).to_csv(path, index=False)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        s = load_series(path, target="temp")
    assert s.quality["format"]["time_column"] == "Datum" and s.timestamps[0] == np.datetime64("2016-01-01T00:00")
    assert "runtime" in s.columns and not any("Unix time" in str(w.message) for w in said)


@pytest.mark.parametrize("other", ["update_count", "downtime (min)"])
def test_a_time_word_inside_another_word_is_no_time_and_the_unix_column_is_found(tmp_path, other):
    # 'update' holds 'date' and 'downtime' holds 'time': before, the first was taken as the time column and
    # refused ("holds whole numbers (0, ...), not dates"), though 'timestamp' beside it is Unix time.
    seconds = 1451606400 + 3600 * np.arange(600)
    path = tmp_path / "counts.csv"
    pd.DataFrame({other: np.arange(600) % 7, "timestamp": seconds, "kw": np.arange(600.0)}).to_csv(path, index=False)
    with pytest.warns(DataQualityWarning, match="Unix time in seconds"):
        s = load_series(path, target="kw")
    assert s.quality["format"]["time_column"] == "timestamp" and other in s.columns
    assert s.timestamps[0] == np.datetime64("2016-01-01T00:00")


def test_one_value_outside_the_unix_unit_is_named_with_its_line(tmp_path):
    seconds = 1451606400 + 3600 * np.arange(600)
    seconds[500] = 0
    path = tmp_path / "zero.csv"
    pd.DataFrame({"timestamp": seconds, "kw": np.arange(600.0)}).to_csv(path, index=False)
    with pytest.raises(ForecastlabError) as err:
        load_series(path, target="kw")
    assert "holds Unix time in seconds since 1970, except the value 0" in err.value.what
    assert err.value.where == f"{path}, line 502, column 'timestamp'" and "correct or remove that row" in err.value.fix


def test_a_repeated_time_with_different_readings_is_said_and_named_as_the_autumn_hour(tmp_path):
    # Before: "1 repeated timestamps (kept the first...; dropped 1)" in the report only, though a reading was lost.
    t = list(pd.date_range("2016-10-29 00:00", "2016-10-31 23:00", freq="h").strftime("%Y-%m-%d %H:%M"))
    t.insert(t.index("2016-10-30 02:00") + 1, "2016-10-30 02:00")  # a naive Berlin clock's autumn hour
    path = tmp_path / "autumn.csv"
    pd.DataFrame({"time": t, "kw": np.arange(len(t), dtype=float)}).to_csv(path, index=False)
    with pytest.warns(DataQualityWarning, match="appear twice with different readings") as said:
        s = load_series(path, target="kw")
    text = " ".join(str(w.message) for w in said)
    assert "hour repeated when daylight saving time ended" in text and "Europe/Berlin" in text
    assert f"{path}, line 29, column 'time'" in text and s.quality["time"]["conflicting_duplicates"]["count"] == 1
    # In June a repeated time is no clock change: said, without daylight saving.
    june = list(pd.date_range("2016-06-01", periods=60, freq="h").strftime("%Y-%m-%d %H:%M"))
    june.insert(11, june[10])
    pd.DataFrame({"time": june, "kw": np.arange(61.0)}).to_csv(tmp_path / "june.csv", index=False)
    with pytest.warns(DataQualityWarning, match="appear twice with different readings") as said:
        load_series(tmp_path / "june.csv", target="kw")
    assert not any("daylight" in str(w.message) for w in said)
    # Identical repeats lose nothing: no warning.
    same = pd.DataFrame({"time": june, "kw": [float(i if i != 11 else 10) for i in range(61)]})
    same.to_csv(tmp_path / "same.csv", index=False)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        load_series(tmp_path / "same.csv", target="kw")
    assert not any("appear twice" in str(w.message) for w in said)
