"""Use a finished run later: rebuild its model from config.json, load the best weights, predict."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.intervals import Calibration
from forecastlab.evaluation.metrics import EVAL_BATCH
from forecastlab.models.contract import Estimator, Forecaster
from forecastlab.models.head import Head
from forecastlab.training import run_dir as rd
from forecastlab.training.checkpoint import load_checkpoint, load_weights, require_entries
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
    head: Head = field(default_factory=Head)  # horizons, the loss's outputs, the target scale
    calibration: Calibration | None = None  # the intervals' conformal calibration, from the validation split

    @property
    def sequence_length(self) -> int:
        return int(self.config["window"]["sequence_length"])

    @property
    def sampling_rate(self) -> int:
        return int(self.config["window"]["sampling_rate"])

    @property
    def recipe(self):
        """The run's recipe (forecastlab.training.recipe.Recipe), rebuilt for runs made before recipes;
        None when config.json cannot say where the data came from."""
        from forecastlab.training.recipe import recipe_of

        return recipe_of(self.config)

    @property
    def span_rows(self) -> int:
        """Rows from a window's first input row to its last, inclusive (the spec's)."""
        return self.spec.span_rows


def load_run(run_dir: str | Path, device: str | None = "cpu") -> LoadedRun:
    """Rebuild the model of `run_dir` with its best weights (best.pt), in eval mode, on `device`.

    Nothing in the run directory chooses code: config.json is validated against its schema, the model
    class comes from the registry by the name the run recorded, and best.pt is checked against its
    sha256 and loaded as plain tensors (weights_only).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ForecastlabError("the run directory does not exist" if not run_dir.exists() else
                               "the run directory path is a file", where=str(run_dir),
                               fix="pass the run directory a training run wrote (its out_dir=)")
    rd.recover_if_abandoned(run_dir)
    config = rd.read_config(run_dir)
    model = rebuild_model(config, run_dir)
    if isinstance(model, Estimator):
        model = _load_estimator(model, config, run_dir)
    else:
        path = run_dir / rd.BEST
        ckpt = load_checkpoint(path, require_checksum=config["format"] >= 2)
        require_entries(ckpt, path, {"model": dict})
        load_weights(model, ckpt["model"], path)
        model.to(select_device(device)).eval()
    metrics = rd.read_metrics(run_dir) if (run_dir / rd.METRICS).is_file() else {}
    return LoadedRun(model, config, _normalizer(config), _spec(config), run_dir, metrics,
                     Head.from_dict(config.get("head")), _calibration(metrics, run_dir))


def _load_estimator(built: Estimator, config: dict, run_dir: Path) -> Estimator:
    """The estimator saved in the run's model/ folder; it must be the model config.json describes."""
    folder = run_dir / rd.MODEL_DIR
    if not folder.is_dir() or folder.is_symlink():
        raise ForecastlabError(f"the run has no {rd.MODEL_DIR}/ folder with its fitted {built.name!r} model",
                               where=str(folder), fix="restore the folder from the run, or retrain")
    estimator = type(built).load(folder)
    if estimator.get_config() != built.get_config():
        raise ForecastlabError(f"{folder / Estimator.META} describes another model than config.json",
                               where=f"{folder / Estimator.META}, key config",
                               fix="restore the run directory from one training run, or retrain")
    if estimator.head.to_dict() != Head.from_dict(config.get("head")).to_dict():
        raise ForecastlabError(f"{folder / Estimator.META} has another head than config.json",
                               where=f"{folder / Estimator.META}, key head",
                               fix="restore the run directory from one training run, or retrain")
    return estimator


def _calibration(metrics: dict, run_dir: Path) -> Calibration | None:
    saved = metrics.get("intervals")
    if not saved:
        return None  # a run made before intervals existed, or one still training
    try:
        return Calibration.from_dict(saved)
    except (KeyError, TypeError, ValueError) as err:
        raise ForecastlabError(f"metrics.json's intervals entry is damaged ({err})", where=str(run_dir / rd.METRICS),
                               fix="restore the file from the run, or retrain") from None


