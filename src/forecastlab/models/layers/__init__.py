"""Keras-faithful building blocks (Keras names, Keras initializers, Keras dropout semantics)."""

from forecastlab.models.layers.core import Conv1D, Dense
from forecastlab.models.layers.recurrent import GRU, LSTM, Bidirectional, KerasRNN, SimpleRNN

__all__ = ["GRU", "LSTM", "Bidirectional", "Conv1D", "Dense", "KerasRNN", "SimpleRNN"]
