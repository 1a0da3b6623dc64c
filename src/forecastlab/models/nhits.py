"""`nhits`: N-HiTS (Challu et al., 2023, "N-HiTS: Neural Hierarchical Interpolation for Time Series
Forecasting"), with the multivariate window flattened into its input.

One stack per entry of `pool_sizes`, `blocks` MLP blocks per stack, run one after another on a residual
copy of the window:

- **multi-rate input**: a block of a stack with pool size k max-pools every column of the residual window
  over k steps (stride k; a pool longer than the window pools all of it), flattens the (T/k x F) result and
  feeds it to an MLP (`layers` Dense layers of `units`, ReLU, dropout);
- **backcast**: a linear map of the MLP's output back to the whole (T x F) window, subtracted from the
  residual copy the next block sees (N-BEATS's doubly residual stacking);
- **hierarchical interpolation**: a linear map to ceil(n_outputs / k) forecast coefficients, linearly
  interpolated up to the model's n_outputs; the forecasts of every block are summed. A coarse stack can
  only draw a smooth forecast across the horizons, the last stack (pool 1 by default) adds the detail.

The interpolation runs over the n_outputs = H x Q outputs in the head's order (horizon-major, see
forecastlab.models.head): for a point loss (Q = 1) that is N-HiTS's interpolation over the horizons; with
quantiles the coarse stacks interpolate across neighbouring (horizon, quantile) outputs too, and a stack
with pool 1 (full resolution) corrects them. With the book's one horizon every stack forecasts one value.

Not one of the book's models: it learns a standardized target by default (forecastlab.models.head).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from forecastlab.errors import ForecastlabError
from forecastlab.models.base import LAYERS, MAX_OUTPUTS, RATE, UNITS, ForecastModel, Int, IntList
from forecastlab.models.layers import Dense
from forecastlab.models.registry import register_model


def _pooled_length(sequence_length: int, pool: int) -> int:
    return math.ceil(sequence_length / min(pool, sequence_length))


class NHiTSBlock(nn.Module):
    """Max-pool the residual window, an MLP, and two linear maps: the backcast and the forecast coefficients."""

    def __init__(self, n_features: int, sequence_length: int, pool: int, units: int, layers: int,
                 dropout: float, n_coefficients: int):
        super().__init__()
        self.pool = min(pool, sequence_length)
        width = _pooled_length(sequence_length, pool) * n_features
        dims = [width] + [units] * layers
        self.mlp = nn.ModuleList(Dense(dims[i], units, "relu") for i in range(layers))
        self.drop = nn.Dropout(dropout)
        self.backcast = Dense(units, sequence_length * n_features)
        self.forecast = Dense(units, n_coefficients)

    def forward(self, residual: torch.Tensor, n_outputs: int):  # residual (B, T, F)
        y = residual.transpose(1, 2)  # (B, F, T)
        if self.pool > 1:
            y = F.max_pool1d(y, self.pool, self.pool, ceil_mode=True)
        y = y.flatten(1)
        for layer in self.mlp:
            y = self.drop(layer(y))
        backcast = self.backcast(y).reshape(residual.shape)
        coefficients = self.forecast(y)  # (B, r)
        if coefficients.shape[1] != n_outputs:  # linear interpolation of r knots to n_outputs points
            coefficients = F.interpolate(coefficients[:, None, :], size=n_outputs, mode="linear",
                                         align_corners=True)[:, 0, :]
        return backcast, coefficients


@register_model("nhits")
class NHiTSModel(ForecastModel):
    """N-HiTS: stacks of MLP blocks on max-pooled windows, backcast residuals, interpolated forecasts."""

    book_epochs = 10
    needs_sequence_length = True
    # Keras's 1e-3 is too large for the MLPs over the flattened 1,680-value window. Val MAE on the synthetic
    # Jena data (book's window, 3 epochs of 150 batches of 256, RMSprop, standardized target, every 6th val
    # window: `benchmarks/deep_forecaster_choice.py --models nhits --lr LR`, 2-core CPU): 1e-4 3.144,
    # 3e-4 2.810, 1e-3 2.949.
    default_lr = 3e-4
    param_ranges = {
        "units": UNITS,
        "layers": LAYERS,
        "pool_sizes": IntList(Int(1, 10_000, why="no window is that long"), max_len=16),
        "blocks": Int(1, 16, why="more blocks per stack would be too slow to train; N-HiTS uses 1"),
        "dropout": RATE,
    }

    def __init__(self, n_features: int, sequence_length: int | None = None, units: int = 64, layers: int = 2,
                 pool_sizes: tuple = (8, 4, 1), blocks: int = 1, dropout: float = 0.0):
        super().__init__(n_features, sequence_length)
        self.units, self.layers, self.pool_sizes = units, layers, tuple(pool_sizes)
        self.blocks, self.dropout = blocks, dropout
        self._build_blocks()

    def _build_blocks(self) -> None:
        self.stacks = nn.ModuleList(
            NHiTSBlock(self.n_features, self.sequence_length, pool, self.units, self.layers, self.dropout,
                       math.ceil(self.n_outputs / pool))
            for pool in self.pool_sizes for _ in range(self.blocks))

    @property
    def out(self) -> nn.Module:
        """The last block's forecast layer (what ForecastModel.with_outputs widens in other models)."""
        return self.stacks[-1].forecast

    def with_outputs(self, n_outputs: int) -> NHiTSModel:
        """H x Q outputs per window: every block's forecast layer gets ceil(n_outputs / pool) coefficients,
        interpolated to n_outputs. 1 keeps the model as built."""
        if n_outputs == self.n_outputs and type(n_outputs) is int:
            return self
        if type(n_outputs) is not int or not 1 <= n_outputs <= MAX_OUTPUTS:
            ForecastModel.with_outputs(self, n_outputs)  # the base's error for a bad n_outputs
        for block, pool in zip(self.stacks, [p for p in self.pool_sizes for _ in range(self.blocks)], strict=True):
            block.forecast = Dense(self.units, math.ceil(n_outputs / pool))
        self.n_outputs = n_outputs
        return self

    @classmethod
    def weight_count(cls, n_features, sequence_length, units, layers, pool_sizes, blocks, n_outputs=1,
                     **_) -> int:
        window = sequence_length * n_features
        count = 0
        for pool in pool_sizes:
            first = _pooled_length(sequence_length, pool) * n_features
            mlp = (first + 1) * units + (layers - 1) * (units + 1) * units
            count += blocks * (mlp + (units + 1) * window + (units + 1) * math.ceil(n_outputs / pool))
        return count

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, n_outputs)
        self._check_input(x)
        if x.shape[1] != self.sequence_length:
            raise ForecastlabError(f"model 'nhits' was built for windows of {self.sequence_length} steps, got "
                                   f"{x.shape[1]}", fix="use the window length it was built (and trained) for")
        residual, forecast = x, None
        for block in self.stacks:
            backcast, part = block(residual, self.n_outputs)
            residual = residual - backcast
            forecast = part if forecast is None else forecast + part
        return forecast
