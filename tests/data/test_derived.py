"""Feature sets (forecastlab.data.derived): wind vectors, calendar terms and tendencies, causal, by
timestamp, recorded in the recipe so predict and evaluate make the same columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecastlab.data import load_series
from forecastlab.data.derived import add_features
from forecastlab.errors import ForecastlabError
from run_helpers import write_jena_csv


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    path = write_jena_csv(tmp_path_factory.mktemp("derived") / "mini.csv", days=12)
    frame = pd.read_csv(path)
    frame.drop(index=[500, 501]).to_csv(path, index=False)  # two missing rows: lags must go by timestamp
    return path


def test_book_adds_nothing_and_unknown_sets_are_refused(csv):
    series = load_series(str(csv))
    assert add_features(series, "book") is series and add_features(series, None) is series
    with pytest.raises(ForecastlabError, match="unknown feature set"):
        add_features(series, "everything")


def test_weather_replaces_wind_by_vectors_and_adds_calendar_and_tendencies(csv):
    series = load_series(str(csv), gaps="drop")
    out = add_features(series, "weather")
    cols = out.columns
    assert "wd (deg)" not in cols and "wv (m/s)" not in cols and "max. wv (m/s)" not in cols
    for name in ("wv x (m/s)", "wv y (m/s)", "max. wv x (m/s)", "max. wv y (m/s)", "hour sin", "hour cos",
                 "year sin", "year cos", "d3h p (mbar)", "d24h p (mbar)", "d24h T (degC)"):
        assert name in cols, name
    assert out.target == series.target and np.array_equal(out.targets, series.targets)
    speed = np.hypot(out.column("wv x (m/s)"), out.column("wv y (m/s)"))
    np.testing.assert_allclose(speed, series.column("wv (m/s)"), rtol=1e-4, atol=1e-4)
    hours = pd.DatetimeIndex(out.timestamps)
    np.testing.assert_allclose(out.column("hour sin"), np.sin(2 * np.pi * (hours.hour + hours.minute / 60) / 24),
                               atol=1e-5)
    # the 3-hour pressure change, looked up by timestamp (18 ten-minute rows, except across the hole)
    p, times, d3 = series.column("p (mbar)"), series.timestamps, out.column("d3h p (mbar)")
    for row in (30, 600):
        earlier = np.flatnonzero(times == times[row] - np.timedelta64(3, "h"))
        assert d3[row] == pytest.approx(p[row] - p[earlier[0]], abs=1e-4)
    missing = np.datetime64("2009-01-01 00:10") + np.timedelta64(500 * 10, "m")  # the first dropped row
    hole = np.flatnonzero(times == missing + np.timedelta64(3, "h"))
    assert len(hole) == 1 and d3[hole[0]] == 0  # no row 3 h earlier: no change
    assert out.quality["features"]["set"] == "weather"


def test_tendencies_never_reach_across_a_splice_but_do_across_a_hole(csv):
    """tmy3's months come from different years, joined without a gap in the time grid (its breaks): a 24 h
    change in a month's first day would subtract another year's reading, so it is 0 there, as where no
    earlier row exists. A break at a hole in time (the missing rows above) is the same record's past: the
    change by timestamp is kept."""
    tmy = load_series("tmy3")
    out = add_features(tmy, "auto")
    t, d24 = tmy.column("Temperature (degC)").astype(np.float64), out.column("d24h Temperature (degC)")
    for b in tmy.breaks:
        assert (d24[b:b + 24] == 0).all(), b  # the new month's first day: nothing of its own year 24 h back
        assert d24[b + 24] == pytest.approx(t[b + 24] - t[b], abs=1e-4)
        assert d24[b - 1] == pytest.approx(t[b - 1] - t[b - 25], abs=1e-4)  # before the splice: unchanged
    assert (t[tmy.breaks] - t[tmy.breaks - 24] != 0).any()  # the old lookup would have given these: not vacuous
    series = load_series(str(csv))
    hole = int(series.breaks[0])  # the two dropped rows: a break with a gap in time, not a splice
    assert series.timestamps[hole] - series.timestamps[hole - 1] == np.timedelta64(30, "m")
    after = np.flatnonzero(series.timestamps == series.timestamps[hole - 1] + np.timedelta64(24, "h"))[0]
    t, d24 = series.column("T (degC)"), add_features(series, "weather").column("d24h T (degC)")
    assert after > hole and d24[after] == pytest.approx(t[after] - t[hole - 1], abs=1e-4) and d24[after] != 0


def test_weather_on_a_record_without_jena_names_says_so_and_auto_finds_them():
    from forecastlab.errors import DataQualityWarning

    tmy = load_series("tmy3")
    with pytest.warns(DataQualityWarning, match="has none of them.*feature_set='auto'"):
        weather = add_features(tmy, "weather")
    assert "Wind speed (m/s)" in weather.columns and not any(c.startswith("d3h") for c in weather.columns)
    auto = add_features(tmy, "auto")
    assert "Wind speed x (m/s)" in auto.columns and "d3h Pressure (mbar)" in auto.columns


def test_derived_values_never_look_ahead(csv):
    series = load_series(str(csv), gaps="drop")
    before = add_features(series, "weather").values
    changed = series.values.copy()
    changed[1000:] += 50.0
    import dataclasses

    after = add_features(dataclasses.replace(series, values=changed), "weather").values
    np.testing.assert_array_equal(before[:1000], after[:1000])


def test_auto_finds_wind_and_pressure_by_name_in_any_csv(tmp_path):
    stamps = pd.date_range("2020-01-01", periods=24 * 40, freq="1h")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"time": stamps, "load": rng.normal(size=len(stamps)),
                          "wind speed": rng.uniform(0, 5, len(stamps)),
                          "wind direction": rng.uniform(0, 360, len(stamps)),
                          "pressure": 1000 + rng.normal(size=len(stamps))})
    path = tmp_path / "own.csv"
    frame.to_csv(path, index=False)
    out = add_features(load_series(str(path), target="load"), "auto")
    assert {"wind speed x", "wind speed y", "hour sin", "d3h pressure", "d24h load"} <= set(out.columns)
    assert "year sin" not in out.columns  # 40 days do not resolve the day of year
    assert "wind direction" not in out.columns


def test_a_run_remembers_its_feature_set(csv, tmp_path):
    from forecastlab.training import load_run
    from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
    from forecastlab.training.runner import run_recipe, run_series

    recipe = Recipe(ModelRecipe("linear"), DataRecipe(str(csv), gaps="drop", feature_set="weather"),
                    WindowRecipe(sequence_length=24, sampling_rate=6, horizon=6, batch_size=64),
                    TrainingRecipe(epochs=1, max_steps_per_epoch=2))
    result = run_recipe(recipe, tmp_path / "run", progress=False)
    run = load_run(result.run_dir)
    assert run.recipe.data.feature_set == "weather"
    again = run_series(run)
    assert "wv x (m/s)" in again.columns and len(run.normalizer.mean_) == len(again.columns)


def test_a_short_file_gets_exactly_the_columns_the_run_recorded(tmp_path):
    stamps = pd.date_range("2020-01-01", periods=24 * 800, freq="1h")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"time": stamps, "load": rng.normal(size=len(stamps)),
                          "pressure": 1000 + rng.normal(size=len(stamps))})
    frame.to_csv(tmp_path / "long.csv", index=False)
    frame.iloc[-24 * 7:].to_csv(tmp_path / "week.csv", index=False)
    trained = add_features(load_series(str(tmp_path / "long.csv"), target="load"), "auto")
    recorded = trained.quality["features"]["added"]
    assert "year sin" in recorded  # 800 days: the training half holds every day of the year
    week = load_series(str(tmp_path / "week.csv"), target="load")
    assert "year sin" not in add_features(week, "auto").columns  # auto alone decides again from the span
    again = add_features(week, "auto", columns=recorded)
    assert again.columns == trained.columns
    with pytest.raises(ForecastlabError, match="d3h pressure"):
        add_features(load_series(str(tmp_path / "week.csv"), target="load", features=["load"]), "auto",
                     columns=recorded)


@pytest.mark.parametrize(("days", "has_year"), [(364, False), (729, False), (731, True)])
def test_auto_adds_day_of_year_only_when_training_sees_a_whole_year(tmp_path, days, has_year):
    # A one-year record (tmy3, elecdemand) split 50/25/25 trains on its first half year only: day-of-year
    # terms would take values in validation and test that training never saw.
    stamps = pd.date_range("2020-01-01", periods=24 * days, freq="1h")
    frame = pd.DataFrame({"time": stamps, "load": np.arange(len(stamps), dtype=float) % 24})
    frame.to_csv(tmp_path / "own.csv", index=False)
    out = add_features(load_series(str(tmp_path / "own.csv"), target="load"), "auto")
    assert ("year sin" in out.columns) is has_year and ("year cos" in out.columns) is has_year
    assert "hour sin" in out.columns
    weather = add_features(load_series(str(tmp_path / "own.csv"), target="load"), "weather")
    assert "year sin" in weather.columns  # the weather preset always has them (the Jena file spans 8 years)
