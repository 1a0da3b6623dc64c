"""Sweeps with real worker processes sharing one study: exactly N trials, SIGKILLed workers, pruning,
the best recipe trained again, and the same on a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import optuna
import pytest
from sweep_helpers import SPACE, finish, started_trials, sweep_args

from forecastlab.errors import ForecastlabError
from forecastlab.tuning.sweep import check_study_name, load_study, storage_url, summarize
from run_helpers import clean_error, cli, popen, strict_json, write_jena_csv


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    write_jena_csv(root / "j.csv", days=20)
    (root / "space.toml").write_text(SPACE)
    return root


def test_two_workers_share_one_study_and_run_exactly_n_trials(workdir):
    out = workdir / "two"
    a = popen(*sweep_args(out, 6), cwd=workdir)
    b = popen(*sweep_args(out, 6), cwd=workdir)
    (ra, oa, ea), (rb, ob, eb) = finish(a), finish(b)
    assert ra == rb == 0, (ea[-3000:], eb[-3000:])
    mine, theirs = started_trials(ea), started_trials(eb)
    assert mine and theirs, (ea, eb)  # both worked
    assert sorted(mine + theirs) == list(range(6))  # none run twice, none lost
    study = load_study(out)
    assert len(study.trials) == 6
    assert all(t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for t in study.trials)
    for t in study.trials:
        record = json.loads((Path(t.user_attrs["run_dir"]) / "trial.json").read_text())
        assert record["number"] == t.number and record["state"] in ("complete", "pruned")
        # the objective, validation MAE, in every state (Optuna gives a pruned trial its last loss, an MSE)
        assert record["value"] == pytest.approx(t.user_attrs["val_mae"])
        assert (Path(t.user_attrs["run_dir"]) / "metrics.json").is_file()  # a complete run directory
    summary = json.loads((out / "sweep.json").read_text())
    assert all(r["value"] == pytest.approx(r["val_mae"]) for r in summary["trial_rows"])
    best = min((r for r in summary["trial_rows"] if r["state"] == "complete"), key=lambda r: r["val_mae"])
    assert summary["best"]["number"] == best["number"]  # chosen by validation, not test
    assert (out / "optimization_history.png").stat().st_size > 1000
    assert "best: trial" in oa + ob


def test_a_sigkilled_worker_loses_only_its_trial_and_the_study_goes_on(workdir):
    out = workdir / "kill"
    args = sweep_args(out, 4, "--pruner", "none", epochs=25)
    victim = popen(*args, cwd=workdir)
    # wait until the victim has claimed a trial, then start the survivor and kill the victim mid-trial
    line, deadline = "", time.monotonic() + 120
    while time.monotonic() < deadline:
        line = victim.stderr.readline()
        if line.startswith("trial ") and "units=" in line:
            break
    killed = int(line.split()[1].rstrip(":"))
    survivor = popen(*args, cwd=workdir)
    time.sleep(1.0)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    code, stdout, stderr = finish(survivor)
    assert code == 0, stderr[-3000:]
    assert f"trial {killed}: marked failed" in stderr
    study = load_study(out)
    states = {t.number: t.state for t in study.trials}
    assert len(states) == 4 and states[killed] == optuna.trial.TrialState.FAIL
    assert sum(s == optuna.trial.TrialState.COMPLETE for s in states.values()) == 3
    record = json.loads((out / "trials" / "sweep-lstm" / f"trial-{killed:04d}" / "trial.json").read_text())
    assert record["state"] == "failed" and "heartbeat" in record["reason"]
    rows = {r["number"]: r for r in summarize(study)["trial_rows"]}
    assert "heartbeat" in rows[killed]["reason"]


def test_json_export_best_and_train_config_reproduce_the_best_trial(workdir):
    out = workdir / "best"
    done = cli(*sweep_args(out, 3, "--json", "--sampler-seed", "1", "--pruner", "none"), cwd=workdir, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = strict_json(done.stdout)
    assert summary["counts"] == {"complete": 3} and summary["best"]["val_mae"] > 0
    exported = workdir / "exported.toml"
    done = cli("sweep", "--out", out, "--export-best", exported, cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert exported.read_text().split("\n", 2)[2] == (out / "best.toml").read_text().split("\n", 2)[2]
    again = cli("sweep", "--out", out, "--export-best", exported, cwd=workdir)
    clean_error(again, "the --export-best file exists")
    done = cli("train", "--config", exported, "--out", workdir / "retrained", "--no-progress", "--json",
               cwd=workdir, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert strict_json(done.stdout)["val_mae"] == pytest.approx(summary["best"]["val_mae"], rel=1e-6)


def test_a_worker_with_another_plan_is_refused(workdir):
    out = workdir / "plan"
    done = cli(*sweep_args(out, 1), cwd=workdir, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    clean_error(cli(*sweep_args(out, 2), cwd=workdir), "already exists with another --trials (1 there, 2 here)",
                "--study NAME")
    clean_error(cli(*sweep_args(out, 1, "--lr", "0.5"), cwd=workdir), "already exists with another recipe",
                "training.lr")


def test_print_space_and_bad_options(workdir):
    done = cli("sweep", "lstm", "--print-space", cwd=workdir)
    assert done.returncode == 0 and '"model.params.units"' in done.stdout and "# training.lr: float" in done.stdout
    space = strict_json(cli("sweep", "gru_stacked", "--print-space", "--json", cwd=workdir).stdout)["space"]
    assert space["model.params.layers"] == {"low": 1, "high": 3}
    clean_error(cli("sweep", "lstm", "--data", "j.csv", cwd=workdir), "no --trials given")
    clean_error(cli("sweep", "lstm", "--trials", "2", "--pruner", "random", cwd=workdir), "unknown pruner 'random'")
    with pytest.raises(ForecastlabError, match="is not a plain name"):
        check_study_name("../x")
    with pytest.raises(ForecastlabError, match="not a database URL"):
        storage_url(workdir, "nowhere")
    clean_error(cli("sweep", "--out", workdir / "none", "--export-best", "x.toml", cwd=workdir), "no study.db")
    # An empty --out or --export-best would be the current folder: refused before anything is made there.
    before = sorted(p.name for p in workdir.iterdir())
    clean_error(cli(*sweep_args("", 1), cwd=workdir), "--out is empty", "give --out a path")
    clean_error(cli("sweep", "--out", workdir / "none", "--export-best", "", cwd=workdir), "--export-best is empty")
    assert sorted(p.name for p in workdir.iterdir()) == before


def test_a_failing_trial_is_marked_with_its_reason_and_the_sweep_goes_on(workdir):
    out = workdir / "fail"
    # a 1000-day lookback does not fit in 20 days of data: those trials fail with the reason
    (workdir / "wide.toml").write_text('[lstm]\n"window.lookback" = { choices = ["1d", "1000d"] }\n')
    args = sweep_args(out, 4, "--json", "--pruner", "none", "--sampler-seed", "0")
    args[args.index("space.toml")] = "wide.toml"
    done = cli(*args, cwd=workdir, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = strict_json(done.stdout)
    assert sum(summary["counts"].values()) == 4
    # one word for the state everywhere: sweep.json's counts and rows, trial.json, the progress lines, the table
    assert set(summary["counts"]) == {"failed", "complete"}, summary["counts"]
    for row in summary["trial_rows"]:
        record = json.loads((Path(row["run_dir"]) / "trial.json").read_text())
        if row["params"]["window.lookback"] == "1000d":
            assert row["state"] == "failed" and record["state"] == "failed", row
            assert "Fix:" in record["reason"] and row["reason"] == record["reason"]
        else:
            assert row["state"] == "complete"
    assert json.loads((out / "sweep.json").read_text())["counts"] == summary["counts"]
    # The same command once more, as a table: the study is done, so it only summarizes.
    args.remove("--json")
    table = cli(*args, cwd=workdir, timeout=300)
    assert table.returncode == 0, table.stderr[-3000:]
    assert f"{summary['counts']['failed']} failed" in table.stdout and " fail," not in table.stdout, table.stdout
    failed = [line for line in table.stdout.splitlines() if "the series has" in line]
    assert len(failed) == summary["counts"]["failed"] and all("│ failed: the series has" in line for line in failed)


def test_one_worker_with_a_sampler_seed_repeats_itself(workdir):
    from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
    from forecastlab.tuning.sweep import sweep

    base = Recipe(ModelRecipe("lstm"), DataRecipe(str(workdir / "j.csv")),
                  WindowRecipe(lookback="1d", horizons="6h", batch_size=64),
                  TrainingRecipe(epochs=1, max_steps_per_epoch=2))
    runs = [sweep(base, trials=3, out=workdir / f"seeded-{i}", space=workdir / "space.toml", seed=7, pruner="none")
            for i in range(2)]
    params = [[r["params"] for r in s["trial_rows"]] for s in runs]
    assert params[0] == params[1] and len({str(p) for p in params[0]}) == 3
    assert [r["val_mae"] for r in runs[0]["trial_rows"]] == [r["val_mae"] for r in runs[1]["trial_rows"]]


def test_a_second_study_in_one_directory_and_impossible_options_are_refused_up_front(workdir):
    out = workdir / "one-study"
    done = cli(*sweep_args(out, 1), cwd=workdir, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    before = (out / "sweep.json").read_text()
    text = clean_error(cli(*sweep_args(out, 1), "--study", "another", cwd=workdir),
                       "the sweep directory holds the study 'sweep-lstm'", "its own --out",
                       "join 'sweep-lstm' with --study sweep-lstm")
    assert "study=" not in text and "out=" not in text, text
    assert (out / "sweep.json").read_text() == before
    for flag, value in (("--epochs", "0"), ("--max-steps-per-epoch", "0"), ("--sampler-seed", "-1"),
                        ("--sampler-seed", str(2**32))):
        fresh = workdir / f"bad{flag}{value}"
        done = cli(*sweep_args(fresh, 1), flag, value, cwd=workdir)
        assert done.returncode == 2 and "Traceback" not in done.stderr and flag in done.stderr, done.stderr
        assert not (fresh / "study.db").exists()
    with pytest.raises(ForecastlabError, match="seed must be a whole number"):
        from forecastlab.training.recipe import Recipe
        from forecastlab.tuning.sweep import sweep

        sweep(Recipe.from_dict({"model": {"name": "lstm"}}), trials=1, out=workdir / "py", seed=-1)
