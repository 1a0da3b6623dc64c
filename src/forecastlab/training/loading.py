"""Use a finished run later: rebuild its model from config.json, load the best weights, predict."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from forecastlab.errors import ForecastlabError
from forecastlab.training import run_dir as rd
from forecastlab.training.checkpoint import load_checkpoint
from forecastlab.training.device import select_device


@dataclass
class LoadedRun:
    """A trained model ready to predict: best weights, eval mode, with what it needs to cut windows."""

    model: nn.Module
    config: dict
    normalizer: object | None  # forecastlab.windows.Normalizer, or None when inputs were not normalized
    spec: object | None  # forecastlab.windows.WindowSpec
    run_dir: Path
    metrics: dict = field(default_factory=dict)

    @property
    def sequence_length(self) -> int:
        return int(self.config["window"]["sequence_length"])

    @property
    def sampling_rate(self) -> int:
        return int(self.config["window"]["sampling_rate"])

    @property
    def span_rows(self) -> int:
        """Rows from a window's first input row to its last, inclusive."""
        return (self.sequence_length - 1) * self.sampling_rate + 1


def load_run(run_dir: str | Path, device: str | None = "cpu") -> LoadedRun:
    """Rebuild the model of `run_dir` with its best weights (best.pt), in eval mode, on `device`."""
    run_dir = Path(run_dir)
    config = rd.read_config(run_dir)
    model = rebuild_model(config, run_dir)
    ckpt = load_checkpoint(run_dir / rd.BEST)
    model.load_state_dict(ckpt["model"])
    model.to(select_device(device)).eval()
    metrics = rd.read_metrics(run_dir) if (run_dir / rd.METRICS).is_file() else {}
    return LoadedRun(model, config, _normalizer(config), _spec(config), run_dir, metrics)


def rebuild_model(config: dict, run_dir: Path) -> nn.Module:
    """The model class's from_config(saved config): by class path, else by registered name."""
    info = config.get("model", {})
    if info.get("config") is None:
        raise ForecastlabError(
            "the run's model has no saved config (its class lacks get_config), so it cannot be rebuilt",
            where=str(run_dir / rd.CONFIG),
            fix="give the model class get_config()/from_config(), or load best.pt into a model you build",
        )
    cls = _import_class(info.get("class"))
    if cls is None and info.get("name"):
        from forecastlab.models import MODELS

        cls = MODELS.get(info["name"])
    if cls is None:
        raise ForecastlabError(
            f"model class {info.get('class')!r} cannot be imported",
            where=str(run_dir / rd.CONFIG),
            fix="install the forecastlab version that trained this run (see versions in config.json)",
        )
    return cls.from_config(info["config"])


def predict(run: LoadedRun, values, *, last: int | None = None, batch_size: int = 4096) -> np.ndarray:
    """Predictions in the target's units, one per window.

    values: raw (un-normalized) inputs in the run's feature columns, either a (rows, features) array,
        cut into every window of the run's sequence_length and sampling_rate (one per start row, so the
        prediction for the window ending at row r is for row r + sampling_rate * horizon), or ready
        windows (n, sequence_length, features).
    last: only the last `last` windows of a 2-D array (e.g. last=1 for "the next forecast").
    """
    windows = _windows(run, np.asarray(values, dtype=np.float32), last)
    out = []
    device = next(iter(run.model.parameters()), torch.zeros(0)).device
    with torch.inference_mode():
        for i in range(0, len(windows), batch_size):
            x = torch.from_numpy(windows[i : i + batch_size]).to(device)
            out.append(run.model(x).reshape(-1).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)


def _windows(run: LoadedRun, values: np.ndarray, last: int | None) -> np.ndarray:
    n_features = len(run.normalizer.mean_) if run.normalizer is not None else values.shape[-1]
    if values.ndim not in (2, 3) or values.shape[-1] != n_features:
        raise ForecastlabError(
            f"inputs of shape {values.shape} do not fit this model ({n_features} feature columns)",
            where="predict(values)",
            fix=f"pass (rows, {n_features}) raw values in the run's feature order, or "
            f"(windows, {run.sequence_length}, {n_features})",
        )
    if run.normalizer is not None:
        values = run.normalizer.transform(values)
    if values.ndim == 3:
        return np.ascontiguousarray(values, dtype=np.float32)
    count = len(values) - run.span_rows + 1
    if count < 1:
        raise ForecastlabError(
            f"{len(values)} rows are too few for one window of {run.span_rows} rows",
            where="predict(values)",
            fix=f"pass at least {run.span_rows} rows",
        )
    starts = np.arange(0 if last is None else max(0, count - last), count)
    rows = starts[:, None] + np.arange(run.sequence_length) * run.sampling_rate
    return np.ascontiguousarray(values[rows], dtype=np.float32)


def _import_class(path: str | None):
    if not path or ":" not in path:
        return None
    module, _, qualname = path.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj


def _normalizer(config: dict):
    if not config.get("normalizer"):
        return None
    from forecastlab.windows import Normalizer

    return Normalizer.from_dict(config["normalizer"])


def _spec(config: dict):
    window = config.get("window") or {}
    try:
        from forecastlab.windows import WindowSpec

        return WindowSpec(window["sequence_length"], window["sampling_rate"], window["horizon"])
    except (ImportError, KeyError, TypeError):
        return None
