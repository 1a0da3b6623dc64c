"""The run directory: what a training run leaves behind, who may write it, and how it is never lost.

    RUN_DIR/
      config.json        everything needed to rebuild the model, the windows and the data
      history.csv        one row per epoch: loss, mae, val_loss, val_mae, lr, seconds, train_seconds
      best.pt            weights of the epoch with the lowest val loss (ModelCheckpoint(save_best_only=True))
      last.pt            weights + optimizer + RNG state + history after the last completed epoch (for resume)
      *.pt.sha256        each checkpoint's sha256 (`sha256sum -c`), checked on every load
      curves.png         training and validation MAE per epoch (the book's code 10-11)
      metrics.json       val/test MAE, best epoch, parameter count, seconds per epoch, total time
      .forecastlab.lock  while a process trains here: its pid, host, start time (gone when it ends)
      .replaced-run/     while an --overwrite run has no checkpoint yet: the run it replaces

Rules, enforced by RunDirectory:
- One writer at a time: a process takes an exclusive lock (fcntl.flock on the lock file) before it
  writes anything, and holds it until it is done. The kernel drops the lock when a process dies, so a
  lock left by a killed process is stale and simply taken over.
- A new run needs an empty (or missing) directory. A failed or interrupted new run removes only what it
  created: its run files and the folders it made, never anything that was there before.
- --overwrite moves the old run's files aside, and deletes them only once the new run has written its
  first checkpoint; if the new run fails before that, they are put back. A process killed in between
  (SIGKILL) leaves them aside, and the next process to open the directory puts them back.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import io
import json
import math
import os
import platform
import re
import shutil
import socket
import stat
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

from forecastlab.atomic import atomic_write_json, atomic_write_text, deferred_signals
from forecastlab.errors import ForecastlabError

CONFIG = "config.json"
HISTORY = "history.csv"
BEST = "best.pt"
LAST = "last.pt"
CURVES = "curves.png"
METRICS = "metrics.json"
CHECKSUMS = (BEST + ".sha256", LAST + ".sha256")
MODEL_DIR = "model"  # an estimator's saved model (forecastlab.models.contract.Estimator.save), a folder
RUN_FILES = (CONFIG, HISTORY, BEST, LAST, CURVES, METRICS, *CHECKSUMS, MODEL_DIR)
TORCH_RUN_FILES = tuple(name for name in RUN_FILES if name != MODEL_DIR)  # a torch run's complete contents
LOCK = ".forecastlab.lock"
REPLACED = ".replaced-run"
HISTORY_FIELDS = ("epoch", "loss", "mae", "val_loss", "val_mae", "lr", "seconds", "train_seconds")
MAX_JSON_BYTES = 16 << 20  # config.json / metrics.json: a few kB in practice; bounds a hostile file
MAX_HISTORY_BYTES = 64 << 20


# -- the lock --------------------------------------------------------------------------------------------


class RunLock:
    """An exclusive lock on a run directory, held through an open, flock-ed lock file.

    The lock file is opened without following symlinks and must be a regular file: a hostile run
    directory cannot make us truncate a file elsewhere through it, or block on a FIFO.
    """

    def __init__(self, directory: Path):
        self.path = Path(directory) / LOCK
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise ForecastlabError naming the process that holds it."""
        deadline = time.monotonic() + LOCK_PATIENCE_S
        while True:
            fd = _open_regular(self.path, os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                # A moment's patience: another process may only be probing (lock_owner) or releasing.
                if time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                raise self._busy() from None
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.fstat(fd).st_ino == os.lstat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not unlinked by a releasing holder between our open and our flock
                self._fd = fd
                self._write_owner()
                return self
            os.close(fd)
            if time.monotonic() >= deadline:
                raise ForecastlabError("could not take the run directory's lock", where=str(self.path),
                                       fix="another process keeps replacing the lock file; retry later")

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()  # while still holding it: a waiting process then retries on a fresh file
        os.close(self._fd)
        self._fd = None

    def _write_owner(self) -> None:
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv)[:500],
                 "since": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, (json.dumps(owner) + "\n").encode(), 0)
        except OSError as err:  # a full disk: name the lock file (pwrite names none)
            self.release()
            raise OSError(err.errno, err.strerror, str(self.path)) from err

    def _busy(self) -> ForecastlabError:
        owner = lock_owner(self.path.parent) or {}
        who = f"process {owner.get('pid', '?')} on {owner.get('host', '?')}, since {owner.get('since', '?')}"
        return ForecastlabError(
            f"the run directory is in use by another forecastlab process ({who}: {owner.get('command', '?')})",
            where=str(self.path.parent),
            fix="wait for that process to finish (or stop it), or use another run directory",
        )


