"""The chapter's forecasting models, registered by name and buildable from a plain config.

    from forecastlab.models import build_model, MODELS, count_params
    model = build_model("lstm_dropout", n_features=14, sequence_length=120)
    same = type(model).from_config(model.get_config())

Every model maps (batch, time, features) float32 to (batch, 1), uses Keras's initializers and
dropout semantics (see forecastlab.models.layers), and has `book_epochs`, `book_code`, `get_config()`.
"""

from forecastlab.data.book import BOOK_MODELS
from forecastlab.models import bilstm, conv1d, dense, gru_stacked, lstm, lstm_dropout, simple_rnn  # noqa: F401
from forecastlab.models.base import ForecastModel
from forecastlab.models.registry import (
    MODELS,
    build_model,
    count_params,
    describe,
    get_model_class,
    register_model,
)

# Registration order is import order; the book's order (forecastlab.data.book) reads better in listings.
for _name in BOOK_MODELS:
    MODELS[_name] = MODELS.pop(_name)

__all__ = ["MODELS", "ForecastModel", "build_model", "count_params", "describe", "get_model_class",
           "register_model"]
