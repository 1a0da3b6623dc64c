"""Ensembles of runs: forecasts equal to the members' combined by hand, a run directory that stands alone once
the members are gone, tampering and mismatched members refused, and the weighted median's definition."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from forecastlab.data import load_series
from forecastlab.errors import ForecastlabError
from forecastlab.training import load_run, predict
from forecastlab.training.ensemble import combine, make_ensemble, parse_weights, weighted_median
from forecastlab.training.ensemble_model import greedy_weights
from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
from forecastlab.training.runner import run_recipe
from run_helpers import write_jena_csv

WINDOW = WindowRecipe(sequence_length=24, sampling_rate=6, horizon=6, batch_size=64)
NAMES = ("dense0", "dense1", "persistence")


def _train(root, csv, name, model, params=None, window=WINDOW, seed=0, feature_set=None):
    recipe = Recipe(ModelRecipe(model, params or {}), DataRecipe(str(csv), feature_set=feature_set), window,
                    TrainingRecipe(epochs=1, max_steps_per_epoch=3, seed=seed))
    run_recipe(recipe, out_dir=root / name, progress=False)
    return root / name


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Three members of two kinds (two tiny dense runs, the persistence model) on one small CSV."""
    root = tmp_path_factory.mktemp("ensemble")
    csv = write_jena_csv(root / "mini.csv", days=20)
    _train(root, csv, "dense0", "dense", {"units": 4}, seed=0)
    _train(root, csv, "dense1", "dense", {"units": 4}, seed=1)
    _train(root, csv, "persistence", "persistence")
    return root


@pytest.fixture(scope="module")
def series(root):
    return load_series(str(root / "mini.csv"))


@pytest.fixture(scope="module")
def members(root, series):
    """Each member's forecasts for every window of the series, computed from its own run directory."""
    return np.stack([predict(load_run(root / n), series.values, times=series.timestamps).astype(np.float64)
                     for n in NAMES])


@pytest.fixture(scope="module")
def mean_run(root):
    result = make_ensemble([root / n for n in NAMES], root / "mean")
    return root / "mean", result


def test_forecasts_equal_the_members_mean_computed_by_hand(root, series, members, mean_run):
    run_dir, result = mean_run
    mean = predict(load_run(run_dir), series.values, times=series.timestamps)
    assert mean.shape == members.shape[1:] and not np.allclose(members[0], members[1])
    np.testing.assert_allclose(mean, members.mean(axis=0), rtol=0, atol=1e-9)

    # The run's scores, every member's and the baseline's, on the same windows as the members' own runs.
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["model"] == "ensemble" and saved["val_mae"] == pytest.approx(result.val["mae"])
    assert result.intervals["test_coverage_all"] > 0
    for member, name in zip(result.members, NAMES, strict=True):
        own = json.loads((root / name / "metrics.json").read_text())
        assert member["val_mae"] == pytest.approx(own["val_mae"], rel=1e-6)
        assert member["test_mae"] == pytest.approx(own["test_mae"], rel=1e-6)
        assert member["weight"] == pytest.approx(1 / 3)
    assert result.baselines["persistence"]["test_mae"] == pytest.approx(result.members[2]["test_mae"], rel=1e-6)


def test_the_weighted_median_equals_the_members_by_hand_and_stands_alone_once_they_are_gone(root, series, members,
                                                                                          tmp_path):
    copies = [shutil.copytree(root / n, tmp_path / n) for n in NAMES]
    make_ensemble(copies, tmp_path / "ens", method="median", weights=[1, 2, 1])
    before = predict(load_run(tmp_path / "ens"), series.values, times=series.timestamps)
    # Integer weights: the median of the forecasts repeated that many times (an independent definition).
    repeated = np.concatenate([members[0:1], members[1:2], members[1:2], members[2:3]])
    np.testing.assert_allclose(before, np.median(repeated, axis=0), rtol=0, atol=1e-9)
    assert not np.allclose(before, members.mean(axis=0))
    meta = json.loads((tmp_path / "ens" / "model" / "ensemble.json").read_text())
    for entry, copy in zip(meta["members"], copies, strict=True):
        assert entry["source"] == str(copy.resolve())
        for rel, digest in entry["files"].items():  # the fingerprints are those of the member's own files
            assert hashlib.sha256((copy / rel).read_bytes()).hexdigest() == digest
        assert "config.json" in entry["files"] and ("best.pt" in entry["files"] or "model/estimator.json" in
                                                    entry["files"])
    for copy in copies:
        shutil.rmtree(copy)
    after = predict(load_run(tmp_path / "ens"), series.values, times=series.timestamps)
    np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("attack", ["flip a weight byte", "edit a member's config", "add a file", "drop a file"])
