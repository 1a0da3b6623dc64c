"""`simple_rnn`: Keras SimpleRNN(16) -> Dense(1), stackable (listings 10-16 to 10-19)."""

from __future__ import annotations

import torch
from torch import nn

from forecastlab.models.base import LAYERS, RATE, RECURRENT_DROPOUT_MODE, UNITS, ForecastModel
from forecastlab.models.layers import Dense, SimpleRNN
from forecastlab.models.registry import register_model


@register_model("simple_rnn")
class SimpleRNNModel(ForecastModel):
    """SimpleRNN(16) -> Dense(1); with layers=n, n SimpleRNNs stacked via return_sequences (10-19)."""

    book_code = "10-16 to 10-19"
    book_epochs = 10
    default_target_transform = "none"  # the book trains on the raw target
    param_ranges = {"units": UNITS, "layers": LAYERS, "dropout": RATE, "recurrent_dropout": RATE,
                    "recurrent_dropout_mode": RECURRENT_DROPOUT_MODE}

    def __init__(self, n_features: int, sequence_length: int | None = None, units: int = 16, layers: int = 1,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, recurrent_dropout_mode: str = "exact"):
        super().__init__(n_features, sequence_length)
        self.units, self.layers, self.dropout = units, layers, dropout
        self.recurrent_dropout, self.recurrent_dropout_mode = recurrent_dropout, recurrent_dropout_mode
        self.rnns = nn.ModuleList(
            SimpleRNN(n_features if i == 0 else units, units, dropout, recurrent_dropout,
                      return_sequences=i < layers - 1, recurrent_dropout_mode=recurrent_dropout_mode)
            for i in range(layers))
        self.out = Dense(units, 1)

    @classmethod
    def weight_count(cls, n_features, units, layers, **_) -> int:
        return units * (n_features + units + 1) + (layers - 1) * units * (2 * units + 1) + units + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, 1)
        self._check_input(x)
        for rnn in self.rnns:
            x = rnn(x)
        return self.out(x)
