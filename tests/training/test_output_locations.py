"""Where results go, when that place cannot take them: a file where a folder belongs, a read-only mount,
an immutable folder, a full disk. Real processes, real mounts: each case must end in one paragraph naming
the path and the cause (exit 2, no traceback), and leave what was there before as it was.

Read-only and immutable cases use a real read-only tmpfs and `chattr +i` (root ignores permission bits,
so chmod proves nothing); the tests skip, saying why, where mount or chattr is not allowed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from forecastlab.reporting.data_plots import WHOLE
from forecastlab.training.run_dir import BEST, CONFIG, HISTORY, LAST, METRICS
from run_helpers import write_jena_csv

WINDOW = ["--sequence-length", "24", "--sampling-rate", "6", "--horizon", "6", "--batch-size", "64"]
QUICK = ["--max-steps-per-epoch", "3", "--param", "units=4", "--epochs", "1", "--no-progress"]
DEAD_MIRROR = "http://127.0.0.1:9/x.zip"  # port 9 (discard) on loopback: refused at once, never the network


def _cli(*args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200", FORECASTLAB_JENA_MIRRORS=DEAD_MIRROR)
    return subprocess.run([sys.executable, "-m", "forecastlab", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _refused(done, path, *causes) -> str:
    """`done` ended in one clear error paragraph naming `path` and one of `causes`; returns the paragraph."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    message = errors[0]
    assert str(path) in message, message
    assert any(cause in message for cause in causes), message
    assert "Fix:" in message, message
    return message


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(path) -> dict:
    """Every entry under `path` (or the file `path`) with its content hash: equal snapshots, nothing changed."""
    if path.is_file():
        return {"": _sha(path)}
    return {str(p.relative_to(path)): _sha(p) if p.is_file() else "folder" for p in sorted(path.rglob("*"))}


def _fill(mount, leave: int = 0) -> None:
    """Fill the tmpfs `mount` with a file until only `leave` bytes are free."""
    st = os.statvfs(mount)
    size = max(st.f_bavail * st.f_frsize - leave, 0)
    with open(mount / "filler", "ab") as fh:
        try:
            fh.write(b"\0" * size)
            fh.flush()
        except OSError as err:
            assert err.errno == errno.ENOSPC
    st = os.statvfs(mount)
    assert st.f_bavail * st.f_frsize <= leave


@pytest.fixture(scope="module")
def jena_csv(tmp_path_factory):
    """20 days of 10-minute rows with the real file's 15 headers and plausible values."""
    path = tmp_path_factory.mktemp("out-locations") / "mini_jena.csv"
    return write_jena_csv(path)


@pytest.fixture(scope="module")
def good_run(jena_csv):
    """A finished 1-epoch run (copied onto the mounts below, so each case starts from the same bytes)."""
    run = jena_csv.parent / "good-run"
    done = _cli("train", "dense", "--data", jena_csv, *WINDOW, *QUICK, "--out", run, cwd=jena_csv.parent)
    assert done.returncode == 0, done.stderr
    return run


def _run(*command) -> str | None:
    """Run a system command (mount, umount, chattr); None when it worked, else why it did not."""
    try:
        done = subprocess.run(list(map(str, command)), capture_output=True, text=True, timeout=30)
    except OSError as err:
        return f"cannot run {command[0]}: {err}"
    return None if done.returncode == 0 else f"`{' '.join(map(str, command))}` failed: {done.stderr.strip()}"


def _mount(target, size: str) -> str | None:
    why = _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", target)
    return None if why is None else f"cannot mount a tmpfs (needs root with CAP_SYS_ADMIN): {why}"


@pytest.fixture
def tmpfs(tmp_path):
    """mount(name, size) -> a fresh tmpfs at tmp_path/name, unmounted (lazily) at teardown. Skips, saying
    why, where mounting is not allowed."""
    mounted = []

    def mount(name: str, size: str = "512k"):
        target = tmp_path / name
        target.mkdir()
        why = _mount(target, size)
        if why:
            pytest.skip(why)
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        _run("umount", "-l", target)


# -- 1, 2: a file where a folder belongs, a read-only mount, an immutable folder ------------------------------

