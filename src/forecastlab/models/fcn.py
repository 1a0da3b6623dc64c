"""`fcn`: the fully convolutional network of Wang, Yan and Oates (2017), "Time series classification from
scratch with deep neural networks: a strong baseline", the standard deep baseline of time-series
classification (Ismail Fawaz et al. 2019 found it, with ResNet, the best of nine deep classifiers on the
UCR archive).

Three blocks of Conv1D -> batch normalization -> ReLU, with `filters`, 2 x `filters` and `filters`
channels and kernels of 8, 5 and 3 steps ("same" padding), then global average pooling over time and a
Dense head: the pooled features do not depend on the window's length, so one model reads series of any
length. Built for classification (forecastlab.tasks.classification: one logit per class), it is also a
registered forecaster like any other (H x Q outputs after `with_outputs`), standardized target by default.

Batch normalization keeps running statistics (momentum 0.1, see ConvBlock): train() and eval() differ.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from forecastlab.models.base import ForecastModel, Int
from forecastlab.models.initializers import glorot_uniform_
from forecastlab.models.layers import Dense
from forecastlab.models.registry import register_model

KERNELS = (8, 5, 3)


class ConvBlock(nn.Module):
    """Conv1D ("same" length) -> BatchNorm1d -> ReLU on (batch, channels, time)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size)
        glorot_uniform_(self.conv.weight, kernel_size * in_channels, kernel_size * out_channels)
        nn.init.zeros_(self.conv.bias)
        # epsilon 1e-3 as Keras; momentum torch's 0.1, not Keras's 0.99 (torch's 0.01): a UCR training set
        # of 36 to 67 cases gives 3 or 4 steps an epoch, and with 0.01 the running statistics that eval()
        # uses lag so far behind that a net with perfect training accuracy scored near chance on test
        # (seen while building this on the sines and square waves of tests/tasks/test_classification.py).
        self.norm = nn.BatchNorm1d(out_channels, eps=1e-3, momentum=0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Keras's "same": (kernel - 1) zeros in all, the odd one on the right.
        total = self.conv.kernel_size[0] - 1
        return torch.relu(self.norm(self.conv(F.pad(x, (total // 2, total - total // 2)))))


@register_model("fcn")
class FCNModel(ForecastModel):
    """Conv1D-BN-ReLU x 3 (filters, 2 filters, filters; kernels 8, 5, 3) -> global average pool -> Dense."""

    book_epochs = 10
    default_lr = None  # Keras's 1e-3, as the paper's Adam
    param_ranges = {"filters": Int(1, 4_096, why="wider would not fit in memory")}

    def __init__(self, n_features: int, sequence_length: int | None = None, filters: int = 128):
        super().__init__(n_features, sequence_length)
        self.filters = filters
        widths = (n_features, filters, 2 * filters, filters)
        self.blocks = nn.ModuleList(ConvBlock(widths[i], widths[i + 1], k) for i, k in enumerate(KERNELS))
        self.out = Dense(filters, 1)

    @classmethod
    def weight_count(cls, n_features, filters, **_) -> int:
        widths = (n_features, filters, 2 * filters, filters)
        count = sum(k * widths[i] * widths[i + 1] + widths[i + 1] + 2 * widths[i + 1] for i, k in enumerate(KERNELS))
        return count + filters + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, n_outputs)
        self._check_input(x)
        y = x.transpose(1, 2)  # (B, F, T): torch's channels-first conv layout
        for block in self.blocks:
            y = block(y)
        return self.out(y.mean(dim=2))
