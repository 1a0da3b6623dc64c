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
import signal
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
    except BaseException as err:
        # Any failure, KeyboardInterrupt included, removes the temporary file.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            named = _naming(err, path, tmp)
            if named is not err:
                raise named from err
        raise
    return path


def _naming(err: OSError, path: Path, tmp: Path) -> OSError:
    """`err` as the same kind of OSError naming `path`, when it names the temporary file or nothing (a
    full disk fails in write() or fsync(), which name no file): the user asked for `path`, and the
    random temporary name means nothing to them. An error naming another file is returned as it is."""
    if err.errno is None or err.filename not in (None, str(tmp), tmp):
        return err
    return OSError(err.errno, err.strerror or os.strerror(err.errno), str(path))  # picks the subclass by errno


@contextlib.contextmanager
def deferred_signals():
    """Hold SIGINT and SIGTERM back while a few steps that belong together run; they are delivered, and
    their handlers run, right after. A no-op where signals do not exist.

    Two layers, because a signal mask is per thread: the kernel hands a process-directed signal to any
    thread that does not block it (torch keeps worker threads), and Python then runs the handler in the
    main thread anyway. So in the main thread the handlers themselves are swapped for one that only
    records the signal, and the recorded signals are raised again once the old handlers are back (a CI
    run caught SIGTERM undoing a run whose checkpoint was on disk with the mask alone). Elsewhere, the
    mask holds them back in this thread.
    """
    held = (signal.SIGINT, signal.SIGTERM)
    caught: list[int] = []
    previous = {}
    try:
        current = {sig: signal.getsignal(sig) for sig in held}
        if all(handler is not None for handler in current.values()):  # None: set from C, not restorable
            for sig in held:
                previous[sig] = signal.signal(sig, lambda signum, _frame: caught.append(signum))
    except (ValueError, OSError, AttributeError):  # not the main thread: the handlers stay
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        previous = {}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, set(held))
    except (AttributeError, OSError, ValueError):
        old = None
    try:
        yield
    finally:
        if old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(caught):  # each held signal once, in the order it came
            signal.raise_signal(sig)


def atomic_write_many(files: dict[Path, bytes]) -> None:
    """Write several files so that a failure to write any of them (a full disk) replaces none: every
    temporary file is written and flushed first, and only then are they moved into place, in order.
    A rename needs no space, so once the first move happens the rest do too (short of a crash)."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            path = Path(path)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            staged.append((tmp, path))
            try:
                with open(tmp, "xb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as err:
                raise _naming(err, path, tmp) from err
        with deferred_signals():  # the moves go together: a Ctrl-C lands after the last one
            for tmp, path in staged:
                os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        raise


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
