"""`forecastlab anomalies`: rules alone on a file with faults (JSON, CSV, plot), the injected benchmark with a
run, and refusals that name the flag. In-process (typer's CliRunner), and one real process for the exit code."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecastlab.cli import app
from forecastlab.errors import ForecastlabError
from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
from forecastlab.training.runner import run_recipe
from run_helpers import clean_error, cli, strict_json
from tests_data_helpers import consistent_jena


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-anomalies")
    frame = consistent_jena(root / "clean.csv", days=40)
    frame.loc[300:305, "T (degC)"] = -9999.0
    frame.loc[1000, "p (mbar)"] += 50
    frame.to_csv(root / "faulty.csv", index=False)
    recipe = Recipe(ModelRecipe("lightgbm", {"n_estimators": 40}), DataRecipe(str(root / "clean.csv")),
                    WindowRecipe(sequence_length=24, sampling_rate=6, horizon=1, batch_size=256),
                    TrainingRecipe(epochs=1, seed=0))
    run_recipe(recipe, out_dir=root / "run", progress=False)
    return root


def test_rules_alone_write_json_csv_and_a_plot(root, monkeypatch):
    monkeypatch.chdir(root)
    done = CliRunner().invoke(app, ["anomalies", "--data", "faulty.csv", "--json", "--out", "events.csv",
                                    "--plot", "events.png"])
    assert done.exit_code == 0, done.output
    out = strict_json(done.stdout)
    kinds = {(e["kind"], e["channel"], e["start_row"], e["end_row"]) for e in out["events"]}
    assert ("sentinel", "T (degC)", 300, 305) in kinds and ("spike", "p (mbar)", 1000, 1000) in kinds
    assert out["detectors"] == ["rules"] and out["counts"]["sentinel"] == 1
    table = pd.read_csv(root / "events.csv")
    assert len(table) == len(out["events"]) and table.loc[0, "reason"]
    assert (root / "events.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = CliRunner().invoke(app, ["anomalies", "--data", "faulty.csv", "--out", "events.csv"])
    assert isinstance(again.exception, ForecastlabError) and "refusing to overwrite" in str(again.exception)


def test_the_injected_benchmark_with_a_run_in_json_and_in_a_table(root, monkeypatch):
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "200")
    done = CliRunner().invoke(app, ["anomalies", "--run", "run", "--data", "clean.csv", "--inject", "0",
                                    "--per-kind", "2", "--json", "--out", "bench.json"])
    assert done.exit_code == 0, done.output
    out = strict_json(done.stdout)
    assert out["detectors"] == ["rules", "residual", "interval"] and len(out["benchmark"]["truth"]) == 10
    assert out["benchmark"]["metrics"]["all"]["range_f1"] > out["benchmark"]["metrics"]["trivial"]["random"]["range_f1"]
    assert json.loads((root / "bench.json").read_text())["benchmark"]["seed"] == 0
    table = CliRunner().invoke(app, ["anomalies", "--run", "run", "--inject", "0", "--per-kind", "2"])
    assert table.exit_code == 0, table.output
    words = " ".join(table.stdout.split())  # rich wraps cells to the terminal's width, which differs by machine
    for needle in ("injected faults (seed 0)", "trivial: random", "trivial: always", "recall by kind",
                   "events on the clean series"):  # the detector column never wraps; the numbers may fold
        assert needle in words, table.output  # the result on stdout, as baseline's and train's are


def test_refusals_name_what_to_do(root, monkeypatch):
    done = cli("anomalies", "--data", "faulty.csv", "--out", "events.txt", cwd=root)  # a real process: exit 2
    clean_error(done, "--out must end in .csv or .json", "events.csv")
    monkeypatch.chdir(root)
    bad = CliRunner().invoke(app, ["anomalies"])
    assert isinstance(bad.exception, ForecastlabError) and "no data to scan" in str(bad.exception)
    for hours in ("0", "-5", "nan"):  # named as the flag it is, not as --threshold
        clean_error(cli("anomalies", "--data", "faulty.csv", "--window-hours", hours, cwd=root),
                    "--window-hours must be above 0", "Where: --window-hours")
    done = cli("anomalies", "--data", "faulty.csv", "--inject", "-1", cwd=root)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "--inject" in done.stderr, done.stderr
    from forecastlab.data import load_series
    from forecastlab.data.faults import inject_faults

    with pytest.raises(ForecastlabError, match="fault seed must be a whole number"):
        inject_faults(load_series(str(root / "faulty.csv")), seed=-1)


def test_a_task_file_or_an_anomalies_recipe_scans_as_the_options_do(root, monkeypatch):
    monkeypatch.chdir(root)
    given = CliRunner().invoke(app, ["anomalies", "--run", "run", "--data", "clean.csv", "--inject", "1",
                                     "--per-kind", "2", "--threshold", "4", "--json"])
    assert given.exit_code == 0, given.output
    (root / "flat.toml").write_text('run = "run"\ndata = "clean.csv"\ninject = 1\nper_kind = 2\nthreshold = 4\n')
    flat = CliRunner().invoke(app, ["anomalies", "--config", "flat.toml", "--json"])
    assert flat.exit_code == 0, flat.output
    (root / "scan.toml").write_text('[task]\nkind = "anomalies"\ninject = 1\nper_kind = 2\nthreshold = 4\n'
                                    '[model]\nrun = "run"\n[data]\ndata = "clean.csv"\n[output]\nout = "scan.json"\n')
    recipe = cli("train", "--config", "scan.toml", "--json", cwd=root)  # train runs any task's recipe
    assert recipe.returncode == 0, recipe.stderr
    events = [strict_json(d)["events"] for d in (given.stdout, flat.stdout, recipe.stdout)]
    assert events[0] == events[1] == events[2] and events[0]
    assert json.loads((root / "scan.json").read_text())["benchmark"]["seed"] == 1
    (root / "bad.toml").write_text('[task]\nkind = "anomalies"\nper_kind = 0\n')
    clean_error(cli("anomalies", "--config", "bad.toml", cwd=root), "bad.toml", "key task.per_kind", "out of range")
    (root / "bad.toml").write_text('[task]\nkind = "anomalies"\nepochs = 3\n')
    clean_error(cli("train", "--config", "bad.toml", cwd=root), "bad.toml", "key task.epochs", "is not an option")


def test_run_task_passes_every_option_on_to_the_scan(root):
    from forecastlab.data import load_series
    from forecastlab.tasks.anomaly import detect_anomalies
    from forecastlab.tasks.recipes import run_task
    from forecastlab.training import load_run

    options = {"run": str(root / "run"), "data": str(root / "faulty.csv"), "window_hours": 24.0, "threshold": 3.0}
    scan = run_task("anomalies", options)
    run = load_run(root / "run")
    direct = detect_anomalies(load_series(str(root / "faulty.csv"), clean=False), run=run, window_hours=24.0,
                              threshold=3.0)
    assert [e.to_dict() for e in scan["result"].events] == [e.to_dict() for e in direct.events]
    default = run_task("anomalies", {k: v for k, v in options.items() if k not in ("window_hours", "threshold")})
    assert [e.to_dict() for e in default["result"].events] != [e.to_dict() for e in direct.events]


def test_the_report_of_a_scan_holds_its_scores_and_plot_and_is_never_overwritten(root, monkeypatch):
    monkeypatch.chdir(root)
    args = ["anomalies", "--run", "run", "--data", "clean.csv", "--inject", "0", "--per-kind", "2"]
    done = CliRunner().invoke(app, [*args, "--report", "scan.html", "--json"])
    assert done.exit_code == 0, done.output
    assert strict_json(done.stdout)["report"] == "scan.html"
    page = (root / "scan.html").read_text()
    for needle in ("Benchmark scores", "trivial: random", "10 injected faults (seed 0)", "Recall by kind",
                   "data:image/png;base64,", "residual"):
        assert needle in page, needle
    assert "SYNTHETIC DATA" not in page  # a real file, so no synthetic-data banner
    kept = (root / "scan.html").read_bytes()
    again = CliRunner().invoke(app, [*args, "--report", "scan.html"])
    assert isinstance(again.exception, ForecastlabError) and "refusing to overwrite" in str(again.exception)
    assert (root / "scan.html").read_bytes() == kept
    same = CliRunner().invoke(app, [*args, "--plot", "same.png", "--report", "same.png"])
    assert isinstance(same.exception, ForecastlabError) and "name the same file" in str(same.exception)
    assert not (root / "same.png").exists()


def test_a_scan_of_synthetic_data_says_so_in_its_report():
    from forecastlab.deploy.report_anomalies import anomaly_report_html
    from forecastlab.tasks.recipes import run_task

    scan = run_task("anomalies", {"data": "synthetic"})
    assert scan["synthetic"] is True
    page = anomaly_report_html(scan)
    assert "SYNTHETIC DATA" in page and "No trained run was given" in page


def test_the_scan_s_table_is_on_stdout_and_its_warning_on_stderr(root):
    done = cli("anomalies", "--data", "faulty.csv", "--limit", "5", "--out", "stdout-events.csv", cwd=root)
    assert done.returncode == 0, done.stderr
    words = " ".join(done.stdout.split())  # `forecastlab anomalies ... > scan.txt` keeps the result
    for needle in ("rows of", "detectors: rules", "sentinel", "T (degC)", "events written to stdout-events.csv"):
        assert needle in words, (needle, done.stdout, done.stderr)
    assert "warning: no --run" in done.stderr and "rows of" not in done.stderr and "sentinel" not in done.stderr


@pytest.fixture(scope="module")
def weather_run(root):
    """A run trained with the weather feature set (wind vectors, calendar terms, tendencies) on a file whose
    wind turns all the way round every two days, so that the vectors' components take both signs."""
    frame = pd.read_csv(root / "clean.csv")
    frame["wd (deg)"] = np.round((np.arange(len(frame)) * 360 / 288) % 360, 1)
    frame.to_csv(root / "turning.csv", index=False)
    frame.loc[300:305, "T (degC)"] = -9999.0
    frame.to_csv(root / "turning-faulty.csv", index=False)
    recipe = Recipe(ModelRecipe("lightgbm", {"n_estimators": 40}),
                    DataRecipe(str(root / "turning.csv"), feature_set="weather"),
                    WindowRecipe(sequence_length=24, sampling_rate=6, horizon=1, batch_size=256),
                    TrainingRecipe(epochs=1, seed=0))
    run_recipe(recipe, out_dir=root / "weather-run", progress=False)
    return root / "weather-run"


