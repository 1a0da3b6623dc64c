"""`lstm`: the book's first recurrent baseline, LSTM(16) -> Dense(1) (listing 10-12)."""

from __future__ import annotations

import torch

from forecastlab.models.base import RATE, RECURRENT_DROPOUT_MODE, UNITS, ForecastModel
from forecastlab.models.layers import LSTM, Dense
from forecastlab.models.registry import register_model


@register_model("lstm")
class LSTMModel(ForecastModel):
    """LSTM(16) -> Dense(1). Accepts any sequence length."""

    book_code = "10-12"
    book_epochs = 10
    default_target_transform = "none"  # the book trains on the raw target
    param_ranges = {"units": UNITS, "dropout": RATE, "recurrent_dropout": RATE,
                    "recurrent_dropout_mode": RECURRENT_DROPOUT_MODE}

    def __init__(self, n_features: int, sequence_length: int | None = None, units: int = 16,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, recurrent_dropout_mode: str = "exact"):
        super().__init__(n_features, sequence_length)
        self.units, self.dropout, self.recurrent_dropout = units, dropout, recurrent_dropout
        self.recurrent_dropout_mode = recurrent_dropout_mode
        self.rnn = LSTM(n_features, units, dropout, recurrent_dropout,
                        recurrent_dropout_mode=recurrent_dropout_mode)
        self.out = Dense(units, 1)

    @classmethod
    def weight_count(cls, n_features, units, **_) -> int:
        return 4 * units * (n_features + units + 1) + units + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, 1)
        self._check_input(x)
        return self.out(self.rnn(x))
