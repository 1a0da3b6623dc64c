"""The run recipe: one typed, versioned value that train() records, the CLI parses its options into, and
--resume, predict, evaluate and backtest read back the same way from Python and from the CLI."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from forecastlab.errors import ForecastlabError
from forecastlab.training import (
    DataRecipe,
    ModelRecipe,
    Recipe,
    TrainingRecipe,
    WindowRecipe,
    load_run,
    recipe_of,
    run_recipe,
    run_series,
)
from forecastlab.training.forecast import evaluate_run
from run_helpers import FIXTURES, cli, strict_json, write_jena_csv


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    return write_jena_csv(tmp_path_factory.mktemp("recipe") / "mini.csv", days=30)


def _recipe(csv) -> Recipe:
    return Recipe(ModelRecipe("dense", {"units": 4}), DataRecipe(str(csv)),
                  WindowRecipe(lookback="4h", sample_every="1h", horizons="1h,3h", batch_size=64),
                  TrainingRecipe(epochs=1, max_steps_per_epoch=5, loss="mae"))


def test_a_recipe_round_trips_through_dict_and_toml(csv, tmp_path):
    recipe = _recipe(csv)
    again = Recipe.from_dict(json.loads(json.dumps(recipe.to_dict())))
    assert again == recipe
    toml = tmp_path / "r.toml"
    toml.write_text(f'[model]\nname = "dense"\n[model.params]\nunits = 4\n[data]\ndata = "{csv}"\n'
                    '[window]\nlookback = "4h"\nsample_every = "1h"\nhorizons = "1h,3h"\nbatch_size = 64\n'
                    '[training]\nepochs = 1\nmax_steps_per_epoch = 5\nloss = "mae"\n[output]\nout = "x"\n')
    assert Recipe.from_toml(toml) == recipe  # the CLI's [output] table is the command's, not the recipe's


@pytest.mark.parametrize(("edit", "what", "key"), [
    (lambda d: d["data"].__setitem__("dat", "x.csv"), "is not a key of [data]", "data.dat"),
    (lambda d: d["training"].__setitem__("epochs", "3"), "must be int", "training.epochs"),
    (lambda d: d["training"].__setitem__("seed", True), "must be int", "training.seed"),
    (lambda d: d["window"].__setitem__("batch_size", None), "null is not allowed", "window.batch_size"),
    (lambda d: d.__setitem__("version", 9), "newer forecastlab", "version"),
    (lambda d: d.__setitem__("outputs", {}), "is not a recipe section", "outputs"),
    (lambda d: d["model"].pop("name"), "must name a registered model", "model.name"),
    (lambda d: d["model"].__setitem__("params", [1]), "table of model parameters", "model.params"),
], ids=["unknown-key", "string-for-int", "bool-for-int", "null", "newer", "unknown-section", "no-model",
        "params-list"])
def test_every_bad_field_names_the_key(csv, edit, what, key):
    raw = _recipe(csv).to_dict()
    edit(raw)
    with pytest.raises(ForecastlabError) as err:
        Recipe.from_dict(raw, where="r.toml")
    assert what in err.value.what and err.value.where == f"r.toml, key {key}", err.value


def test_run_recipe_records_the_recipe_and_the_run_reads_its_own_data_back(csv, tmp_path):
    result = run_recipe(_recipe(csv), tmp_path / "run", progress=False)
    run = load_run(tmp_path / "run")
    assert run.recipe.as_input() == dataclasses.replace(_recipe(csv), data=DataRecipe(str(Path(csv).resolve())))
    provenance = run.recipe.provenance
    assert provenance["data"]["provenance"]["sha256"] == run.config["data"]["provenance"]["sha256"]
    assert provenance["data"]["rows"] == 30 * 144 and "torch" in provenance["versions"]
    assert run.recipe.training.epochs == 1 and run.spec.steps == (1, 3)
    series = run_series(run)
    assert series.provenance.path == str(Path(csv).resolve())
    assert evaluate_run(run, series)["test"]["mae"] == pytest.approx(result.test["mae"])
    # The CLI reads the same recipe: evaluate without --data scores the run's own file.
    done = cli("evaluate", tmp_path / "run", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert strict_json(done.stdout)["test"]["mae"] == pytest.approx(result.test["mae"])
    # And --resume continues it with that recipe.
    done = cli("train", "--resume", tmp_path / "run", "--epochs", "2", "--json", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [r["epoch"] for r in strict_json(done.stdout)["history"]] == [1, 2]
    assert load_run(tmp_path / "run").recipe.training.epochs == 2


def test_the_cli_parses_its_options_into_the_same_recipe(csv, tmp_path):
    done = cli("train", "dense", "--data", csv, "--lookback", "4h", "--sample-every", "1h", "--horizons", "1h,3h",
               "--batch-size", "64", "--epochs", "1", "--max-steps-per-epoch", "5", "--loss", "mae",
               "--param", "units=4", "--no-progress", "--out", tmp_path / "cli", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    from_cli = load_run(tmp_path / "cli").recipe.as_input()
    assert from_cli == dataclasses.replace(_recipe(csv), data=DataRecipe(str(Path(csv).resolve())))
    run_recipe(_recipe(csv), tmp_path / "py", progress=False)
    a = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    b = json.loads((tmp_path / "py" / "metrics.json").read_text())
    assert a["test_mae"] == b["test_mae"] and a["val_mae_by_horizon"] == b["val_mae_by_horizon"]


def test_runs_made_before_recipes_get_theirs_rebuilt(csv, tmp_path):
    # Format 1, written by the CLI before recipes existed: from its CLI section.
    fixture = tmp_path / "format1"
    shutil.copytree(FIXTURES / "run_format1", fixture)
    config = json.loads((fixture / "config.json").read_text())
    recipe = recipe_of(config)
    assert recipe.model.name == config["model"]["name"] and recipe.training.seed == config["training"]["seed"]
    assert recipe.window.sequence_length == config["extra"]["cli"]["window_args"]["sequence_length"]
    # A run trained from Python on a Series, with no recipe: from the data's provenance.
    from forecastlab.data import load_series
    from forecastlab.training import describe_series, train
    from forecastlab.windows import WindowSpec, make_datasets_from_series

    series = load_series(str(csv))
    sets = make_datasets_from_series(series, WindowSpec(4, 6, 3), batch_size=64)
    train("dense", sets, epochs=1, out_dir=tmp_path / "py", progress=False, max_steps_per_epoch=3,
          extra_config={"data": describe_series(series)})
    run = load_run(tmp_path / "py")
    assert run.recipe.data.data == str(Path(csv).resolve()) and run.recipe.window.sequence_length == 4
    np.testing.assert_array_equal(run_series(run).values, series.values)
    # Datasets made by hand say nothing about their data: run_series asks for it.
    sets = WindowSpec(4, 6, 3).make_datasets(series.values, series.targets, batch_size=64)
    train("dense", sets, epochs=1, out_dir=tmp_path / "bare", progress=False, max_steps_per_epoch=3)
    with pytest.raises(ForecastlabError, match="does not say where this run's data came from"):
        run_series(load_run(tmp_path / "bare"))
    assert run_series(load_run(tmp_path / "bare"), data=str(csv)).values.shape == series.values.shape


def test_any_recipe_document_loads_or_fails_cleanly(csv):
    """Random values in every field of a valid recipe: a Recipe, or a ForecastlabError naming a key; never
    another exception."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    base = _recipe(csv).to_dict()
    fields = [(section, key) for section in ("data", "window", "training") for key in base[section]]
    junk = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                     st.text(max_size=20), st.lists(st.integers(), max_size=3),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(fields), junk), min_size=1, max_size=4))
    def check(edits):
        raw = json.loads(json.dumps(base))
        for (section, key), value in edits:
            raw[section][key] = value
        try:
            Recipe.from_dict(raw, where="r.toml")
        except ForecastlabError as err:
            assert err.where.startswith("r.toml, key "), err

    check()