def rebuild_model(config: dict, run_dir: Path) -> nn.Module:
    """The registered model named in config.json, built by its from_config(saved config).

    Only the registry's classes can be built: a run directory never names code to import. The recorded
    class path must be the registered class's own (anything else means the file was edited or comes
    from elsewhere), and is never imported.
    """
    from forecastlab.models import MODELS

    info = config["model"]
    where = f"{run_dir / rd.CONFIG}, key model.name"
    cls = MODELS.get(info["name"])
    if cls is None and info["name"] == "ensemble":  # runs combined (training.ensemble): members load with load_run
        from forecastlab.training.ensemble_model import Ensemble

        cls = Ensemble.with_loader(load_run)
    if cls is None:
        raise ForecastlabError(
            f"the run's model {info['name']!r} is not a registered forecastlab model",
            where=where,
            fix=f"registered models: {', '.join(MODELS)}; a run of a model of your own loads once its class is "
            "registered with forecastlab.models.register_model (imported by you, never by the run directory)",
        )
    recorded = info.get("class")
    if recorded is not None and recorded != class_path(cls):
        raise ForecastlabError(
            f"config.json names the class {recorded!r} for model {info['name']!r}, but that name is registered "
            f"to {class_path(cls)!r}; classes are never imported from a run directory",
            where=f"{run_dir / rd.CONFIG}, key model.class",
            fix=f"restore config.json from the run, or set model.class to {class_path(cls)!r}",
        )
    if info["config"].get("name", info["name"]) != info["name"]:
        raise ForecastlabError(
            f"model.config.name {info['config'].get('name')!r} differs from model.name {info['name']!r}",
            where=f"{run_dir / rd.CONFIG}, key model.config.name", fix="restore config.json from the run",
        )
    try:
        return cls.from_config(info["config"])
    except ForecastlabError as err:
        raise ForecastlabError(f"the run's model cannot be rebuilt from config.json: {err.what}",
                               where=f"{run_dir / rd.CONFIG}, key model.config", fix=err.fix) from None
    except (TypeError, ValueError) as err:
        raise ForecastlabError(f"the run's model cannot be rebuilt from config.json: {err}",
                               where=f"{run_dir / rd.CONFIG}, key model.config",
                               fix="restore config.json from the run, or retrain") from None


def class_path(cls: type) -> str:
    """'module:QualName', as config.json records a model's class (for information and this check only)."""
    return f"{cls.__module__}:{cls.__qualname__}"


def predict(run: LoadedRun, values, *, last: int | None = None, batch_size: int = EVAL_BATCH, times=None,
            end_times=None) -> np.ndarray:
    """Forecasts in the target's units, (windows, H, Q): one row per window, one column per horizon,
    Q values per horizon (1 for a point model; the quantiles, ascending, for a quantile model).
    `predict(run, values, last=1)[0, 0, 0]` is the book's single next forecast.

    values: raw (un-normalized) inputs in the run's feature columns, either a (rows, features) array,
        cut into every window of the run's sequence_length and sampling_rate (one per start row, so the
        forecast at horizon h for the window ending at row r is for row r + sampling_rate * h), or ready
        windows (n, sequence_length, features).
    last: only the last `last` windows of a 2-D array (e.g. last=1 for "the next forecast").
    times: the time of each row of a 2-D array, or end_times: the time of each window's last row for
        ready windows; needed by models with calendar terms (lightgbm), ignored by the others.
    """
    values = np.asarray(values, dtype=np.float32)
    if isinstance(run.model, Forecaster):
        windows = _windows(run, values, last)
        return run.model.predict(windows, end_times=_end_times(run, values, times, end_times, len(windows)))
    # Ready windows are normalized batch by batch (the same float64 arithmetic, so the same numbers): one
    # batch's temporaries stay in cache, where the whole array's would not (benchmarks/serve.py measures it).
    ready = values.ndim == 3
    windows = _windows(run, values, last, normalize=not ready)
    normalize = _batch_normalizer(run.normalizer) if ready else None
    out = []
    device = next(iter(run.model.parameters()), torch.zeros(0)).device
    with torch.inference_mode():
        for i in range(0, len(windows), batch_size):
            chunk = windows[i : i + batch_size]
            x = normalize(chunk) if normalize else torch.from_numpy(np.ascontiguousarray(chunk, dtype=np.float32))
            x = x.to(device)
            out.append(run.head.to_units(run.head.split(run.model(x)), x).float().cpu())
    if not out:
        return np.zeros((0, run.head.horizons, run.head.loss.outputs), dtype=np.float32)
    return torch.cat(out).numpy()


