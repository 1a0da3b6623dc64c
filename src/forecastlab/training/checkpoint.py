"""Checkpoint save/load: written atomically (forecastlab.atomic), which is what makes `--resume` safe
after a kill, and checked against a recorded sha256 on load, so a damaged file is refused by name.

Each checkpoint NAME.pt has a sidecar NAME.pt.sha256 in `sha256sum` format (`sha256sum -c best.pt.sha256`
checks it by hand). Saving is crash-safe in every order of events: the new hash is added to the sidecar
before the checkpoint is replaced and the old one removed after, so a kill at any point leaves a
checkpoint whose hash the sidecar accepts. torch.load runs with weights_only=True: a checkpoint is
data (tensors, numbers, strings, containers), never code, whoever made the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import warnings
from pathlib import Path

import torch

# Re-exported: the run directory and the plots write through these.
from forecastlab.atomic import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_many,
    atomic_write_text,
)
from forecastlab.errors import ForecastlabError, ForecastlabWarning

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_json", "atomic_write_text", "checksum_path",
           "load_checkpoint", "save_checkpoint", "save_checkpoints"]

MAX_CHECKPOINT_BYTES = 4 << 30  # 4 GiB: far above any model here; bounds what a foreign file can make us read


def checksum_path(path: Path) -> Path:
    """The sidecar that records `path`'s sha256."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def save_checkpoint(path: Path, state: dict) -> str:
    """torch.save `state` to `path` atomically and record its sha256 in the sidecar; returns the hash."""
    return save_checkpoints({Path(path): state})[Path(path)]


def save_checkpoints(states: dict[Path, dict], also: dict[Path, bytes] | None = None) -> dict[Path, str]:
    """Save several checkpoints (and `also`, other files of the same step, e.g. history.csv) as one step:
    if any of them cannot be written (a full disk), none is replaced, so a run's best.pt, last.pt and
    history always describe the same epoch. Returns each checkpoint's sha256."""
    blobs, digests = {}, {}
    for path, state in states.items():
        buffer = io.BytesIO()
        torch.save(state, buffer)  # in memory first: a full disk then fails in our write, as a plain OSError
        blobs[Path(path)] = buffer.getvalue()
        digests[Path(path)] = hashlib.sha256(blobs[Path(path)]).hexdigest()
    # Sidecars first, accepting the old and the new hash, so a kill between the moves below leaves every
    # checkpoint loadable; then the checkpoints and the rest; then the sidecars with only the new hash.
    pending = {checksum_path(p): _sidecar_text(p, [d, *_recorded(p)]) for p, d in digests.items()}
    atomic_write_many(pending | blobs | dict(also or {}))
    with contextlib.suppress(OSError):  # failing here leaves both hashes accepted: still correct
        atomic_write_many({checksum_path(p): _sidecar_text(p, [d]) for p, d in digests.items()})
    return digests


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu", *, require_checksum: bool = True) -> dict:
    """Load a checkpoint written by save_checkpoint, after checking its sha256 against the sidecar.

    require_checksum=False (runs made before checksums existed) loads a checkpoint without a sidecar,
    with a warning; a sidecar that is present is always checked.
    """
    path = Path(path)
    if not path.is_file():
        raise ForecastlabError(
            f"checkpoint {path.name} is missing",
            where=str(path),
            fix="pass the directory of a finished run (it holds best.pt and last.pt), or retrain",
        )
    size = path.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise ForecastlabError(f"checkpoint {path.name} is {size:,} bytes, more than the {MAX_CHECKPOINT_BYTES:,} "
                               "a forecastlab checkpoint can be", where=str(path),
                               fix="this is not a checkpoint of this run: restore it from a copy, or retrain")
    with open(path, "rb") as fh:
        data = fh.read(MAX_CHECKPOINT_BYTES + 1)  # bounded, whatever stat said (a device reports 0 bytes)
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise ForecastlabError(f"checkpoint {path.name} is larger than {MAX_CHECKPOINT_BYTES:,} bytes",
                               where=str(path), fix="this is not a checkpoint of this run; restore it, or retrain")
    _verify(path, data, require_checksum)
    try:
        # weights_only: a checkpoint is data, never code, even if someone hands us a foreign file.
        state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as err:
        raise ForecastlabError(
            f"checkpoint {path.name} cannot be read ({type(err).__name__}: {str(err)[:300]})",
            where=str(path),
            fix="the file is damaged or not a forecastlab checkpoint; start a new run",
        ) from None
    if not isinstance(state, dict):
        raise ForecastlabError(f"checkpoint {path.name} holds a {type(state).__name__}, not a checkpoint dict",
                               where=str(path), fix="restore the file from a copy, or retrain")
    return state