def test_a_horizon_below_one_step_is_named_as_horizon():
    from forecastlab.training.recipe import WindowRecipe

    for bad in (0, -3):
        with pytest.raises(ForecastlabError) as err:
            WindowRecipe(horizon=bad).spec()
        assert err.value.arg == "horizon" and "1 or more" in err.value.what


def test_a_public_record_run_reads_other_data_with_the_target_it_was_trained_on(tmp_path):
    """A run on a public record names no target (the record's default): evaluate, anomalies and backtest with
    --data FILE read the file through run_series, which must use the run's target instead of refusing with
    'it is not clear which column to forecast'."""
    import warnings

    import pandas as pd

    from forecastlab.data import load_series
    from forecastlab.errors import DataQualityWarning
    from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
    from forecastlab.training.runner import run_recipe, run_series

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        run_recipe(Recipe(ModelRecipe("dense", {"units": 4}), DataRecipe("nyc-jfk"), WindowRecipe(lookback="1d"),
                          TrainingRecipe(epochs=1, max_steps_per_epoch=2, seed=0)), out_dir=tmp_path / "run",
                   progress=False)
        series = load_series("nyc-jfk")
    run = load_run(tmp_path / "run")
    assert run.recipe.data.target is None
    recent = pd.DataFrame(series.values[-200:], columns=series.columns)
    recent.insert(0, "time", pd.to_datetime(series.timestamps[-200:]).tz_localize("UTC"))
    recent.to_csv(tmp_path / "recent.csv", index=False)
    again = run_series(run, data=str(tmp_path / "recent.csv"))
    assert again.target == "Temperature (degC)" and len(again) == 200
    assert run_series(run, data=str(tmp_path / "recent.csv"), target="Dew point (degC)").target == "Dew point (degC)"
