"""Score a model on a window dataset: MAE and MSE in the target's own units (°C for the book)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from forecastlab.models.contract import Forecaster
from forecastlab.models.head import BOOK_HEAD, Head


def model_device(model: nn.Module) -> torch.device:
    """The device `model`'s parameters live on (CPU for a parameter-free model)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


# Inference keeps no activations for backward, so batches far larger than training's 256 fit, and they
# cut the per-batch overhead of the recurrent loops (measured in docs/training.md).
EVAL_BATCH = 1024


def _batches_on(dataset: Iterable, device: torch.device, batch_size: int | None):
    """The dataset's (inputs, targets) on `device`, chronological, regrouped into larger batches when the
    dataset can gather arbitrary windows (a forecastlab WindowDataset can)."""
    non_blocking = device.type == "cuda"
    gather = getattr(dataset, "gather", None)
    positions = getattr(dataset, "start_positions", None)
    if gather is not None and positions is not None and batch_size != 0:
        size = max(batch_size or EVAL_BATCH, getattr(dataset, "batch_size", None) or 1)
        batches = (gather(positions[i : i + size]) for i in range(0, len(positions), size))
    else:
        batches = iter(dataset)
    for x, y in batches:
        yield x.to(device, non_blocking=non_blocking), y.to(device, non_blocking=non_blocking)


