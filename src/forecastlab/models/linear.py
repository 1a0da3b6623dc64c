"""`linear`: one linear map from the window to every horizon, NLinear/DLinear style (Zeng et al., 2023,
"Are Transformers Effective for Time Series Forecasting?"), the simple model to beat.

- `nlinear`: subtract each column's last value from the window, map the result, add the last values
  back through their own weights: the map sees the window relative to now, which keeps it stable
  when the level drifts between the train and test periods.
- `dlinear`: split each column into a trend (a centred moving average over `kernel` steps, edges
  padded with the first and last values, as DLinear does) and the remainder, and map both.

Both are linear in the window, so they train in seconds; the difference from one plain Dense layer is
the parametrization, which is what the paper found to matter. Not one of the book's models: it learns a
standardized target by default (forecastlab.models.head).
"""

from __future__ import annotations

import torch
from torch import nn

from forecastlab.models.base import Choice, ForecastModel, Int
from forecastlab.models.layers import Dense
from forecastlab.models.registry import register_model

VARIANTS = ("dlinear", "nlinear")


@register_model("linear")
class LinearModel(ForecastModel):
    """A linear map from the (decomposed or last-value-relative) window to the horizons (DLinear/NLinear)."""

    book_epochs = 10
    needs_sequence_length = True
    # Keras's 1e-3 is too large for one layer over 3,360 inputs: on the synthetic Jena data (3 epochs of
    # 300 batches, RMSprop) val MAE rose from 3.06 after epoch 1 to 5.79; with 1e-4 it fell to 2.24.
    default_lr = 1e-4
    param_ranges = {
        "variant": Choice(*VARIANTS),
        "kernel": Int(1, 10_001, why="a moving average longer than that smooths everything away"),
    }

    def __init__(self, n_features: int, sequence_length: int | None = None, variant: str = "dlinear",
                 kernel: int = 25):
        super().__init__(n_features, sequence_length)
        self.variant, self.kernel = variant, kernel
        width = sequence_length * n_features
        # dlinear: [trend, remainder]; nlinear: [window - last, last]. One Dense on the concatenation is
        # the sum of the two maps (their biases merged), and `out` is what with_outputs widens.
        self.out = Dense(2 * width if variant == "dlinear" else width + n_features, 1)
        if kernel > 1 and variant == "dlinear":
            self.average = nn.AvgPool1d(kernel, stride=1)

    @classmethod
    def weight_count(cls, n_features, sequence_length, variant, **_) -> int:
        width = sequence_length * n_features
        return (2 * width if variant == "dlinear" else width + n_features) + 1

    def trend(self, x: torch.Tensor) -> torch.Tensor:
        """The moving average of each column over `kernel` steps, same length as x: (B, T, F)."""
        if self.kernel == 1:
            return x
        left, right = (self.kernel - 1) // 2, self.kernel // 2
        padded = torch.cat([x[:, :1].expand(-1, left, -1), x, x[:, -1:].expand(-1, right, -1)], dim=1)
        return self.average(padded.transpose(1, 2)).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, n_outputs)
        self._check_input(x)
        if self.variant == "dlinear":
            trend = self.trend(x)
            features = torch.cat([trend.flatten(1), (x - trend).flatten(1)], dim=1)
        else:
            last = x[:, -1:, :]
            features = torch.cat([(x - last).flatten(1), last.flatten(1)], dim=1)
        return self.out(features)
