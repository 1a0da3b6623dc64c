"""`tcn`: a temporal convolutional network (Bai, Kolter and Koltun, 2018, "An Empirical Evaluation of
Generic Convolutional and Recurrent Networks for Sequence Modeling").

A stack of residual blocks of dilated *causal* 1D convolutions: block i has dilation 2**i, and each of its
two convolutions pads only on the left ((kernel_size - 1) * dilation zeros), so the output at step t sees
the inputs at steps <= t and never a later one. Each block is

    conv(dilation d) -> ReLU -> Dropout -> conv(dilation d) -> ReLU -> Dropout, + skip, -> ReLU

where the skip is the block's input, through a 1x1 convolution when the widths differ (the first block,
from the window's features to `filters`). The dropout drops whole channels of a window (torch's
Dropout1d, keras-tcn's SpatialDropout1D): one random number per channel instead of one per step and
channel, which on this CPU made the step ~20% faster (torch's bernoulli_ took a fifth of a training step
with elementwise dropout). The receptive field is 1 + 2 (kernel_size - 1)(2**blocks - 1)
steps: 125 with the defaults (kernel 3, 5 blocks), the book's whole 120-step window. The forecast is a
Dense head on the last step's features, the one step that has seen the whole window.

Not one of the book's models: it learns a standardized target by default (forecastlab.models.head).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from forecastlab.models.base import RATE, ForecastModel, Int
from forecastlab.models.initializers import glorot_uniform_
from forecastlab.models.layers import Dense
from forecastlab.models.registry import register_model


class CausalConv1d(nn.Conv1d):
    """A dilated Conv1d on (batch, channels, time) that pads (kernel_size - 1) * dilation zeros on the left
    only: same length out, and output t depends on inputs <= t. Keras's glorot-uniform kernel (fans times
    the kernel size) and zero bias, as forecastlab's Conv1D.

    `dilated=False` runs the same kernel undilated (left padding kernel_size - 1): on a sequence subsampled
    every `dilation` steps that is exactly the dilated convolution at the subsampled steps (see TCNModel).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        glorot_uniform_(self.weight, kernel_size * in_channels, kernel_size * out_channels)
        nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, dilated: bool = True) -> torch.Tensor:
        dilation = self.dilation[0] if dilated else 1
        left = (self.kernel_size[0] - 1) * dilation
        return F.conv1d(F.pad(x, (left, 0)) if left else x, self.weight, self.bias, dilation=dilation)


class TemporalBlock(nn.Module):
    """Two causal convolutions of one dilation, ReLU and dropout after each, plus a (1x1-projected) skip."""

    def __init__(self, in_channels: int, filters: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.conv1 = CausalConv1d(in_channels, filters, kernel_size, dilation)
        self.conv2 = CausalConv1d(filters, filters, kernel_size, dilation)
        self.drop = nn.Dropout1d(dropout)  # whole channels per sample, as keras-tcn's SpatialDropout1D
        self.skip = CausalConv1d(in_channels, filters, 1) if in_channels != filters else None

    def forward(self, x: torch.Tensor, dilated: bool = True) -> torch.Tensor:  # (B, C_in, T) -> (B, filters, T)
        y = self.drop(torch.relu(self.conv1(x, dilated)))
        y = self.drop(torch.relu(self.conv2(y, dilated)))
        return torch.relu(y + (x if self.skip is None else self.skip(x)))


@register_model("tcn")
class TCNModel(ForecastModel):
    """Residual blocks of dilated causal Conv1D (dilations 1, 2, 4, ...) -> last step -> Dense (a TCN)."""

    book_epochs = 10
    # Keras's 1e-3 suits it. Val MAE on the synthetic Jena data (book's window, 3 epochs of 150 batches of
    # 256, RMSprop, standardized target, every 6th val window: `benchmarks/deep_forecaster_choice.py
    # --models tcn --lr LR`, 2-core CPU): 1e-4 2.874, 1e-3 2.242, 3e-3 2.225 (within noise of 1e-3).
    default_lr = None
    param_ranges = {
        "filters": Int(1, 4_096, why="a wider convolution would be far too slow to train"),
        "kernel_size": Int(2, 64, why="dilation already widens the receptive field"),
        "blocks": Int(1, 16, why="block 16 already has dilation 32,768"),
        "dropout": RATE,
    }

    def __init__(self, n_features: int, sequence_length: int | None = None, filters: int = 16,
                 kernel_size: int = 3, blocks: int = 5, dropout: float = 0.1):
        super().__init__(n_features, sequence_length)
        self.filters, self.kernel_size, self.blocks, self.dropout = filters, kernel_size, blocks, dropout
        widths = [n_features] + [filters] * blocks
        self.tcn = nn.ModuleList(TemporalBlock(widths[i], filters, kernel_size, 2**i, dropout)
                                 for i in range(blocks))
        self.out = Dense(filters, 1)

    @classmethod
    def weight_count(cls, n_features, filters, kernel_size, blocks, **_) -> int:
        count, width = 0, n_features
        for _ in range(blocks):
            count += kernel_size * width * filters + filters + kernel_size * filters * filters + filters
            if width != filters:
                count += width * filters + filters
            width = filters
        return count + filters + 1

    def receptive_field(self) -> int:
        """How many steps back the last step's features reach (itself included)."""
        return 1 + 2 * (self.kernel_size - 1) * (2**self.blocks - 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last block's output at every step, (B, T, F) -> (B, filters, T); step t sees inputs <= t."""
        self._check_input(x)
        y = x.transpose(1, 2)  # (B, F, T): torch's channels-first conv layout
        for block in self.tcn:
            y = block(y)
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, n_outputs)
        """The head on `features(x)[:, :, -1]`, computed only at the steps the last one depends on.

        Block i (dilation d = 2**i) combines steps d apart, so the last step's value depends, below block i,
        only on the steps T-1, T-1-d, T-1-2d, ...: block i runs undilated on the sequence subsampled every
        d steps from the end (every other step of block i-1's), the same numbers at 1/d of the cost
        (233 step positions instead of 600 for the defaults). tests/models/test_new_models.py checks that
        this equals the full computation.
        """
        self._check_input(x)
        y = x.transpose(1, 2)
        for i, block in enumerate(self.tcn):
            if i:  # keep the steps an even number of steps before the last one
                y = y[:, :, (y.shape[2] - 1) % 2::2]
            y = block(y, dilated=False)
        return self.out(y[:, :, -1])
