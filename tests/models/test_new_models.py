"""The models beyond the book's ceiling (issue 10): `tcn`, `nhits`, `patchtst`. Shapes (multi-horizon and
quantile heads included), the TCN's causality and receptive field, N-HiTS's interpolation, config round
trips with identical outputs, refused parameters, and one tiny train -> load_run round trip.

Tiny shapes throughout (batch 4, 24 steps, 3 features): the whole file runs in a few seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from forecastlab.data import load_series
from forecastlab.errors import ForecastlabError
from forecastlab.models import MODELS, build_model, count_params, describe, get_model_class
from forecastlab.models.nhits import NHiTSBlock
from forecastlab.models.tcn import CausalConv1d
from forecastlab.training import load_run, predict, train
from forecastlab.windows import WindowSpec, make_datasets_from_series
from run_helpers import write_jena_csv

B, T, F = 4, 24, 3
SMALL = {
    "tcn": {"filters": 4, "kernel_size": 3, "blocks": 3},
    "nhits": {"units": 8, "pool_sizes": [4, 2, 1]},
    "patchtst": {"patch_len": 8, "stride": 4, "units": 4, "heads": 2, "layers": 1},
    "fcn": {"filters": 4},
}
NEW = list(SMALL)


def _build(name, n_outputs=1, **extra):
    torch.manual_seed(0)
    return build_model(name, F, T, n_outputs=n_outputs, **(SMALL[name] | extra))


def _same(a, b):
    """Exactly equal (torch.testing.assert_close would import torch.distributed: 3 s)."""
    assert a.shape == b.shape and torch.equal(a, b), (a - b).abs().max()


def _x(seed=1, length=T):
    return torch.randn(B, length, F, generator=torch.Generator().manual_seed(seed))


def test_registered_after_the_books_seven_with_the_new_models_defaults():
    names = list(MODELS)
    assert names[:7] == ["dense", "conv1d", "lstm", "lstm_dropout", "gru_stacked", "bilstm", "simple_rnn"]
    for name in NEW:
        assert name in names[7:]
        info = describe(name)
        assert info["kind"] == "torch" and info["target_transform"] == "standardize" and info["book_code"] == ""
        assert info["book_epochs"] >= 1


@pytest.mark.parametrize("name", NEW)
def test_output_shapes_with_one_or_many_outputs(name):
    x = _x()
    for n_outputs in (1, 6, 24 * 3):  # the book's one; H=6 point forecasts; 24 horizons x 3 quantiles
        model = _build(name, n_outputs)
        assert model.n_outputs == n_outputs
        for mode in (model.train, model.eval):
            y = mode()(x)
            assert y.shape == (B, n_outputs) and torch.isfinite(y).all()
    widened = _build(name).with_outputs(6)  # widening a built model is the same as building it wide
    assert widened(x).shape == (B, 6) and widened.get_config()["n_outputs"] == 6
    config = {k: v for k, v in _build(name).get_config().items() if k != "name"}
    assert count_params(_build(name)) == get_model_class(name).weight_count(**config)


@pytest.mark.parametrize("name", NEW)
def test_get_config_round_trip_gives_identical_outputs(name):
    for n_outputs in (1, 6):
        model = _build(name, n_outputs).eval()
        config = json.loads(json.dumps(model.get_config()))
        clone = get_model_class(name).from_config(config)
        assert clone.get_config() == config
        clone.load_state_dict(model.state_dict())  # same architecture, so the same weights fit exactly
        x = _x()
        with torch.no_grad():
            _same(clone.eval()(x), model(x))


# -- tcn: causal, dilated, residual ----------------------------------------------------------------------

def test_causal_conv_output_at_t_ignores_inputs_after_t():
    torch.manual_seed(0)
    conv = CausalConv1d(2, 3, kernel_size=3, dilation=2)
    x = torch.randn(1, 2, 12)
    later = x.clone()
    later[:, :, 7:] += 5.0  # change every input from step 7 on
    a, b = conv(x), conv(later)
    assert a.shape == x.shape[:1] + (3, 12)
    _same(a[:, :, :7], b[:, :, :7])  # symmetric padding would differ here
    assert (a[:, :, 7] - b[:, :, 7]).abs().max() > 1e-3
    # Step 7 reads exactly steps 7, 5 and 3 (dilation 2): changing step 6 or 4 leaves it alone.
    gaps = x.clone()
    gaps[:, :, [4, 6]] += 5.0
    _same(conv(gaps)[:, :, 7], a[:, :, 7])


@pytest.mark.parametrize("t", [0, 9, 23])
def test_tcn_features_are_causal(t):
    model = _build("tcn").eval()
    x = _x()
    changed = x.clone()
    changed[:, t:, :] = torch.randn(B, T - t, F)
    with torch.no_grad():
        a, b = model.features(x), model.features(changed)
    assert a.shape == (B, 4, T)
    _same(a[:, :, :t], b[:, :, :t])
    assert (a[:, :, t] - b[:, :, t]).abs().max() > 0


def test_tcn_receptive_field_and_dilations():
    model = _build("tcn", blocks=2, kernel_size=2).eval()  # dilations 1, 2: 1 + 2 * 1 * 3 = 7 steps
    assert model.receptive_field() == 7
    assert [block.conv1.dilation[0] for block in model.tcn] == [1, 2]
    assert model.tcn[0].skip is not None and model.tcn[1].skip is None  # 1x1 conv only where widths differ
    x = _x()
    with torch.no_grad():
        base = model(x)
        outside, inside = x.clone(), x.clone()
        outside[:, : T - 7] += 3.0  # every step older than the receptive field
        inside[:, T - 7] += 3.0  # the oldest step inside it
        _same(model(outside), base)
        assert (model(inside) - base).abs().max() > 0


@pytest.mark.parametrize("length", [1, 5, 24, 37])
def test_tcn_fast_forward_equals_the_last_step_of_the_full_computation(length):
    model = _build("tcn", blocks=4).eval()
    x = _x(length=length)
    with torch.no_grad():
        assert torch.allclose(model(x), model.out(model.features(x)[:, :, -1]), rtol=1e-6, atol=1e-6)


# -- nhits: pooling, backcast residual, hierarchical interpolation --------------------------------------

def test_nhits_coarse_stacks_forecast_few_coefficients_interpolated_to_the_horizons():
    model = _build("nhits", 24)
    assert [block.forecast.out_features for block in model.stacks] == [6, 12, 24]  # ceil(24 / pool)
    torch.manual_seed(0)
    block = NHiTSBlock(F, T, pool=8, units=8, layers=2, dropout=0.0, n_coefficients=3).eval()
    with torch.no_grad():
        backcast, forecast = block(_x(), 9)
    assert backcast.shape == (B, T, F) and forecast.shape == (B, 9)
    # 3 knots linearly interpolated to 9 points (knots at 0, 4, 8): straight lines between the knots.
    second = forecast[:, 2:] - 2 * forecast[:, 1:-1] + forecast[:, :-2]
    assert second[:, [0, 1, 2, 4, 5, 6]].abs().max() < 1e-5


def test_nhits_blocks_see_the_residual_of_the_earlier_backcasts():
    model = _build("nhits").eval()
    seen = []
    for block in model.stacks:
        block.register_forward_pre_hook(lambda mod, args: seen.append(args[0].clone()))
    x = _x()
    with torch.no_grad():
        model(x)
        first_backcast, _ = model.stacks[0](x, 1)
    _same(seen[0], x)
    assert torch.allclose(seen[1], x - first_backcast)


# -- refused parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "params", "needle"), [
    ("tcn", {"filters": 0}, "filters must be an integer from 1 to 4,096"),
    ("tcn", {"kernel_size": 1}, "kernel_size must be an integer from 2 to 64"),
    ("tcn", {"blocks": 17}, "blocks must be an integer from 1 to 16"),
    ("tcn", {"dropout": 1.0}, "dropout must be a number in [0, 1)"),
    ("nhits", {"pool_sizes": [0]}, "pool_sizes must be a list of 1 to 16 integers"),
    ("nhits", {"units": 2.5}, "units must be an integer"),
    ("nhits", {"layers": 0}, "layers must be an integer from 1 to 64"),
    ("patchtst", {"heads": 0}, "heads must be an integer from 1 to 64"),
    ("patchtst", {"stride": "4"}, "stride must be an integer"),
    ("patchtst", {"patch_len": 30}, "patch_len 30 is longer than the window (24 steps)"),
])
def test_bad_parameters_are_forecastlab_errors(name, params, needle):
    with pytest.raises(ForecastlabError) as info:
        build_model(name, F, T, **params)
    assert needle in info.value.what, info.value.what
    assert info.value.fix


@pytest.mark.parametrize("name", ["nhits", "patchtst"])
def test_flattening_models_need_their_window_length(name):
    with pytest.raises(ForecastlabError, match="needs sequence_length"):
        build_model(name, F)
    with pytest.raises(ForecastlabError, match=f"built for windows of {T} steps, got 30"):
        _build(name)(_x(length=30))
    with pytest.raises(ForecastlabError, match="n_outputs must be an integer"):
        _build(name).with_outputs(0)


# -- one tiny end-to-end run --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    series = load_series(str(write_jena_csv(tmp_path_factory.mktemp("new-models") / "mini.csv", days=20)))
    return series, make_datasets_from_series(series, WindowSpec(24, 6, horizons=(3, 6)), batch_size=64, seed=0)


def test_train_and_load_run_give_the_same_predictions(tiny, tmp_path):
    """nhits (the recommended one, docs/models.md) with 2 horizons x 3 quantiles: the interpolated head."""
    series, datasets = tiny
    name, params = "nhits", {"units": 8}
    result = train(name, datasets, epochs=1, out_dir=tmp_path / name, progress=False, max_steps_per_epoch=3,
                   model_params=params, loss="quantile:0.1,0.5,0.9")
    assert result.config["training"]["target_transform"] == "standardize" and np.isfinite(result.test["mae"])
    run = load_run(tmp_path / name)
    assert type(run.model) is type(result.model) and run.model.get_config() == result.model.get_config()
    x, _ = datasets.test.gather(datasets.test.start_positions[:5])
    with torch.no_grad():
        _same(run.model(x), result.model.eval()(x))
    forecasts = predict(run, series.values, last=2, times=series.timestamps)
    assert forecasts.shape == (2, 2, 3) and (np.diff(forecasts, axis=-1) >= 0).all()