CAUSES = {
    "under-a-file": ("Not a directory", "not a folder", "is a file"),
    "read-only": ("Read-only file system",),
    "immutable": ("Operation not permitted",),
}
COMMANDS = ("train", "predict", "inspect", "fetch")


def _args(command, location, jena_csv, good_run, kind):
    """The command line writing to `location`, and the path its error must name."""
    if command == "train":
        return location / "run", ["train", "dense", "--data", jena_csv, *WINDOW, *QUICK, "--out", location / "run"]
    if command == "predict":
        overwrite = ["--overwrite"] if kind != "under-a-file" else []  # replace the earlier p.csv: refused too
        return location / "p.csv", ["predict", good_run, "--out", location / "p.csv", *overwrite]
    if command == "inspect":
        return location, ["data", "inspect", jena_csv, "--plots", location]
    return location, ["data", "fetch", "--data-dir", location, "--timeout", "2"]


@pytest.fixture(scope="module")
def unwritable(jena_csv, good_run, tmp_path_factory):
    """The three kinds of unwritable location, each holding what an earlier run left there, and every command
    of COMMANDS run against each (two at a time: each process is mostly the start of Python and torch).
    {kind: (location, snapshot before, {command: (path to name, result)}) or a skip reason}."""
    base = tmp_path_factory.mktemp("unwritable")
    locations, cleanup, out = {}, [], {}
    somefile = base / "somefile"
    somefile.write_text("keep me\n")
    locations["under-a-file"] = somefile
    for kind in ("read-only", "immutable"):
        location = base / kind
        location.mkdir()
        why = _mount(location, "256k") if kind == "read-only" else None
        if why:
            out[kind] = why
            continue
        if kind == "read-only":
            cleanup.append(("umount", "-l", location))
        (location / "p.csv").write_text("earlier predictions\n")
        (location / WHOLE).write_bytes(b"an earlier plot")
        why = _run("mount", "-o", "remount,ro", location) if kind == "read-only" else _run("chattr", "+i", location)
        if why:
            out[kind] = f"cannot make a location {kind} (needs root): {why}"
            continue
        if kind == "immutable":
            cleanup.insert(0, ("chattr", "-i", location))
        locations[kind] = location
    try:
        jobs = {(kind, command): _args(command, location, jena_csv, good_run, kind)
                for kind, location in locations.items() for command in COMMANDS}
        before = {kind: _snapshot(location) for kind, location in locations.items()}
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {key: pool.submit(_cli, *args, cwd=base) for key, (_, args) in jobs.items()}
            results = {key: future.result() for key, future in futures.items()}
        for kind, location in locations.items():
            out[kind] = (location, before[kind], {c: (jobs[kind, c][0], results[kind, c]) for c in COMMANDS})
        yield out
    finally:
        for command in cleanup:
            _run(*command)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", list(CAUSES))
def test_an_unwritable_location_is_refused_by_name(kind, command, unwritable, good_run):
    if isinstance(unwritable[kind], str):
        pytest.skip(unwritable[kind])
    location, before, results = unwritable[kind]
    target, done = results[command]
    _refused(done, target, *CAUSES[kind])
    assert _snapshot(location) == before  # what was there is untouched, nothing was added
    assert not list(good_run.glob(".*"))  # predict left nothing in the run it read


# -- 3: a full disk ------------------------------------------------------------------------------------------


def test_a_new_run_on_a_full_disk_fails_clearly_and_leaves_nothing(jena_csv, tmp_path, tmpfs):
    disk = tmpfs("disk", "256k")
    _fill(disk, leave=16 << 10)  # room for the lock and config.json, not for the checkpoints
    run = disk / "run"
    done = _cli("train", "dense", "--data", jena_csv, *WINDOW, *QUICK, "--out", run, cwd=tmp_path)
    _refused(done, run, "No space left on device")
    assert os.listdir(disk) == ["filler"]  # the run folder it made is gone with its files


