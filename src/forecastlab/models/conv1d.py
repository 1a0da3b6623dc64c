"""`conv1d`: the book's 1D convnet (section 10.2.4, an unnumbered listing)."""

from __future__ import annotations

import torch
from torch import nn

from forecastlab.errors import ForecastlabError
from forecastlab.models.base import ForecastModel, Int, IntList
from forecastlab.models.layers import Conv1D, Dense
from forecastlab.models.registry import register_model


@register_model("conv1d")
class Conv1DModel(ForecastModel):
    """Conv1D(8,24) -> MaxPool(2) -> Conv1D(8,12) -> MaxPool(2) -> Conv1D(8,6) -> GlobalAvgPool -> Dense(1).

    relu activations, valid padding; `kernel_sizes` sets the number of conv layers (pooling between them).
    """

    book_code = "section 10.2.4 (unnumbered)"
    book_epochs = 10
    default_target_transform = "none"  # the book trains on the raw target
    param_ranges = {
        "filters": Int(1, 65_536, why="a wider layer would not fit in memory"),
        "kernel_sizes": IntList(Int(1, 65_536, why="no window is that long"), max_len=16),
        "pool_size": Int(1, 65_536, why="no window is that long"),
    }

    def __init__(self, n_features: int, sequence_length: int | None = None, filters: int = 8,
                 kernel_sizes: tuple = (24, 12, 6), pool_size: int = 2):
        super().__init__(n_features, sequence_length)
        self.filters, self.kernel_sizes, self.pool_size = filters, tuple(kernel_sizes), pool_size
        if sequence_length is not None and sequence_length < self.min_sequence_length():
            raise ForecastlabError(f"model 'conv1d': sequence_length {sequence_length} is too short for kernels "
                                   f"{list(self.kernel_sizes)} with pool_size {pool_size}",
                                   where="model 'conv1d' parameters sequence_length, kernel_sizes, pool_size",
                                   fix=f"use sequence_length >= {self.min_sequence_length()}, or smaller kernels")
        convs, channels = [], n_features
        for k in self.kernel_sizes:
            convs.append(Conv1D(channels, filters, k, "relu"))
            channels = filters
        self.convs = nn.ModuleList(convs)
        self.pool = nn.MaxPool1d(pool_size)
        self.out = Dense(filters, 1)

    @classmethod
    def weight_count(cls, n_features, filters, kernel_sizes, **_) -> int:
        channels = [n_features] + [filters] * (len(kernel_sizes) - 1)
        return sum((k * c + 1) * filters for k, c in zip(kernel_sizes, channels, strict=True)) + filters + 1

    def min_sequence_length(self) -> int:
        """The shortest window the valid convolutions and poolings leave at least one step of."""
        length = 1
        for i, k in enumerate(reversed(self.kernel_sizes)):
            length = length + k - 1
            if i < len(self.kernel_sizes) - 1:
                length *= self.pool_size
        return length

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, 1)
        self._check_input(x)
        if x.shape[1] < self.min_sequence_length():
            raise ForecastlabError(f"model 'conv1d' with kernels {list(self.kernel_sizes)} and pool_size "
                                   f"{self.pool_size} needs windows of {self.min_sequence_length()} steps or more, "
                                   f"got {x.shape[1]}", fix="use longer windows or smaller kernels")
        y = x.transpose(1, 2)  # (B, F, T): torch's channels-first conv layout
        for i, conv in enumerate(self.convs):
            y = conv(y)
            if i < len(self.convs) - 1:
                y = self.pool(y)
        return self.out(y.mean(dim=2))  # GlobalAveragePooling1D
