"""Pick the device a run uses: a GPU when one is present, else the CPU, and say clearly when that fails."""

from __future__ import annotations

import torch

from forecastlab.errors import ForecastlabError


def select_device(device: str | torch.device | None = None) -> torch.device:
    """The torch device to train on.

    None or "auto" picks "cuda" when a GPU is present, else "cpu". An explicit "cuda" (or "cuda:N")
    without a usable GPU raises a ForecastlabError instead of silently training on the CPU, because a
    user who asked for the GPU wants to know it is not there.
    """
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise ForecastlabError(
            f"unknown device {str(device)!r}",
            arg="device",
            fix="pass 'auto', 'cpu', 'cuda' or 'cuda:N'",
        ) from None
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise ForecastlabError(
                "a CUDA GPU was requested but torch sees none on this machine",
                where=f"device={str(device)!r}", arg="device",
                fix="omit device= (or pass device='cpu') to train on the CPU, or install a CUDA build of torch",
            )
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise ForecastlabError(
                f"GPU {chosen.index} was requested but only {torch.cuda.device_count()} GPU(s) exist",
                where=f"device={str(device)!r}", arg="device",
                fix="pass device='cuda' to use the first GPU",
            )
    elif chosen.type != "cpu":
        raise ForecastlabError(
            f"device type {chosen.type!r} is not supported",
            where=f"device={str(device)!r}", arg="device",
            fix="pass 'auto', 'cpu' or 'cuda'",
        )
    return chosen
