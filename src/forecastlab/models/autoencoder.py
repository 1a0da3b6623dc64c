"""A small sequence autoencoder for anomaly detection: a window (time, features) squeezed through two strided
1-D convolutions to a short code and back. Not a forecaster, so it is not in the model registry; its
reconstruction error is an anomaly score (forecastlab.tasks.anomaly.reconstruction_scores)."""

from __future__ import annotations

import torch
from torch import nn


class SequenceAutoencoder(nn.Module):
    """(batch, time, features) -> the same shape. `time` must be a multiple of 4 (two stride-2 halvings)."""

    def __init__(self, n_features: int, channels: int = 16, code: int = 8):
        super().__init__()
        self.encode = nn.Sequential(
            nn.Conv1d(n_features, channels, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv1d(channels, code, 5, stride=2, padding=2), nn.ReLU())
        self.decode = nn.Sequential(
            nn.ConvTranspose1d(code, channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose1d(channels, n_features, 4, stride=2, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x.transpose(1, 2))).transpose(1, 2)
