"""`forecastlab train --nproc 2`: two data-parallel processes on CPU (torchrun, gloo, DDP) match one
process with the same global batch, only rank 0 writes, and a run killed mid-epoch resumes exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from run_helpers import clean_error, cli, write_jena_csv

ARGS = ["lstm", "--data", "j.csv", "--sequence-length", "24", "--sampling-rate", "6", "--horizon", "6",
        "--batch-size", "64", "--param", "units=4", "--no-progress", "--json"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    write_jena_csv(root / "j.csv", days=20)
    return root


def train(root, *extra, timeout=300):
    done = cli("train", *ARGS, *extra, cwd=root, timeout=timeout)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)  # one JSON document: rank 1 prints nothing


def assert_same_history(a, b, rel):
    assert len(a["history"]) == len(b["history"])
    for ra, rb in zip(a["history"], b["history"], strict=True):
        for key in ("loss", "mae", "val_loss", "val_mae"):
            assert ra[key] == pytest.approx(rb[key], rel=rel), (key, ra, rb)


@pytest.fixture(scope="module")
def two(root):
    return train(root, "--epochs", "4", "--max-steps-per-epoch", "20", "--out", root / "two", "--nproc", "2")


def test_two_processes_match_one_with_the_same_global_batch_and_only_rank_0_writes(root, two):
    one = train(root, "--epochs", "4", "--max-steps-per-epoch", "20", "--out", root / "one")
    assert_same_history(one, two, rel=1e-5)
    assert two["test_mae"] == pytest.approx(one["test_mae"], rel=1e-5)
    assert sorted(p.name for p in (root / "two").iterdir()) == sorted(p.name for p in (root / "one").iterdir())
    config = json.loads((root / "two" / "config.json").read_text())
    assert config["training"]["nproc"] == 2 and "nproc" not in json.loads((root / "one" / "config.json")
                                                                          .read_text())["training"]


def test_a_run_killed_mid_epoch_resumes_exactly_with_the_same_nproc(root, two):
    out = root / "killed"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "forecastlab", "train", *ARGS, "--epochs", "4", "--max-steps-per-epoch", "20",
           "--out", str(out), "--nproc", "2"]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    history = out / "history.csv"
    while time.monotonic() < deadline and proc.poll() is None:
        if history.exists() and len(history.read_text().strip().splitlines()) >= 3:  # header + 2 epochs
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # torchrun and both workers, mid-epoch 3
    proc.wait(timeout=30)
    kept = len(history.read_text().strip().splitlines()) - 1
    assert 2 <= kept < 4
    clean_error(cli("train", "--resume", out, "--nproc", "1", "--no-progress", cwd=root), "nproc")
    resumed = json.loads(cli_ok(root, "train", "--resume", out, "--nproc", "2", "--no-progress", "--json"))
    assert_same_history(resumed, two, rel=1e-9)  # exactly the uninterrupted run's epochs
    assert resumed["test_mae"] == pytest.approx(two["test_mae"], rel=1e-9)


def cli_ok(root, *args) -> str:
    done = cli(*args, cwd=root, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def test_nproc_with_seeds_is_refused(root):
    clean_error(cli("train", *ARGS, "--nproc", "2", "--seeds", "2", cwd=root), "--nproc trains one run")
