"""The sweep's search space: the built-in file, its checks, and applying values to a recipe."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from forecastlab.errors import ForecastlabError
from forecastlab.models import MODELS
from forecastlab.training.recipe import ModelRecipe, Recipe
from forecastlab.tuning.space import DEFAULT_SPACE, apply, model_space, space_toml


def test_the_default_space_covers_the_chapters_list_for_every_model():
    for name in MODELS:
        dims = {d.key for d in model_space(name)}
        assert {"window.lookback", "window.sample_every", "data.feature_set"} <= dims, name
    lstm = {d.key: d for d in model_space("lstm")}
    # the chapter's list: units, dropout rates, optimizer and learning rate, sequence length and sampling, features
    for key in ("model.params.units", "model.params.recurrent_dropout", "model.params.dropout", "training.optimizer",
                "training.lr"):
        assert key in lstm
    assert lstm["training.lr"].log and lstm["model.params.units"].integer
    gbm = {d.key for d in model_space("lightgbm")}
    assert "training.lr" not in gbm and "model.params.num_leaves" in gbm  # `false` drops a [common] key
    assert "model.params.units" not in {d.key for d in model_space("linear")}  # only models that have units


def test_every_default_dimension_suggests_through_optuna_and_applies():
    study = optuna.create_study()
    for name in MODELS:
        trial = study.ask()
        values = {d.key: d.suggest(trial) for d in model_space(name)}
        recipe = apply(Recipe(ModelRecipe(name)), values)
        assert set(recipe.model.params) == {k.removeprefix("model.params.") for k in values if k.startswith("model.")}
        study.tell(trial, 1.0)


def test_print_space_round_trips_through_a_space_file(tmp_path):
    dims = model_space("tcn")
    path = tmp_path / "space.toml"
    path.write_text(space_toml("tcn", dims))
    assert model_space("tcn", path) == dims


def test_apply_sets_each_section():
    recipe = apply(Recipe(ModelRecipe("lstm", {"units": 16})),
                   {"model.params.units": 64, "training.lr": 0.01, "window.lookback": "3d", "data.feature_set": "auto"})
    assert recipe.model.params == {"units": 64}
    assert (recipe.training.lr, recipe.window.lookback, recipe.data.feature_set) == (0.01, "3d", "auto")


@pytest.mark.parametrize("text, needles", [
    ('[common]\n"training.lr" = { low = 0.1, high = 0.01 }', ["training.lr", "below its high"]),
    ('[common]\n"training.lr" = { low = 0, high = 1, log = true }', ["log scale", "above 0"]),
    ('[common]\n"training.nope" = { choices = [1] }', ["[training] has no key 'nope'", "use some of"]),
    ('[common]\n"model.units" = { low = 1, high = 2 }', ["not a recipe key", "model.params."]),
    ('[lstm]\n"model.params.filters" = { low = 1, high = 2 }', ["has no parameter 'filters'", "units"]),
    ('[lstmm]\n"training.lr" = { low = 0.1, high = 1.0 }', ["section [lstmm], which is no model"]),
    ('[common]\n"training.seed" = { low = 1, high = 3 }', ["cannot be swept"]),
    ('[common]\n"training.optimizer" = { low = 1, high = 3 }', ["not a number range", "choices"]),
    ('[common]\n"training.lr" = { choices = [] }', ["choices must be a list of 1 to"]),
    ('[common]\n"training.lr" = { choices = [0.1, 0.1] }', ["repeat a value"]),
    ('[common]\n"training.lr" = { choices = ["fast"] }', ["training.lr", "must be float"]),
    ('[lstm]\n"model.params.units" = { low = 0, high = 8 }', ["units", "must be"]),
    ('[common]\n"training.lr" = { low = 0.1, high = 1.0, sweep = 3 }', ["unknown setting 'sweep'"]),
    ('[common]\n"training.lr" = 0.1', ["must be a table like"]),
    ('not toml = = =', ["not valid TOML"]),
])
def test_a_bad_space_file_names_the_file_the_key_and_the_fix(tmp_path, text, needles):
    path = tmp_path / "space.toml"
    path.write_text(text)
    with pytest.raises(ForecastlabError) as caught:
        model_space("lstm", path)
    message = caught.value.paragraph()
    assert str(path) in message
    for needle in needles:
        assert needle in message, (needle, message)


def test_a_space_file_is_bounded_in_size(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * (1 << 19))
    with pytest.raises(ForecastlabError, match="more than"):
        model_space("lstm", path)
    with pytest.raises(ForecastlabError, match="does not exist"):
        model_space("lstm", tmp_path / "missing.toml")


def test_the_default_file_ships_with_the_package():
    assert DEFAULT_SPACE.is_file() and Path(DEFAULT_SPACE).suffix == ".toml"
