"""The chapter's forecasting models, registered by name and buildable from a plain config.

    from forecastlab.models import build_model, MODELS, count_params
    model = build_model("lstm_dropout", n_features=14, sequence_length=120)
    same = type(model).from_config(model.get_config())

Every torch model maps (batch, time, features) float32 to (batch, 1) (H x Q outputs after
`with_outputs`), uses Keras's initializers and dropout semantics (see forecastlab.models.layers), and has
`book_epochs`, `book_code`, `get_config()`. The book's seven come first; then, in import order, `lightgbm`
(an Estimator, forecastlab.models.contract), `linear` (DLinear/NLinear), `persistence` (the book's baseline
as a model), `nhits` (N-HiTS), `patchtst` (a PatchTST-style patch Transformer), `tcn` (a temporal
convolutional network) and `fcn` (Wang et al.'s fully convolutional network, the deep baseline of
time-series classification, forecastlab.tasks.classification).
"""

from forecastlab.data.book import BOOK_MODELS
from forecastlab.models import (  # noqa: F401
    bilstm,
    conv1d,
    dense,
    fcn,
    gbm,
    gru_stacked,
    linear,
    lstm,
    lstm_dropout,
    naive,
    nhits,
    patchtst,
    simple_rnn,
    tcn,
)
from forecastlab.models.base import ForecastModel
from forecastlab.models.contract import Estimator, Forecaster
from forecastlab.models.registry import (
    MODELS,
    build_model,
    count_params,
    describe,
    get_model_class,
    register_model,
)

# Registration order is import order; the book's order (forecastlab.data.book) reads better in listings.
for _name in [*BOOK_MODELS, *(n for n in list(MODELS) if n not in BOOK_MODELS)]:
    MODELS[_name] = MODELS.pop(_name)
MODELS["fcn"] = MODELS.pop("fcn")  # the newest last, as listings showed the others before it

__all__ = ["MODELS", "Estimator", "ForecastModel", "Forecaster", "build_model", "count_params", "describe",
           "get_model_class", "register_model"]