def _batch_normalizer(normalizer):
    """A function from a float32 (n, T, F) batch to its normalized float32 tensor, bit for bit what
    `normalizer.transform` returns: (float64(x) - mean_) / std_, rounded once to float32. Subtraction,
    division and the two casts are correctly rounded IEEE operations in torch as in NumPy, so only the
    speed differs: torch's ops share the batch among its intra-op threads, where NumPy's ufuncs run on one
    core (1.2x faster with one thread and 2.4x with two, here; benchmarks/serve.py). None without a
    normalizer; NumPy's own transform for a normalizer with feature transforms."""
    if normalizer is None:
        return None
    if normalizer.transforms:
        return lambda chunk: torch.from_numpy(normalizer.transform(chunk))
    mean = torch.from_numpy(np.asarray(normalizer.mean_, dtype=np.float64))
    std = torch.from_numpy(np.asarray(normalizer.std_, dtype=np.float64))

    def normalize(chunk: np.ndarray) -> torch.Tensor:
        if any(stride < 0 for stride in chunk.strides):  # torch takes no negative strides (a reversed view)
            chunk = chunk.copy()  # (ascontiguousarray keeps the stride of a reversed length-1 axis)
        x = torch.tensor(chunk, dtype=torch.float64)  # a copy: the caller's array is never written
        return x.sub_(mean).div_(std).to(torch.float32)

    return normalize


def point_forecast(run: LoadedRun, forecasts: np.ndarray) -> np.ndarray:
    """(windows, H) point forecasts from predict()'s (windows, H, Q): the only value, or the median."""
    return forecasts[..., run.head.loss.median_index]


def intervals(run: LoadedRun, forecasts: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(lower, upper), each (windows, H), at the run's calibrated level; None for a run without a calibration."""
    if run.calibration is None:
        return None
    outer = forecasts[..., [0, -1]] if run.calibration.method == "cqr" else point_forecast(run, forecasts)
    return run.calibration.interval(outer.astype(np.float64))


def _end_times(run: LoadedRun, values: np.ndarray, times, end_times, count: int):
    if end_times is not None or times is None or values.ndim != 2:
        return end_times
    times = np.asarray(times)
    if len(times) != len(values):
        raise ForecastlabError(f"times has {len(times)} entries for {len(values)} rows", arg="times",
                               fix="pass one time per row of values")
    return times[len(values) - count :]  # the last `count` windows end on the last `count` rows


def _windows(run: LoadedRun, values: np.ndarray, last: int | None, normalize: bool = True) -> np.ndarray:
    n_features = len(run.normalizer.mean_) if run.normalizer is not None else values.shape[-1]
    if values.ndim not in (2, 3) or values.shape[-1] != n_features:
        raise ForecastlabError(
            f"inputs of shape {values.shape} do not fit this model ({n_features} feature columns)",
            where="predict(values)",
            fix=f"pass (rows, {n_features}) raw values in the run's feature order, or "
            f"(windows, {run.sequence_length}, {n_features})",
        )
    if run.normalizer is not None and normalize:
        values = run.normalizer.transform(values)
    if values.ndim == 3:
        return values if not normalize else np.ascontiguousarray(values, dtype=np.float32)
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


def _normalizer(config: dict):
    if not config.get("normalizer"):
        return None
    from forecastlab.windows import Normalizer

    return Normalizer.from_dict(config["normalizer"])


def _spec(config: dict):
    from forecastlab.windows import WindowSpec

    window = config["window"]  # validated: positive integers, the horizons, and the delay they imply
    return WindowSpec.from_dict(window)
