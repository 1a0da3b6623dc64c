"""forecastlab.training.forecast: a finished run's windows, forecasts and scores on its data, exactly as
training scored them."""

from __future__ import annotations

import warnings

import pytest

from forecastlab.errors import GapWindowsWarning
from forecastlab.training import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe, load_run, run_recipe
from forecastlab.training.forecast import evaluate_run, run_datasets, split_forecasts
from forecastlab.training.runner import run_series


@pytest.mark.parametrize("drop", [None, False], ids=["auto-drops", "kept"])
def test_evaluate_scores_the_windows_training_scored_on_a_record_with_breaks(tmp_path, drop):
    """tmy3's 11 month boundaries are breaks: training drops every window across one (auto, on non-Jena
    data) or keeps them (drop_gap_windows=False); evaluate, split_forecasts and the report follow the run's
    own rule, so they give training's window counts and MAE, not those of every window."""
    recipe = Recipe(ModelRecipe("dense", {"units": 4}), DataRecipe("tmy3"),
                    WindowRecipe(lookback="2d", horizons="24h", drop_gap_windows=drop),
                    TrainingRecipe(epochs=1, max_steps_per_epoch=3, seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GapWindowsWarning)
        result = run_recipe(recipe, tmp_path / "run", progress=False)
        run = load_run(tmp_path / "run")
        series = run_series(run)
        sets = run_datasets(run, series)
        scores = evaluate_run(run, series)
        forecasts = split_forecasts(run, series, "test", datasets=sets)
    assert len(series.breaks) == 11
    assert sets.val.num_windows == result.val["n"] and sets.test.num_windows == result.test["n"]
    assert scores["val"]["mae"] == pytest.approx(result.val["mae"], rel=1e-6)
    assert scores["test"]["mae"] == pytest.approx(result.test["mae"], rel=1e-6)
    assert len(forecasts.prediction) == result.test["n"]
    every = run.spec.make_datasets(series.values, series.targets, batch_size=256, breaks=series.breaks,
                                   drop_gap_windows=False)
    if drop is None:  # not vacuous: the dropped windows exist
        assert every.test.num_windows > result.test["n"]
    else:
        assert every.test.num_windows == result.test["n"]
