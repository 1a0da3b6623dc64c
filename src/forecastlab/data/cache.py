"""Where downloaded and generated data lives: a per-user cache, overridable per call or by env.

Downloads and imports work in hidden temp folders inside the cache, named `.jena-download-PID-*` and
`.jena-import-PID-*` after the process that made them. Such a folder outlives its process only when
that process was killed outright (SIGKILL, a power cut); `remove_stale_temp` deletes it at the next
fetch: at once when no process has that PID any more; after an hour when its name has no PID (an older
version's); after STALE_AGE_S in any case, since a PID may have been reused.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import platformdirs

ENV_VAR = "FORECASTLAB_DATA_DIR"
TEMP_KINDS = ("download", "import")
STALE_AGE_S = 24 * 3600  # longer than any bounded download (20 x a generous --timeout)
_TEMP_NAME = re.compile(r"^\.jena-(?:download|import)-(?:(?P<pid>\d+)-)?")


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The cache directory: `override` (--data-dir), else $FORECASTLAB_DATA_DIR, else the per-user cache.

    It is created on first use, so callers can write into it straight away.
    """
    if override is not None:
        path = Path(override)
    elif os.environ.get(ENV_VAR):
        path = Path(os.environ[ENV_VAR])
    else:
        path = Path(platformdirs.user_cache_dir("forecastlab", appauthor=False))
    path = path.expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def temp_prefix(kind: str) -> str:
    """The name prefix of this process's temp folders of `kind` ('download' or 'import')."""
    assert kind in TEMP_KINDS
    return f".jena-{kind}-{os.getpid()}-"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only the PID is checked
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process (or a PID we cannot ask about): assume it runs
    return True


def remove_stale_temp(directory: Path) -> list[Path]:
    """Delete the temp folders in `directory` left by killed processes (see the module docstring);
    return what was deleted. Folders of running processes, this one included, are left alone."""
    removed = []
    try:
        entries = list(directory.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or not entry.is_dir():
            continue
        pid = int(match["pid"]) if match["pid"] else None
        try:
            age = time.time() - entry.stat().st_mtime
        except OSError:
            continue
        if pid == os.getpid():
            continue
        if (pid is not None and not _running(pid)) or age > (STALE_AGE_S if pid is not None else 3600):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
