"""Forecasts from fresh data: the same number as the run gives for the same last window, from a CSV, a
Parquet file, bytes or JSON records; every input the model cannot honestly forecast from is refused with
what is needed (rows and spacing, columns and their order, a missing value inside the window)."""

from __future__ import annotations

import os
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from forecastlab.data import load_series
from forecastlab.deploy.artifact import export_run, load_artifact, load_model
from forecastlab.deploy.fresh import forecast_fresh, records_csv, requirements, step_seconds
from forecastlab.errors import ForecastlabError
from forecastlab.training import load_run
from forecastlab.training.forecast import forecast_table
from run_helpers import train_tiny as train


@pytest.fixture(scope="module")
def frame(runs):
    return pd.read_csv(runs["csv"])


def _write(frame, path):
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("kind", ["lstm", "lightgbm", "ensemble"])
def test_fresh_forecast_equals_the_runs_own_for_the_same_window(runs, artifacts, frame, kind, tmp_path):
    run = load_run(runs[kind])
    expected = forecast_table(run, load_series(str(runs["csv"])), last=1)
    art = load_artifact(artifacts[kind])
    got = forecast_fresh(art, _write(frame.tail(200), tmp_path / "recent.csv"))
    assert got.table["value"].tolist() == expected["prediction"].tolist()
    assert got.table["lower"].tolist() == expected["lower"].tolist()
    assert got.origin == pd.Timestamp("2009-01-21 00:00") == expected["window_end"].iloc[0]
    assert got.table["target_time"].iloc[0] == pd.Timestamp("2009-01-21 06:00")
    out = got.to_dict()
    assert out["unit"] == "degC" and out["interval"] == {"method": "split-conformal", "level": 0.8}
    assert out["forecasts"][0]["ahead"] == "6h" and out["forecasts"][0]["target_time"] == "2009-01-21T06:00:00"


def test_parquet_bytes_and_records_give_the_same_forecast(artifacts, frame, tmp_path):
    art = load_artifact(artifacts["lstm"])
    tail = frame.tail(150)
    want = forecast_fresh(art, _write(tail, tmp_path / "r.csv")).to_dict()["forecasts"]
    tail.to_parquet(tmp_path / "r.parquet", index=False)
    assert forecast_fresh(art, tmp_path / "r.parquet").to_dict()["forecasts"] == want
    assert forecast_fresh(art, (tmp_path / "r.csv").read_bytes(), name="body").to_dict()["forecasts"] == want
    assert forecast_fresh(art, tail.to_dict(orient="records"), name="records").to_dict()["forecasts"] == want


def test_requirements_say_what_the_model_needs(artifacts):
    need = requirements(load_artifact(artifacts["lstm"]))
    assert need["rows"] == need["window_rows"] == 139 and need["history_rows"] == 0
    assert need["step_seconds"] == 600 and need["step"] == "10-minute"
    assert need["columns"][:2] == ["p (mbar)", "T (degC)"] and need["target"] == "T (degC)"


def test_too_few_rows_refused_with_what_is_needed(artifacts, frame, tmp_path):
    with pytest.raises(ForecastlabError) as err:
        forecast_fresh(load_artifact(artifacts["lstm"]), _write(frame.tail(100), tmp_path / "short.csv"))
    assert err.value.what == "need 139 rows at 10-minute spacing ending at the forecast origin; got 100"
    assert err.value.where == str(tmp_path / "short.csv")


@pytest.mark.parametrize(("change", "needle"), [
    (lambda f: f[[f.columns[0], f.columns[2], f.columns[1], *f.columns[3:]]],  # T and p swapped
     "reordered: value column 1 (after the time column) is 'T (degC)' where the model expects 'p (mbar)'"),
    (lambda f: f.drop(columns=["rh (%)"]), "lacks the column(s) 'rh (%)'"),
    (lambda f: f.assign(extra=1.0), "was not trained on: 'extra'"),
])
def test_wrong_or_reordered_columns_refused(artifacts, frame, tmp_path, change, needle):
    with pytest.raises(ForecastlabError) as err:
        forecast_fresh(load_artifact(artifacts["lstm"]), _write(change(frame.tail(200)), tmp_path / "x.csv"))
    assert needle in err.value.what
    assert "p (mbar), T (degC), Tpot (K)" in err.value.fix