def _verify(path: Path, data: bytes, require: bool) -> None:
    recorded = _recorded(path)
    if not recorded:
        sidecar = checksum_path(path)
        if require:
            raise ForecastlabError(
                f"checkpoint {path.name} has no recorded sha256 ({sidecar.name} is missing or empty), so it "
                "cannot be checked for damage", where=str(sidecar),
                fix=f"restore {sidecar.name} from the run, or retrain; if you trust the file, write its hash with "
                f"`sha256sum {path.name} > {sidecar.name}` in the run directory")
        warnings.warn(f"checkpoint {path} has no recorded sha256 (made before checksums existed); "
                      "loaded without a damage check", ForecastlabWarning, stacklevel=3)
        return
    actual = hashlib.sha256(data).hexdigest()
    if actual not in recorded:
        raise ForecastlabError(
            f"checkpoint {path.name} is damaged or was changed: its sha256 is {actual}, but the run recorded "
            f"{recorded[0]}", where=str(path),
            fix="restore the file from a backup, or retrain the run")


def _recorded(path: Path) -> list[str]:
    """The hashes the sidecar accepts for `path` (none when it is missing or unreadable)."""
    sidecar = checksum_path(path)
    try:
        if not sidecar.is_file():  # a FIFO or a device would block or never end
            return []
        with open(sidecar, "rb") as fh:
            text = fh.read(4096).decode("ascii", errors="replace")
    except OSError:
        return []
    hashes = [line.split()[0].lower() for line in text.splitlines() if line.split()]
    return [h for h in hashes if len(h) == 64 and all(c in "0123456789abcdef" for c in h)]


def _sidecar_text(path: Path, digests: list[str]) -> bytes:
    return "".join(f"{d}  {path.name}\n" for d in digests).encode("ascii")


class checkpoint_part:  # noqa: N801  (used as a context manager, like contextlib's)
    """`with checkpoint_part(path, "optimizer"): opt.load_state_dict(...)`: any failure inside becomes a
    ForecastlabError naming the file and the entry (a hand-made or damaged checkpoint, not a traceback)."""

    def __init__(self, path: Path, key: str):
        self.path, self.key = Path(path), key

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None or not issubclass(exc_type, KeyError | TypeError | ValueError | RuntimeError |
                                              IndexError | AttributeError | OverflowError):
            return False
        raise ForecastlabError(
            f"checkpoint {self.path.name} does not fit this run: its {self.key!r} entry is wrong "
            f"({exc_type.__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else 'no detail'})",
            where=f"{self.path}, entry {self.key!r}",
            fix="the file is damaged, or comes from another run or model; restore it from the run, or retrain",
        ) from None


def require_entries(state: dict, path: Path, kinds: dict[str, type | tuple[type, ...]]) -> None:
    """Each key of `kinds` is in `state` with a value of that type, else a ForecastlabError naming it."""
    for key, kind in kinds.items():
        if key not in state:
            raise ForecastlabError(f"checkpoint {Path(path).name} has no {key!r} entry", where=f"{path}, entry {key!r}",
                                   fix="the file is damaged or not a forecastlab checkpoint; restore it, or retrain")
        value = state[key]
        if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
            raise ForecastlabError(
                f"checkpoint {Path(path).name}'s {key!r} entry is a {type(value).__name__}, not a "
                f"{getattr(kind, '__name__', kind)}", where=f"{path}, entry {key!r}",
                fix="the file is damaged or not a forecastlab checkpoint; restore it, or retrain")


def load_weights(module: torch.nn.Module, weights, path: Path, key: str = "model") -> None:
    """module.load_state_dict(weights), strictly: every missing or unexpected key and every wrong shape
    is a ForecastlabError naming the checkpoint, not a torch RuntimeError."""
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise ForecastlabError(f"checkpoint {Path(path).name}'s {key!r} entry is not a set of weight tensors",
                               where=f"{path}, entry {key!r}",
                               fix="the file is damaged or not a forecastlab checkpoint; restore it, or retrain")
    own = module.state_dict()
    missing, unexpected = sorted(set(own) - set(weights)), sorted(set(weights) - set(own))
    shapes = [f"{k} {tuple(weights[k].shape)} (the model's: {tuple(own[k].shape)})"
              for k in own if k in weights and weights[k].shape != own[k].shape]
    problems = ([f"missing {', '.join(missing[:5])}"] if missing else []) + \
        ([f"unexpected {', '.join(unexpected[:5])}"] if unexpected else []) + \
        ([f"wrong shape {', '.join(shapes[:3])}"] if shapes else [])
    if problems:
        raise ForecastlabError(
            f"checkpoint {Path(path).name}'s weights do not fit the model in config.json: " + "; ".join(problems),
            where=f"{path}, entry {key!r}",
            fix="the checkpoint comes from another model or run, or config.json was edited; restore both from "
            "the run, or retrain")
    with checkpoint_part(path, key):
        module.load_state_dict(weights)
