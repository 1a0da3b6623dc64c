"""The run directory: what a training run leaves behind, and the rules for (not) overwriting it.

    RUN_DIR/
      config.json    everything needed to rebuild the model, the windows and the data
      history.csv    one row per epoch: loss, mae, val_loss, val_mae, lr, seconds, train_seconds
      best.pt        weights of the epoch with the lowest val loss (ModelCheckpoint(save_best_only=True))
      last.pt        weights + optimizer + RNG state + history after the last completed epoch (for resume)
      curves.png     training and validation MAE per epoch (the book's code 10-11)
      metrics.json   val/test MAE, best epoch, parameter count, seconds per epoch, total time
"""

from __future__ import annotations

import csv
import io
import json
import platform
from pathlib import Path

import torch

from forecastlab.atomic import atomic_write_json, atomic_write_text
from forecastlab.errors import ForecastlabError

CONFIG = "config.json"
HISTORY = "history.csv"
BEST = "best.pt"
LAST = "last.pt"
CURVES = "curves.png"
METRICS = "metrics.json"
RUN_FILES = (CONFIG, HISTORY, BEST, LAST, CURVES, METRICS)
HISTORY_FIELDS = ("epoch", "loss", "mae", "val_loss", "val_mae", "lr", "seconds", "train_seconds")


def check_run_dir(out_dir: Path, *, resume: bool, overwrite: bool) -> None:
    """Raise the ForecastlabError prepare_run_dir would, without touching the disk (fail fast)."""
    out_dir = Path(out_dir)
    if resume:
        if not (out_dir / LAST).is_file():
            raise ForecastlabError(
                f"cannot resume: {out_dir} holds no {LAST} checkpoint",
                where=str(out_dir),
                fix="point --resume at the run directory of an earlier `forecastlab train`, "
                "or start a new run with --out",
            )
        return
    if out_dir.exists() and not out_dir.is_dir():
        raise ForecastlabError(
            "the run directory path is a file", where=str(out_dir), fix="choose another --out directory"
        )
    if not overwrite and out_dir.is_dir() and any(out_dir.iterdir()):
        raise ForecastlabError(
            "the run directory is not empty; refusing to overwrite an earlier run's results",
            where=str(out_dir),
            fix="choose another --out, continue it with --resume, or pass --overwrite to replace it",
        )


def prepare_run_dir(out_dir: Path, *, resume: bool, overwrite: bool) -> Path:
    """Create or check `out_dir` for a new run (or a resumed one), refusing to clobber results.

    A new run needs a missing or empty directory. `overwrite=True` deletes the files a previous run
    wrote (only those: anything else in the directory is left alone). `resume=True` needs last.pt.
    """
    out_dir = Path(out_dir)
    check_run_dir(out_dir, resume=resume, overwrite=overwrite)
    if out_dir.is_dir():
        # A run killed in the middle of a write leaves its temporary file (the target stays intact).
        for stale in out_dir.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
    if resume:
        return out_dir
    if overwrite:
        for name in RUN_FILES:
            (out_dir / name).unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


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


def read_config(run_dir: Path) -> dict:
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise ForecastlabError(
            f"{CONFIG} is missing, so this is not a forecastlab run directory",
            where=str(run_dir),
            fix="pass the directory that `forecastlab train --out` wrote",
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ForecastlabError(
            f"{CONFIG} is not valid JSON ({err.msg})",
            where=f"{path}, line {err.lineno}, column {err.colno}",
            fix="restore the file from the run, or retrain",
        ) from None


def write_history(run_dir: Path, history: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(run_dir / HISTORY, buf.getvalue())


def read_history(run_dir: Path) -> list[dict]:
    with open(Path(run_dir) / HISTORY, newline="", encoding="utf-8") as fh:
        return [
            {k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()} for row in csv.DictReader(fh)
        ]


def write_metrics(run_dir: Path, metrics: dict) -> None:
    atomic_write_json(run_dir / METRICS, metrics)


def read_metrics(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / METRICS).read_text(encoding="utf-8"))
