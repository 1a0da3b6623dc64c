"""Name -> model class registry, and building a model from a plain config."""

from __future__ import annotations

import inspect

from torch import nn

from forecastlab.errors import ForecastlabError

MODELS: dict[str, type] = {}


def register_model(name: str):
    """Class decorator: register a ForecastModel subclass under `name` (also sets `cls.name`)."""
    def decorate(cls):
        if name in MODELS and MODELS[name] is not cls:
            raise ValueError(f"model name {name!r} is already registered to {MODELS[name].__name__}")
        cls.name = name
        MODELS[name] = cls
        return cls
    return decorate


def get_model_class(name: str) -> type:
    """The registered class for `name`, or a ForecastlabError listing the known names."""
    if name not in MODELS:
        raise ForecastlabError(f"unknown model {name!r}", where="model name",
                               fix=f"use one of: {', '.join(MODELS)}")
    return MODELS[name]


def build_model(name: str, n_features: int, sequence_length: int | None = None, *, n_outputs: int = 1,
                **params) -> nn.Module:
    """Build model `name` with the book's hyperparameters, overridden by `params`; `n_outputs` per window
    (H horizons x Q outputs per horizon; 1, the book's, by default).

    >>> build_model("lstm_dropout", 14, 120, units=64, recurrent_dropout=0.3)
    """
    cls = get_model_class(name)
    cls.check_names(params, where=f"model {name!r} config")
    try:  # every value is checked against the class's param_ranges before any layer is built
        model = cls(n_features, sequence_length, **params)
        # A torch model widens its head; an estimator gets its horizons and loss from with_head before fit.
        return model.with_outputs(n_outputs) if hasattr(model, "with_outputs") else model
    except (TypeError, ValueError) as exc:
        raise ForecastlabError(f"bad parameters for model {name!r}: {exc}", where=f"model {name!r} config",
                               fix=f"check the values of: {', '.join(params) or 'n_features, sequence_length'}"
                               ) from exc


def count_params(model: nn.Module) -> int:
    """Trainable parameter count (equals Keras's `count_params()` for the registered models); for an
    estimator, the size of its fitted model (e.g. tree nodes)."""
    if not isinstance(model, nn.Module):
        return int(model.count_params())
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe(name: str) -> dict:
    """A short description of model `name`: book listing, epochs, hyperparameter defaults, summary, and
    `parameters`: {name: {"default": ..., "valid": "an integer from 1 to 65,536"}} for each hyperparameter."""
    cls = get_model_class(name)
    doc = inspect.getdoc(cls) or ""
    defaults, ranges = cls.hyperparameters(), cls.parameter_ranges()
    parameters = {k: {"default": list(v) if isinstance(v, tuple) else v, "valid": ranges.get(k, "any value")}
                  for k, v in defaults.items()}
    return {"name": name, "kind": cls.kind, "target_transform": cls.default_target_transform,
            "book_code": cls.book_code, "book_epochs": cls.book_epochs,
            "needs_sequence_length": cls.needs_sequence_length,
            "hyperparameters": defaults, "parameters": parameters, "summary": " ".join(doc.split("\n\n")[0].split())}
