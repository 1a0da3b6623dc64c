"""The head's target transforms, above all `residual`: the change from the last observed value, learned in
a standardized space and added back at prediction, for torch models and estimators alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forecastlab.data import load_series
from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.baselines import compute_baselines
from forecastlab.models.head import Head
from forecastlab.models.losses import parse_loss
from forecastlab.training import load_run, predict, train
from forecastlab.windows import WindowSpec, make_datasets_from_series
from run_helpers import write_jena_csv

SPEC = WindowSpec(24, 6, horizons=(3, 6))


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return load_series(str(write_jena_csv(tmp_path_factory.mktemp("head") / "mini.csv", days=30)))


@pytest.fixture(scope="module")
def datasets(series):
    return make_datasets_from_series(series, SPEC, batch_size=64, seed=0)


def _residual_head(datasets, loss="mse") -> Head:
    from forecastlab.training.engine import make_head

    return make_head(datasets, loss, "residual")


def test_residual_scale_is_fitted_on_the_changes_and_round_trips_exactly(datasets):
    head = _residual_head(datasets)
    t = head.target
    assert (t.kind, t.column) == ("residual", datasets.target_column)
    x, y = next(iter(datasets.val))
    last = x[:, -1, t.column].double() * t.x_std + t.x_mean
    # the scaled targets are the standardized changes from the last observed value
    scaled = head.scaled_targets(y.double(), x)
    assert torch.allclose(scaled * t.scale + t.shift, y.double().reshape(-1, 2) - last[:, None], atol=1e-5)
    # and to_units undoes it exactly, per horizon
    back = head.to_units(scaled[:, :, None], x)[..., 0]
    assert torch.allclose(back, y.double().reshape(-1, 2), atol=1e-4)
    # the scale is the spread of the train windows' changes, not of their levels
    changes = datasets.train.all_targets().double().numpy() - (
        datasets.train.last_inputs(t.column).double().numpy() * t.x_std + t.x_mean)[:, None]
    assert t.scale == pytest.approx(changes.std()) and t.shift == pytest.approx(changes.mean())


def test_a_residual_model_that_outputs_nothing_forecasts_persistence(datasets, series):
    head = _residual_head(datasets)
    x, _ = next(iter(datasets.test))
    raw = torch.full((len(x), head.outputs), -head.target.shift / head.target.scale, dtype=torch.float64)
    point = head.point(raw, x)
    last = x[:, -1, head.target.column].double() * head.target.x_std + head.target.x_mean
    assert torch.allclose(point, last[:, None].expand(-1, 2), atol=1e-6)


def test_residual_needs_the_windows_and_the_target_among_the_inputs(datasets, series):
    head = _residual_head(datasets)
    with pytest.raises(ValueError, match="needs the windows"):
        head.point(torch.zeros(4, head.outputs))
    keep = [i for i, c in enumerate(series.columns) if c != series.target]
    sets = SPEC.make_datasets(series.values[:, keep], series.targets, batch_size=64)
    assert sets.target_column is None
    from forecastlab.training.engine import make_head

    with pytest.raises(ForecastlabError, match="not one of the model's input columns"):
        make_head(sets, "mse", "residual")


def test_residual_head_round_trips_through_its_dict(datasets):
    head = _residual_head(datasets, "quantile:0.1,0.5,0.9")
    again = Head.from_dict(head.to_dict())
    assert again == head
    assert again.loss == parse_loss("quantile:0.1,0.5,0.9")


@pytest.mark.parametrize("model", ["linear", "lightgbm"])
def test_a_residual_run_trains_loads_and_predicts_the_same(model, datasets, series, tmp_path):
    params = {"n_estimators": 30, "num_leaves": 7, "min_child_samples": 20, "num_threads": 1} \
        if model == "lightgbm" else {}
    result = train(model, datasets, epochs=1 if model == "lightgbm" else 2, max_steps_per_epoch=15,
                   target_transform="residual", out_dir=tmp_path / "run", progress=False, model_params=params)
    assert result.config["training"]["target_transform"] == "residual"
    persistence = compute_baselines(series, datasets)["persistence"]["test_mae"]
    # a residual model starts at persistence; a few steps must not take it far from it
    assert result.test["mae"] < 1.5 * persistence
    run = load_run(tmp_path / "run")
    assert run.head.target.kind == "residual"
    rows = datasets.test.start_rows[:8, None] + np.arange(SPEC.sequence_length) * SPEC.sampling_rate
    ours = predict(run, series.values[rows], end_times=datasets.test.times[datasets.test.last_input_rows[:8]])
    from forecastlab.evaluation.metrics import forecast_dataset

    expected, _ = forecast_dataset(result.model, datasets.test, run.head)
    np.testing.assert_allclose(ours[..., 0], expected[:8, :, 0], rtol=1e-5, atol=1e-4)
    # a config whose residual head lost its input column is refused on load, naming the key
    import json

    path = tmp_path / "run" / "config.json"
    config = json.loads(path.read_text())
    del config["head"]["target"]["column"]
    path.write_text(json.dumps(config))
    with pytest.raises(ForecastlabError, match="column"):
        load_run(tmp_path / "run")
