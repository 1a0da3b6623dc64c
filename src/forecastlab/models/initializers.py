"""Keras 3's default initializers, reimplemented for torch tensors.

PyTorch initializes Linear/Conv/RNN weights with Kaiming- or U(-1/sqrt(h), 1/sqrt(h))-style defaults;
the book's models were trained with Keras's, so every layer in `forecastlab.models` uses these:

- `glorot_uniform`: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)), fans as Keras's
  `compute_fans` (a conv kernel's fans are multiplied by its receptive field, i.e. kernel size).
- `orthogonal`: Keras's `OrthogonalInitializer` on the *whole* (rows, cols) matrix: QR of a Gaussian
  (max, min) matrix, columns sign-corrected by diag(R), transposed when rows < cols. For a recurrent
  kernel (units, k*units) the rows are orthonormal.
- zeros for biases (the LSTM forget-gate +1 lives in the layer, as Keras's `unit_forget_bias`).
"""

from __future__ import annotations

import math

import torch


def glorot_limit(fan_in: int, fan_out: int) -> float:
    """Keras's glorot_uniform bound."""
    return math.sqrt(6.0 / (fan_in + fan_out))


@torch.no_grad()
def glorot_uniform_(tensor: torch.Tensor, fan_in: int, fan_out: int, generator=None) -> torch.Tensor:
    """Fill `tensor` in place from U(-limit, limit) with Keras's Glorot limit for these fans."""
    limit = glorot_limit(fan_in, fan_out)
    return tensor.uniform_(-limit, limit, generator=generator)


@torch.no_grad()
def orthogonal(rows: int, cols: int, gain: float = 1.0, generator=None) -> torch.Tensor:
    """A (rows, cols) matrix drawn exactly as Keras 3's OrthogonalInitializer draws it (float32)."""
    flat = (max(rows, cols), min(rows, cols))
    a = torch.randn(flat, dtype=torch.float64, generator=generator)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))
    if rows < cols:
        q = q.T
    return (gain * q).to(torch.float32).contiguous()