def test_a_run_with_derived_columns_gets_the_rules_on_the_record_s_own_columns(root, weather_run, monkeypatch):
    from forecastlab.deploy.artifact import export_run, load_artifact
    from forecastlab.deploy.fresh import FreshForecaster
    from forecastlab.tasks.anomaly import detect_anomalies
    from forecastlab.tasks.recipes import load_anomaly_series
    from forecastlab.training import load_run

    monkeypatch.chdir(root)
    added = load_run(weather_run).recipe.data.derived_columns()
    assert {"wv x (m/s)", "max. wv x (m/s)", "d24h T (degC)"} <= set(added)
    done = CliRunner().invoke(app, ["anomalies", "--run", "weather-run", "--data", "turning-faulty.csv", "--json"])
    assert done.exit_code == 0, done.output
    out = strict_json(done.stdout)
    model = {"residual", "interval"}
    rules = [e for e in out["events"] if e["kind"] not in model]
    # No "wind speed < 0" on a vector component, no "max. wv x (m/s) vs wv x (m/s)", nothing on a tendency.
    assert not [e for e in rules if any(c in added for c in e["channel"].split(" vs "))], rules[:5]
    assert not [e for e in rules if e["kind"] == "physics"], rules[:5]
    assert ("sentinel", "T (degC)", 300, 305) in {(e["kind"], e["channel"], e["start_row"], e["end_row"])
                                                  for e in rules}
    # The residual detector forecasts from the derived columns as the run was trained: what it flags is what
    # it flags without the rules.
    assert out["detectors"][:2] == ["rules", "residual"]
    run, series = load_anomaly_series("turning-faulty.csv", weather_run, None)
    assert not set(added) & set(series.columns) and {"wv (m/s)", "wd (deg)"} <= set(series.columns)  # as read
    alone = detect_anomalies(series, run=run, rules=False)
    assert [e for e in out["events"] if e["kind"] in model] == [e.to_dict() for e in alone.events]
    # The served artifact's POST /anomalies (FreshForecaster.scan) judges the same columns.
    served = FreshForecaster(load_artifact(export_run(weather_run, root / "weather-art"))).scan(
        str(root / "turning-faulty.csv"))
    assert served["residuals"] == "scored"
    assert [e for e in served["events"] if e["kind"] not in model] == rules


