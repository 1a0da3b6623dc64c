"""`dense`: the book's densely connected baseline model (listing 10-10)."""

from __future__ import annotations

import torch

from forecastlab.models.base import UNITS, Choice, ForecastModel
from forecastlab.models.layers import Dense
from forecastlab.models.layers.core import ACTIVATIONS
from forecastlab.models.registry import register_model


@register_model("dense")
class DenseModel(ForecastModel):
    """Flatten -> Dense(16, relu) -> Dense(1). Needs sequence_length, since it flattens the window."""

    book_code = "10-10"
    book_epochs = 10
    default_target_transform = "none"  # the book trains on the raw target
    needs_sequence_length = True
    param_ranges = {"units": UNITS, "activation": Choice(*ACTIVATIONS)}

    def __init__(self, n_features: int, sequence_length: int | None = None, units: int = 16,
                 activation: str = "relu"):
        super().__init__(n_features, sequence_length)
        self.units, self.activation = units, activation
        self.hidden = Dense(sequence_length * n_features, units, activation)
        self.out = Dense(units, 1)

    @classmethod
    def weight_count(cls, n_features, sequence_length, units, **_) -> int:
        return (sequence_length * n_features + 1) * units + units + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, 1)
        self._check_input(x)
        return self.out(self.hidden(x.flatten(1)))