def test_resume_and_overwrite_on_a_full_disk_keep_the_run(jena_csv, good_run, tmp_path, tmpfs):
    disk = tmpfs("disk", "512k")
    run = disk / "run"
    shutil.copytree(good_run, run)
    before = _snapshot(run)
    _fill(disk, leave=4 << 10)  # one page: the lock's, and not one byte for the new epoch

    resumed = _cli("train", "--resume", run, "--epochs", "2", "--no-progress", cwd=tmp_path)
    _refused(resumed, run, "No space left on device")
    assert _snapshot(run) == before  # config.json, last.pt, best.pt, history.csv, metrics.json... and no leftovers

    replaced = _cli("train", "dense", "--data", jena_csv, *WINDOW, *QUICK, "--out", run, "--overwrite", cwd=tmp_path)
    _refused(replaced, run, "No space left on device")
    assert _snapshot(run) == before  # the old run is back from .replaced-run/

    (disk / "filler").unlink()
    diverged = _cli("train", "dense", "--data", jena_csv, *WINDOW, *QUICK, "--out", run, "--overwrite",
                    "--lr", "1e30", cwd=tmp_path)
    assert diverged.returncode == 2 and "Traceback" not in diverged.stderr, diverged.stderr
    assert "diverged at epoch 1" in diverged.stderr
    assert _snapshot(run) == before

    again = _cli("train", "--resume", run, "--epochs", "2", "--json", "--no-progress", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    history = json.loads(again.stdout)["history"]
    assert [row["epoch"] for row in history] == [1, 2]
    first = pd.read_csv(good_run / HISTORY).iloc[0]
    assert history[0]["val_loss"] == pytest.approx(first["val_loss"], rel=1e-6)


def test_resume_on_a_completely_full_disk(good_run, tmp_path, tmpfs):
    disk = tmpfs("disk", "512k")
    run = disk / "run"
    shutil.copytree(good_run, run)
    before = _snapshot(run)
    _fill(disk)
    done = _cli("train", "--resume", run, "--epochs", "2", "--no-progress", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "No space left on device" in done.stderr
    assert _snapshot(run) == before and str(run) in done.stderr


def test_a_resume_that_runs_out_of_space_mid_epoch_changes_no_result(good_run, tmp_path, tmpfs):
    disk = tmpfs("disk", "512k")
    run = disk / "run"
    shutil.copytree(good_run, run)
    before = {name: _sha(run / name) for name in (CONFIG, LAST, BEST, HISTORY, METRICS)}
    _fill(disk, leave=20 << 10)  # room for the lock, best.pt (8 kB) and the sidecars, not for last.pt (35 kB)
    done = _cli("train", "--resume", run, "--epochs", "2", "--no-progress", cwd=tmp_path)
    _refused(done, run, "No space left on device")
    assert {name: _sha(run / name) for name in before} == before


# -- the pieces, in-process -------------------------------------------------------------------------------


def test_atomic_write_names_the_destination_not_its_temp_file(tmpfs):
    from forecastlab.atomic import atomic_write_bytes

    disk = tmpfs("disk", "64k")
    (disk / "keep.txt").write_text("earlier\n")
    with pytest.raises(OSError) as full:
        atomic_write_bytes(disk / "big.bin", b"\0" * (256 << 10))  # fails in write(), which names no file
    assert full.value.errno == errno.ENOSPC and full.value.filename == str(disk / "big.bin")
    assert os.listdir(disk) == ["keep.txt"]
    why = _run("mount", "-o", "remount,ro", disk)
    if why:
        pytest.skip(why)
    with pytest.raises(OSError) as read_only:
        atomic_write_bytes(disk / "keep.txt", b"new")  # fails in open() of the temp file
    assert read_only.value.errno == errno.EROFS and read_only.value.filename == str(disk / "keep.txt")
    assert (disk / "keep.txt").read_text() == "earlier\n"


def test_a_file_where_a_folder_belongs_is_said_so(tmp_path):
    from forecastlab.errors import from_os_error

    (tmp_path / "plots").write_text("not a folder")
    with pytest.raises(FileExistsError) as exists:
        (tmp_path / "plots").mkdir(parents=True, exist_ok=True)
    message = from_os_error(exists.value).paragraph()
    assert str(tmp_path / "plots") in message and "it is a file, where a folder is needed" in message
    named = from_os_error(OSError(errno.EROFS, "Read-only file system", str(tmp_path / ".x.tmp")),
                          "cannot write to the data cache", path=tmp_path).paragraph()
    assert named.startswith(f"cannot write to the data cache {tmp_path}: Read-only file system.")
    assert ".x.tmp" not in named
