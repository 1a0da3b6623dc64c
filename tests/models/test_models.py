"""The model registry: every book model builds, round-trips its config, has Keras's parameter count,
accepts the book's shapes, and learns."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from forecastlab.errors import ForecastlabError
from forecastlab.models import MODELS, ForecastModel, build_model, count_params, describe, get_model_class
from forecastlab.models.base import Choice, Float, Int, IntList
from forecastlab.models.layers import Conv1D, Dense, KerasRNN
from forecastlab.training.optim import make_optimizer
from run_helpers import write_jena_csv

# Keras 3.15's model.count_params() for the book's models on Jena's 14 features and 120-step windows
# (measured with /work/shared/bench/keras_reference.py's `build`; each also follows from the formulas:
# LSTM 4u(in+u+1), GRU reset_after 3u(in+u+2), SimpleRNN u(in+u+1), Dense in*out+out, Conv1D k*in*f+f).
KERAS_PARAMS = {"dense": 26913, "conv1d": 3873, "lstm": 2001, "lstm_dropout": 6049,
                "gru_stacked": 10977, "bilstm": 4001, "simple_rnn": 513}
BOOK_EPOCHS = {"dense": 10, "conv1d": 10, "lstm": 10, "lstm_dropout": 50, "gru_stacked": 50,
               "bilstm": 10, "simple_rnn": 10}


def test_registry_names_in_book_order():
    # The book's seven first, in the book's order; then the models the book does not have.
    assert list(MODELS) == [*KERAS_PARAMS, "lightgbm", "linear", "persistence", "nhits", "patchtst", "tcn", "fcn"]


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


# -- parameter validation: every registered model, every parameter (issue 8) ---------------------------

def _ranges(name):
    cls = MODELS[name]
    return [(name, key, cls.constraints()[key]) for key in cls.hyperparameters()]


PARAMS = [case for name in MODELS for case in _ranges(name)]
PARAM_IDS = [f"{name}-{key}" for name, key, _ in PARAMS]
ALWAYS_BAD = ["abc", True, {"a": 1}, [[1]], float("nan")]  # wrong for every parameter of every model


def _accepts(c, value) -> bool:
    try:
        c.check(value)
    except Exception:
        return False
    return True


def _bad_values(c):
    if isinstance(c, Int):
        return [c.min - 1, -3, 2.5, 2.0, 1e9, "3", None] + ([c.max + 1, 10**9] if c.max is not None else [])
    if isinstance(c, Float):
        return [c.low - 0.1, c.high + 0.1, float("inf"), "0.5", None] + ([c.high, 1] if c.right_open else [])
    if isinstance(c, Choice):
        return ["nope", 1, 0.5, ["exact"]] + ([] if None in c.options else [None])
    if isinstance(c, IntList):
        return ["24", 24, "abc", [], [0], [-1], [2.5], [True], [None], [[24]], [c.item.max + 1],
                [1] * (c.max_len + 1)]
    raise AssertionError(f"no bad values for {c!r}")


def _good_values(c):
    if isinstance(c, Int):
        return [c.min, c.min + 1]
    if isinstance(c, Float):
        return [c.low, *([int(c.low)] if float(c.low).is_integer() else []), 0.5 * (c.low + c.high), c.high - 0.01]
    if isinstance(c, Choice):
        return list(c.options)
    if isinstance(c, IntList):
        return [[c.item.min], (2, 1)]
    raise AssertionError(f"no good values for {c!r}")


@pytest.fixture
def no_layers(monkeypatch):
    """Any layer construction fails loudly: validation must happen before the first layer is built."""
    def boom(*args, **kwargs):
        raise AssertionError("a layer was built")

    for layer in (Dense, Conv1D, KerasRNN):
        monkeypatch.setattr(layer, "__init__", boom)


def test_every_hyperparameter_of_every_model_declares_its_range():
    for name, cls in MODELS.items():
        assert set(cls.hyperparameters()) <= set(cls.constraints()), name
        described = describe(name)["parameters"]
        assert list(described) == list(cls.hyperparameters())
        for key, info in described.items():
            assert info["valid"] == cls.constraints()[key].describe() != "any value"
            assert info["default"] == json.loads(json.dumps(info["default"]))  # JSON-able for listings


def test_a_model_without_a_range_for_a_parameter_is_refused_at_definition():
    with pytest.raises(TypeError, match="param_ranges.*missing.*'width'"):
        class Bad(ForecastModel):
            param_ranges = {}

            def __init__(self, n_features: int, sequence_length: int | None = None, width: int = 3):
                super().__init__(n_features, sequence_length)


@pytest.mark.parametrize(("name", "key", "constraint"), PARAMS, ids=PARAM_IDS)
def test_bad_values_name_the_parameter_and_its_range(name, key, constraint, no_layers):
    cls = MODELS[name]
    default = cls.hyperparameters()[key]
    config = {"name": name, "n_features": 14, "sequence_length": 120,
              **{k: list(v) if isinstance(v, tuple) else v for k, v in cls.hyperparameters().items()}}
    for bad in [v for v in _bad_values(constraint) + ALWAYS_BAD if not _accepts(constraint, v)]:
        for build, args in ((build_model, (name, 14, 120)), (cls, (14, 120)), (cls.from_config, ())):
            with pytest.raises(ForecastlabError) as info:
                if args:
                    build(*args, **{key: bad})
                else:  # a hand-edited config.json
                    build(config | {key: bad})
            err = info.value
            assert err.what.startswith(f"model {name!r}: {key} must be {constraint.describe()}"), (bad, err)
            assert err.where == f"model {name!r} parameter {key!r}"
            assert constraint.describe() in err.fix and f"{key}=" in err.fix, err.fix
            default_text = default if isinstance(default, str) else json.dumps(
                list(default) if isinstance(default, tuple) else default)
            assert f"{key}={default_text} (the default)" in err.fix


@pytest.mark.parametrize(("name", "key", "constraint"), PARAMS, ids=PARAM_IDS)
def test_good_edge_values_build_and_run(name, key, constraint):
    cls = MODELS[name]
    for good in _good_values(constraint):
        torch.manual_seed(0)
        model = build_model(name, 3, 72, **{key: good})
        config = model.get_config()
        assert config[key] == (list(good) if isinstance(good, tuple) else good)
        if cls.kind != "torch":  # an estimator has no forward pass; tests/test_model_contract.py fits them
            assert cls.from_config(json.loads(json.dumps(config))).get_config() == config
            continue
        for mode in (model.train, model.eval):
            y = mode()(torch.randn(2, 72, 3))
            assert y.shape == (2, 1) and torch.isfinite(y).all(), (key, good)
        assert cls.weight_count(**{k: v for k, v in config.items() if k != "name"}) == count_params(model)
        assert cls.from_config(json.loads(json.dumps(config))).get_config() == config


def test_ints_are_accepted_for_rates_and_stored_as_floats():
    model = build_model("lstm_dropout", 14, dropout=0, recurrent_dropout=0, output_dropout=0)
    assert model.get_config()["dropout"] == 0.0 and isinstance(model.dropout, float)


@pytest.mark.parametrize("name", list(MODELS))
def test_bad_n_features_and_sequence_length(name, no_layers):
    for bad in (True, False, 0, -1, 2.5, "14", None, [14]):
        with pytest.raises(ForecastlabError, match="n_features must be an integer >= 1") as info:
            build_model(name, bad, 120)
        assert info.value.where == f"model {name!r} parameter 'n_features'"
    for bad in (True, 0, -5, 120.0, "120", [120]):
        with pytest.raises(ForecastlabError, match="sequence_length must be an integer >= 1 or null"):
            build_model(name, 14, bad)


WIDE = [n for n in MODELS if {"units", "filters"} & set(MODELS[n].hyperparameters())]


def test_models_without_a_width_are_refused_when_the_window_makes_them_too_large(no_layers):
    assert set(MODELS) - set(WIDE) == {"lightgbm", "linear", "persistence"}
    with pytest.raises(ForecastlabError, match=r"model 'linear' would have [\d,]+ weights"):
        build_model("linear", 14, 10**8)


@pytest.mark.parametrize("name", WIDE)
def test_oversized_models_are_refused_before_allocating(name, no_layers):
    cls = MODELS[name]
    wide = {k: cls.constraints()[k].max for k in ("units", "filters") if k in cls.hyperparameters()}
    assert wide, f"{name} has no width parameter"
    with pytest.raises(ForecastlabError, match=r"would have [\d,]+ weights, more than the 134,217,728") as info:
        build_model(name, 14, 1000, **wide)
    assert "fewer units" in info.value.fix


def test_the_maximum_says_why_and_floats_say_float():
    with pytest.raises(ForecastlabError, match=r"from 1 to 65,536 \(a wider layer would not fit in memory\), "
                                               r"got 1000000000\b"):
        build_model("dense", 14, 120, units=10**9)
    with pytest.raises(ForecastlabError, match=r"got 1000000000.0 \(a float\)"):
        build_model("dense", 14, 120, units=1e9)
    with pytest.raises(ForecastlabError, match=r"kernel_sizes .* got \[\[24\]\] \(item 0 is \[24\] \(a list\)\)"):
        build_model("conv1d", 14, 120, kernel_sizes=[[24]])


def test_conv1d_kernel_longer_than_the_window():
    with pytest.raises(ForecastlabError, match="too short for kernels \\[200\\]") as info:
        build_model("conv1d", 14, 120, kernel_sizes=[200])
    assert "sequence_length >= 200" in info.value.fix
    model = build_model("conv1d", 14)  # no window length given: checked at forward time instead
    with pytest.raises(ForecastlabError, match="needs windows of 69 steps or more, got 40"):
        model(torch.randn(2, 40, 14))


def test_from_config_refuses_unknown_keys_and_non_objects():
    config = build_model("lstm", 14).get_config()
    with pytest.raises(ForecastlabError, match="no parameter.*unitz") as info:
        MODELS["lstm"].from_config(config | {"unitz": 3})
    assert info.value.where == "model 'lstm' config"
    with pytest.raises(ForecastlabError, match="must be a JSON object"):
        MODELS["lstm"].from_config([1, 2])
    with pytest.raises(ForecastlabError, match="no n_features"):
        MODELS["lstm"].from_config({"name": "lstm", "units": 4})


@pytest.fixture(scope="module")
def jena_csv(tmp_path_factory):
    """20 days of 10-minute rows with the real file's 15 headers and plausible values (as test_cli_train's)."""
    path = tmp_path_factory.mktemp("models-cli") / "mini_jena.csv"
    return write_jena_csv(path)


def test_cli_bad_param_is_one_paragraph_exit_2_and_no_run_dir(jena_csv, tmp_path):
    out = tmp_path / "runs" / "bad"
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="200")
    done = subprocess.run(
        [sys.executable, "-m", "forecastlab", "train", "dense", "--data", str(jena_csv), "--sequence-length", "24",
         "--sampling-rate", "6", "--horizon", "6", "--batch-size", "64", "--param", "units=-3", "--out", str(out),
         "--epochs", "1"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "model 'dense': units must be an integer from 1 to 65,536, got -3" in done.stderr
    assert "Where: --param units" in done.stderr and "units=16 (the default)" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not out.exists() and not out.parent.exists()
