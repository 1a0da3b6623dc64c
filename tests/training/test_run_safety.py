"""No process destroys another's run, and no signal or failure loses one: real processes, real signals.

- one writer per run directory (a lock file that names its holder; a dead holder's lock is taken over)
- two `train` processes racing for one --out: one trains, the other is refused and deletes nothing
- --overwrite keeps the old run until the new one has a checkpoint, even through SIGKILL
- SIGTERM and Ctrl-C behave the same, and say in one line what was kept and how to resume
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from forecastlab.errors import ForecastlabError
from forecastlab.training.run_dir import LOCK, REPLACED, TORCH_RUN_FILES, RunDirectory, RunLock, lock_owner
from run_helpers import TINY, WINDOW, clean_error, cli, digests, popen, write_jena_csv

# A first epoch that lasts seconds, so a signal can land inside it: a slow model on small batches.
SLOW = [*WINDOW[:-2], "--batch-size", "8", "--param", "units=8", "--no-progress"]


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    return write_jena_csv(tmp_path_factory.mktemp("safety") / "mini.csv", days=40)


@pytest.fixture(scope="module")
def good_run(csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("good") / "run"
    done = cli("train", "dense", "--data", csv, *TINY, "--epochs", "2", "--out", out, cwd=out.parent)
    assert done.returncode == 0, done.stderr
    return out


def wait_for(path: Path, proc, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_a_held_lock_refuses_another_process_and_names_the_holder(csv, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    lock = RunLock(out).acquire()
    try:
        assert lock_owner(out)["pid"] == os.getpid()
        done = cli("train", "dense", "--data", csv, *TINY, "--epochs", "1", "--out", out, cwd=tmp_path)
        clean_error(done, "in use by another forecastlab process", f"process {os.getpid()}")
        with pytest.raises(ForecastlabError, match="in use"):
            RunDirectory(out).open()
        assert os.listdir(out) == [LOCK]  # the refused process removed nothing, not even the lock
    finally:
        lock.release()
    assert not (out / LOCK).exists() and lock_owner(out) is None


def test_a_dead_processs_lock_is_stale_and_taken_over(csv, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / LOCK).write_text(json.dumps({"pid": 2**22 + 17, "host": "gone", "since": "yesterday"}))
    assert lock_owner(out) is None  # nobody holds the flock: stale
    done = cli("train", "dense", "--data", csv, *TINY, "--epochs", "1", "--out", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(out)) == sorted(TORCH_RUN_FILES)  # the lock went with the process


def test_two_processes_racing_for_one_out_never_destroy_the_winner(csv, tmp_path):
    for attempt in range(3):
        out = tmp_path / f"race{attempt}"
        args = ("train", "dense", "--data", csv, *TINY, "--epochs", "1", "--out", out)
        procs = [popen(*args, cwd=tmp_path) for _ in range(2)]
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        codes = sorted(rc for rc, _, _ in results)
        assert codes == [0, 2], results
        loser = next(err for rc, _, err in results if rc == 2)
        assert "Traceback" not in loser and ("in use by another" in loser or "not empty" in loser), loser
        assert sorted(os.listdir(out)) == sorted(TORCH_RUN_FILES), attempt  # the winner's run is whole


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_in_the_first_epoch_removes_the_new_run_and_says_so(csv, tmp_path, sig):
    out = tmp_path / "new" / "run"
    proc = popen("train", "gru_stacked", "--data", csv, *SLOW, "--epochs", "2", "--out", out, cwd=tmp_path)
    wait_for(out / "config.json", proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "interrupted:" in err and "nothing to resume" in err and "Traceback" not in err, err
    assert not (tmp_path / "new").exists()  # what the command made is gone, so --out can be reused


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_after_the_first_epoch_keeps_a_resumable_run(csv, tmp_path, sig):
    out = tmp_path / "run"
    proc = popen("train", "gru_stacked", "--data", csv, *SLOW, "--epochs", "2", "--out", out, cwd=tmp_path)
    wait_for(out / "last.pt", proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    line = " ".join(err.split())
    assert "interrupted:" in line and "1 completed epoch" in line and f"--resume {out}" in line, err
    assert not (out / LOCK).exists()
    done = cli("train", "--resume", out, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [r["epoch"] for r in json.loads(done.stdout)["history"]] == [1, 2]


def test_overwrite_that_fails_puts_the_old_run_back(good_run, csv, tmp_path):
    before = digests(good_run)
    done = cli("train", "dense", "--data", csv, *TINY, "--epochs", "1", "--lr", "1e30", "--overwrite",
               "--out", good_run, cwd=tmp_path)
    clean_error(done, "diverged")
    assert digests(good_run) == before and not (good_run / REPLACED).exists()


def test_overwrite_killed_before_its_first_checkpoint_loses_nothing(good_run, csv, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in os.listdir(good_run):
        (run / name).write_bytes((good_run / name).read_bytes())
    before = digests(run)
    proc = popen("train", "gru_stacked", "--data", csv, *SLOW, "--epochs", "1", "--overwrite", "--out", run,
                 cwd=tmp_path)
    wait_for(run / REPLACED, proc)
    wait_for(run / "config.json", proc)
    proc.kill()  # SIGKILL: no cleanup can run
    proc.communicate()
    assert (run / REPLACED).is_dir()
    # The next process to read or write the directory puts the old run back.
    done = cli("predict", run, "--data", csv, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert digests(run) == before and not (run / REPLACED).exists()
    refused = cli("train", "dense", "--data", csv, *TINY, "--epochs", "1", "--out", run, cwd=tmp_path)
    clean_error(refused, "not empty")
    assert digests(run) == before


def test_a_seeds_training_and_a_single_run_never_share_a_directory_even_with_overwrite(csv, tmp_path):
    """--overwrite replaces one layout's files; the other's would stay beside them, and runs show, predict
    and report would then read a run that is not the one just trained."""
    single, seeds = tmp_path / "single", tmp_path / "seeds"
    train_args = ["train", "dense", "--data", csv, *TINY, "--epochs", "1"]
    assert cli(*train_args, "--out", single, cwd=tmp_path).returncode == 0
    before = digests(single)
    clean_error(cli(*train_args, "--seeds", "2", "--out", single, "--overwrite",
                    cwd=tmp_path), "holds a single run (its config.json)", "choose another --out")
    assert digests(single) == before and not (single / "seed-0").exists()
    done = cli(*train_args, "--seeds", "2", "--out", seeds, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    clean_error(cli(*train_args, "--out", seeds, "--overwrite", cwd=tmp_path),
                "holds the runs of a --seeds training (seeds.json, seed-0, seed-1)")
    assert not (seeds / "config.json").exists()
    again = cli(*train_args, "--seeds", "2", "--out", seeds, "--overwrite",
                cwd=tmp_path)  # the same layout: replaced, as asked
    assert again.returncode == 0, again.stderr[-2000:]


def test_reading_a_run_says_whether_the_path_is_missing_a_file_or_a_folder_without_config(tmp_path):
    from forecastlab.training.run_dir import read_config

    (tmp_path / "afile").write_text("x")
    (tmp_path / "empty").mkdir()
    for name, what in (("nope", "the run directory does not exist"), ("afile", "this is a file, not a run directory"),
                       ("empty", "config.json is missing, so this is not a forecastlab run directory")):
        with pytest.raises(ForecastlabError) as err:
            read_config(tmp_path / name)
        assert err.value.what == what and err.value.where == str(tmp_path / name)
