"""load_series on real files: Jena faithfulness, cleaning, gap policy, resampling, any user's CSV/Parquet."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from forecastlab.data import load_series
from forecastlab.data.quality import DEFAULT_INTERPOLATE_LIMIT, GapPolicy
from forecastlab.errors import DataQualityWarning, ForecastlabError, SyntheticDataWarning
from jena_files import jena_like_csv
from loopback_server import closed_port_url


def write(path, text: str):
    path.write_text(text)
    return path


def hourly_csv(path, values, start="2024-01-01 00:00:00", name="load", skip=()):
    """A one-column hourly CSV; `values` may hold None (blank cell); hours in `skip` are left out."""
    times = pd.date_range(start, periods=len(values), freq="h")
    rows = [f"{t},{'' if v is None else v}" for i, (t, v) in enumerate(zip(times, values, strict=True))
            if i not in skip]
    return write(path, f"timestamp,{name}\n" + "\n".join(rows) + "\n")


def test_jena_format_rows_kept_sentinels_cleaned_and_reported(tmp_path):
    path = jena_like_csv(tmp_path / "j.csv", rows=1_000, slots=1_010, sentinels={"wv (m/s)": [5, 500]})
    s = load_series(path)

    assert len(s) == 1_000 and s.target == "T (degC)" and s.values.dtype == np.float32
    assert s.timestamps.dtype == np.dtype("datetime64[ns]")
    assert s.units[s.columns.index("wv (m/s)")] == "m/s" and s.target_unit == "degC"
    q = s.quality
    assert q["format"]["jena_format"] and q["time"]["frequency"] == "10min"
    assert q["time"]["gaps"]["count"] == 10 and q["time"]["gaps"]["missing_slots"] == 10
    assert q["time"]["complete_grid_rows"] == 1_010
    assert len(s.breaks) == 10  # holes are recorded, not filled: the book's rows as they are
    assert q["cells"]["sentinel"]["wv (m/s)"] == 2
    assert q["cleaning"]["sentinels_to_missing"] == 2 and q["cleaning"]["interpolated"] == 2
    wv = s.column("wv (m/s)")
    assert wv.min() > -100 and wv[5] == pytest.approx((wv[4] + wv[6]) / 2, abs=0.02)

    raw = load_series(path, clean=False)
    assert raw.column("wv (m/s)")[5] == -9999.0 and raw.quality["cleaning"]["sentinels_to_missing"] == 0
    assert s.provenance.source == "file" and s.provenance.rows == 1_000 and len(s.provenance.sha256) == 64


def test_full_size_synthetic_loads_fast_with_banner():
    with pytest.warns(SyntheticDataWarning):
        load_series("synthetic")  # first call may generate the cached file
    start = time.perf_counter()
    with pytest.warns(SyntheticDataWarning, match="SYNTHETIC DATA"):
        s = load_series("synthetic")
    elapsed = time.perf_counter() - start
    assert len(s) == 420_451 and s.provenance.source == "synthetic"
    assert elapsed < 2.0, f"loading the full synthetic file took {elapsed:.2f} s"


def test_auto_without_real_jena_falls_back_to_synthetic_loudly(monkeypatch):
    monkeypatch.setenv("FORECASTLAB_JENA_MIRRORS", closed_port_url())
    with pytest.warns(SyntheticDataWarning, match="(?s)SYNTHETIC DATA.*connection refused"):
        s = load_series("auto")
    assert s.provenance.source == "synthetic"


def test_jena_without_cache_and_without_download_is_an_error(tmp_path):
    with pytest.raises(ForecastlabError, match="not in the data cache") as err:
        load_series("jena", data_dir=tmp_path, download=False)
    assert str(tmp_path) in str(err.value)


def test_generic_csv_autodetects_time_and_target(tmp_path):
    s = load_series(hourly_csv(tmp_path / "h.csv", [1.0, 2.0, 3.0, 4.0]))
    assert s.columns == ["load"] and s.target == "load" and s.units == [None]
    assert s.quality["time"]["frequency"] == "h"
    assert str(s.timestamps[0]) == "2024-01-01T00:00:00.000000000"


def test_interpolate_bridges_short_runs_in_time_and_never_long_ones(tmp_path):
    values = [0.0, None, None, 3.0, 4.0, None, None, None, 8.0, 9.0]
    s = load_series(hourly_csv(tmp_path / "h.csv", values), gaps="interpolate:2")
    c = s.quality["cleaning"]
    assert c["interpolated"] == 2 and c["rows_dropped"] == 3 and c["unbridged_run_count"] == 1
    assert c["unbridged_runs"][0]["where"].endswith("line 7, column 'load'")
    np.testing.assert_allclose(s.targets, [0, 1, 2, 3, 4, 8, 9])
    assert s.breaks.tolist() == [5]  # the dropped 3-hour hole

    default = load_series(hourly_csv(tmp_path / "h.csv", values))
    assert default.quality["cleaning"]["gap_policy"] == f"interpolate:{DEFAULT_INTERPOLATE_LIMIT}"
    np.testing.assert_allclose(default.targets, np.arange(10))


def test_interpolation_uses_time_not_row_position(tmp_path):
    # Hours 0, 1, [2 missing], 5, with the 2-hour hole (3, 4) longer than the limit so it stays a hole:
    # time-linear gives 2.0 at hour 2, row-linear would give 3.0.
    path = write(tmp_path / "t.csv", "time,x\n2024-01-01 00:00,0\n2024-01-01 01:00,1\n"
                 "2024-01-01 02:00,\n2024-01-01 05:00,5\n")
    s = load_series(path, gaps="interpolate:1")
    assert s.targets.tolist() == [0, 1, 2, 5] and s.breaks.tolist() == [3]


def test_gaps_error_names_the_first_missing_cell(tmp_path):
    path = hourly_csv(tmp_path / "h.csv", [1.0, 2.0, None, 4.0])
    with pytest.raises(ForecastlabError) as err:
        load_series(path, gaps="error")
    assert "line 4, column 'load'" in str(err.value) and "2024-01-01 02:00:00" in str(err.value)


def test_gaps_drop_drops_rows_and_records_breaks(tmp_path):
    s = load_series(hourly_csv(tmp_path / "h.csv", [1.0, None, 3.0, 4.0]), gaps="drop")
    assert s.targets.tolist() == [1, 3, 4] and s.breaks.tolist() == [1]
    assert s.quality["cleaning"]["rows_dropped"] == 1


def test_gap_policy_parsing():
    assert GapPolicy.parse("interpolate:12") == GapPolicy("interpolate", 12)
    assert str(GapPolicy.parse("Drop")) == "drop"
    for bad in ("fill", "interpolate:0", "interpolate:x", "error:3"):
        with pytest.raises(ForecastlabError, match="not a gap policy"):
            GapPolicy.parse(bad)


def test_freq_resamples_with_mean_and_empty_slots_follow_the_policy(tmp_path):
    # 30-minute data with hour 2 entirely absent; resampled to 1h.
    times = pd.date_range("2024-01-01", periods=10, freq="30min")
    rows = [f"{t},{i}" for i, t in enumerate(times) if t.hour != 2]
    path = write(tmp_path / "m.csv", "date,v\n" + "\n".join(rows) + "\n")
    s = load_series(path, freq="1h")
    np.testing.assert_allclose(s.targets, [0.5, 2.5, 4.5, 6.5, 8.5])  # hour 2 bridged from 2.5 and 6.5
    c = s.quality["cleaning"]
    assert c["resampled_to"] == "1h" and c["empty_slots_created"] == 1 and c["interpolated"] == 1
    with pytest.raises(ForecastlabError, match="line|slot made by freq="):
        load_series(path, freq="1h", gaps="error")
    with pytest.raises(ForecastlabError, match="not a fixed time step"):
        load_series(path, freq="fortnightly")


def test_freq_sets_the_series_step_and_the_file_report_stays_as_read(tmp_path):
    times = pd.date_range("2024-01-01", periods=60, freq="10min")
    path = write(tmp_path / "ten.csv", "time,v\n" + "\n".join(f"{t},{i}" for i, t in enumerate(times)) + "\n")
    s = load_series(path, freq="1h")
    assert s.step_ns == 3600 * 10**9 and s.quality["step_seconds"] == 3600
    assert s.quality["time"]["frequency"] == "10min"  # the file as read
    assert load_series(path).step_ns == 600 * 10**9


def test_jittered_timestamps_are_said_to_need_resampling(tmp_path):
    rng = np.random.default_rng(1)
    times = pd.date_range("2024-01-01", periods=200, freq="h") + pd.to_timedelta(rng.integers(0, 30, 200), unit="s")
    path = write(tmp_path / "j.csv", "time,v\n" + "\n".join(f"{t},{i}" for i, t in enumerate(times)) + "\n")
    with pytest.warns(DataQualityWarning, match=r"look jittered.*freq='1h'"):
        load_series(path)
    s = load_series(path, freq="1h")  # the advice works: an hourly grid, every slot filled
    assert s.step_ns == 3600 * 10**9 and len(s.breaks) == 0
    from forecastlab.windows.horizons import resolve_window

    with pytest.raises(ForecastlabError) as err:
        resolve_window(step_ns=load_series(path).step_ns, lookback="1d", sample_every="1h", horizons="6h")
    assert "freq='1h'" in err.value.fix


def test_regular_timestamps_are_not_said_to_be_jittered(tmp_path, recwarn):
    times = pd.date_range("2024-01-01", periods=200, freq="h").delete([50, 51, 120])  # holes are not jitter
    load_series(write(tmp_path / "r.csv", "time,v\n" + "\n".join(f"{t},{i}" for i, t in enumerate(times)) + "\n"))
    months = pd.date_range("2020-01-01", periods=60, freq="MS")  # 28 to 31 days: a calendar, not jitter
    load_series(write(tmp_path / "m.csv", "time,v\n" + "\n".join(f"{t},{i}" for i, t in enumerate(months)) + "\n"))
    assert not [w for w in recwarn if "jittered" in str(w.message)]


def test_a_given_day_first_order_reads_dates_the_stamps_cannot_settle(tmp_path, recwarn):
    day = pd.date_range("2024-03-05", periods=144, freq="10min")  # one day: 05/03 could be either
    text = "time,v\n" + "\n".join(f"{t:%d/%m/%Y %H:%M},{i}" for i, t in enumerate(day)) + "\n"
    path = write(tmp_path / "day.csv", text)
    assert (load_series(path, day_first=True).timestamps == day.to_numpy()).all()
    assert not [w for w in recwarn if "day or month first" in str(w.message)]  # told, not guessed
    assert load_series(path, day_first=False).timestamps[0] == np.datetime64("2024-05-03T00:00")
    long = pd.date_range("2024-03-01", periods=24 * 20, freq="h")  # the 13th settles it: recorded
    s = load_series(write(tmp_path / "long.csv", "time,v\n" + "\n".join(
        f"{t:%d/%m/%Y %H:%M},{i}" for i, t in enumerate(long)) + "\n"))
    assert s.quality["time"]["day_first"] is True
    iso = write(tmp_path / "iso.csv", "time,v\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n")
    assert load_series(iso).quality["time"]["day_first"] is None  # year first: never in doubt


@pytest.mark.parametrize(("layout", "periods", "freq", "warns"), [
    ("%d/%m/%Y %H:%M", 1500, "h", False),  # day 13 settles it: day first
    ("%m/%d/%Y %H:%M", 1500, "h", False),  # 01/13: month first
    ("%d.%m.%Y %H:%M", 1500, "h", False),
    ("%d-%m-%Y", 60, "D", False),
    ("%d/%m/%Y %H:%M", 288, "h", True),  # days 1 to 12 only: both orders read, the regular one wins
    ("%m/%d/%Y %H:%M", 288, "h", True),
    ("%d/%m/%Y", 10, "D", True),
])
def test_day_or_month_first_dates_are_read_the_way_that_fits(tmp_path, recwarn, layout, periods, freq, warns):
    times = pd.date_range("2023-01-01", periods=periods, freq=freq)
    text = "time,v\n" + "\n".join(f"{t.strftime(layout)},{i}" for i, t in enumerate(times)) + "\n"
    s = load_series(write(tmp_path / "d.csv", text))
    assert (s.timestamps == times.to_numpy()).all()
    said = [str(w.message) for w in recwarn if "could be day or month first" in str(w.message)]
    assert bool(said) == warns, said
    if warns:
        assert ("day/month/year" if layout.startswith("%d") else "month/day/year") in said[0]


def test_duplicates_keep_first_and_are_reported(tmp_path):
    path = write(tmp_path / "d.csv", "time,x\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n"
                 "2024-01-01 01:00,99\n2024-01-01 02:00,3\n")
    s = load_series(path)
    assert s.targets.tolist() == [1, 2, 3]
    assert s.quality["time"]["duplicates"] == 1 and "dropped 1" in s.quality["time"]["duplicates_action"]


def test_features_target_and_text_columns(tmp_path):
    path = write(tmp_path / "f.csv", "when,station,a (kW),b,c\n2024-01-01 00:00,x,1,2,3\n2024-01-01 01:00,y,4,5,6\n")
    with pytest.raises(ForecastlabError, match="not clear which column") as err:
        load_series(path)
    assert "'a (kW)', 'b', 'c'" in str(err.value)
    s = load_series(path, target="c", features=["a (kW)"])
    assert s.columns == ["a (kW)", "c"] and s.target == "c" and s.units == ["kW", None]
    s = load_series(path, target="b")
    assert s.columns == ["a (kW)", "b", "c"] and s.quality["cleaning"]["skipped_text_columns"] == ["station"]


def test_parquet_with_datetime_column(tmp_path):
    frame = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=48, freq="h", tz="UTC"),
                          "y": np.arange(48.0)})
    frame.to_parquet(tmp_path / "p.parquet")
    s = load_series(tmp_path / "p.parquet")
    assert len(s) == 48 and s.target == "y" and s.quality["format"]["kind"] == "parquet"
    assert str(s.timestamps[0]).startswith("2024-01-01T00:00")


def test_parquet_with_the_time_as_its_index(tmp_path):
    frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=48, freq="h"), "y": np.arange(48.0),
                          "x": np.arange(48.0) * 2})
    frame.set_index("timestamp").to_parquet(tmp_path / "i.parquet")
    s = load_series(tmp_path / "i.parquet", target="y")
    assert s.columns == ["y", "x"] and s.quality["format"]["time_column"] == "timestamp"
    assert (s.timestamps == frame["timestamp"].to_numpy()).all()
    frame.iloc[::2].to_parquet(tmp_path / "f.parquet")  # an unnamed row-number index (rows filtered) is not data
    assert load_series(tmp_path / "f.parquet", target="y").columns == ["y", "x"]
    named = frame.rename_axis("row")  # a named RangeIndex is row numbers too: no 'row' input column
    named.to_parquet(tmp_path / "r.parquet")
    assert pd.read_parquet(tmp_path / "r.parquet").index.name == "row"  # (pandas keeps the name: not vacuous)
    assert load_series(tmp_path / "r.parquet", target="y").columns == ["y", "x"]
    ids = frame.set_index(pd.Index(np.arange(48) ** 2, name="station_row"))  # named integers, not a range: data
    ids.to_parquet(tmp_path / "n.parquet")
    assert load_series(tmp_path / "n.parquet", target="y").columns == ["station_row", "y", "x"]


def test_semicolon_file_is_sniffed_and_reported(tmp_path):
    path = write(tmp_path / "s.csv", "date;temp;rh\n2024-01-01 00:00;1.5;80\n2024-01-01 01:00;2.5;81\n")
    s = load_series(path, target="temp")
    assert s.columns == ["temp", "rh"] and s.targets.tolist() == [1.5, 2.5]
    assert s.quality["format"]["delimiter"] == ";"


def test_jena_format_in_reverse_order_is_refused_but_isolated_backward_steps_are_kept(tmp_path):
    path = jena_like_csv(tmp_path / "j.csv", rows=2_000, slots=2_000)
    header, *rows = path.read_text().splitlines()
    write(path, "\n".join([header, *rows[::-1]]) + "\n")
    with pytest.raises(ForecastlabError) as err:
        load_series(path)
    assert "time runs backwards" in err.value.what and "1,999 of 1,999 steps go back" in err.value.what
    assert err.value.where.endswith("line 3, column 'Date Time'") and "sort the file" in err.value.fix

    rows[500], rows[501] = rows[501], rows[500]  # one swapped pair: a backward step, as the real record may have
    s = load_series(write(path, "\n".join([header, *rows]) + "\n"))
    assert len(s) == 2_000 and s.quality["time"]["backward_steps"] == 1 and s.quality["format"]["book_faithful"]
    for k in range(150, 1_900, 200):  # 9 more swaps, more than 0.1% of 1,999 steps (at least one is allowed)
        rows[k], rows[k + 1] = rows[k + 1], rows[k]
    with pytest.raises(ForecastlabError, match="10 of 1,999 steps go back"):
        load_series(write(path, "\n".join([header, *rows]) + "\n"))


def test_a_column_name_with_a_comma_is_chosen_quoted_as_in_a_csv_header(tmp_path):
    from forecastlab.data.columns import join_names, split_names
    from forecastlab.training.recipe import DataRecipe

    assert split_names('T (degC), "wind, max (m/s)"') == ["T (degC)", "wind, max (m/s)"]
    for names in (["a", "b"], ["wind, max (m/s)", 'x "q"', "T"]):
        assert split_names(join_names(names)) == names
    path = write(tmp_path / "c.csv", 'time,T,"wind, max (m/s)",rh\n2024-01-01 00:00,1,2,3\n2024-01-01 01:00,4,5,6\n')
    recipe = DataRecipe(str(path), target="T", features='T,"wind, max (m/s)"')
    assert load_series(str(path), **recipe.load_kwargs()).columns == ["T", "wind, max (m/s)"]
    assert DataRecipe.of(str(path), recipe.load_kwargs()).features == recipe.features  # recorded as given
    import dataclasses

    names = ["d3h wind, max (m/s)", "hour sin"]
    derived = dataclasses.replace(recipe, feature_set="weather", derived=join_names(names))
    assert derived.derived_columns() == ["d3h wind, max (m/s)", "hour sin"]


def test_of_two_date_columns_the_one_named_like_time_is_the_time_and_the_other_is_no_feature(tmp_path):
    """A 'created' column (two days after the reading) before 'timestamp': both parse as dates. The time is
    the one named like time, and the other is left out of the features, not fed in as nanoseconds."""
    t = pd.date_range("2023-01-01", periods=300, freq="h")
    frame = pd.DataFrame({"created": (t + pd.Timedelta("2D")).strftime("%Y-%m-%d %H:%M:%S"),
                          "timestamp": t.strftime("%Y-%m-%d %H:%M:%S"), "temp": np.arange(300.0)})
    frame.to_csv(tmp_path / "two.csv", index=False)
    s = load_series(tmp_path / "two.csv", target="temp")
    assert s.quality["format"]["time_column"] == "timestamp" and s.columns == ["temp"]
    assert s.timestamps[0] == np.datetime64("2023-01-01T00:00") and "created" in s.quality["cleaning"][
        "skipped_text_columns"]
    with pytest.raises(ForecastlabError, match="column 'created' holds dates or durations, not numbers"):
        load_series(tmp_path / "two.csv", target="created")


def test_numbers_with_thousands_separators_are_named_as_such(tmp_path):
    frame = pd.DataFrame({"time": pd.date_range("2023-01-01", periods=50, freq="h").strftime("%Y-%m-%d %H:%M"),
                          "load": [f"{x:,.1f}" for x in np.arange(50) * 10.0 + 1000]})
    frame.to_csv(tmp_path / "th.csv", index=False)
    with pytest.raises(ForecastlabError) as err:
        load_series(tmp_path / "th.csv", target="load")
    assert "'1,000.0', which looks like a number with thousands separators" in err.value.what
    assert "without thousands separators" in err.value.fix


def test_integers_with_a_dot_between_thousands_in_a_semicolon_file_are_warned_about(tmp_path):
    """'1.242' beside '892' in a ';' file with day-first dates: 1242 read as 1.242 with no word, before."""
    from forecastlab.errors import DataQualityWarning

    rng = np.random.default_rng(2)
    hours = pd.date_range("2023-01-01", periods=500, freq="h").strftime("%d.%m.%Y %H:%M")
    ints = (500 + 1000 * rng.random(500)).astype(int)
    lines = [f"{h};{f'{v:,}'.replace(',', '.')}" for h, v in zip(hours, ints, strict=True)]
    (tmp_path / "eu.csv").write_text("Zeit;Last (kWh)\n" + "\n".join(lines) + "\n")
    with pytest.warns(DataQualityWarning, match="looks like whole numbers with a '.' between thousands"):
        s = load_series(tmp_path / "eu.csv")
    assert s.column("Last (kWh)").max() < 1000  # read as decimals, as said
    measured = [f"{h};{v / 7:.2f}" for h, v in zip(hours, ints, strict=True)]  # real decimals: no warning
    (tmp_path / "ok.csv").write_text("Zeit;Last (kWh)\n" + "\n".join(measured) + "\n")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        load_series(tmp_path / "ok.csv")