LOCK_PATIENCE_S = 0.5


def _open_regular(path: Path, flags: int) -> int:
    """os.open without following a symlink, never blocking on a FIFO, and only for a regular file."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise ForecastlabError(f"{path.name} is a symbolic link; forecastlab never follows one there",
                                   where=str(path), fix="remove it (no forecastlab process makes it a link)") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ForecastlabError(f"{path.name} is not a regular file", where=str(path),
                               fix="remove it (forecastlab only ever makes a plain file there)")
    return fd


def lock_owner(directory: Path) -> dict | None:
    """Who holds the lock on `directory` (pid, host, command, since), or None when nobody does."""
    path = Path(directory) / LOCK
    try:
        fd = _open_regular(path, os.O_RDONLY)
    except (OSError, ForecastlabError):
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                owner = json.loads(os.pread(fd, 4096, 0) or b"{}")
            except ValueError:
                owner = {}
            return owner if isinstance(owner, dict) else {}
        fcntl.flock(fd, fcntl.LOCK_UN)  # nobody held it: a stale file of a dead process
        return None
    finally:
        os.close(fd)


# -- the directory -----------------------------------------------------------------------------------------


_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")  # forecastlab.atomic's temp names


def _stale_temp(name: str) -> bool:
    """A temp file of one of our run files, left by a write whose process is gone (a kill mid-write)."""
    return stale_temp(name, RUN_FILES)


def stale_temp(name: str, files) -> bool:
    """Whether `name` is forecastlab.atomic's temp file for one of `files`, left by a write whose process
    is gone (a kill mid-write): safe to remove."""
    match = _TEMP.match(name)
    if not match or match["name"] not in files:
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def _run_entries(directory: Path) -> list[str]:
    """What counts as content of a run directory: everything but our lock and stale temp files."""
    return sorted(name for name in os.listdir(directory) if name != LOCK and not _stale_temp(name))


def check_run_dir(out_dir: Path, *, resume: bool, overwrite: bool, check_lock: bool = True,
                  resumable: bool = True, single: bool = True) -> None:
    """Raise the ForecastlabError RunDirectory.open would, without writing anything (fail fast).
    resumable=False: the caller cannot continue a run (an ensemble), so its refusal does not offer to.
    single=False: the directory is for a --seeds training (its seed-K runs), not for one run."""
    out_dir = Path(out_dir)
    if resume:
        if not (out_dir / LAST).is_file() and not (out_dir / REPLACED / LAST).is_file():
            raise ForecastlabError(
                f"cannot resume: {out_dir} holds no {LAST} checkpoint",
                where=str(out_dir),
                fix="resume the run directory of an earlier training run, or start a new run (resume=True "
                "left out) with out_dir=",
            )
    elif out_dir.exists() and not out_dir.is_dir():
        raise ForecastlabError(
            "the run directory path is a file", where=str(out_dir), fix="choose another out_dir= directory"
        )
    elif not overwrite and out_dir.is_dir() and _run_entries(out_dir) and not _only_replaced(out_dir):
        raise ForecastlabError(
            "the run directory is not empty; refusing to overwrite an earlier run's results",
            where=str(out_dir),
            fix=("choose another out_dir=, continue it with resume=True, or pass overwrite=True to replace it"
                 if resumable else "choose another out_dir=, or pass overwrite=True to replace it"),
        )
    if single and not resume and out_dir.is_dir() and (seeds := seed_runs(out_dir)):
        # overwrite replaces a run's own files; the seed runs beside them would stay and mix two results
        raise ForecastlabError(
            f"the directory holds the runs of a --seeds training ({', '.join(seeds[:3])}"
            f"{', ...' if len(seeds) > 3 else ''}), not one run; a single run there would mix two results",
            where=str(out_dir), fix="choose another out_dir=, or remove that directory first")
    if check_lock and out_dir.is_dir() and lock_owner(out_dir) is not None:
        raise RunLock(out_dir)._busy()


SEEDS_SUMMARY = "seeds.json"


def seed_runs(directory: Path) -> list[str]:
    """What marks `directory` as a --seeds training (forecastlab.training.runner.run_seeds): its seeds.json
    and seed-K run directories."""
    directory = Path(directory)
    found = [SEEDS_SUMMARY] if (directory / SEEDS_SUMMARY).is_file() else []
    return found + sorted(p.name for p in directory.glob("seed-*") if (p / CONFIG).is_file())


def _only_replaced(out_dir: Path) -> bool:
    """Only what a killed --overwrite run left: the replaced run aside, maybe a config.json (recovered on open)."""
    entries = set(_run_entries(out_dir))
    return REPLACED in entries and entries <= {REPLACED, CONFIG}


class RunDirectory:
    """A run directory opened for writing by this process: locked, and able to undo a failed new run.

    Use as a context manager, or call open() / close(). `commit()` marks the point after which the run
    is kept whatever happens (its first checkpoint is on disk); `abandon()` undoes a new run that has
    not reached it.
    """

    def __init__(self, path: str | os.PathLike, *, resume: bool = False, overwrite: bool = False):
        self.path = Path(path)
        self.resume, self.overwrite = resume, overwrite
        self.committed = resume  # a resumed run's files are kept from the start
        self.replaced = False  # the run an --overwrite replaces was moved aside
        self._made: list[Path] = []
        self._abandoned = False
        self._lock = RunLock(self.path)

    def __enter__(self) -> RunDirectory:
        return self.open()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and not self.committed:
            self.abandon()
        self.close()

    def open(self) -> RunDirectory:
        check_run_dir(self.path, resume=self.resume, overwrite=self.overwrite)
        self._made = [d for d in (self.path, *self.path.parents) if not d.exists()]  # deepest first
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
            # Everything below runs under the lock, so no other process can change the directory meanwhile.
            self.recovered = recover_replaced(self.path)
            check_run_dir(self.path, resume=self.resume, overwrite=self.overwrite, check_lock=False)
            for name in os.listdir(self.path):  # a write killed midway leaves its temp file
                if _stale_temp(name):
                    remove_entry(self.path / name)
            if self.overwrite and not self.resume:
                self._move_aside()
        except BaseException:
            if self.replaced:
                recover_replaced(self.path)
            self.close()
            self._remove_made_dirs()
            raise
        return self

    def _move_aside(self) -> None:
        present = [name for name in _ASIDE_ORDER if (self.path / name).exists()]
        if not present:
            return
        aside = self.path / REPLACED
        aside.mkdir()
        try:
            atomic_write_text(aside / MANIFEST, "".join(f"{name}\n" for name in present))
        except BaseException:  # (a full disk) nothing was moved: take the empty folder back
            shutil.rmtree(aside, ignore_errors=True)
            raise
        self.replaced = True
        with deferred_signals():
            for name in present:  # last.pt first: while it is aside, the run is known not to be replaced yet
                os.replace(self.path / name, aside / name)

    def commit(self) -> None:
        """The run has a checkpoint: from now on it is kept; the run it replaced is deleted."""
        if self.committed:
            return
        self.committed = True
        if self.replaced:
            shutil.rmtree(self.path / REPLACED, ignore_errors=True)

    def abandon(self) -> str:
        """Undo a new run that never reached commit(): remove its files and the folders it made, and put
        back the run it was replacing. Returns what was done, in words."""
        with deferred_signals():
            for name in RUN_FILES:
                remove_entry(self.path / name)
            restored = recover_replaced(self.path) if self.replaced else False
        self._abandoned = True  # the folders it made go in close(), once the lock file is gone
        if restored:
            return f"the previous run's files in {self.path} were put back"
        return f"the new run's files were removed from {self.path}"

    def close(self) -> None:
        self._lock.release()
        if self._abandoned:
            self._remove_made_dirs()

    def _remove_made_dirs(self) -> None:
        for directory in self._made:
            with contextlib.suppress(OSError):  # not empty: someone else wrote there; keep it
                directory.rmdir()


def remove_entry(path: Path) -> None:
    """Remove one of a run's entries: a file, or a folder forecastlab made (never followed through a link)."""
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def recover_if_abandoned(directory: Path) -> bool:
    """For readers (predict, evaluate): put back a run that a killed --overwrite run left aside, when no
    process holds the directory. True when files were put back."""
    directory = Path(directory)
    if not (directory / REPLACED).is_dir() or lock_owner(directory) is not None:
        return False
    lock = RunLock(directory)
    try:
        lock.acquire()
    except ForecastlabError:
        return False
    try:
        return recover_replaced(directory)
    finally:
        lock.release()


