"""The contract every forecasting model follows (scikit-learn style: __init__ only stores parameters
and builds layers; the parameters round-trip through get_config/from_config)."""

from __future__ import annotations

import inspect
from typing import ClassVar

import torch
from torch import nn

from forecastlab.errors import ForecastlabError


class ForecastModel(nn.Module):
    """Base class: forward maps (batch, sequence_length, n_features) float32 to (batch, 1).

    Subclasses declare their hyperparameters as keyword arguments of __init__ (after n_features and
    sequence_length), store each under the same attribute name, and set the class attributes below.
    """

    name: ClassVar[str] = ""
    book_code: ClassVar[str] = ""  # listing number in Deep Learning with Python, 2nd ed., chapter 10
    book_epochs: ClassVar[int] = 10
    needs_sequence_length: ClassVar[bool] = False

    def __init__(self, n_features: int, sequence_length: int | None = None):
        super().__init__()
        if not isinstance(n_features, int) or n_features < 1:
            raise ForecastlabError(f"n_features must be a positive integer, got {n_features!r}",
                                   where=f"model {self.name!r}", fix="pass the number of input columns")
        if sequence_length is not None and (not isinstance(sequence_length, int) or sequence_length < 1):
            raise ForecastlabError(f"sequence_length must be a positive integer, got {sequence_length!r}",
                                   where=f"model {self.name!r}", fix="pass the window length, e.g. 120")
        if self.needs_sequence_length and sequence_length is None:
            raise ForecastlabError(f"model {self.name!r} needs sequence_length (it flattens the window)",
                                   where=f"model {self.name!r}", fix="pass sequence_length, e.g. 120")
        self.n_features = n_features
        self.sequence_length = sequence_length

    @classmethod
    def hyperparameters(cls) -> dict:
        """The model's hyperparameters and their defaults (the book's values)."""
        sig = inspect.signature(cls.__init__)
        skip = {"self", "n_features", "sequence_length"}
        return {k: p.default for k, p in sig.parameters.items() if k not in skip}

    def get_config(self) -> dict:
        """JSON-able config: name, n_features, sequence_length and every hyperparameter."""
        config = {"name": self.name, "n_features": self.n_features, "sequence_length": self.sequence_length}
        for key in self.hyperparameters():
            value = getattr(self, key)
            config[key] = list(value) if isinstance(value, tuple) else value
        return config

    @classmethod
    def from_config(cls, config: dict) -> ForecastModel:
        """Rebuild the architecture (fresh Keras-initialized weights) from `get_config()`'s output."""
        params = {k: v for k, v in config.items() if k != "name"}
        if config.get("name", cls.name) != cls.name:
            raise ForecastlabError(f"config is for model {config.get('name')!r}, not {cls.name!r}",
                                   fix="use forecastlab.models.build_model(config['name'], ...)")
        return cls(**params)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[-1] != self.n_features:
            raise ForecastlabError(f"model {self.name!r} expects (batch, time, {self.n_features}) input, "
                                   f"got shape {tuple(x.shape)}", fix="check n_features and the window shape")