def test_a_scan_with_a_feature_set_run_judges_the_raw_columns_it_replaced_and_derives_from_clean_cells(
        root, weather_run, monkeypatch):
    """The weather set replaces wind speed and direction by vectors; a scan reads the record as it is, so a
    negative wind speed is flagged on 'wv (m/s)' (before: not in the scanned series), and the forecaster's
    derived columns are made from the cells with the -9999s replaced (before: a -9999 temperature made a
    d24h tendency of about -10,000 in the forecaster's input)."""
    from forecastlab.data.derived import add_features
    from forecastlab.tasks.anomaly import _forecaster_input, model_input
    from forecastlab.tasks.recipes import load_anomaly_series
    from forecastlab.training import load_run
    from forecastlab.training.runner import run_series

    monkeypatch.chdir(root)
    frame = pd.read_csv(root / "turning-faulty.csv")
    frame.loc[400:402, "wv (m/s)"] = -5.0
    frame.to_csv(root / "turning-negative-wind.csv", index=False)
    done = CliRunner().invoke(app, ["anomalies", "--run", "weather-run", "--data", "turning-negative-wind.csv",
                                    "--json"])
    assert done.exit_code == 0, done.output
    events = strict_json(done.stdout)["events"]
    assert ("physics", "wv (m/s)", 400, 402) in {(e["kind"], e["channel"], e["start_row"], e["end_row"])
                                                 for e in events}
    run, raw = load_anomaly_series("turning-negative-wind.csv", weather_run, None)
    model = model_input(run, raw)
    assert model.columns == run.config["data"]["columns"]
    d24 = model.columns.index("d24h T (degC)")
    assert np.abs(model.values[:, d24]).max() < 100  # no -9999 leaked into the tendency
    # On a clean record, the columns made from the raw cells are exactly those the run's recipe loads.
    clean_run = load_run(weather_run)
    clean_raw = load_anomaly_series("turning.csv", weather_run, None)[1]
    np.testing.assert_array_equal(model_input(clean_run, clean_raw).values, run_series(clean_run, no_clean=True).values)
    assert model_input(clean_run, run_series(clean_run)).columns == run.config["data"]["columns"]  # already made
    manual = add_features(dataclasses.replace(raw, values=_forecaster_input(raw.values)), "weather",
                          run.recipe.data.derived_columns())
    np.testing.assert_array_equal(model.values, manual.values)
