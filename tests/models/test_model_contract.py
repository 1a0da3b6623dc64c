"""One contract for every kind of model: fit returns self, predict gives (N, H, Q) in the target's units,
save/load round-trips exactly without pickle, get_params is JSON; and train(), load_run, evaluate, predict,
backtest and the leaderboard treat torch models, estimators and baselines the same way."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from forecastlab.data import load_series
from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.baselines import compute_baselines
from forecastlab.models import MODELS, Forecaster, build_model, describe
from forecastlab.models.contract import Estimator
from forecastlab.models.gbm import LightGBMModel
from forecastlab.models.head import Head
from forecastlab.models.losses import parse_loss
from forecastlab.models.naive import PersistenceModel
from forecastlab.training import TorchForecaster, load_run, predict, train
from forecastlab.training.forecast import evaluate_run, forecast_table
from forecastlab.windows import WindowSpec, make_datasets_from_series
from run_helpers import write_jena_csv

SPEC = WindowSpec(24, 6, horizons=(3, 6))
SMALL_GBM = {"n_estimators": 40, "num_leaves": 7, "min_child_samples": 20, "num_threads": 1}


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return load_series(str(write_jena_csv(tmp_path_factory.mktemp("contract") / "mini.csv", days=40)))


@pytest.fixture(scope="module")
def datasets(series):
    return make_datasets_from_series(series, SPEC, batch_size=64, seed=0)


def _kinds():
    return [
        ("torch", lambda: TorchForecaster("linear", epochs=2, max_steps_per_epoch=20, seed=0)),
        ("estimator", lambda: LightGBMModel(14, 24, **SMALL_GBM)),
        ("baseline", lambda: PersistenceModel(14, 24)),
    ]


@pytest.mark.parametrize(("kind", "make"), _kinds(), ids=[k for k, _ in _kinds()])
def test_every_kind_fits_predicts_saves_and_loads_the_same_way(kind, make, datasets, tmp_path):
    forecaster = make()
    assert isinstance(forecaster, Forecaster)
    assert forecaster.fit(datasets) is forecaster
    forecasts = forecaster.predict(datasets.test)
    assert forecasts.shape == (datasets.test.num_windows, 2, 1) and np.isfinite(forecasts).all()
    # In the target's units: the errors are of the data's size, not of a standardized scale's.
    err = np.abs(forecasts[..., 0] - datasets.test.all_targets().numpy()).mean()
    assert 0.05 < err < 10
    params = forecaster.get_params()
    json.dumps(params)
    folder = forecaster.save(tmp_path / "saved")
    assert not any(p.suffix in (".pkl", ".pickle", ".pt") for p in folder.iterdir())
    again = type(forecaster).load(folder)
    assert again.get_params() == params
    np.testing.assert_array_equal(again.predict(datasets.test), forecasts)
    # An array of windows gives what the dataset gives (estimators with calendar terms get end_times).
    x, _ = datasets.test.gather(datasets.test.start_positions[:5])
    ends = datasets.test.times[datasets.test.last_input_rows[:5]]
    np.testing.assert_allclose(again.predict(x.numpy(), end_times=ends), forecasts[:5], rtol=1e-6)


def test_the_persistence_model_is_the_books_baseline_on_the_same_windows(series, datasets):
    model = PersistenceModel(14, 24).fit(datasets)
    book = compute_baselines(series, datasets)["persistence"]
    for split in ("val", "test"):
        pred = model.predict(getattr(datasets, split))[..., 0]
        mae = np.abs(pred - getattr(datasets, split).all_targets().numpy()).mean(axis=0)
        np.testing.assert_allclose(mae, book[f"{split}_mae_by_horizon"], rtol=1e-5)


def test_lightgbm_saves_lightgbm_text_files_and_checks_them(datasets, tmp_path):
    model = LightGBMModel(14, 24, **SMALL_GBM).with_head(
        Head(2, parse_loss("quantile:0.1,0.5,0.9"))).fit(datasets)
    forecasts = model.predict(datasets.test)
    assert forecasts.shape[-1] == 3 and (np.diff(forecasts, axis=-1) >= 0).all()  # quantiles never cross
    folder = model.save(tmp_path / "gbm")
    boosters = sorted(p.name for p in folder.glob("booster-*.txt"))
    assert len(boosters) == 6  # the direct strategy: one booster per horizon and quantile
    import lightgbm

    text = (folder / boosters[0]).read_text()
    assert text.startswith("tree") and lightgbm.Booster(model_str=text).num_feature() == len(model.feature_names())
    (folder / boosters[0]).write_text(text.replace("num_leaves=", "num_leaves=9", 1))
    with pytest.raises(ForecastlabError, match="sha256"):
        Estimator.load(folder)


def test_an_estimator_refuses_what_does_not_apply(datasets):
    with pytest.raises(ForecastlabError, match="epochs=3 does not apply"):
        train("lightgbm", datasets, epochs=3, progress=False)
    with pytest.raises(ForecastlabError, match="optimizer='adam' does not apply") as err:
        train("lightgbm", datasets, epochs=1, optimizer="adam", progress=False)
    assert err.value.arg == "optimizer"
    with pytest.raises(ForecastlabError, match="lr_schedule does not apply"):
        train("lightgbm", datasets, epochs=1, lr_schedule="cosine", progress=False)
    with pytest.raises(ForecastlabError, match="cannot fit the loss"):
        train("persistence", datasets, epochs=1, loss="quantile", progress=False)
    with pytest.raises(ForecastlabError, match="n_estimators must be an integer"):
        build_model("lightgbm", 14, 24, n_estimators=0)
    model = LightGBMModel(14, 24, **SMALL_GBM).fit(datasets)
    with pytest.raises(ForecastlabError, match="last input time"):
        model.predict(np.zeros((2, 24, 14), dtype=np.float32))


def test_registry_lists_every_kind_with_its_default_target_transform():
    kinds = {name: describe(name)["kind"] for name in MODELS}
    assert kinds["lightgbm"] == kinds["persistence"] == "estimator" and kinds["linear"] == kinds["lstm"] == "torch"
    assert describe("linear")["target_transform"] == describe("lightgbm")["target_transform"] == "standardize"
    assert all(describe(n)["target_transform"] == "none" for n in ("dense", "conv1d", "lstm", "lstm_dropout",
                                                                     "gru_stacked", "bilstm", "simple_rnn"))
    # the whole first paragraph of the docstring, however it wraps: the book's layers up to the output
    assert describe("gru_stacked")["summary"].startswith("GRU(32, recurrent_dropout=0.5, return_sequences=True) -> "
                                                         "GRU(32, recurrent_dropout=0.5) -> Dropout(0.5) -> Dense(1)")


@pytest.mark.parametrize("name", ["lightgbm", "linear", "persistence"])
def test_every_kind_makes_the_same_run_directory(name, series, datasets, tmp_path):
    params = SMALL_GBM if name == "lightgbm" else {}
    epochs = 2 if name == "linear" else 1
    result = train(name, datasets, epochs=epochs, out_dir=tmp_path / name, progress=False, max_steps_per_epoch=20,
                   model_params=params, extra_config={"data": {"target": series.target}})
    metrics = json.loads((tmp_path / name / "metrics.json").read_text())
    assert metrics["model"] == name and len(metrics["test_mae_by_horizon"]) == 2
    assert 0.7 < metrics["intervals"]["test_coverage_all"] < 0.9
    config = json.loads((tmp_path / name / "config.json").read_text())
    assert config["head"]["target"]["kind"] == ("none" if name == "persistence" else "standardize")
    run = load_run(tmp_path / name)
    assert type(run.model) is type(result.model)
    scores = evaluate_run(run, series)
    assert scores["test"]["mae"] == pytest.approx(result.test["mae"], rel=1e-6)
    table = forecast_table(run, series, last=2)
    assert len(table) == 4 and table["lower"].le(table["prediction"]).all() and table["upper"].ge(
        table["prediction"]).all()
    np.testing.assert_allclose(predict(run, series.values, last=1, times=series.timestamps)[0, :, 0],
                               table["prediction"].to_numpy()[-2:], rtol=1e-6)


def test_a_tampered_estimator_run_is_refused(series, datasets, tmp_path):
    train("lightgbm", datasets, epochs=1, out_dir=tmp_path / "run", progress=False, model_params=SMALL_GBM)
    meta = tmp_path / "run" / "model" / "estimator.json"
    saved = json.loads(meta.read_text())
    saved["config"]["num_leaves"] = 99
    meta.write_text(json.dumps(saved))
    with pytest.raises(ForecastlabError, match="another model than config.json"):
        load_run(tmp_path / "run")
    saved["config"]["num_leaves"] = SMALL_GBM["num_leaves"]
    saved["files"] = {"../../etc/passwd": "0" * 64}
    meta.write_text(json.dumps(saved))
    with pytest.raises(ForecastlabError, match="outside its folder"):
        load_run(tmp_path / "run")


def test_an_interrupted_estimator_fit_leaves_nothing_and_resume_is_refused(datasets, tmp_path):
    run = tmp_path / "gbm"
    train("lightgbm", datasets, epochs=1, out_dir=run, progress=False, model_params=SMALL_GBM)
    with pytest.raises(ForecastlabError, match="cannot be resumed"):
        train("lightgbm", datasets, epochs=1, out_dir=run, resume=True, progress=False, model_params=SMALL_GBM)
    before = sorted(p.name for p in run.iterdir())
    # --overwrite with a fit that fails once the old run is aside puts it back, model folder included.
    no_target = dataclasses.replace(datasets, target_column=None)
    with pytest.raises(ForecastlabError, match="target to be one of the input columns"):
        train("persistence", no_target, epochs=1, out_dir=run, overwrite=True, progress=False)
    assert sorted(p.name for p in run.iterdir()) == before
    assert isinstance(load_run(run).model, LightGBMModel)
