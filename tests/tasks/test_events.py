"""Event detection: the front-passage rule on series built to hold (or not hold) a front, the warning
targets and the scores against hand-computed values, a detector trained on the synthetic record (beside
its baselines, saved and reloaded), and `forecastlab events` with --json, --run and its refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecastlab.cli import app
from forecastlab.data import load_series
from forecastlab.data.series import Provenance, Series
from forecastlab.errors import ForecastlabError
from forecastlab.tasks.classification import load_classifier
from forecastlab.tasks.events import detect_fronts, front_labels, score_flags, warning_targets
from run_helpers import strict_json


def weather(n=120, *, front_at=None, turn=90.0, breaks=()):
    """Hourly p and wd: steady, then (at `front_at`) a 4 mbar fall over 6 h and the wind turning by `turn`."""
    p = np.full(n, 1000.0)
    wd = np.full(n, 180.0)
    if front_at is not None:
        p[front_at - 5:front_at + 1] = 1000.0 - np.linspace(4 / 6, 4.0, 6)
        p[front_at + 1:] = 996.0
        wd[front_at + 1:] = 180.0 + turn
    values = np.stack([p, wd, np.full(n, 5.0)], axis=1).astype(np.float32)
    return Series(timestamps=np.arange(n).astype("datetime64[h]").astype("datetime64[ns]"), values=values,
                  columns=["p (mbar)", "wd (deg)", "T (degC)"], target="T (degC)",
                  provenance=Provenance(source="synthetic"), breaks=np.asarray(breaks, dtype=np.int64))


def test_the_rule_finds_a_pressure_fall_with_a_wind_turn_and_nothing_else():
    (a, b), = front_labels(weather(front_at=60))  # one event, around the hour the wind turns
    assert 58 <= a <= 60 <= b <= 62
    assert front_labels(weather(front_at=60, turn=30.0)) == []  # the wind barely turns
    assert front_labels(weather()) == []
    assert front_labels(weather(front_at=60), drop=5.0) == []
    assert front_labels(weather(front_at=60, breaks=[58])) == []  # a jump in the record is no front
    with pytest.raises(ForecastlabError, match="reads hourly rows"):
        front_labels(load_series("synthetic"))


def test_warning_targets_mark_the_hours_before_and_during_an_event():
    y = warning_targets([(10, 11)], 20, 3)
    assert np.flatnonzero(y).tolist() == [7, 8, 9, 10, 11]


def test_scores_are_event_recall_and_row_precision_within_the_zone():
    flags = np.zeros(40, dtype=bool)
    flags[[8, 30]] = True
    s = score_flags(flags, [(10, 11)], tolerance=1, warn_hours=2)  # zone: rows 7..12
    assert s["event_recall"] == 1.0 and s["event_precision"] == 0.5 and s["false_alarms"] == 1
    assert s["lead_hours"] == [2] and s["flagged_before_start"] == 1.0
    assert s["event_f1"] == pytest.approx(2 * 0.5 / 1.5)
    always = score_flags(np.ones(40, dtype=bool), [(10, 11)], tolerance=1, warn_hours=2)
    assert always["event_recall"] == 1.0 and always["event_precision"] == pytest.approx(6 / 40)
    assert score_flags(np.zeros(40, dtype=bool), [(10, 11)], tolerance=1, warn_hours=2)["event_f1"] == 0.0


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("events")
    series = load_series("synthetic", freq="1h")
    result = detect_fronts(series, model_params={"units": 4}, epochs=1, max_steps=5, seed=0)
    return root, series, result


def test_detector_leaderboard_and_round_trip(trained):
    root, series, result = trained
    board = result.leaderboard()
    assert board["method"].tolist()[-1] == "gru_stacked" and len(board) == 4
    assert board["kind"].tolist() == ["baseline"] * 3 + ["model"]
    assert result.data["events"] > 100 and set(result.data["events_per_split"]) == {"train", "val", "test"}
    always = result.rows[2]["test"]
    assert always["event_recall"] == 1.0 and always["event_precision"] < 0.2  # flagging everything is not free
    assert 0.05 <= result.threshold <= 0.95
    json.dumps(result.to_dict(), default=float)
    folder = result.classifier.save(root / "fronts")
    again = load_classifier(folder)
    assert again.task["kind"] == "events" and again.task["threshold"] == result.threshold
    assert again.frost_outlook(series) == result.classifier.frost_outlook(series)  # derived inputs made again


def test_cli_trains_with_json_and_predicts_with_run(trained, tmp_path):
    root, series, _result = trained
    runner = CliRunner()
    done = runner.invoke(app, ["events", "--data", "synthetic", "--param", "units=4", "--epochs", "1", "--max-steps",
                               "3", "--out", str(tmp_path / "det"), "--events", str(tmp_path / "fronts.csv"),
                               "--json", "--no-progress"])
    assert done.exit_code == 0, done.output
    out = strict_json(done.stdout)
    assert out["task"] == "events:front" and out["rule"]["drop"] == 3.0
    fronts = pd.read_csv(tmp_path / "fronts.csv")
    assert len(fronts) == out["data"]["events"] and (fronts["end_row"] >= fronts["start_row"]).all()
    assert fronts[["start_row", "end_row"]].values.tolist() == [list(f) for f in front_labels(series)]
    assert fronts["start"].tolist() == [str(series.timestamps[a]) for a, _ in front_labels(series)]
    from run_helpers import cli

    table = cli("events", "--data", "synthetic", "--param", "units=4", "--epochs", "1", "--max-steps", "3",
                "--no-progress", cwd=tmp_path)  # a real process: the result table on stdout, messages on stderr
    assert table.returncode == 0, table.stderr[-1500:]
    assert "front passages in" in table.stdout and "test F1" in table.stdout and "front passages in" not in table.stderr
    done = runner.invoke(app, ["events", "--run", str(tmp_path / "det"), "--data", "synthetic", "--json"])
    assert done.exit_code == 0, done.output
    p = strict_json(done.stdout)
    assert set(p["probabilities"]) == {"no front", "front ahead"} and p["threshold"] == out["threshold"]
    done = runner.invoke(app, ["events", "--run", str(tmp_path / "det"), "--epochs", "2"])
    assert isinstance(done.exception, ForecastlabError) and "--epochs train a detector" in str(done.exception)
    done = runner.invoke(app, ["events", "--out", str(tmp_path / "det")])
    assert isinstance(done.exception, ForecastlabError) and "already holds a classifier" in str(done.exception)
    done = runner.invoke(app, ["classify", "--run", str(tmp_path / "det"), "--data", "synthetic"])
    assert isinstance(done.exception, ForecastlabError), done.output  # not a frost outlook of other inputs
    assert "is not a classifier (it is an events detector)" in str(done.exception)
    assert "forecastlab events --run" in str(done.exception)


def test_cli_leaves_only_the_detector_and_refuses_a_resume_with_nothing_to_resume(tmp_path):
    runner = CliRunner()
    done = runner.invoke(app, ["events", "--data", "synthetic", "--param", "units=4", "--epochs", "1", "--max-steps",
                               "2", "--out", str(tmp_path / "det"), "--json", "--no-progress"])
    assert done.exit_code == 0, done.output
    assert strict_json(done.stdout)["resumed"] is False
    # the per-epoch training state (training.pt) is dropped once the detector is saved
    assert sorted(p.name for p in (tmp_path / "det").iterdir()) == ["classifier.json", "weights.safetensors"]
    done = runner.invoke(app, ["events", "--data", "synthetic", "--out", str(tmp_path / "new"), "--resume"])
    assert isinstance(done.exception, ForecastlabError) and "no interrupted training" in str(done.exception)
    done = runner.invoke(app, ["events", "--data", "synthetic", "--resume"])
    assert isinstance(done.exception, ForecastlabError) and "no --out was given" in str(done.exception)


def test_cli_events_take_a_task_file_and_record_its_options(tmp_path):
    (tmp_path / "fronts.toml").write_text('data = "synthetic"\nepochs = 1\nmax_steps = 2\nwarn_hours = 4\n'
                                          f'out = "{tmp_path / "det"}"\n[params]\nunits = 4\n')
    done = CliRunner().invoke(app, ["events", "--config", str(tmp_path / "fronts.toml"), "--json", "--no-progress"])
    assert done.exit_code == 0, done.output
    meta = json.loads((tmp_path / "det" / "classifier.json").read_text())
    assert meta["task"]["warn_hours"] == 4 and meta["model"]["units"] == 4
    assert meta["task"]["options"] == {"data": "synthetic", "epochs": 1, "max_steps": 2, "warn_hours": 4,
                                       "out": str(tmp_path / "det"), "params": {"units": 4}}
    (tmp_path / "bad.toml").write_text("turn = 400\n")
    done = CliRunner().invoke(app, ["events", "--config", str(tmp_path / "bad.toml")])
    assert isinstance(done.exception, ForecastlabError) and "0 to 180" in done.exception.fix


def test_train_runs_an_events_recipe_and_the_detector_keeps_it_as_a_recipe(tmp_path):
    recipe = {"task": {"kind": "events", "warn_hours": 4}, "model": {"params": {"units": 4}},
              "data": {"data": "synthetic"}, "training": {"epochs": 1, "max_steps": 2},
              "output": {"out": str(tmp_path / "det")}}
    from forecastlab.training.recipe import toml_text

    (tmp_path / "fronts.toml").write_text(toml_text(recipe))
    done = CliRunner().invoke(app, ["train", "--config", str(tmp_path / "fronts.toml"), "--json", "--no-progress"])
    assert done.exit_code == 0, done.output
    assert strict_json(done.stdout)["out"] == str(tmp_path / "det")
    meta = json.loads((tmp_path / "det" / "classifier.json").read_text())
    assert meta["task"]["kind"] == "events" and meta["task"]["warn_hours"] == 4 and meta["model"]["units"] == 4
    assert meta["task"]["recipe"] == recipe  # written back with toml_text, it is this file again


def _said(done) -> str:
    """What `forecastlab events` prints for the ForecastlabError a CliRunner run ended in (flags spelled)."""
    from forecastlab.cli.options import FLAGS

    assert isinstance(done.exception, ForecastlabError), done.output
    return done.exception.paragraph(FLAGS)


@pytest.mark.parametrize("args, needles", [
    (["--tolerance-hours", "99999999"], ["--tolerance-hours must be a whole number of hours from 0 to 24, got 99999999",
                                         "scores F1 near 1", "Where: --tolerance-hours",
                                         "pass --tolerance-hours 3 (the default) or another value up to 24"]),
    (["--lookback-hours", "100000"], ["--lookback-hours must be a whole number of hours from 2 to 720, got 100000",
                                      "pass --lookback-hours 24 (the default) or another value up to 720"]),
    (["--warn-hours", "99999999"], ["--warn-hours must be a whole number of hours from 0 to 168, got 99999999"]),
])
def test_cli_refuses_unbounded_hours_by_the_events_flags_before_reading_the_data(tmp_path, args, needles):
    # Before: a tolerance of 99999999 h was accepted (every detector, 'always' too, then scores F1 1.000), and
    # --lookback-hours 100000 was refused only after loading, with --sequence-length/--horizon, flags events lacks.
    said = _said(CliRunner().invoke(app, ["events", "--data", str(tmp_path / "not-read.csv"), *args]))
    assert all(needle in said for needle in needles), said
    assert "--sequence-length" not in said and "_hours" not in said


def test_a_lookback_longer_than_the_record_holds_names_the_events_option(tmp_path):
    with pytest.raises(ForecastlabError, match="lookback_hours=24 is longer than this record allows") as err:
        detect_fronts(weather(n=120), epochs=1)  # 120 hourly rows split 60/30/30: windows of at most 15
    assert err.value.arg == "lookback_hours" and "lookback_hours=15 or less" in err.value.fix
    from forecastlab.data.synthetic import write_csv

    csv = write_csv(tmp_path / "sixty-days.csv", seed=4, end="02.03.2009 00:00:00")  # 1,441 hourly rows
    said = _said(CliRunner().invoke(app, ["events", "--data", str(csv), "--lookback-hours", "200"]))
    assert "--lookback-hours 200 is longer than this record allows" in said, said
    assert "split 720/360/361 hold windows of at most 180" in said and "pass --lookback-hours 180 or less" in said
    assert "--sequence-length" not in said and "--sampling-rate" not in said and "--horizon" not in said


@pytest.mark.filterwarnings("ignore::forecastlab.errors.DataQualityWarning")
@pytest.mark.parametrize("lookback", [2, 3, 24, 100])
def test_a_too_long_lookback_is_told_a_lookback_and_a_record_length_that_fit(lookback):
    # Before: a record too short for even the shortest lookback (most < 2) was told `lookback_hours=2 or less`,
    # which check_event_options takes and this check refuses again, and the record length needed was not said.
    # Now both numbers are checked against the real code: the window datasets the task builds.
    import re

    from forecastlab.tasks.events import check_lookback_fits
    from forecastlab.windows import WindowSpec, make_datasets_from_series

    def fits(n, hours):
        try:
            check_lookback_fits(weather(n=n), hours)
        except ForecastlabError:
            return False
        sets = make_datasets_from_series(weather(n=n), WindowSpec(hours, 1, 1), batch_size=8)
        assert min(sets.train.num_windows, sets.val.num_windows, sets.test.num_windows) >= 1  # it really fits
        return True

    refused = 0
    for n in range(1, 4 * lookback + 40):
        try:
            check_lookback_fits(weather(n=n), lookback)
            continue
        except ForecastlabError as err:
            fix, said = err.fix, str(err)
        refused += 1
        assert "sequence_length" not in fix and "horizon" not in fix, fix
        told = re.search(r"pass lookback_hours=(\d+) or less", fix)
        if told:
            hours = int(told.group(1))
            assert 2 <= hours < lookback and fits(n, hours), (n, fix)
        else:  # only a longer record helps: no lookback the option takes fits
            assert not fits(n, 2), (n, fix)
        rows = int(re.search(r"needs a record of at least ([\d,]+) hourly rows", said).group(1).replace(",", ""))
        if not told:
            assert f"use a record of at least {rows:,} hourly rows" in fix, (n, fix)
        assert rows > n and not fits(rows - 1, lookback), (n, fix)  # the fewest from which every count fits
        assert all(fits(m, lookback) for m in range(rows, rows + 8)), (n, fix)
    assert refused


def test_a_pressure_column_dropped_as_constant_is_named_as_the_reason():
    series = load_series("tmy3-sandpoint")
    assert series.quality["cleaning"]["constant_columns_dropped"] == ["Pressure (mbar)"]
    with pytest.raises(ForecastlabError, match="no pressure signal") as err:
        front_labels(series)
    assert "'Pressure (mbar)' column holds one value throughout, so the loader dropped it as a constant" in str(
        err.value)
    assert "constant_columns_dropped" in err.value.where
    said = _said(CliRunner().invoke(app, ["events", "--data", "tmy3-sandpoint", "--epochs", "1", "--max-steps", "1"]))
    assert "dropped it as a constant column: this record has no pressure signal" in said
    assert "no 'p (' or 'pressure' column" not in said and "--data tmy3" in said
