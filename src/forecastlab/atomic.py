"""Atomic file writes: the file appears whole or not at all, with the user's normal permissions.

The content goes to a temporary file in the destination's own directory (so the rename never crosses
a file system), is flushed to disk, and is then moved into place with os.replace, which is atomic on
POSIX and Windows. A crash or a kill mid-write leaves the previous file intact and at worst a stray
`.NAME.*.tmp`, never half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> Path:
    """Call `write(fh)` on a temporary file next to `path`, then move it onto `path`. Returns `path`."""
    path = Path(path)
    # Opened with "x" (exclusive create), not tempfile.mkstemp: mkstemp makes the file 0600, so every
    # result would be unreadable to the user's group; "x" applies the normal 0666 & ~umask.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Any failure, KeyboardInterrupt included, removes the temporary file.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 `text` to `path` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as indented JSON to `path` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, default=str) + "\n")