_ASIDE_ORDER = (LAST, *(name for name in RUN_FILES if name != LAST))
MANIFEST = "files"  # in .replaced-run/: the names that were moved aside, written before the first move


def recover_replaced(directory: Path) -> bool:
    """Put back the run an --overwrite run moved aside, if that run never got a checkpoint (its process
    failed or was killed). Call with the lock held. True when files were put back.

    Safe to repeat after a kill at any point: last.pt goes aside first and comes back last, so "last.pt is
    in the run directory" always means the new run committed (or nothing of the old run is aside); and
    only the names in the manifest are ever moved, only the new run's other files removed.
    """
    directory = Path(directory)
    aside = directory / REPLACED
    if aside.is_symlink() or (aside.exists() and not aside.is_dir()):
        raise ForecastlabError(f"{REPLACED} is not a folder forecastlab made (a link or a file)", where=str(aside),
                               fix="remove it; forecastlab never follows or moves what it points to")
    if not aside.is_dir():
        return False
    if (directory / LAST).exists():  # the new run got its checkpoint: the old one is replaced
        shutil.rmtree(aside, ignore_errors=True)
        return False
    try:
        names = [n for n in (aside / MANIFEST).read_text(encoding="utf-8").split() if n in RUN_FILES]
    except OSError:
        # No manifest: it is written before the first move, so nothing of the old run was moved yet.
        shutil.rmtree(aside, ignore_errors=True)
        return False
    with deferred_signals():
        for name in RUN_FILES:
            if name not in names:  # written by the new run only
                remove_entry(directory / name)
        for name in reversed([n for n in _ASIDE_ORDER if n in names]):  # last.pt comes back last
            if (aside / name).exists() and not (aside / name).is_symlink():
                if (directory / name).is_dir() and not (directory / name).is_symlink():
                    remove_entry(directory / name)  # the new run's model folder: a folder is not replaced by rename
                os.replace(aside / name, directory / name)
        shutil.rmtree(aside, ignore_errors=True)
    return True


