"""Atomic file writes: the file appears whole or not at all, with the user's normal permissions.

The content goes to a temporary file in the destination's own directory (so the rename never crosses
a file system), is flushed to disk, and is then moved into place with os.replace, which is atomic on
POSIX and Windows. A crash or a kill mid-write leaves the previous file intact and at worst a stray
`.NAME.*.tmp`, never half a file.
"""

from __future__ import annotations

import contextlib
import json
import math
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


def json_safe(obj: Any) -> Any:
    """`obj` with every non-finite float (NaN, inf) as None: JSON has no NaN, and a bare `NaN` in a file
    makes it unreadable to strict parsers (jq, JavaScript, most other languages)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:  # numpy / torch scalars
        return json_safe(obj.item())
    return obj


def json_text(obj: Any) -> str:
    """Strict, indented JSON for `obj` (non-finite numbers as null, other objects as str)."""
    return json.dumps(json_safe(obj), indent=2, default=str, allow_nan=False)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as indented, strict JSON (see json_text) to `path` atomically."""
    return atomic_write_text(path, json_text(obj) + "\n")