@pytest.mark.parametrize("bad", ["", "-9999"])
def test_missing_value_inside_the_window_refused_outside_it_accepted(artifacts, frame, tmp_path, bad):
    art = load_artifact(artifacts["lstm"])
    tail = frame.tail(200).astype({"rh (%)": object}).reset_index(drop=True)
    inside = tail.copy()
    inside.loc[len(tail) - 5, "rh (%)"] = bad
    with pytest.raises(ForecastlabError) as err:
        forecast_fresh(art, _write(inside, tmp_path / "in.csv"))
    assert "'rh (%)' at 2009-01-20 23:20:00 is blank, NaN or a -9999 sentinel" in err.value.what
    outside = tail.copy()
    outside.loc[3, "rh (%)"] = bad  # before the last 139 rows: the gap policy fills it, as in training
    forecast_fresh(art, _write(outside, tmp_path / "out.csv"))


def test_a_hole_in_the_time_grid_inside_the_window_refused(artifacts, frame, tmp_path):
    tail = frame.tail(200)
    holed = pd.concat([tail.iloc[:150], tail.iloc[153:]])  # 30 minutes missing, 47 rows before the end
    with pytest.raises(ForecastlabError) as err:
        forecast_fresh(load_artifact(artifacts["lstm"]), _write(holed, tmp_path / "holed.csv"))
    assert "need 139 rows at 10-minute spacing" in err.value.what and "a gap of 40min" in err.value.what


def test_derived_tendencies_need_their_history_before_the_window(runs, frame, tmp_path):
    run = load_model(train(tmp_path, runs["csv"], "weather", "dense", {"units": 4}, feature_set="weather"))
    need = requirements(run)
    assert need["history_rows"] == 144 and need["rows"] == 139 + 144  # the 24-hour changes look back a day
    assert "d24h p (mbar)" in run.config["data"]["columns"] and need["columns"] == list(frame.columns[1:])
    from forecastlab.deploy.artifact import summary as model_summary

    summary = model_summary(run)  # what GET /model and export print: the same count the refusal gives
    assert (summary["rows_needed"], summary["window_rows"], summary["history_rows"]) == (283, 139, 144)
    with pytest.raises(ForecastlabError) as err:
        forecast_fresh(run, _write(frame.tail(200), tmp_path / "r.csv"))
    assert "need 283 rows at 10-minute spacing" in err.value.what and "derived tendency columns" in err.value.what
    full = forecast_table(run, run.recipe.data.load(), last=1)
    got = forecast_fresh(run, _write(frame.tail(283), tmp_path / "r.csv"))
    np.testing.assert_allclose(got.table["value"], full["prediction"], rtol=1e-6)


def test_records_are_bounded_and_checked():
    with pytest.raises(ForecastlabError, match="non-empty list"):
        records_csv([], "body")
    with pytest.raises(ForecastlabError, match="record 1 has other columns"):
        records_csv([{"a": 1}, {"b": 2}], "body")
    with pytest.raises(ForecastlabError, match="not a number or text"):
        records_csv([{"a": [1, 2]}], "body")
    with pytest.raises(ForecastlabError, match="more than the"):
        records_csv([{"a": 1}] * 200_001, "body")


def test_step_of_a_run_made_before_steps_were_recorded():
    config = {"data": {"first_timestamp": "2009-01-01T00:10:00", "last_timestamp": "2009-01-21T00:00:00",
                       "rows": 2880}}
    assert step_seconds(config) == 600
    assert step_seconds({"data": {"step_seconds": 1800.0}}) == 1800
    assert step_seconds({"data": {}}) is None


def test_many_horizons_with_quantile_intervals_through_an_artifact_and_onnx(runs, frame, tmp_path):
    run_dir = train(tmp_path, runs["csv"], "q", "lstm", {"units": 4}, loss="quantile:0.1,0.5,0.9",
                    horizons="3h,6h")
    art = load_artifact(export_run(run_dir, tmp_path / "art", onnx=True))
    got = forecast_fresh(art, _write(frame.tail(160), tmp_path / "r.csv"))
    assert got.table["horizon"].tolist() == [3, 6] and got.table["ahead"].tolist() == ["3h", "6h"]
    assert got.interval["method"] == "cqr"
    assert (got.table["lower"] <= got.table["upper"]).all()
    expected = forecast_table(load_run(run_dir), load_series(str(runs["csv"])), last=1)
    assert got.table["value"].tolist() == expected["prediction"].tolist()


def test_a_run_made_before_intervals_exports_and_forecasts_without_them(frame, tmp_path):
    from run_helpers import FIXTURES

    run_dir = shutil.copytree(FIXTURES / "run_format1", tmp_path / "old")
    art = load_artifact(export_run(run_dir, tmp_path / "art"))
    assert art.calibration is None
    got = forecast_fresh(art, _write(frame.tail(139), tmp_path / "r.csv"))
    assert got.interval is None and "lower" not in got.table and "lower" not in got.to_dict()["forecasts"][0]


