"""The model registry: every book model builds, round-trips its config, has Keras's parameter count,
accepts the book's shapes, and learns."""

from __future__ import annotations

import json

import pytest
import torch

from forecastlab.errors import ForecastlabError
from forecastlab.models import MODELS, build_model, count_params, describe, get_model_class
from forecastlab.optim import make_optimizer

# Keras 3.15's model.count_params() for the book's models on Jena's 14 features and 120-step windows
# (measured with /work/shared/bench/keras_reference.py's `build`; each also follows from the formulas:
# LSTM 4u(in+u+1), GRU reset_after 3u(in+u+2), SimpleRNN u(in+u+1), Dense in*out+out, Conv1D k*in*f+f).
KERAS_PARAMS = {"dense": 26913, "conv1d": 3873, "lstm": 2001, "lstm_dropout": 6049,
                "gru_stacked": 10977, "bilstm": 4001, "simple_rnn": 513}
BOOK_EPOCHS = {"dense": 10, "conv1d": 10, "lstm": 10, "lstm_dropout": 50, "gru_stacked": 50,
               "bilstm": 10, "simple_rnn": 10}


def test_registry_names_in_book_order():
    assert list(MODELS) == list(KERAS_PARAMS)


@pytest.mark.parametrize("name", list(KERAS_PARAMS))
def test_parameter_count_matches_keras(name):
    assert count_params(build_model(name, 14, 120)) == KERAS_PARAMS[name]
    assert MODELS[name].book_epochs == BOOK_EPOCHS[name]


@pytest.mark.parametrize("name", list(KERAS_PARAMS))
def test_config_round_trip_and_forward_shape(name):
    torch.manual_seed(0)
    model = build_model(name, 14, 120)
    config = json.loads(json.dumps(model.get_config()))
    assert config["name"] == name and config["n_features"] == 14 and config["sequence_length"] == 120
    clone = get_model_class(name).from_config(config)
    assert clone.get_config() == config
    assert [p.shape for p in clone.parameters()] == [p.shape for p in model.parameters()]
    assert model.eval()(torch.randn(3, 120, 14)).shape == (3, 1)
    assert describe(name)["book_epochs"] == BOOK_EPOCHS[name]


@pytest.mark.parametrize("name", ["lstm", "lstm_dropout", "gru_stacked", "bilstm", "simple_rnn"])
def test_recurrent_models_accept_any_length(name):
    model = build_model(name, 4).train()
    for length in (5, 33):
        assert model(torch.randn(2, length, 4)).shape == (2, 1)


def test_overrides_reach_the_layers():
    model = build_model("gru_stacked", 14, 120, units=8, layers=3, recurrent_dropout=0.1,
                        recurrent_dropout_mode="weight")
    assert len(model.grus) == 3 and all(g.units == 8 and g.recurrent_dropout == 0.1 for g in model.grus)
    assert [g.return_sequences for g in model.grus] == [True, True, False]
    assert build_model("simple_rnn", 14, units=4, layers=2).get_config()["layers"] == 2
    assert count_params(build_model("lstm_dropout", 14, units=64)) == 4 * 64 * (14 + 64 + 1) + 65


def test_clear_errors_for_unknown_names_and_bad_params():
    with pytest.raises(ForecastlabError, match="unknown model 'transformer'.*lstm_dropout"):
        build_model("transformer", 14)
    with pytest.raises(ForecastlabError, match="no parameter.*unitz.*units"):
        build_model("lstm", 14, unitz=3)
    with pytest.raises(ForecastlabError, match="needs sequence_length"):
        build_model("dense", 14)
    with pytest.raises(ForecastlabError, match="recurrent_dropout"):
        build_model("lstm_dropout", 14, recurrent_dropout=1.5)
    with pytest.raises(ForecastlabError, match="too short"):
        build_model("conv1d", 14, 40)
    with pytest.raises(ForecastlabError, match="expects"):
        build_model("lstm", 14)(torch.randn(2, 10, 3))


@pytest.mark.parametrize("name", list(KERAS_PARAMS))
def test_a_few_training_steps_reduce_the_loss(name):
    torch.manual_seed(0)
    model = build_model(name, 4, 72)
    opt = make_optimizer("rmsprop", model.parameters(), lr=1e-2)
    x = torch.randn(32, 72, 4)
    y = x[:, -1, :1] * 2 + 1  # learnable from the last step
    model.eval()
    before = torch.nn.functional.mse_loss(model(x), y).item()
    model.train()
    for _ in range(15):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    model.eval()
    assert torch.nn.functional.mse_loss(model(x), y).item() < 0.8 * before
