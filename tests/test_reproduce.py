"""`forecastlab reproduce` and `forecastlab baseline` as a user runs them: real processes, real files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from forecastlab.data.synthetic import write_csv


@pytest.fixture(scope="module")
def jena_60_days(tmp_path_factory):
    # 60 days of Jena-format rows: enough for the book's 120x6 windows and 858-row delay in every split.
    path = tmp_path_factory.mktemp("data") / "jena60.csv"
    return write_csv(path, seed=4, start="01.01.2009 00:10:00", end="02.03.2009 00:00:00")


def cli(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "forecastlab", *args], capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def test_baseline_json_on_a_user_csv(jena_60_days):
    out = json.loads(cli("baseline", "--data", str(jena_60_days), "--json").stdout)
    assert set(out["baselines"]) == {"persistence", "seasonal_persistence", "climatology"}
    assert out["target"] == "T (degC)" and out["unit"] == "degC"
    assert out["windows"]["val"] > 0 and 0.3 < out["baselines"]["persistence"]["test_mae"] < 6


def test_reproduce_writes_leaderboard_plots_and_runs_and_refuses_to_overwrite(jena_60_days, tmp_path):
    out = tmp_path / "rep"
    proc = cli("reproduce", "--profile", "quick", "--models", "dense,lstm", "--data", str(jena_60_days),
               "--out", str(out), "--no-progress", "--json")
    result = json.loads(proc.stdout)
    assert set(result["models"]) == {"dense", "lstm"}
    board = json.loads((out / "leaderboard.json").read_text())
    names = [r["name"] for r in board["rows"]]
    assert names[:3] == ["persistence", "seasonal_persistence", "climatology"]
    assert set(names[3:]) == {"dense", "lstm"}
    md = (out / "leaderboard.md").read_text()
    assert "| persistence | baseline |" in md and "| lstm | model |" in md
    for name in ("dense", "lstm"):
        run = out / "models" / name
        assert (run / "best.pt").exists() and (run / "curves.png").exists()
        assert json.loads((run / "metrics.json").read_text())["test_mae"] == pytest.approx(
            result["models"][name]["test_mae"])
    assert (out / "leaderboard.png").stat().st_size > 5000
    assert len(list((out / "plots").glob("*.png"))) == 2
    assert "total_seconds" in result

    again = cli("reproduce", "--models", "dense", "--data", str(jena_60_days), "--out", str(out), check=False)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "--overwrite" in again.stderr


def test_reproduce_rejects_unknown_models_and_profiles(jena_60_days, tmp_path):
    bad = cli("reproduce", "--models", "transformer", "--data", str(jena_60_days), "--out", str(tmp_path / "a"),
              check=False)
    assert bad.returncode == 2 and "transformer" in bad.stderr and "lstm" in bad.stderr
    bad = cli("reproduce", "--profile", "fast", "--out", str(tmp_path / "b"), check=False)
    assert bad.returncode == 2 and "quick" in bad.stderr


def test_reproduce_takes_the_shared_window_options_and_reports_rows_in_json(jena_60_days, tmp_path):
    out = tmp_path / "w"
    result = json.loads(cli("reproduce", "--models", "simple_rnn", "--data", str(jena_60_days), "--out", str(out),
                            "--sequence-length", "48", "--sampling-rate", "3", "--horizon", "12",
                            "--batch-size", "64", "--no-progress", "--json").stdout)
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["window"] == {"sequence_length": 48, "sampling_rate": 3, "horizon": 12,
                               "delay": 3 * (48 + 12 - 1), "batch_size": 64}
    assert [r["name"] for r in result["leaderboard"]] == [r["name"] for r in board["rows"]]
    assert "improvement_pct" in result["leaderboard"][-1]


def test_reproduce_leaderboards_every_kind_of_model_beside_the_books(jena_60_days, tmp_path):
    out = tmp_path / "kinds"
    proc = cli("reproduce", "--profile", "smoke", "--models", "dense,linear,lightgbm,persistence",
               "--data", str(jena_60_days), "--out", str(out), "--no-progress", "--json")
    result = json.loads(proc.stdout)
    rows = {r["name"]: r for r in result["leaderboard"]}
    assert {"dense", "linear", "lightgbm", "persistence (as a model)", "persistence"} <= set(rows)
    assert rows["lightgbm"]["kind"] == rows["persistence (as a model)"]["kind"] == "estimator"
    assert rows["linear"]["kind"] == rows["dense"]["kind"] == "model"
    # The persistence model is the persistence baseline, on the same windows.
    assert rows["persistence (as a model)"]["test_mae"] == pytest.approx(rows["persistence"]["test_mae"], rel=1e-5)
    assert rows["lightgbm"]["epochs"] is None and rows["lightgbm"]["params"] > 0
    board = (out / "leaderboard.md").read_text()
    assert "| lightgbm | estimator |" in board and "| linear | model |" in board
    for name in ("linear", "lightgbm", "persistence"):
        assert (out / "models" / name / "metrics.json").is_file()
    assert (out / "models" / "lightgbm" / "model" / "estimator.json").is_file()


def test_reproduce_with_seeds_reports_mean_and_spread_and_runs_our_recipes(jena_60_days, tmp_path):
    from forecastlab.reproduce import BEST, reproduce

    ours = next(name for name, entry in BEST.items() if entry.model == "lightgbm")
    result = reproduce("smoke", models=["dense", ours], data=str(jena_60_days), out_dir=tmp_path / "seeds",
                       seeds=2, progress=False)
    rows = {r["name"]: r for r in result.leaderboard}
    for name in ("dense", ours):
        assert rows[name]["seeds"] == 2 and rows[name]["test_mae_std"] is not None
        seeded = result.models[name]["test_mae_seeds"]
        assert rows[name]["test_mae"] == pytest.approx(sum(seeded) / 2)
        for seed in (0, 1):
            assert (tmp_path / "seeds" / "models" / name / f"seed-{seed}" / "metrics.json").is_file()
    dense = result.models["dense"]["test_mae_seeds"]
    assert dense[0] != dense[1]  # another seed is another draw
    # our recipe trained with its own feature set and target transform, recorded in its run
    config = json.loads((tmp_path / "seeds" / "models" / ours / "seed-0" / "config.json").read_text())
    assert config["training"]["target_transform"] == BEST[ours].options["target_transform"]
    assert len(config["normalizer"]["mean"]) > 14  # the derived columns
    # and its recipe reads the same data, derived columns included, back (evaluate, predict, backtest)
    from forecastlab.training import load_run
    from forecastlab.training.runner import run_series

    run = load_run(tmp_path / "seeds" / "models" / ours / "seed-0")
    assert run.recipe.data.feature_set == BEST[ours].feature_set and run.recipe.data.derived
    assert run_series(run).columns == config["data"]["columns"]
    board = (tmp_path / "seeds" / "leaderboard.md").read_text()
    assert "mean ± sd, 2 seeds" in board and "Best by validation" in board
    assert json.loads((tmp_path / "seeds" / "leaderboard.json").read_text())["recipes"][ours]["model"] == "lightgbm"


def test_profile_best_gives_every_torch_model_the_same_steps_on_any_record():
    from forecastlab.reproduce import BEST, PROFILES, Entry, budget

    best, quick = PROFILES["best"], PROFILES["quick"]
    # the Jena data: 819 batches an epoch, so the book's models get the quick budget, 3 x 300
    assert budget(Entry("gru_stacked", "gru_stacked"), best, 819) == (3, 300)
    assert budget(Entry("gru_stacked", "gru_stacked"), quick, 819) == (3, 300)
    # a one-year hourly record: 14 batches an epoch, so more epochs for the same 900 steps (capped at 60)
    assert budget(Entry("lstm", "lstm"), best, 20) == (45, 300)
    assert budget(Entry("lstm", "lstm"), best, 14) == (60, 300)
    assert budget(Entry("lstm", "lstm"), quick, 14) == (3, 300)  # quick stays the book's comparison
    # our recipes: their own steps; lightgbm+ sees every window, once
    assert budget(BEST["tcn+"], best, 819) == (4, 300)
    assert budget(BEST["lightgbm+"], best, 819) == (1, None)
    assert budget(BEST["lightgbm+"], quick, 819) == (1, 300)


def test_bench_lists_its_records_and_refuses_unknown_ones():
    from typer.testing import CliRunner

    from forecastlab.cli import app

    listed = CliRunner().invoke(app, ["bench", "--list", "--json"])
    records = json.loads(listed.stdout)
    assert {"synthetic", "tmy3", "tmy3-sandpoint", "tmy2-miami", "elecdemand"} <= set(records)
    held_out = records["tmy3-sandpoint"]
    assert "held-out" in held_out["description"] and "1012 mbar" in held_out["caveats"]
    assert "held-out" in records["tmy2-miami"]["description"] and "tenths" in records["tmy2-miami"]["caveats"]
    assert "held-out" in records["nyc-jfk"]["description"] and "UTC" in records["nyc-jfk"]["caveats"]
    assert set(records["elecdemand"]["tasks"]) == {"demand-24h", "temperature-24h"}
    assert "month" in records["tmy3"]["caveats"] and records["tmy3"]["license"]
    from forecastlab.errors import ForecastlabError

    unknown = CliRunner().invoke(app, ["bench", "jena-2", "--seeds", "1"])
    assert isinstance(unknown.exception, ForecastlabError) and "unknown benchmark record" in str(unknown.exception)
    task = CliRunner().invoke(app, ["bench", "tmy3", "--task", "demand-24h"])
    assert isinstance(task.exception, ForecastlabError) and "temperature-24h" in str(task.exception)


def test_reproduce_resume_reads_finished_runs_back_and_trains_the_rest(jena_60_days, tmp_path):
    from forecastlab.reproduce import reproduce

    out = tmp_path / "resume"
    first = reproduce("smoke", models=["dense"], data=str(jena_60_days), out_dir=out, progress=False)
    (out / "models" / "persistence").mkdir(parents=True)
    (out / "models" / "persistence" / "config.json").write_text("{}")  # an unfinished run: trained again
    again = reproduce("smoke", models=["dense", "persistence"], data=str(jena_60_days), out_dir=out,
                      progress=False, resume=True)
    assert again.models["dense"]["test_mae"] == first.models["dense"]["test_mae"]
    meta = json.loads((out / "leaderboard.json").read_text())
    assert meta["reused_runs"] == [str(out / "models" / "dense")]
    assert (out / "models" / "persistence" / "metrics.json").is_file()
    assert f"Resumed: 1 finished run(s) read back, not trained again: `{out / 'models' / 'dense'}`" in \
        (out / "leaderboard.md").read_text()
    with pytest.raises(Exception, match="already holds files"):
        reproduce("smoke", models=["dense"], data=str(jena_60_days), out_dir=out, progress=False)


def test_resume_never_reads_back_a_run_of_other_data_or_another_window(jena_60_days, tmp_path):
    """A finished run is read back only for the recipe and data this call would train it on: with other
    horizons or another file it is trained again, and the leaderboard says so."""
    from forecastlab.reproduce import reproduce
    from forecastlab.windows import WindowSpec

    out = tmp_path / "mixed"
    reproduce("smoke", models=["dense"], data=str(jena_60_days), out_dir=out, progress=False)
    six = WindowSpec(horizon=6)  # 6 hours ahead instead of 24
    again = reproduce("smoke", models=["dense"], data=str(jena_60_days), out_dir=out, progress=False, resume=True,
                      spec=six)
    meta = json.loads((out / "leaderboard.json").read_text())
    assert meta["reused_runs"] == [] and meta["retrained_runs"][0]["run_dir"] == str(out / "models" / "dense")
    assert "window.horizons" in meta["retrained_runs"][0]["why"]
    assert "Trained again on resume" in (out / "leaderboard.md").read_text()
    config = json.loads((out / "models" / "dense" / "config.json").read_text())
    assert config["extra"]["recipe"]["window"]["horizons"] == "6" and again.models["dense"]["seeds"] == 1
    shorter = tmp_path / "shorter.csv"  # another file: trained again too
    lines = jena_60_days.read_text().splitlines(keepends=True)
    shorter.write_text("".join(lines[: len(lines) * 3 // 4]))
    reproduce("smoke", models=["dense"], data=str(shorter), out_dir=out, progress=False, resume=True, spec=six)
    meta = json.loads((out / "leaderboard.json").read_text())
    assert meta["reused_runs"] == [] and "data.data" in meta["retrained_runs"][0]["why"]
    reproduce("smoke", models=["dense"], data=str(shorter), out_dir=out, progress=False, resume=True, spec=six)
    assert json.loads((out / "leaderboard.json").read_text())["reused_runs"] == [str(out / "models" / "dense")]
    # data='auto' names no file: the same recipe can read other data later (synthetic, then the real record)
    config_path = out / "models" / "dense" / "config.json"
    config = json.loads(config_path.read_text())
    config["data"]["provenance"] |= {"sha256": "0" * 64, "path": "/elsewhere/jena.csv", "source": "jena"}
    config_path.write_text(json.dumps(config))
    reproduce("smoke", models=["dense"], data=str(shorter), out_dir=out, progress=False, resume=True, spec=six)
    meta = json.loads((out / "leaderboard.json").read_text())
    assert meta["reused_runs"] == [] and "trained on other data (jena" in meta["retrained_runs"][0]["why"]


def test_the_headline_ensemble_weighs_its_members_on_validation_and_resume_remakes_it(jena_60_days, tmp_path):
    from forecastlab.reproduce import BEST, HEADLINE, reproduce

    members = list(BEST[HEADLINE].members)
    out = tmp_path / "headline"
    result = reproduce("smoke", models=[*members, HEADLINE], data=str(jena_60_days), out_dir=out, progress=False)
    meta = json.loads((out / "models" / HEADLINE / "model" / "ensemble.json").read_text())
    assert BEST[HEADLINE].weights == "greedy_val_mae" and sum(meta["weights"]) == pytest.approx(1)
    val = {m: result.models[m]["val_mae"] for m in members}
    assert result.models[HEADLINE]["val_mae"] <= min(val.values()) + 1e-9  # never worse on validation
    again = reproduce("smoke", models=[*members, HEADLINE], data=str(jena_60_days), out_dir=out, progress=False,
                      resume=True)
    reused = json.loads((out / "leaderboard.json").read_text())["reused_runs"]
    assert str(out / "models" / HEADLINE) not in reused and len(reused) == 2  # the members are read back
    assert again.models[HEADLINE]["test_mae"] == pytest.approx(result.models[HEADLINE]["test_mae"])


def test_two_reproduce_calls_never_write_one_out_dir_and_a_model_is_listed_once(jena_60_days, tmp_path):
    from forecastlab.errors import ForecastlabError
    from forecastlab.reproduce import reproduce
    from forecastlab.training.run_dir import RunLock

    out = tmp_path / "shared"
    out.mkdir()
    held = RunLock(out).acquire()  # as a first reproduce holds it while it runs
    try:
        with pytest.raises(ForecastlabError, match="in use by another forecastlab process"):
            reproduce("smoke", models=["dense"], data=str(jena_60_days), out_dir=out, progress=False)
    finally:
        held.release()
    assert list(out.iterdir()) == []  # nothing written by the refused call
    with pytest.raises(ForecastlabError, match="listed more than once: dense"):
        reproduce("smoke", models=["dense", "dense"], data=str(jena_60_days), out_dir=tmp_path / "twice",
                  progress=False)
    assert not (tmp_path / "twice").exists()
    reproduce("smoke", models=["dense"], data=str(jena_60_days), out_dir=out, progress=False)
    assert not (out / ".forecastlab.lock").exists()  # released at the end


def test_the_book_s_numbers_stand_only_beside_the_book_s_task():
    """The book's 24-hour numbers beside a 6-hour task (or another target, or resampled rows) would be
    compared with numbers of another task: the leaderboard leaves them out there."""
    from forecastlab.data import load_series
    from forecastlab.reproduce import _book_task
    from forecastlab.windows import WindowSpec

    series = load_series("synthetic")
    assert _book_task(series, WindowSpec())
    assert not _book_task(series, WindowSpec(horizon=6))
    assert not _book_task(series, WindowSpec(sequence_length=60))
    assert not _book_task(load_series("synthetic", target="p (mbar)"), WindowSpec())
    assert not _book_task(load_series("synthetic", freq="1h"), WindowSpec())
