"""Checkpoint save/load, written atomically (forecastlab.atomic), which is what makes `--resume` safe
after a kill: a crash mid-write leaves the previous checkpoint intact, never a half-written one."""

from __future__ import annotations

from pathlib import Path

import torch

# Re-exported: the run directory and the plots write through these.
from forecastlab.atomic import atomic_write, atomic_write_bytes, atomic_write_json, atomic_write_text
from forecastlab.errors import ForecastlabError

__all__ = ["atomic_write_bytes", "atomic_write_json", "atomic_write_text", "load_checkpoint", "save_checkpoint"]


def save_checkpoint(path: Path, state: dict) -> None:
    """torch.save `state` to `path` atomically."""
    atomic_write(path, lambda fh: torch.save(state, fh))


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