def test_many_inputs_forecast_together_as_each_alone(artifacts, frame, tmp_path):
    from forecastlab.deploy.fresh import FreshForecaster

    forecaster = FreshForecaster(load_artifact(artifacts["lstm"]))
    inputs = [frame.iloc[k:k + 150].to_dict(orient="records") for k in (0, 500, 1200)]
    together = forecaster.forecast_many(inputs, names=["a", "b", "c"])
    alone = [forecaster.forecast(records, name=n) for records, n in zip(inputs, "abc", strict=True)]
    assert [f.to_dict() for f in together] == [f.to_dict() for f in alone]
    assert len({f.rows[0]["value"] for f in together}) == 3  # three different windows, three forecasts
    bad = [dict(r) for r in inputs[0]]
    bad[7]["rh (%)"] = True
    with pytest.raises(ForecastlabError, match="record 0's 'rh \\(%\\)' is a bool|is a bool"):
        forecaster.forecast_many([inputs[1], bad], names=["ok", "bad"])


def test_a_missing_value_in_the_last_row_is_refused_not_dropped(artifacts, frame, tmp_path):
    """The gap policy cannot bridge a missing value at the end and drops the row: the forecast would then
    start one step earlier than the input's last row, which the user never asked for."""
    art = load_artifact(artifacts["lstm"])
    tail = frame.tail(200).reset_index(drop=True)
    for column in ("T (degC)", "rh (%)"):  # the target, and an input column
        last = tail.copy()
        last.loc[len(last) - 1, column] = np.nan
        with pytest.raises(ForecastlabError) as err:
            forecast_fresh(art, _write(last, tmp_path / "last.csv"))
        assert err.value.what.startswith("the input's last row at 2009-01-21 00:00:00 holds a missing value")
        assert f"{column!r} is blank, NaN or a -9999 sentinel" in err.value.what
        assert err.value.where.endswith(f"line 201, column {column!r}")
    two = tail.copy()
    two.loc[len(two) - 2:, "rh (%)"] = np.nan
    with pytest.raises(ForecastlabError, match="last 2 rows from 2009-01-20 23:50:00 to 2009-01-21 00:00:00 hold"):
        forecast_fresh(art, _write(two, tmp_path / "two.csv"))
    with pytest.raises(ForecastlabError) as err:  # JSON records: the same check, the place a record number
        forecast_fresh(art, last.astype(object).where(last.notna(), None).to_dict(orient="records"), name="records")
    assert "last row at" in err.value.what and err.value.where == "records, record 199, column 'rh (%)'"


def _generic_csv(path, periods: int, freq: str):
    """A CSV as a user writes one: a 'time' column and three numeric ones, not the Jena format."""
    t = np.arange(periods)
    rng = np.random.default_rng(0)
    pd.DataFrame({"time": pd.date_range("2023-01-01", periods=periods, freq=freq),
                  "temp (degC)": (10 + 8 * np.sin(2 * np.pi * t / (periods / 40)) + rng.normal(0, 1, periods)).round(3),
                  "pressure (hPa)": (1000 + 5 * np.sin(t / 200) + rng.normal(0, 0.5, periods)).round(3),
                  "humidity (%)": (60 + rng.normal(0, 2, periods)).round(3)}).to_csv(path, index=False)
    return path


def _train_generic(root, csv, lookback="1d", **data):
    from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
    from forecastlab.training.runner import run_recipe

    recipe = Recipe(ModelRecipe("dense", {"units": 4}), DataRecipe(str(csv), target="temp (degC)", **data),
                    WindowRecipe(lookback=lookback, sample_every="1h", horizons="6h", batch_size=64),
                    TrainingRecipe(epochs=1, max_steps_per_epoch=2, seed=0))
    run_recipe(recipe, out_dir=root / "run", progress=False)
    return load_run(root / "run")


def test_missing_rows_inside_the_window_are_named_as_missing_rows(tmp_path):
    """On a generic file the gap policy fills a short hole in the time grid with NaN slots; for a forecast
    the refusal names the missing row, not a blank cell the file does not have."""
    csv = _generic_csv(tmp_path / "hourly.csv", 1500, "h")
    run = _train_generic(tmp_path, csv)
    tail = pd.read_csv(csv).tail(60).reset_index(drop=True)
    holed = tail.drop(index=[50, 51])
    with pytest.raises(ForecastlabError) as err:
        forecast_fresh(run, _write(holed, tmp_path / "holed.csv"))
    assert err.value.what.startswith(f"the forecast window lacks the row for {pd.Timestamp(tail.iloc[50, 0])}")
    assert "one row every 1h" in err.value.fix
    denser = _generic_csv(tmp_path / "denser.csv", 200, "10min")
    with pytest.raises(ForecastlabError, match="a step of only 10min"):
        forecast_fresh(run, denser)


