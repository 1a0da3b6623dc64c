"""Keras-initialized feed-forward layers: Dense and Conv1D (valid padding, channels-last API)."""

from __future__ import annotations

import torch
from torch import nn

from forecastlab.models.initializers import glorot_uniform_

ACTIVATIONS = {None: None, "linear": None, "relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def activation_fn(name):
    """The torch function for a Keras activation name (None/"linear" = identity)."""
    if name not in ACTIVATIONS:
        from forecastlab.errors import ForecastlabError

        raise ForecastlabError(f"unknown activation {name!r}", fix=f"use one of: {sorted(map(str, ACTIVATIONS))}")
    return ACTIVATIONS[name]


class Dense(nn.Linear):
    """Keras `Dense(units, activation)`: glorot-uniform kernel, zero bias. Acts on the last axis."""

    def __init__(self, in_features: int, units: int, activation: str | None = None):
        super().__init__(in_features, units)
        self.activation = activation
        self._act = activation_fn(activation)
        glorot_uniform_(self.weight, in_features, units)
        nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        return y if self._act is None else self._act(y)


class Conv1D(nn.Conv1d):
    """Keras `Conv1D(filters, kernel_size, activation, padding="valid")`, on torch's (batch, channels, time).

Keeping torch's channels-first layout inside a conv stack avoids a transpose per layer; the model
transposes its (batch, time, features) input once.

    The kernel is glorot-uniform with Keras's fans for a (kernel_size, in, filters) kernel:
    fan_in = kernel_size*in, fan_out = kernel_size*filters (PyTorch's default is Kaiming-uniform).
    """

    def __init__(self, in_channels: int, filters: int, kernel_size: int, activation: str | None = None):
        super().__init__(in_channels, filters, kernel_size)
        self.activation = activation
        self._act = activation_fn(activation)
        glorot_uniform_(self.weight, kernel_size * in_channels, kernel_size * filters)
        nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, channels, time)
        y = super().forward(x)  # (batch, filters, time - kernel_size + 1)
        return y if self._act is None else self._act(y)
