"""Backtesting: rolling-origin folds over one lazily cut set of windows, the baselines on the same windows,
refits that see only the past, and the CLI for a run directory and for a model name."""

from __future__ import annotations

import json

import numpy as np
import pytest

from forecastlab.data import load_series
from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.baselines import WindowRows, persistence
from forecastlab.evaluation.metrics import forecast_dataset
from forecastlab.training import backtest, load_run, train
from forecastlab.training.backtest import _all_windows
from forecastlab.windows import WindowSpec, make_datasets_from_series
from run_helpers import clean_error, cli, strict_json, write_jena_csv

SPEC = WindowSpec(24, 6, horizons=(3, 6))
GBM = {"n_estimators": 30, "num_leaves": 7, "min_child_samples": 20, "num_threads": 1}


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    return write_jena_csv(tmp_path_factory.mktemp("bt") / "mini.csv", days=40)


@pytest.fixture(scope="module")
def series(csv):
    return load_series(str(csv))


@pytest.fixture(scope="module")
def run_dir(series, tmp_path_factory):
    out = tmp_path_factory.mktemp("bt-run") / "gbm"
    datasets = make_datasets_from_series(series, SPEC, batch_size=64, seed=0)
    train("lightgbm", datasets, epochs=1, out_dir=out, progress=False, model_params=GBM,
          extra_config={"data": {"target": series.target}})
    return out


def test_folds_split_the_test_period_and_score_the_same_windows_as_the_baselines(series, run_dir):
    run = load_run(run_dir)
    result = backtest(run, series, folds=4)
    folds = result.folds
    assert [f["fold"] for f in folds] == [1, 2, 3, 4] and result.horizons == [3, 6]
    # Consecutive, non-overlapping origin ranges that start where the test period starts.
    sizes = run.config["data"]["sizes"]
    assert folds[0]["rows"][0] == sizes[0] + sizes[1]
    assert all(a["rows"][1] + 1 == b["rows"][0] for a, b in zip(folds, folds[1:], strict=False))
    windows = _all_windows(series, run.spec, run.normalizer, 64, 0)
    origins = windows.last_input_rows
    total = int(((origins >= folds[0]["rows"][0]) & (origins <= folds[-1]["rows"][1])).sum())
    assert sum(f["windows"] for f in folds) == total
    for fold in folds:
        part = windows.subset((origins >= fold["rows"][0]) & (origins <= fold["rows"][1]))
        pred, y = forecast_dataset(run.model, part, run.head)
        np.testing.assert_allclose(fold["mae"]["lightgbm"]["by_horizon"], np.abs(pred[..., 0] - y).mean(axis=0))
        book = persistence(series.targets, WindowRows.of(part, run.spec))
        assert fold["mae"]["persistence"]["all"] == pytest.approx(book[0])
        assert 0.5 < fold["intervals"]["coverage_all"] <= 1
    mean = np.mean([f["mae"]["lightgbm"]["all"] for f in folds])
    assert result.summary["mae"]["lightgbm"]["mean"] == pytest.approx(mean)
    assert result.summary["mae"]["lightgbm"]["std"] == pytest.approx(np.std([f["mae"]["lightgbm"]["all"]
                                                                            for f in folds], ddof=1))
    table = result.table()
    assert len(table) == 4 * 4 and list(table.columns[-2:]) == ["mae_h3", "mae_h6"]


def test_a_refit_sees_only_rows_before_its_fold_and_the_window_grows(series):
    result = backtest("lightgbm", series, folds=3, refit=True, spec=SPEC, batch_size=64,
                      train_options={"model_params": GBM})
    fits = [f["fit"] for f in result.folds]
    for fold, fit in zip(result.folds, fits, strict=True):
        assert fit["last_target_row"] < fold["rows"][0]  # no target of the fold (or later) was seen
    assert fits[0]["train_windows"] < fits[1]["train_windows"] < fits[2]["train_windows"]  # expanding
    single = backtest("lightgbm", series, folds=3, refit=False, spec=SPEC, batch_size=64,
                      train_options={"model_params": GBM})
    assert [f["fit"] for f in single.folds] == [fits[0]] * 3
    assert single.folds[0]["mae"] == result.folds[0]["mae"]  # fold 1: the same fit either way
    assert single.folds[2]["mae"]["lightgbm"] != result.folds[2]["mae"]["lightgbm"]


def test_backtest_refuses_impossible_folds(series, run_dir, tmp_path):
    with pytest.raises(ForecastlabError, match="folds must be an integer from 1 to 100"):
        backtest(load_run(run_dir), series, folds=0)
    short = load_series(str(write_jena_csv(tmp_path / "short.csv", days=9)))
    far = WindowSpec(2, 1, 300)  # 9 days, a target 300 rows ahead: about 24 forecast origins after training
    with pytest.raises(ForecastlabError, match="too few forecast origins for 50 folds"):
        backtest("persistence", short, folds=50, spec=far)
    assert len(backtest("persistence", short, folds=5, spec=far).folds) == 5
    with pytest.raises(ForecastlabError, match="unknown model"):
        backtest("nope", series)
    with pytest.raises(ForecastlabError, match="epochs must be an integer of at least 1, got 0"):
        backtest("dense", short, folds=2, spec=far, train_options={"epochs": 0, "max_steps_per_epoch": 2})


def test_cli_backtests_a_run_and_a_model_name(csv, run_dir, tmp_path):
    done = cli("backtest", run_dir, "--folds", "3", "--json", "--plot", tmp_path / "bt.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = strict_json(done.stdout)
    assert out["model"] == "lightgbm" and len(out["folds"]) == 3 and out["refit"] is False
    assert set(out["summary"]["mae"]) == {"lightgbm", "persistence", "seasonal_persistence", "climatology"}
    assert (tmp_path / "bt.png").read_bytes()[:4] == b"\x89PNG" and out["plot"] == str(tmp_path / "bt.png")
    done = cli("backtest", run_dir, "--folds", "3", cwd=tmp_path)
    assert done.returncode == 0 and "mean" in done.stdout and "seasonal" in done.stdout
    done = cli("backtest", "persistence", "--data", csv, "--lookback", "4h", "--sample-every", "1h",
               "--horizons", "1h", "--batch-size", "64", "--folds", "2", "--refit", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    # The persistence model is the persistence baseline, on every fold.
    for fold in out["folds"]:
        assert fold["mae"]["model:persistence"]["all"] == pytest.approx(fold["mae"]["persistence"]["all"], rel=1e-5)
    clean_error(cli("backtest", run_dir, "--horizons", "6h", cwd=tmp_path), "--horizons cannot be given with a run")
    clean_error(cli("backtest", run_dir, "--plot", tmp_path / "bt.png", cwd=tmp_path), "already exists")
    clean_error(cli("backtest", run_dir, "--plot", tmp_path / "bt.txt", cwd=tmp_path),  # PNG bytes into a .txt
                "--plot writes an image, and 'bt.txt' does not end like one", ".png")
    assert not (tmp_path / "bt.txt").exists()
    clean_error(cli("backtest", run_dir, "--plot", tmp_path, cwd=tmp_path), "--plot is a directory", "plot.png")