def test_two_different_rows_for_one_time_are_refused_identical_repeats_are_not(tmp_path):
    """The loader keeps the first of repeated timestamps; for a forecast a repeat that disagrees (here a
    corrected reading at the origin) would be dropped without a word, so it is refused, naming the time."""
    csv = _generic_csv(tmp_path / "hourly.csv", 1500, "h")
    run = _train_generic(tmp_path, csv)
    tail = pd.read_csv(csv).tail(60).reset_index(drop=True)
    base = forecast_fresh(run, _write(tail, tmp_path / "tail.csv")).rows[0]["value"]
    same = pd.concat([tail, tail.tail(1)], ignore_index=True)  # the last row twice, identical
    assert forecast_fresh(run, _write(same, tmp_path / "same.csv")).rows[0]["value"] == base
    other = same.copy()
    other.loc[len(other) - 1, "temp (degC)"] = -30.0
    with pytest.raises(ForecastlabError) as err:
        forecast_fresh(run, _write(other, tmp_path / "other.csv"))
    assert err.value.what.startswith(f"the input holds two different rows for {pd.Timestamp(tail.iloc[-1, 0])}")
    assert err.value.where == str(tmp_path / "other.csv") and "send each time once" in err.value.fix
    loaded = load_series(tmp_path / "other.csv", target="temp (degC)")  # data for training keeps the first
    assert len(loaded) == 60 and loaded.quality["time"]["conflicting_duplicates"]["count"] == 1


def test_a_run_on_a_public_record_without_a_target_forecasts_from_a_csv_of_it(tmp_path):
    """--data tmy3 names no target (the record's default is used): a fresh CSV of the record's columns is
    read with the target the run used, not refused as 'not clear which column to forecast'."""
    from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
    from forecastlab.training.runner import run_recipe

    recipe = Recipe(ModelRecipe("dense", {"units": 4}), DataRecipe("tmy3"), WindowRecipe(lookback="1d"),
                    TrainingRecipe(epochs=1, max_steps_per_epoch=2, seed=0))
    assert recipe.data.target is None
    run_recipe(recipe, out_dir=tmp_path / "run", progress=False)
    run = load_run(tmp_path / "run")
    series = load_series("tmy3")
    recent = pd.DataFrame(series.values[-100:], columns=series.columns)
    recent.insert(0, "time", pd.to_datetime(series.timestamps[-100:]))
    got = forecast_fresh(run, _write(recent, tmp_path / "recent.csv"))
    assert got.target == "Temperature (degC)" and got.origin == pd.Timestamp(series.timestamps[-1])
    full = forecast_table(run, series, last=1)
    np.testing.assert_allclose(got.table["value"], full["prediction"], rtol=1e-6)


