"""Atomic file writes and checkpoint save/load.

Every write goes to a temporary file in the destination's own directory and is then moved into place
with os.replace, which is atomic on POSIX and Windows: a crash mid-write leaves the previous file intact,
never a half-written one, which is what makes `--resume` safe after a kill.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from forecastlab.errors import ForecastlabError


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Clean up on any failure, KeyboardInterrupt included, so no temp file is left behind.
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    _atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write `obj` as indented JSON to `path` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def save_checkpoint(path: Path, state: dict) -> None:
    """torch.save `state` to `path` atomically."""
    _atomic_write(path, lambda fh: torch.save(state, fh))


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by save_checkpoint (tensors, numbers, strings and containers only)."""
    path = Path(path)
    if not path.is_file():
        raise ForecastlabError(
            f"checkpoint {path.name} is missing",
            where=str(path),
            fix="check the run directory, or start a new run without --resume",
        )
    try:
        # weights_only: a checkpoint is data, never code, even if someone hands us a foreign file.
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise ForecastlabError(
            f"checkpoint {path.name} cannot be read ({type(err).__name__}: {err})",
            where=str(path),
            fix="the file is damaged or not a forecastlab checkpoint; start a new run",
        ) from None
