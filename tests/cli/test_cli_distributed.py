"""`forecastlab train --nproc 2`: two data-parallel processes on CPU (torchrun, gloo, DDP) match one
process with the same global batch, only rank 0 writes, a run killed mid-epoch resumes exactly, and no
worker outlives a killed or stopped command (torchrun starts each in a session of its own)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def start(root, out, total_epochs: int = 4, data: str = "j.csv"):
    """`train --nproc 2` in a session of its own (like a terminal's job), once history.csv holds 2 epochs.
    Its stderr goes to out.err (a file: a pipe nobody reads could fill up and block it)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="250")  # unwrapped messages
    args = [data if a == "j.csv" else a for a in ARGS]
    cmd = [sys.executable, "-m", "forecastlab", "train", *args, "--epochs", str(total_epochs), "--max-steps-per-epoch",
           "20", "--out", str(out), "--nproc", "2"]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL,
                            stderr=out.with_suffix(".err").open("w"), start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if epochs(out) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be stopped"
    return proc


def epochs(out) -> int:
    history = out / "history.csv"
    return len(history.read_text().strip().splitlines()) - 1 if history.exists() else 0


def running_for(out) -> list[str]:
    """The live (not zombie) processes whose command line names `out`: the command, torchrun, its workers."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):  # not a process, or one that just ended
            continue
        if str(out).encode() in argv and state not in ("Z", "X"):
            found.append(f"{entry.name}: {b' '.join(argv[:4]).decode(errors='replace')}")
    return found


def assert_all_stopped(out, within: float = 10.0) -> int:
    """No process of the run is left `within` seconds, and history.csv then stays as it is: its epochs."""
    deadline = time.monotonic() + within
    while (left := running_for(out)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"still running after the launcher was stopped: {left}"
    kept = epochs(out)
    time.sleep(1.0)
    assert epochs(out) == kept, "history.csv still grows: something still trains into the run"
    return kept


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers die with their parent on Linux")
def test_a_run_killed_mid_epoch_resumes_exactly_with_the_same_nproc(root, two):
    out = root / "killed"
    proc = start(root, out)
    os.killpg(proc.pid, signal.SIGKILL)  # the command's process group: not torchrun's workers, in their own sessions
    proc.wait(timeout=30)
    kept = assert_all_stopped(out)  # they die with torchrun, and torchrun with the command
    assert 2 <= kept < 4
    clean_error(cli("train", "--resume", out, "--nproc", "1", "--no-progress", cwd=root), "nproc")
    resumed = json.loads(cli_ok(root, "train", "--resume", out, "--nproc", "2", "--no-progress", "--json"))
    assert_same_history(resumed, two, rel=1e-9)  # exactly the uninterrupted run's epochs
    assert resumed["test_mae"] == pytest.approx(two["test_mae"], rel=1e-9)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers die with their parent on Linux")
def test_sigterm_to_the_command_stops_every_worker_cleanly(root):
    out = root / "terminated"
    lines = (root / "j.csv").read_text().splitlines(keepends=True)
    (root / "holed.csv").write_text("".join(lines[:1000] + lines[1006:]))  # a hole: a gaps warning, from each rank
    # epochs take ~0.3 s here: a clean stop may still finish one or two
    proc = start(root, out, total_epochs=12, data="holed.csv")
    proc.send_signal(signal.SIGTERM)  # the command alone: it passes the signal on, once, through torchrun
    proc.wait(timeout=120)
    stderr = out.with_suffix(".err").read_text()
    kept = assert_all_stopped(out, within=2.0)  # torchrun had stopped the workers before the command exited
    assert 2 <= kept < 12
    assert proc.returncode == 143, stderr[-4000:]
    assert "Traceback" not in stderr, stderr[-4000:]
    assert f"kept {out} with {kept} completed epochs" in " ".join(stderr.split()), stderr[-4000:]
    # rank 0 alone speaks: rank 1 once said "it had no run directory, so nothing was kept", and repeated warnings
    assert stderr.count("interrupted:") == 1 and "no run directory" not in stderr, stderr[-4000:]
    assert stderr.count("gaps:") == 1, stderr[-4000:]
    # The command the message gives, as it gives it (no --nproc): the run goes on on its own 2 processes
    # (before: refused, "training.nproc: saved 2, now null").
    assert f"forecastlab train --resume {out}`" in " ".join(stderr.split())
    cli_ok(root, "train", "--resume", out, "--no-progress", "--json")
    assert epochs(out) == 12 and json.loads((out / "config.json").read_text())["training"]["nproc"] == 2


def cli_ok(root, *args) -> str:
    done = cli(*args, cwd=root, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def test_nproc_with_seeds_is_refused(root):
    clean_error(cli("train", *ARGS, "--nproc", "2", "--seeds", "2", cwd=root), "--nproc trains one run")


def test_ctrl_c_while_torchrun_still_imports_torch_exits_130_without_a_traceback(tmp_path):
    """The launcher's torchrun bootstrap (_AGENT), interrupted while it imports torch (here a stand-in torch
    that interrupts itself on import): before, a ~30-line KeyboardInterrupt traceback and no clean exit."""
    from forecastlab.cli.distributed import _AGENT, PARENT_ENV

    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), **{PARENT_ENV: str(os.getpid())})
    done = subprocess.run([sys.executable, "-c", _AGENT, "--standalone"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
