"""`forecastlab train / predict / evaluate` in real subprocesses, on a small Jena-format CSV."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from forecastlab.cli.train import evaluate_command, parse_params, predict_command, refuse_resume_conflicts
from forecastlab.errors import ForecastlabError
from forecastlab.training.run_dir import TORCH_RUN_FILES, read_config
from run_helpers import clean_error, write_jena_csv

WINDOW = ["--sequence-length", "24", "--sampling-rate", "6", "--horizon", "6", "--batch-size", "64"]


def _cli(*args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "forecastlab", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def jena_csv(tmp_path_factory):
    """20 days of 10-minute rows with the real file's 15 headers and plausible values."""
    path = tmp_path_factory.mktemp("cli-train") / "mini_jena.csv"
    return write_jena_csv(path)


def test_train_resume_predict_evaluate(jena_csv, tmp_path):
    run = tmp_path / "run"
    base = ["--data", jena_csv, *WINDOW, "--max-steps-per-epoch", "5", "--param", "units=4", "--out", run]
    done = _cli("train", "dense", *base, "--epochs", "2", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    assert metrics["model"] == "dense" and metrics["epochs_run"] == 2 and len(metrics["history"]) == 2
    assert metrics["unit"] == "degC" and 0 < metrics["test_mae"] < 50
    assert {p.name for p in run.iterdir()} == {"config.json", "history.csv", "best.pt", "last.pt",
                                              "curves.png", "metrics.json", "best.pt.sha256", "last.pt.sha256"}
    # Not a terminal: no live bar, one summary line per epoch on stderr.
    assert [line.split()[:2] for line in done.stderr.splitlines() if line.startswith("epoch")] == [
        ["epoch", "1/2"], ["epoch", "2/2"]]
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["provenance"]["source"] == "file" and config["data"]["target"] == "T (degC)"
    assert config["model"]["config"]["units"] == 4 and config["extra"]["recipe"]["model"] == {
        "name": "dense", "params": {"units": 4}}

    again = _cli("train", "dense", *base, "--epochs", "2", cwd=tmp_path)
    assert again.returncode == 2 and "not empty" in again.stderr and "Traceback" not in again.stderr

    resumed = _cli("train", "--resume", run, "--epochs", "3", "--json", "--no-progress", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    history = json.loads(resumed.stdout)["history"]
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[:2] == metrics["history"]

    # Not mkstemp's 0600: the run's files are readable like any other file the user makes.
    umask = os.umask(0)
    os.umask(umask)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in run.iterdir()} == {
        name: 0o666 & ~umask for name in TORCH_RUN_FILES}

    predicted = _cli("predict", run, "--last", "2", "--json", "--out", tmp_path / "p.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    preds = json.loads(predicted.stdout)["predictions"]
    assert len(preds) == 2 and all(np.isfinite(p["prediction"]) for p in preds)
    # The last window ends at the last row and forecasts horizon * sampling_rate rows (6 hours) later.
    assert pd.Timestamp(preds[-1]["forecast_for"]) - pd.Timestamp(preds[-1]["window_end"]) == pd.Timedelta("6h")
    assert len(pd.read_csv(tmp_path / "p.csv")) == 2
    (tmp_path / "p.csv").write_text("keep me")
    refused = _cli("predict", run, "--out", tmp_path / "p.csv", cwd=tmp_path)
    assert refused.returncode == 2 and "already exists" in refused.stderr and "--overwrite" in refused.stderr
    assert (tmp_path / "p.csv").read_text() == "keep me"
    replaced = _cli("predict", run, "--last", "3", "--out", tmp_path / "p.csv", "--overwrite", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert len(pd.read_csv(tmp_path / "p.csv")) == 3

    scored = _cli("evaluate", run, "--json", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    scores = json.loads(scored.stdout)
    final = json.loads((run / "metrics.json").read_text())
    assert scores["test"]["mae"] == pytest.approx(final["test_mae"], rel=1e-6)
    assert scores["val"]["mae"] == pytest.approx(final["val_mae"], rel=1e-6)


def test_a_killed_run_resumes_from_its_last_completed_epoch(jena_csv, tmp_path):
    run = tmp_path / "run"
    args = ["train", "dense", "--data", jena_csv, *WINDOW, "--max-steps-per-epoch", "3", "--param", "units=4",
            "--out", run, "--epochs", "500", "--no-progress"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "forecastlab", *map(str, args)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not (run / "history.csv").is_file() or len((run / "history.csv").read_text().splitlines()) < 3:
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it was killed"
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL: no cleanup code runs, as in a power cut
        proc.wait()
    done_before = pd.read_csv(run / "history.csv")
    assert 2 <= len(done_before) < 500
    resumed = _cli("train", "--resume", run, "--epochs", len(done_before) + 1, "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    history = pd.DataFrame(json.loads(resumed.stdout)["history"])
    assert list(history["epoch"]) == list(range(1, len(done_before) + 2))
    # The epochs finished before the kill are kept as they were (a killed epoch is simply redone).
    pd.testing.assert_frame_equal(history.iloc[: len(done_before)][done_before.columns], done_before,
                                  check_dtype=False)
    assert not list(run.glob(".*.tmp"))


def test_cli_errors_are_one_clear_paragraph(jena_csv, tmp_path):
    with pytest.raises(ForecastlabError, match="bad --param 'units'"):
        parse_params(["units"])
    assert parse_params(["units=64", "recurrent_dropout=0.1", "mode=weight", "flag=true"]) == {
        "units": 64, "recurrent_dropout": 0.1, "mode": "weight", "flag": True}
    unknown = _cli("train", "dense", "--data", jena_csv, *WINDOW, "--param", "colour=3", "--epochs", "1",
                   "--out", tmp_path / "r", cwd=tmp_path)
    assert unknown.returncode == 2 and "colour" in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.fixture(scope="module")
def relative_run(jena_csv, tmp_path_factory):
    """A 1-epoch run trained with --data given relative to the working directory (its parent, `home`)."""
    home = tmp_path_factory.mktemp("home")
    shutil.copy(jena_csv, home / "mini.csv")
    done = _cli("train", "dense", "--data", "mini.csv", *WINDOW, "--max-steps-per-epoch", "3", "--param", "units=4",
                "--epochs", "1", "--out", "run", "--no-progress", cwd=home)
    assert done.returncode == 0, done.stderr
    return home, home / "run"


def test_a_run_finds_its_data_from_elsewhere_and_one_data_option_keeps_the_rest(relative_run, tmp_path):
    home, run = relative_run
    config = read_config(run)
    assert config["extra"]["recipe"]["data"]["data"] == str(home / "mini.csv")
    assert config["data"]["provenance"]["path"] == str(home / "mini.csv")
    # From another directory, and with only --gaps given: the run's own --data is still used.
    scored = _cli("evaluate", run, "--gaps", "drop", "--json", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    assert "SYNTHETIC" not in scored.stderr and f"--data {home / 'mini.csv'}" in scored.stderr
    final = json.loads((run / "metrics.json").read_text())
    assert json.loads(scored.stdout)["test"]["mae"] == pytest.approx(final["test_mae"], rel=1e-6)


def test_resume_refuses_options_that_differ_from_the_run(relative_run, tmp_path, monkeypatch):
    home, original = relative_run
    run = shutil.copytree(original, tmp_path / "run")
    last = (run / "last.pt").read_bytes()
    mixed = _cli("train", "--resume", run, "--epochs", "3", "--lr", "0.5", "--batch-size", "32", cwd=tmp_path)
    assert mixed.returncode == 2 and "Traceback" not in mixed.stderr
    assert "--lr 0.5 (the run's: 0.001)" in mixed.stderr and "--batch-size 32 (the run's: 64)" in mixed.stderr
    other_model = _cli("train", "lstm", "--resume", run, cwd=tmp_path)
    assert other_model.returncode == 2 and "model lstm (the run's: dense)" in other_model.stderr
    assert (run / "last.pt").read_bytes() == last  # nothing was trained

    config = read_config(run)
    with pytest.raises(ForecastlabError, match=r"--param units=8 \(the run's: 4\)"):
        refuse_resume_conflicts(config, run, {"params": ["units=8"]})
    with pytest.raises(ForecastlabError, match="--overwrite"):
        refuse_resume_conflicts(config, run, {"overwrite": True})
    # Options equal to the run's own (the data path relative to where it was typed) and the free ones pass.
    monkeypatch.chdir(home)
    refuse_resume_conflicts(config, run, {"params": ["units=4", "activation=\"relu\""], "data": "mini.csv",
                                          "batch_size": 64, "lr": 1e-3, "epochs": 9, "device": "cpu"})


def test_a_changed_data_file_is_named_with_both_hashes(relative_run, tmp_path):
    home, original = relative_run
    run = shutil.copytree(original, tmp_path / "run")
    data = tmp_path / "mini.csv"
    config_text = (run / "config.json").read_text().replace(str(home / "mini.csv"), str(data))
    (run / "config.json").write_text(config_text)
    lines = (home / "mini.csv").read_text().splitlines(keepends=True)
    lines[5] = re.sub(r",(-?\d+)\.", lambda m: f",{int(m[1]) + 1}.", lines[5], count=1)
    data.write_text("".join(lines))
    trained_sha = json.loads(config_text)["data"]["provenance"]["sha256"]
    now_sha = hashlib.sha256(data.read_bytes()).hexdigest()
    assert trained_sha and trained_sha != now_sha

    scored = _cli("evaluate", run, cwd=tmp_path)
    flat = re.sub(r"[\s│]", "", scored.stderr)  # the warning is a boxed panel
    assert scored.returncode == 0 and "DATACHANGED" in flat and trained_sha in flat and now_sha in flat
    resumed = _cli("train", "--resume", run, "--epochs", "2", cwd=tmp_path)
    assert resumed.returncode == 2 and "cannot resume" in resumed.stderr
    assert trained_sha in resumed.stderr and now_sha in resumed.stderr


def test_a_failed_new_run_leaves_no_folder_behind(jena_csv, tmp_path):
    zero = _cli("train", "dense", "--data", jena_csv, "--epochs", "0", "--out", tmp_path / "zero", cwd=tmp_path)
    assert zero.returncode == 2 and "--epochs must be 1 or more, got 0" in zero.stderr
    assert not (tmp_path / "zero").exists()
    # Diverges in epoch 1, after the run directory was made: what this command created goes, the rest stays.
    (tmp_path / "mine").mkdir()
    diverged = _cli("train", "dense", "--data", jena_csv, *WINDOW, "--max-steps-per-epoch", "3", "--lr", "1e30",
                    "--epochs", "1", "--out", tmp_path / "mine" / "a" / "b", cwd=tmp_path)
    assert diverged.returncode == 2 and "diverged" in diverged.stderr
    assert (tmp_path / "mine").is_dir() and not list((tmp_path / "mine").iterdir())


def test_predict_and_evaluate_pick_the_device_like_train():
    for command in (predict_command, evaluate_command):
        assert inspect.signature(command).parameters["device"].default is None  # None: auto, GPU if present


def test_an_estimator_trains_from_the_cli_and_refuses_torch_only_options(jena_csv, tmp_path):
    base = ["--data", jena_csv, *WINDOW, "--param", "n_estimators=20", "--param", "num_threads=1", "--no-progress"]
    done = _cli("train", "lightgbm", *base, "--out", tmp_path / "gbm", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    assert metrics["model"] == "lightgbm" and metrics["params"] > 0
    assert metrics["intervals"]["method"] == "split-conformal"
    assert (tmp_path / "gbm" / "model" / "estimator.json").is_file() and not (tmp_path / "gbm" / "best.pt").exists()
    shown = _cli("runs", "show", tmp_path / "gbm", cwd=tmp_path)
    assert "one fit (an estimator)" in shown.stdout and "fitted parameters" in shown.stdout
    # Torch-only options are refused by flag (the others, --optimizer and --lr-schedule, in
    # tests/models/test_model_contract.py), before any folder is made.
    clean_error(_cli("train", "lightgbm", *base, "--epochs", "3", "--out", tmp_path / "x", cwd=tmp_path),
                "does not apply to an estimator", "--epochs")
    assert not (tmp_path / "x").exists()
    clean_error(_cli("train", "--resume", tmp_path / "gbm", cwd=tmp_path), "cannot be resumed", "--resume")
    clean_error(_cli("train", "--resume", tmp_path / "gbm", "--epochs", "3", cwd=tmp_path),  # not "--epochs 6"
                "an estimator fitted in one pass: it cannot be resumed", "--param n_estimators=1000")


def test_train_seeds_writes_one_run_per_seed_and_the_spread(jena_csv, tmp_path):
    """--seeds N, in-process (typer's CliRunner: one more torch import would cost seconds), with the new
    options and a feature set on the way."""
    from typer.testing import CliRunner

    from forecastlab.cli import app

    out = tmp_path / "seeds"
    done = CliRunner().invoke(app, [
        "train", "linear", "--data", str(jena_csv), *WINDOW, "--max-steps-per-epoch", "3", "--epochs", "1",
        "--optimizer", "adamw", "--clip-norm", "1", "--lr-schedule", "warmup_cosine", "--target-transform",
        "residual", "--feature-set", "weather", "--seeds", "2", "--out", str(out), "--no-progress", "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["seeds"] == [0, 1] and summary["test_mae"]["n"] == 2 and summary["test_mae"]["std"] > 0
    assert json.loads((out / "seeds.json").read_text())["val_mae"] == summary["val_mae"]
    for seed in (0, 1):
        config = read_config(out / f"seed-{seed}")
        assert config["training"]["seed"] == seed and config["training"]["clip_norm"] == 1.0
        assert config["extra"]["recipe"]["data"]["feature_set"] == "weather"
    refused = CliRunner().invoke(app, ["train", "--resume", str(out / "seed-0"), "--seeds", "2"])
    assert isinstance(refused.exception, ForecastlabError)


def test_resuming_a_finished_run_says_so_and_rewrites_nothing(tmp_path):
    """Before, the no-op resume rewrote metrics.json with its own seconds as the training time, and
    config.json and curves.png with new dates."""
    from run_helpers import cli as run_cli

    done = run_cli("train", "dense", "--data", "synthetic", "--epochs", "1", "--max-steps-per-epoch", "2",
                   "--out", tmp_path / "run", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-1500:]
    files = ("metrics.json", "config.json", "history.csv", "curves.png", "best.pt", "last.pt")
    def state():
        return {f: ((tmp_path / "run" / f).read_bytes(), (tmp_path / "run" / f).stat().st_mtime_ns) for f in files}

    before = state()
    again = run_cli("train", "--resume", tmp_path / "run", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to train" in again.stdout and "--epochs 2 or more" in again.stdout
    as_json = run_cli("train", "--resume", tmp_path / "run", "--json", cwd=tmp_path)
    assert json.loads(as_json.stdout)["nothing_to_train"] is True
    assert state() == before


def test_an_empty_out_is_refused_not_taken_as_the_current_folder(tmp_path, jena_csv):
    # Path("") is "."; `train --out ""` trained into the current folder, and predict read it as a folder.
    for args, example in ((("train", "dense", "--data", jena_csv, *WINDOW, "--epochs", "1", "--out", ""), "runs/"),
                          (("predict", tmp_path / "run", "--out", ""), "forecast.csv")):
        clean_error(_cli(*args, cwd=tmp_path), "--out is empty", f"give --out a path, e.g. --out {example}")
    assert list(tmp_path.iterdir()) == []


def test_predict_input_refusals_name_input_and_never_data_s_keywords(relative_run, tmp_path):
    """A bad --input is refused as --input (before the model loads), never with --data's advice ("--data also
    takes 'jena', 'synthetic' or 'auto'"): --input is a file, so one named `synthetic` is that file."""
    home, run = relative_run
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "pipe")
    for given, what in (("missing.csv", "--input does not exist"), ("folder", "--input is a directory, not a file"),
                        (os.devnull, "--input is not a regular file (it is a character device)"),
                        ("pipe", "--input is not a regular file (it is a named pipe)"),
                        ("synthetic", "--input does not exist")):  # no such file here: not the built-in data
        text = clean_error(_cli("predict", run, "--input", given, cwd=tmp_path), what, f"Where: --input {given}.")
        assert "--data" not in text and "'jena'" not in text, text
    recent = pd.read_csv(home / "mini.csv").tail(300)
    recent.to_csv(tmp_path / "recent.csv", index=False)
    recent.to_csv(tmp_path / "synthetic", index=False)
    want = _cli("predict", run, "--input", "recent.csv", "--json", cwd=tmp_path)
    got = _cli("predict", run, "--input", "synthetic", "--json", cwd=tmp_path)
    assert want.returncode == 0 and got.returncode == 0, (want.stderr, got.stderr)
    assert json.loads(got.stdout)["forecasts"] == json.loads(want.stdout)["forecasts"]  # the file, as recent.csv


def test_a_resume_on_data_too_short_for_the_run_advises_rows_only(tmp_path):
    """A resumed run's window is the run's own (--resume refuses window flags): its too-few-rows advice asks
    for rows alone, not 'or lower --sequence-length ...' (reached here with a shortened file whose recorded
    sha256 was removed, as an older run's config.json has none)."""
    data = write_jena_csv(tmp_path / "j.csv")
    done = _cli("train", "dense", "--data", data, *WINDOW, "--epochs", "1", "--max-steps-per-epoch", "2",
                "--out", tmp_path / "run", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    config["data"]["provenance"].pop("sha256", None)
    (tmp_path / "run" / "config.json").write_text(json.dumps(config))
    lines = data.read_text().splitlines(keepends=True)
    data.write_text("".join(lines[:600]))  # 599 rows: too few for a 24 x 6 window and its horizon
    done = _cli("train", "--resume", tmp_path / "run", "--epochs", "2", "--no-progress", cwd=tmp_path)
    assert done.returncode != 0 and "too few for one window per split" in done.stderr, done.stderr
    fix = " ".join(done.stderr.split()).split("Fix:")[1]
    assert "(the run's window needs them)" in fix and "lower" not in fix, fix
