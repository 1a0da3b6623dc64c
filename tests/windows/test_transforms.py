"""Feature transforms before the normalization: parsed by column name, applied in training and in every
later use of the run (predict, evaluate, backtest) through the normalizer it is saved in."""

from __future__ import annotations

import json

import numpy as np
import pytest

from forecastlab.data import load_series
from forecastlab.errors import ForecastlabError
from forecastlab.training import load_run, predict
from forecastlab.windows import Normalizer, WindowSpec, make_datasets_from_series
from forecastlab.windows.transforms import parse_transforms
from run_helpers import clean_error, cli, write_jena_csv

COLUMNS = ["p (mbar)", "T (degC)", "rh (%)", "wv (m/s)"]


def test_transforms_are_parsed_by_column_name_and_refuse_what_they_cannot_do():
    assert parse_transforms("log1p:rh (%),wv (m/s); asinh:p (mbar)", COLUMNS, "T (degC)") == {
        2: "log1p", 3: "log1p", 0: "asinh"}
    assert parse_transforms(None, COLUMNS) == {} and parse_transforms(" ", COLUMNS) == {}
    for text, what in (("log2:rh (%)", "bad feature transform"), ("log1p", "bad feature transform"),
                       ("log1p:nope", "'nope', which is not an input column"),
                       ("sqrt:T (degC)", "target column 'T (degC)' cannot be transformed"),
                       ("sqrt:rh (%);log1p:rh (%)", "two transforms")):
        with pytest.raises(ForecastlabError, match=what.replace("(", r"\(").replace(")", r"\)")):
            parse_transforms(text, COLUMNS, "T (degC)")


def test_the_normalizer_applies_saves_and_undoes_its_transforms():
    rng = np.random.default_rng(0)
    values = np.column_stack([rng.normal(1000, 5, 500), rng.gamma(0.5, 2.0, 500)])
    norm = Normalizer(transforms={1: "log1p"}).fit(values, end=300)
    logged = values.copy()
    logged[:, 1] = np.log1p(values[:, 1])
    np.testing.assert_allclose(norm.mean_, logged[:300].mean(axis=0))
    np.testing.assert_allclose(norm.transform(values), ((logged - norm.mean_) / norm.std_).astype(np.float32),
                               rtol=1e-6)
    np.testing.assert_allclose(norm.inverse_transform(norm.transform(values)), values, rtol=1e-4, atol=1e-4)
    again = Normalizer.from_dict(json.loads(json.dumps(norm.to_dict())))
    assert again.transforms == {1: "log1p"} and "transforms" not in Normalizer().fit(values).to_dict()
    bad = values.copy()
    bad[42, 1] = -3.0
    with pytest.raises(ForecastlabError, match="log1p needs values greater than -1") as err:
        norm.transform(bad)
    assert err.value.where == "row 42, column 1"


def test_a_run_trained_with_a_transform_uses_it_everywhere(tmp_path):
    csv = write_jena_csv(tmp_path / "mini.csv", days=20)
    run = tmp_path / "run"
    done = cli("train", "dense", "--data", csv, "--sequence-length", "24", "--sampling-rate", "6", "--horizon", "6",
               "--batch-size", "64", "--max-steps-per-epoch", "3", "--param", "units=4", "--no-progress",
               "--epochs", "1", "--transform", "log1p:rh (%);asinh:wd (deg)", "--out", run, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = json.loads((run / "config.json").read_text())
    series = load_series(str(csv))
    columns = list(series.columns)
    assert config["normalizer"]["transforms"] == {str(columns.index("rh (%)")): "log1p",
                                                  str(columns.index("wd (deg)")): "asinh"}
    assert config["extra"]["recipe"]["data"]["transforms"] == "log1p:rh (%);asinh:wd (deg)"
    loaded = load_run(run)
    # predict() takes raw values: the run's transforms and normalization are applied to them.
    raw = series.values[-loaded.span_rows:][::6].astype(np.float64)
    raw[:, columns.index("rh (%)")] = np.log1p(raw[:, columns.index("rh (%)")])
    raw[:, columns.index("wd (deg)")] = np.arcsinh(raw[:, columns.index("wd (deg)")])
    x = ((raw - loaded.normalizer.mean_) / loaded.normalizer.std_).astype(np.float32)[None]
    import torch

    with torch.inference_mode():
        want = loaded.model(torch.from_numpy(x)).numpy().reshape(-1)
    np.testing.assert_allclose(predict(loaded, series.values, last=1)[0, 0], want, rtol=1e-5)
    # The datasets of make_datasets_from_series(transforms=...) are the run's windows.
    sets = make_datasets_from_series(series, WindowSpec(24, 6, 6), batch_size=64,
                                     transforms="log1p:rh (%);asinh:wd (deg)")
    np.testing.assert_allclose(sets.normalizer.mean_, loaded.normalizer.mean_)
    assert cli("evaluate", run, cwd=tmp_path).returncode == 0
    clean_error(cli("train", "dense", "--data", csv, "--transform", "log1p:T (degC)", "--out", tmp_path / "x",
                    cwd=tmp_path), "cannot be transformed", "--transform")
