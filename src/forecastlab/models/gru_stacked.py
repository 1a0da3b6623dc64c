"""`gru_stacked`: the book's stacked, dropout-regularized GRU (listing 10-23)."""

from __future__ import annotations

import torch
from torch import nn

from forecastlab.models.base import LAYERS, RATE, RECURRENT_DROPOUT_MODE, UNITS, ForecastModel
from forecastlab.models.layers import GRU, Dense
from forecastlab.models.registry import register_model


@register_model("gru_stacked")
class StackedGRUModel(ForecastModel):
    """GRU(32, recurrent_dropout=0.5, return_sequences=True) -> GRU(32, recurrent_dropout=0.5)
    -> Dropout(0.5) -> Dense(1). `layers` sets how many GRUs are stacked."""

    book_code = "10-23"
    book_epochs = 50
    default_target_transform = "none"  # the book trains on the raw target
    param_ranges = {"units": UNITS, "layers": LAYERS, "dropout": RATE, "recurrent_dropout": RATE,
                    "output_dropout": RATE, "recurrent_dropout_mode": RECURRENT_DROPOUT_MODE}

    def __init__(self, n_features: int, sequence_length: int | None = None, units: int = 32, layers: int = 2,
                 dropout: float = 0.0, recurrent_dropout: float = 0.5, output_dropout: float = 0.5,
                 recurrent_dropout_mode: str = "exact"):
        super().__init__(n_features, sequence_length)
        self.units, self.layers, self.dropout = units, layers, dropout
        self.recurrent_dropout, self.output_dropout = recurrent_dropout, output_dropout
        self.recurrent_dropout_mode = recurrent_dropout_mode
        self.grus = nn.ModuleList(
            GRU(n_features if i == 0 else units, units, dropout, recurrent_dropout,
                return_sequences=i < layers - 1, recurrent_dropout_mode=recurrent_dropout_mode)
            for i in range(layers))
        self.drop = nn.Dropout(output_dropout)
        self.out = Dense(units, 1)

    @classmethod
    def weight_count(cls, n_features, units, layers, **_) -> int:  # Keras's reset_after GRU: two biases
        return 3 * units * (n_features + units + 2) + (layers - 1) * 3 * units * (2 * units + 2) + units + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, 1)
        self._check_input(x)
        for gru in self.grus:
            x = gru(x)  # (B, T, units) until the last layer, then (B, units)
        return self.out(self.drop(x))
