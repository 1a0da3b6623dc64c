"""Process-wide torch settings that make CPU training fast and repeatable."""

from __future__ import annotations

import torch

_configured = False


def configure_cpu(threads: int | None = None) -> None:
    """Apply the CPU settings every training or benchmark process wants.

    Flushing denormals matters: RNN states and gradients decay into the denormal range after a few
    hundred steps, and x86 arithmetic on denormals is slow enough to halve LSTM training speed.
    `threads` sets torch's intra-op thread count (None leaves torch's default).
    """
    global _configured
    torch.set_flush_denormal(True)
    if threads is not None:
        torch.set_num_threads(int(threads))
    _configured = True


def pick_device(name: str | None = None) -> torch.device:
    """The device to train on: `name` when given, else CUDA when present, else CPU."""
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
