"""Score a model on a window dataset: MAE and MSE in the target's own units (°C for the book)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn


def model_device(model: nn.Module) -> torch.device:
    """The device `model`'s parameters live on (CPU for a parameter-free model)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _batches_on(dataset: Iterable, device: torch.device):
    non_blocking = device.type == "cuda"
    for x, y in dataset:
        yield x.to(device, non_blocking=non_blocking), y.to(device, non_blocking=non_blocking)


def evaluate(model: nn.Module, dataset: Iterable, device: str | torch.device | None = None) -> dict:
    """MAE, MSE and window count of `model` over every window of `dataset`.

    Exact over all windows, the partial last batch included: the sums of absolute and squared errors
    are divided by the number of windows (a mean of per-batch means would overweight the last batch).
    Runs under torch.inference_mode() with the model in eval mode (dropout off), and puts the model's
    train/eval mode back afterwards. `dataset` yields (inputs (batch, seq, features), targets (batch,))
    and is read in order; the validation and test splits are never shuffled.
    """
    device = torch.device(device) if device is not None else model_device(model)
    was_training = model.training
    model.eval()
    abs_sum = torch.zeros((), dtype=torch.float64, device=device)
    sq_sum = torch.zeros((), dtype=torch.float64, device=device)
    n = 0
    try:
        with torch.inference_mode():
            for x, y in _batches_on(dataset, device):
                err = model(x).reshape(-1).double() - y.reshape(-1).double()
                abs_sum += err.abs().sum()
                sq_sum += err.square().sum()
                n += err.numel()
    finally:
        model.train(was_training)
    if n == 0:
        return {"mae": float("nan"), "mse": float("nan"), "n": 0}
    return {"mae": abs_sum.item() / n, "mse": sq_sum.item() / n, "n": n}


def predict_dataset(
    model: nn.Module, dataset: Iterable, device: str | torch.device | None = None
) -> np.ndarray:
    """Predictions (in target units) for every window of `dataset`, in order, as a float32 array."""
    device = torch.device(device) if device is not None else model_device(model)
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.inference_mode():
            for x, _ in _batches_on(dataset, device):
                out.append(model(x).reshape(-1).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)