def evaluate(
    model: nn.Module, dataset: Iterable, device: str | torch.device | None = None, batch_size: int | None = None,
    *, check_finite: bool = True, split: str | None = None, head: Head | None = None,
) -> dict:
    """MAE, MSE and window count of `model` over every window of `dataset`, overall and per horizon.

    Exact over all windows, the partial last batch included: the sums of absolute and squared errors
    are divided by the number of windows (a mean of per-batch means would overweight the last batch).
    Runs under torch.inference_mode() with the model in eval mode (dropout off), and puts the model's
    train/eval mode back afterwards. `dataset` yields (inputs (batch, seq, features), targets (batch,)
    or (batch, H)). A WindowDataset is read chronologically in batches of `batch_size` windows (default
    EVAL_BATCH, never fewer than the dataset's own); batch_size=0 keeps the dataset's own batches.

    head: how raw outputs become forecasts (forecastlab.models.head; default the book's: one output, the
    forecast itself). The errors are those of the point forecast, in the target's units; `loss` is the
    head's own loss (for the book's head, the MSE), which picks the best epoch.
    Returns {"mae", "mse", "loss", "n" (windows), "mae_by_horizon", "mse_by_horizon"}.

    check_finite: a window whose prediction or target is NaN or infinite makes the scores meaningless,
    so it is a ForecastlabError naming `split` rather than a silent "MAE nan" (the training loop turns
    this off and reports divergence itself).
    """
    head = head or BOOK_HEAD
    if isinstance(model, Forecaster):  # an estimator or a baseline: scored from its forecasts
        return _score_forecaster(model, dataset, head, check_finite=check_finite, split=split)
    device = torch.device(device) if device is not None else model_device(model)
    was_training = model.training
    model.eval()
    abs_sum = torch.zeros((), dtype=torch.float64, device=device)
    sq_sum = torch.zeros((), dtype=torch.float64, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    abs_h = torch.zeros(head.horizons, dtype=torch.float64, device=device)
    sq_h = torch.zeros(head.horizons, dtype=torch.float64, device=device)
    bad = torch.zeros((), dtype=torch.int64, device=device)
    n = windows = 0
    try:
        with torch.inference_mode():
            for x, y in _batches_on(dataset, device, batch_size):
                raw = model(x)
                point = raw.reshape(-1) if head.is_book else head.point(raw, x).reshape(-1)
                err = point.double() - y.reshape(-1).double()  # the book's sums, in its order
                if check_finite:
                    bad += (~torch.isfinite(err)).sum()
                abs_sum += err.abs().sum()
                sq_sum += err.square().sum()
                by_h = err.reshape(-1, head.horizons)
                abs_h += by_h.abs().sum(dim=0)
                sq_h += by_h.square().sum(dim=0)
                if not head.is_book:
                    loss_sum += head.loss_value(raw, y, x).double() * len(by_h)
                n += err.numel()
                windows += len(by_h)
    finally:
        model.train(was_training)
    if check_finite and int(bad):
        _not_finite(int(bad), n, split)
    if n == 0:
        return {"mae": float("nan"), "mse": float("nan"), "loss": float("nan"), "n": 0,
                "mae_by_horizon": [], "mse_by_horizon": []}
    mse = sq_sum.item() / n
    return {"mae": abs_sum.item() / n, "mse": mse, "loss": mse if head.is_book else loss_sum.item() / windows,
            "n": windows, "mae_by_horizon": (abs_h / windows).tolist(), "mse_by_horizon": (sq_h / windows).tolist()}


def _score_forecaster(model: Forecaster, dataset, head: Head, *, check_finite: bool, split: str | None) -> dict:
    pred, y = forecast_dataset(model, dataset, head)
    err = pred[..., head.loss.median_index] - y
    bad = int((~np.isfinite(err)).sum())
    if check_finite and bad:
        _not_finite(bad, err.size, split)
    if len(err) == 0:
        return {"mae": float("nan"), "mse": float("nan"), "loss": float("nan"), "n": 0,
                "mae_by_horizon": [], "mse_by_horizon": []}
    mse = float((err**2).mean())
    if head.loss.name == "mse":
        loss = mse
    else:  # the loss in the head's scaled space; a residual head's base cancels from both sides
        base = window_base(head, dataset)
        loss = float(head.loss(torch.from_numpy(head_scaled(pred - base[:, :, None], head)),
                               torch.from_numpy(head_scaled(y - base, head))))
    return {"mae": float(np.abs(err).mean()), "mse": mse, "loss": loss, "n": len(err),
            "mae_by_horizon": np.abs(err).mean(axis=0).tolist(), "mse_by_horizon": (err**2).mean(axis=0).tolist()}


def head_scaled(pred: np.ndarray, head: Head) -> np.ndarray:
    """Forecasts in units (less a residual head's base, see window_base) back in the scaled space the
    head's loss is defined in."""
    if head.target.kind == "none":
        return pred
    return (pred - head.target.shift) / head.target.scale


def window_base(head: Head, dataset) -> np.ndarray:
    """(N, 1): what a residual head adds back to every window (its last observed target value, in units),
    zeros for any other head."""
    t = head.target
    if not t.needs_inputs:
        return np.zeros((dataset.num_windows, 1))
    return (dataset.last_inputs(t.column).double().numpy() * t.x_std + t.x_mean).reshape(-1, 1)


def _not_finite(bad: int, n: int, split: str | None):
    from forecastlab.errors import ForecastlabError

    raise ForecastlabError(
        f"{bad:,} of {n:,} forecasts{f' of the {split} split' if split else ''} have a NaN or infinite "
        "prediction or target, so no MAE can be given", where=f"the {split or 'evaluated'} split",
        fix="check the data for NaN, infinite or extreme values (forecastlab data inspect) and the model "
        "for divergence (retrain with a lower lr=)")


def forecast_dataset(model: nn.Module, dataset: Iterable, head: Head | None = None,
                     device: str | torch.device | None = None, batch_size: int | None = None):
    """(forecasts (N, H, Q) in the target's units, targets (N, H)) for every window, chronological; any
    model of the contract (forecastlab.models.contract) or a torch module with its head."""
    head = head or BOOK_HEAD
    if isinstance(model, Forecaster):
        targets = dataset.all_targets().double().numpy().reshape(-1, head.horizons)
        return np.asarray(model.predict(dataset), dtype=np.float64), targets
    device = torch.device(device) if device is not None else model_device(model)
    was_training = model.training
    model.eval()
    preds, targets = [], []
    try:
        with torch.inference_mode():
            for x, y in _batches_on(dataset, device, batch_size):
                preds.append(head.to_units(head.split(model(x)), x).double().cpu())
                targets.append(y.reshape(len(y), head.horizons).double().cpu())
    finally:
        model.train(was_training)
    if not preds:
        return np.zeros((0, head.horizons, head.loss.outputs)), np.zeros((0, head.horizons))
    return torch.cat(preds).numpy(), torch.cat(targets).numpy()


def predict_dataset(
    model: nn.Module, dataset: Iterable, device: str | torch.device | None = None, batch_size: int | None = None
) -> np.ndarray:
    """Predictions (in target units) for every window of `dataset`, as a float32 array: chronological
    for a WindowDataset (see evaluate for the batching), else in the dataset's own order."""
    device = torch.device(device) if device is not None else model_device(model)
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.inference_mode():
            for x, _ in _batches_on(dataset, device, batch_size):
                out.append(model(x).reshape(-1).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)