# -- the files -----------------------------------------------------------------------------------------------


def versions() -> dict:
    """The software a run was made with, recorded so a result can be traced and reproduced."""
    from forecastlab import __version__

    return {
        "forecastlab": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_config(run_dir: Path, config: dict) -> None:
    atomic_write_json(run_dir / CONFIG, config)


def read_json_file(path: Path, *, what: str, fix: str) -> object:
    """Parsed JSON of `path`, bounded in size; every failure a ForecastlabError naming the file."""
    data = _read_bounded(path, MAX_JSON_BYTES, what, fix)
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as err:
        raise ForecastlabError(f"{path.name} is not UTF-8 text ({err.reason} at byte {err.start})",
                               where=str(path), fix=fix) from None
    except json.JSONDecodeError as err:
        raise ForecastlabError(f"{path.name} is not valid JSON ({err.msg})",
                               where=f"{path}, line {err.lineno}, column {err.colno}", fix=fix) from None
    except (RecursionError, ValueError) as err:
        raise ForecastlabError(f"{path.name} is not valid JSON ({str(err)[:200]})", where=str(path),
                               fix=fix) from None


def _read_bounded(path: Path, limit: int, what: str, fix: str) -> bytes:
    """At most `limit` bytes of a regular file; more is an error (a FIFO or device is refused, not read)."""
    if not path.is_file():
        raise ForecastlabError(f"{path.name} is not a regular file", where=str(path), fix=fix)
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ForecastlabError(f"{path.name} is more than {limit:,} bytes; {what} is never that large",
                               where=str(path), fix=fix)
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def read_raw_config(run_dir: Path) -> object:
    """config.json as parsed JSON, unvalidated (see forecastlab.training.schema.read_config)."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        what = ("the run directory does not exist" if not Path(run_dir).exists() else
                "this is a file, not a run directory" if not Path(run_dir).is_dir() else
                f"{CONFIG} is missing, so this is not a forecastlab run directory")
        raise ForecastlabError(
            what,
            where=str(run_dir),
            fix="pass the run directory a training run wrote (its out_dir=)",
        )
    return read_json_file(path, what="a run's config", fix="restore the file from the run, or retrain")


def read_config(run_dir: Path) -> dict:
    """config.json, validated against its schema (forecastlab.training.schema): every bad key named."""
    from forecastlab.training.schema import validate_config

    return validate_config(read_raw_config(run_dir), Path(run_dir) / CONFIG)


def history_text(history: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return buf.getvalue()


def write_history(run_dir: Path, history: list[dict]) -> None:
    atomic_write_text(run_dir / HISTORY, history_text(history))


def read_history(run_dir: Path) -> list[dict]:
    """history.csv's rows; a damaged file is a ForecastlabError naming the line and column."""
    path = Path(run_dir) / HISTORY
    text = _read_bounded(path, MAX_HISTORY_BYTES, "a run's history", "restore the file from the run, or retrain")
    rows = []
    with io.StringIO(text.decode("utf-8", errors="replace"), newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not set(HISTORY_FIELDS) <= set(reader.fieldnames):
            raise ForecastlabError(f"{HISTORY} does not have the columns {', '.join(HISTORY_FIELDS)}",
                                   where=f"{path}, line 1", fix="restore the file from the run, or retrain")
        for line, row in enumerate(reader, start=2):
            rows.append({k: _history_value(k, row.get(k), path, line) for k in HISTORY_FIELDS})
    return rows


def _history_value(key: str, text: str | None, path: Path, line: int):
    try:
        value = int(text) if key == "epoch" else float(text)
    except (TypeError, ValueError):
        raise ForecastlabError(f"{HISTORY} has {text!r} where {key} must be a number", where=f"{path}, line {line}, "
                               f"column {key!r}", fix="restore the file from the run, or retrain") from None
    return value


def write_metrics(run_dir: Path, metrics: dict) -> None:
    atomic_write_json(run_dir / METRICS, metrics)


def read_metrics(run_dir: Path) -> dict:
    """metrics.json; a damaged one is a ForecastlabError naming the file."""
    path = Path(run_dir) / METRICS
    fix = "restore the file from the run, or retrain (metrics.json is rewritten at the end of every run)"
    data = read_json_file(path, what="a run's metrics", fix=fix)
    if not isinstance(data, dict):
        raise ForecastlabError(f"{METRICS} holds a JSON {type(data).__name__}, not an object", where=str(path),
                               fix=fix)
    bad = [k for k, v in data.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise ForecastlabError(f"{METRICS} has non-finite values for {', '.join(bad)}", where=str(path), fix=fix)
    return data
