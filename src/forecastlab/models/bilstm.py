"""`bilstm`: the book's bidirectional LSTM (listing 10-24)."""

from __future__ import annotations

import torch

from forecastlab.models.base import RATE, RECURRENT_DROPOUT_MODE, UNITS, Choice, ForecastModel
from forecastlab.models.layers import LSTM, Bidirectional, Dense
from forecastlab.models.registry import register_model


@register_model("bilstm")
class BiLSTMModel(ForecastModel):
    """Bidirectional(LSTM(16)) -> Dense(1), outputs of the two directions concatenated."""

    book_code = "10-24"
    book_epochs = 10
    default_target_transform = "none"  # the book trains on the raw target
    param_ranges = {"units": UNITS, "merge_mode": Choice(*Bidirectional.MERGES), "dropout": RATE,
                    "recurrent_dropout": RATE, "recurrent_dropout_mode": RECURRENT_DROPOUT_MODE}

    def __init__(self, n_features: int, sequence_length: int | None = None, units: int = 16,
                 merge_mode: str = "concat", dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 recurrent_dropout_mode: str = "exact"):
        super().__init__(n_features, sequence_length)
        self.units, self.merge_mode, self.dropout = units, merge_mode, dropout
        self.recurrent_dropout, self.recurrent_dropout_mode = recurrent_dropout, recurrent_dropout_mode
        self.rnn = Bidirectional(LSTM(n_features, units, dropout, recurrent_dropout,
                                      recurrent_dropout_mode=recurrent_dropout_mode), merge_mode)
        self.out = Dense(self.rnn.units, 1)

    @classmethod
    def weight_count(cls, n_features, units, merge_mode, **_) -> int:
        width = 2 * units if merge_mode == "concat" else units
        return 2 * 4 * units * (n_features + units + 1) + width + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, 1)
        self._check_input(x)
        return self.out(self.rnn(x))