def test_a_run_on_nyc_jfk_takes_fresh_times_in_utc_as_it_was_trained_and_refuses_naive_ones(tmp_path):
    """nyc-jfk's times are UTC (zoned), the other public records' naive: the run records it (config.json's
    data.time_zone) and a fresh CSV must write its times the same way."""
    from forecastlab.errors import DataQualityWarning
    from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
    from forecastlab.training.runner import run_recipe

    recipe = Recipe(ModelRecipe("dense", {"units": 4}), DataRecipe("nyc-jfk"), WindowRecipe(lookback="1d"),
                    TrainingRecipe(epochs=1, max_steps_per_epoch=2, seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        run_recipe(recipe, out_dir=tmp_path / "run", progress=False)
        series = load_series("nyc-jfk")
    run = load_run(tmp_path / "run")
    assert run.config["data"]["time_zone"] == "UTC"
    recent = pd.DataFrame(series.values[-100:], columns=series.columns)
    recent.insert(0, "time", pd.to_datetime(series.timestamps[-100:]).tz_localize("UTC"))
    got = forecast_fresh(run, _write(recent, tmp_path / "utc.csv"))
    assert got.origin == pd.Timestamp(series.timestamps[-1])
    np.testing.assert_allclose(got.table["value"], forecast_table(run, series, last=1)["prediction"], rtol=1e-6)
    recent["time"] = recent["time"].dt.tz_localize(None)
    with pytest.raises(ForecastlabError, match="have no time zone") as err:
        forecast_fresh(run, _write(recent, tmp_path / "naive.csv"))
    assert err.value.where.startswith(str(tmp_path / "naive.csv"))
    # An older run that did not record it: the record's entry says UTC all the same.
    del run.config["data"]["time_zone"]
    from forecastlab.deploy.fresh import trained_time_zone

    assert trained_time_zone(run) == "UTC"


def test_monthly_rows_forecast_calendar_months_ahead(tmp_path):
    """A month grid has steps of 28 to 31 days: 3 rows after 2023-12-01 is 2024-03-01 (not 2024-03-03, three
    times the most common step), from the run's own data, from a fresh file and through an artifact; a
    fresh file that skips a month is refused."""
    from forecastlab.data.quality import calendar_offset
    from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
    from forecastlab.training.runner import run_recipe

    months = pd.date_range("2014-01-01", periods=120, freq="MS")
    values = 100 + 10 * np.sin(np.arange(120) * 2 * np.pi / 12)
    csv = _write(pd.DataFrame({"month": months.strftime("%Y-%m"), "revenue": values.round(2)}), tmp_path / "m.csv")
    assert calendar_offset(months.to_numpy()).freqstr == "MS" and calendar_offset(
        pd.date_range("2024-01-01", periods=50, freq="h").to_numpy()) is None
    recipe = Recipe(ModelRecipe("dense", {"units": 4}), DataRecipe(str(csv), target="revenue"),
                    WindowRecipe(sequence_length=12, sampling_rate=1, horizon=3),
                    TrainingRecipe(epochs=1, max_steps_per_epoch=2, seed=0))
    run_recipe(recipe, out_dir=tmp_path / "run", progress=False)
    run = load_run(tmp_path / "run")
    table = forecast_table(run, run.recipe.data.load(), last=1)
    assert table["window_end"].iloc[0] == pd.Timestamp("2023-12-01")
    assert table["forecast_for"].iloc[0] == pd.Timestamp("2024-03-01") and table["ahead"].iloc[0] == "91d"
    fresh = pd.read_csv(csv).tail(12)
    got = forecast_fresh(run, _write(fresh, tmp_path / "fresh.csv"))
    assert got.origin == pd.Timestamp("2023-12-01") and got.rows[0]["target_time"] == pd.Timestamp("2024-03-01")
    assert got.rows[0]["value"] == pytest.approx(table["prediction"].iloc[0], rel=1e-6)
    art = export_run(tmp_path / "run", tmp_path / "art")
    via_artifact = forecast_fresh(load_artifact(art), tmp_path / "fresh.csv")
    assert via_artifact.rows[0]["target_time"] == pd.Timestamp("2024-03-01")
    holed = pd.read_csv(csv).tail(13).drop(index=115)  # no row for 2023-08
    with pytest.raises(ForecastlabError, match="lacks the row for 2023-08-01"):
        forecast_fresh(run, _write(holed, tmp_path / "holed.csv"))


def test_a_resampled_run_works_in_the_freq_step_and_forecasts_from_raw_rows(tmp_path):
    """freq='1h' on 10-minute rows: the window, the horizon and the recorded step are hourly, and a fresh
    file of raw 10-minute rows is resampled like the training file, its origin the last full hour."""
    csv = _generic_csv(tmp_path / "ten.csv", 9000, "10min")
    run = _train_generic(tmp_path, csv, freq="1h")
    assert run.config["data"]["step_seconds"] == 3600 and run.sampling_rate == 1
    assert run.spec.sequence_length == 24 and run.spec.steps == (6,)
    assert run.config["data"]["time_column"] == "time"
    raw = pd.read_csv(csv).tail(600)
    got = forecast_fresh(run, _write(raw, tmp_path / "recent.csv"))
    assert got.origin == pd.Timestamp(raw.iloc[-1, 0]).floor("h")
    assert got.rows[0]["ahead"] == "6h" and got.rows[0]["target_time"] == got.origin + pd.Timedelta("6h")
    with pytest.raises(ForecastlabError) as err:  # the loader's time_col= advice is rewritten for a forecast
        forecast_fresh(run, _write(raw.drop(columns=["time"]), tmp_path / "no-time.csv"))
    assert "time_col" not in err.value.fix and "the training file's time column 'time'" in err.value.fix


def test_json_records_are_matched_by_key_not_by_key_order(artifacts, frame, tmp_path):
    art = load_artifact(artifacts["lstm"])
    tail = frame.tail(150)
    want = forecast_fresh(art, _write(tail, tmp_path / "r.csv")).to_dict()["forecasts"]
    records = tail.to_dict(orient="records")
    shuffled = [dict(reversed(list(r.items()))) for r in records]  # keys in reverse order, time column last
    shuffled[7] = dict(sorted(shuffled[7].items()))  # and one record in yet another order
    assert forecast_fresh(art, shuffled, name="records").to_dict()["forecasts"] == want
    lacking = [dict(r) for r in records]
    del lacking[3]["rh (%)"]
    with pytest.raises(ForecastlabError, match=r"record 3 has other columns than record 0: it lacks 'rh \(%\)'"):
        forecast_fresh(art, lacking, name="records")
    bad = [dict(r) for r in records]
    bad[95]["rh (%)"] = "abc"
    with pytest.raises(ForecastlabError) as err:
        forecast_fresh(art, bad, name="the request's records")
    assert "record 95" in err.value.where and "line" not in err.value.where, err.value.where


def test_an_artifact_is_never_exported_inside_another(runs, artifacts, tmp_path):
    with pytest.raises(ForecastlabError, match="inside the artifact"):
        export_run(runs["lstm"], artifacts["lstm"] / "sub")
    assert not (artifacts["lstm"] / "sub").exists()
    load_artifact(artifacts["lstm"])  # still whole


def _zoned(frame, zone="Europe/Berlin"):
    """`frame` with its naive 'time' column written as local times of `zone` with their UTC offsets."""
    return frame.assign(time=pd.to_datetime(frame["time"]).dt.tz_localize(zone).map(lambda t: t.isoformat()))


def test_times_of_an_input_with_zones_are_said_to_be_utc(tmp_path):
    """Stamps with zones are converted to UTC when read: the forecast's times then say +00:00, never a
    bare time a reader would take for the input's local one. (Trained on zoned times: a naive run refuses
    zoned input, test_zoned_and_naive_times_are_never_mixed.)"""
    csv = _generic_csv(tmp_path / "hourly.csv", 1500, "h")
    _write(_zoned(pd.read_csv(csv)), csv)
    run = _train_generic(tmp_path, csv)
    tail = pd.read_csv(csv).tail(60)
    zoned = forecast_fresh(run, _write(tail, tmp_path / "zoned.csv")).to_dict()
    last = pd.Timestamp(tail.iloc[-1, 0]).tz_convert("UTC")
    assert zoned["origin"] == last.isoformat() and zoned["origin"].endswith("+00:00")
    assert zoned["forecasts"][0]["target_time"].endswith("+00:00")
    naive = _generic_csv(tmp_path / "plain.csv", 1500, "h")
    plain = forecast_fresh(_train_generic(tmp_path / "naive", naive), _write(pd.read_csv(naive).tail(60),
                                                                          tmp_path / "plain-tail.csv")).to_dict()
    assert plain["origin"] == pd.Timestamp(pd.read_csv(naive).iloc[-1, 0]).isoformat()  # no zone given: none added


def test_zoned_and_naive_times_are_never_mixed(tmp_path):
    """A run trained on times with UTC offsets read naive input as if its clock were UTC (here an hour off for
    Berlin's winter time), and a naive run read zoned input shifted to UTC: both are refused, naming the file,
    the time column, what the run was trained on and the fix."""
    zoned_csv = _generic_csv(tmp_path / "zoned.csv", 1500, "h")  # 2023-01-01 .. 2023-03-04: all +01:00
    _write(_zoned(pd.read_csv(zoned_csv)), zoned_csv)
    zoned_run = _train_generic(tmp_path / "z", zoned_csv)
    naive_csv = _generic_csv(tmp_path / "naive.csv", 1500, "h")
    naive_run = _train_generic(tmp_path / "n", naive_csv)
    naive_tail = _write(pd.read_csv(naive_csv).tail(60), tmp_path / "naive-tail.csv")
    zoned_tail = _write(pd.read_csv(zoned_csv).tail(60), tmp_path / "zoned-tail.csv")
    assert zoned_run.config["data"]["time_zone"] == "+01:00" and naive_run.config["data"]["time_zone"] is None

    with pytest.raises(ForecastlabError) as err:
        forecast_fresh(zoned_run, naive_tail)
    e = err.value
    assert e.what.startswith("the input's times have no time zone (like 2023-03-04 11:00:00), but the run was "
                             "trained on times with a UTC offset (+01:00), read as UTC"), e.what
    assert e.where == f"{naive_tail}, column 'time'"
    assert e.fix.startswith("write every time with its UTC offset, as the training file did "
                            "(like 2023-03-04T11:00:00+01:00), or in UTC (2023-03-04T11:00:00+00:00)"), e.fix
    records = pd.read_csv(naive_tail).to_dict(orient="records")  # JSON records and request bodies alike
    with pytest.raises(ForecastlabError, match="the input's times have no time zone") as err:
        forecast_fresh(zoned_run, records, name="the request's records")
    assert err.value.where == "the request's records, column 'time'"

    with pytest.raises(ForecastlabError) as err:
        forecast_fresh(naive_run, zoned_tail)
    e = err.value
    assert e.what.startswith("the input's times carry a time zone, +01:00, but the run was trained on times without "
                             "one (naive, on the training file's own clock)"), e.what
    assert e.where == f"{zoned_tail}, column 'time'" and "without an offset and on the same clock" in e.fix

    assert forecast_fresh(zoned_run, zoned_tail).utc and not forecast_fresh(naive_run, naive_tail).utc  # as trained
    del zoned_run.config["data"]["time_zone"]  # an older run, which did not record it: read from its training file
    with pytest.raises(ForecastlabError, match="the input's times have no time zone"):
        forecast_fresh(zoned_run, naive_tail)
    utc = _write(pd.read_csv(zoned_tail).assign(time=lambda f: pd.to_datetime(f["time"], utc=True).map(
        lambda t: t.isoformat())), tmp_path / "utc-tail.csv")  # another offset is the same time axis
    assert forecast_fresh(zoned_run, utc).origin == forecast_fresh(zoned_run, zoned_tail).origin


def test_the_recorded_training_time_zone_decides_and_an_untold_one_is_not_checked(tmp_path):
    from forecastlab.deploy.fresh import FreshForecaster, trained_time_zone

    naive_csv = _generic_csv(tmp_path / "naive.csv", 1500, "h")
    run = _train_generic(tmp_path, naive_csv)
    tail = _write(pd.read_csv(naive_csv).tail(60), tmp_path / "tail.csv")
    assert trained_time_zone(run) == "naive"
    run.config["data"]["time_zone"] = "+05:30"  # as config.json records it for a zoned training file
    with pytest.raises(ForecastlabError, match=r"trained on times with a UTC offset \(\+05:30\)") as err:
        FreshForecaster(run).forecast(tail)
    assert "+05:30)" in err.value.fix
    del run.config["data"]["time_zone"]
    naive_csv.write_text(naive_csv.read_text() + "\n")  # the training file changed: its times cannot be told
    assert trained_time_zone(run) is None
    assert FreshForecaster(run).forecast(_write(_zoned(pd.read_csv(tail)), tmp_path / "z.csv")).utc  # as before


def test_a_reading_far_outside_anything_in_training_is_refused(artifacts, frame, tmp_path):
    """1e30 in a temperature column is no measurement: its forecast came out with a zero-width interval."""
    art = load_artifact(artifacts["lstm"])
    tail = frame.tail(200).reset_index(drop=True)
    wild = tail.copy()
    wild.loc[len(wild) - 3, "T (degC)"] = 1e30
    with pytest.raises(ForecastlabError) as err:
        forecast_fresh(art, _write(wild, tmp_path / "wild.csv"))
    assert err.value.what.startswith("'T (degC)' at 2009-01-20 23:40:00 is 1e+30") and "standard deviations" in \
        err.value.what
    odd = tail.copy()
    odd.loc[len(odd) - 3, "T (degC)"] = 45.0  # a heat record is still a reading: forecast from
    forecast_fresh(art, _write(odd, tmp_path / "odd.csv"))


def test_a_fresh_input_is_read_in_its_training_file_s_day_month_order(tmp_path):
    """Trained on day-first dates (the 13th settles it), a fresh input of one day, 05/03/2024, is read as
    5 March, not 3 May: the forecast's origin and target times depend on it."""
    csv = _generic_csv(tmp_path / "hourly.csv", 1500, "h")
    frame = pd.read_csv(csv)
    frame["time"] = pd.to_datetime(frame["time"]).dt.strftime("%d/%m/%Y %H:%M")
    frame.to_csv(csv, index=False)
    run = _train_generic(tmp_path, csv, lookback="6h")
    assert run.config["data"]["day_first"] is True
    tail = frame.tail(12)  # 04/03/2023 00:00 to 11:00: one day, as regular read either way
    got = forecast_fresh(run, _write(tail, tmp_path / "recent.csv"))
    assert got.origin == pd.Timestamp("2023-03-04 11:00")  # not 3 April


def test_predict_on_a_run_of_zoned_data_says_its_times_are_utc(tmp_path):
    from run_helpers import cli

    t = pd.date_range("2023-09-20", periods=1500, freq="h", tz="Europe/Berlin")
    _write(pd.DataFrame({"time": [x.isoformat() for x in t], "kw": np.sin(np.arange(1500) / 5.0)}), tmp_path / "z.csv")
    done = cli("train", "dense", "--data", tmp_path / "z.csv", "--target", "kw", "--lookback", "1d", "--horizons", "6h",
               "--epochs", "1", "--max-steps-per-epoch", "2", "--out", tmp_path / "run", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-1500:]
    text = cli("predict", tmp_path / "run", cwd=tmp_path)
    assert text.returncode == 0 and "(times in UTC: the data's time zones converted)" in text.stdout
    assert "2023-11-21 09:00:00" in text.stdout  # the last stamp, 2023-11-21T10:00+01:00, in UTC
    import json

    assert json.loads(cli("predict", tmp_path / "run", "--json", cwd=tmp_path).stdout)["utc"] is True
    # fresh input without the offsets would be read as UTC, an hour or two off: refused, saying what to write
    bare = pd.DataFrame({"time": t[-60:].strftime("%Y-%m-%d %H:%M:%S"), "kw": np.sin(np.arange(1440, 1500) / 5.0)})
    _write(bare, tmp_path / "bare.csv")
    from run_helpers import clean_error

    clean_error(cli("predict", tmp_path / "run", "--input", tmp_path / "bare.csv", cwd=tmp_path),
                "the input's times have no time zone (like 2023-11-21 10:00:00), but the run was trained on times "
                "with a UTC offset (+02:00, +01:00)", f"{tmp_path / 'bare.csv'}, column 'time'",
                "write every time with its UTC offset, as the training file did")


def test_an_input_lacking_a_chosen_column_is_told_the_training_columns_not_to_choose_another(tmp_path):
    """A run trained with target= and features= given: an input without one of them is refused as an input that
    lacks it, with the training columns to send, not with the loader's "choose from" (advice for target= or
    features=, which the input, read with the run's own options, cannot change)."""
    from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
    from forecastlab.training.runner import run_recipe

    hours = pd.date_range("2020-01-01", periods=400, freq="h")
    t = np.arange(400)
    frame = pd.DataFrame({"time": hours.strftime("%Y-%m-%d %H:%M:%S"), "load": (50 + 5 * np.sin(t / 4)).round(2),
                          "temp": (10 + np.cos(t / 6)).round(2), "wind": (3 + np.sin(t / 9)).round(2)})
    csv = _write(frame, tmp_path / "h.csv")
    recipe = Recipe(ModelRecipe("dense", {"units": 4}), DataRecipe(str(csv), target="load", features="load,temp"),
                    WindowRecipe(sequence_length=12, sampling_rate=1, horizon=2),
                    TrainingRecipe(epochs=1, max_steps_per_epoch=2, seed=0))
    run_recipe(recipe, out_dir=tmp_path / "run", progress=False)
    run = load_run(tmp_path / "run")
    for dropped in ("load", "temp"):
        with pytest.raises(ForecastlabError) as err:
            forecast_fresh(run, _write(frame.tail(30).drop(columns=[dropped]), tmp_path / "x.csv"))
        assert err.value.what == f"the input lacks the column(s) '{dropped}'"
        assert err.value.fix == "send the training columns, in this order: load, temp", err.value.fix
        assert err.value.where == f"{tmp_path / 'x.csv'}, header"


def test_an_input_path_is_a_file_never_a_data_keyword_and_is_refused_as_the_input(tmp_path, monkeypatch):
    """input_path: 'synthetic', 'jena', 'tmy3', 'ucr:X' name files (load_series would read them as built-in or
    public data); a missing path, a folder and a device are refused as the input, without data='s keywords."""
    from forecastlab.deploy.fresh import input_path

    monkeypatch.chdir(tmp_path)
    for name in ("synthetic", "JENA", "tmy3", "ucr:GunPoint", "recent.csv"):
        (tmp_path / name).write_text("x\n")
    assert [input_path(n) for n in ("synthetic", "JENA", "tmy3", "ucr:GunPoint", "recent.csv")] == [
        os.path.join(".", "synthetic"), os.path.join(".", "JENA"), os.path.join(".", "tmy3"),
        os.path.join(".", "ucr:GunPoint"), "recent.csv"]
    assert input_path(tmp_path / "synthetic") == str(tmp_path / "synthetic")
    for bad, what in (("auto", "the input file does not exist"), (".", "the input is a directory, not a file"),
                      (os.devnull, "the input is not a regular file (it is a character device)")):
        with pytest.raises(ForecastlabError) as err:
            input_path(bad)
        assert err.value.what == what and "data=" not in (err.value.fix or ""), err.value