def test_a_tampered_member_is_refused(mean_run, tmp_path, attack):
    run_dir = shutil.copytree(mean_run[0], tmp_path / "ens")
    member = run_dir / "model" / "members" / "00"
    if attack == "flip a weight byte":
        data = bytearray((member / "best.pt").read_bytes())
        data[len(data) // 2] ^= 1
        (member / "best.pt").write_bytes(bytes(data))
    elif attack == "edit a member's config":
        (member / "config.json").write_text((member / "config.json").read_text() + "\n")
    elif attack == "add a file":
        (member / ".replaced-run").mkdir()
        (member / ".replaced-run" / "best.pt").write_bytes(b"x")
    else:
        (member / "metrics.json").unlink()
    with pytest.raises(ForecastlabError, match="sha256|does not record|lacks") as err:
        load_run(run_dir)
    assert "members/00" in str(err.value)


def test_mismatched_members_and_bad_arguments_are_refused_with_what_to_do(root, mean_run, tmp_path):
    other = _train(tmp_path, root / "mini.csv", "short", "persistence",
                   window=WindowRecipe(sequence_length=24, sampling_rate=6, horizon=3, batch_size=64))
    with pytest.raises(ForecastlabError) as err:
        make_ensemble([root / "dense0", other], tmp_path / "bad")
    text = str(err.value)
    assert f"cannot ensemble {other}" in text and "window.horizons is [3]" in text and "[6]" in text
    assert "Fix: retrain" in text and not (tmp_path / "bad").exists()
    derived = _train(tmp_path, root / "mini.csv", "derived", "persistence", feature_set="weather")
    with pytest.raises(ForecastlabError) as err:  # said by the columns that differ, not two equal prefixes
        make_ensemble([root / "dense0", derived], tmp_path / "bad")
    assert "its data.columns is 22 columns against 14: 11 not in" in err.value.what
    assert "without 3 of" in err.value.what and '"wd (deg)"' in err.value.what
    assert "--feature-set" in err.value.fix
    dirs = [root / "dense0", root / "persistence"]
    for kwargs, needle in [({"weights": [1, 2, 3]}, "3 weights were given for 2 runs"),
                           ({"weights": [0, 0]}, "all 0"), ({"method": "mode"}, "not an ensemble method")]:
        with pytest.raises(ForecastlabError, match=needle):
            make_ensemble(dirs, tmp_path / "bad", **kwargs)
    with pytest.raises(ForecastlabError, match="given twice"):
        make_ensemble([root / "dense0", root / "dense0"], tmp_path / "bad")
    with pytest.raises(ForecastlabError, match="not empty"):  # nothing is overwritten without overwrite=True
        make_ensemble(dirs, mean_run[0])


def test_an_ensemble_is_backtested_without_refit_and_refused_with_it(root, series, mean_run):
    from forecastlab.training.backtest import backtest

    run = load_run(mean_run[0])
    assert len(backtest(run, series, folds=2).folds) == 2
    with pytest.raises(ForecastlabError, match="an ensemble run cannot be refitted before each fold") as err:
        backtest(run, series, folds=2, refit=True)
    assert "without refit=True" in err.value.fix


def test_huge_valid_weights_are_normalized_without_overflow():
    from forecastlab.training.ensemble_model import combine

    stack = np.array([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(combine(stack, [1e308, 1e308]), [2.0, 4.0])
    np.testing.assert_allclose(combine(stack, [1e308, 0.0], method="median"), [1.0, 2.0])


def test_quantiles_are_combined_one_by_one_and_stay_ordered():
    rng = np.random.default_rng(0)
    stack = np.sort(rng.normal(size=(4, 50, 2, 3)), axis=-1)  # 4 members, quantile forecasts ascending
    w = np.array([0.1, 0.2, 0.3, 0.4])
    for method in ("mean", "median"):
        out = combine(stack, w, method)
        assert out.shape == (50, 2, 3) and (np.diff(out, axis=-1) >= 0).all()
        for q in range(3):
            np.testing.assert_allclose(out[..., q], combine(stack[..., q], w, method))
    np.testing.assert_allclose(combine(stack, w, "mean"), np.average(stack, axis=0, weights=w))
    np.testing.assert_allclose(combine(stack, None, "median"), np.median(stack, axis=0))
    # The weighted median: where the cumulative weight passes half; exactly half averages with the next value
    # that carries weight; a zero weight leaves its member out.
    values = np.array([[1.0], [2.0], [10.0]])
    assert weighted_median(values, np.array([0.6, 0.2, 0.2]))[0] == 1.0
    assert weighted_median(values, np.array([0.5, 0.0, 0.5]))[0] == 5.5
    assert weighted_median(values, np.array([0.2, 0.3, 0.5]))[0] == 6.0


def test_greedy_selection_drops_a_member_that_only_hurts_and_mixes_two_that_help():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(400, 2))
    a = y + rng.normal(scale=0.5, size=y.shape)  # two good members with independent errors
    b = y + rng.normal(scale=0.5, size=y.shape)
    bad = y + 3.0 + rng.normal(scale=0.5, size=y.shape)  # biased: never helps
    w = greedy_weights(np.stack([a, b, bad]), y)
    assert w[2] == 0 and w.sum() == pytest.approx(1)
    assert 0.3 <= w[0] <= 0.7 and 0.3 <= w[1] <= 0.7  # independent errors of equal size: about half each
    mae = lambda p: np.abs(p - y).mean()  # noqa: E731
    assert mae(combine(np.stack([a, b, bad]), w)) < min(mae(a), mae(b), mae(np.stack([a, b, bad]).mean(0)))
    # The first round takes the best member alone; ties go to the earlier one.
    np.testing.assert_array_equal(greedy_weights(np.stack([a, a]), y), [1.0, 0.0])
    np.testing.assert_array_equal(greedy_weights(np.stack([bad, a]), y, rounds=1), [0.0, 1.0])
    with pytest.raises(ForecastlabError, match="not all finite"):
        greedy_weights(np.stack([a, np.full_like(a, np.nan)]), y)
    y_nan = y.copy()
    y_nan[0, 0] = np.nan
    with pytest.raises(ForecastlabError, match="no validation windows with finite targets"):
        greedy_weights(np.stack([a, b]), y_nan)


def test_greedy_weights_of_a_run_come_from_its_validation_windows_and_are_saved(root, series, members, tmp_path):
    result = make_ensemble([root / n for n in NAMES], tmp_path / "greedy", weights="greedy_val_mae")
    weights = np.array([m["weight"] for m in result.members])
    run = load_run(tmp_path / "greedy")
    val_mae = [m["val_mae"] for m in result.members]
    assert result.val["mae"] <= min(val_mae) + 1e-9  # never worse on validation than its best member
    assert weights.sum() == pytest.approx(1) and len(set(np.round(weights, 12))) > 1  # not the equal weights
    meta = json.loads((tmp_path / "greedy" / "model" / "ensemble.json").read_text())
    np.testing.assert_allclose(meta["weights"], weights)
    out = predict(run, series.values, times=series.timestamps)
    np.testing.assert_allclose(out, np.tensordot(weights, members, axes=1), rtol=0, atol=1e-9)
    assert parse_weights("greedy-val-mae") == "greedy_val_mae" and parse_weights("Inverse-Val-MAE") == "inverse_val_mae"
    with pytest.raises(ForecastlabError, match="greedy-val-mae"):
        parse_weights("greedy")
