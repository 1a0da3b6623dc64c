"""`train --config FILE.toml` starts a run from a recipe file; `runs show` prints a run's recipe."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from run_helpers import FIXTURES, clean_error, cli, strict_json, write_jena_csv

RECIPE = """
[model]
name = "dense"
[model.params]
units = 4
[data]
data = "{csv}"
[window]
sequence_length = 24
sampling_rate = 6
horizons = "1-3"
batch_size = 64
[training]
epochs = 1
max_steps_per_epoch = 5
loss = "mae"
[output]
out = "from-recipe"
"""


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    return write_jena_csv(tmp_path_factory.mktemp("recipe") / "mini.csv")


def test_a_recipe_file_trains_and_the_command_line_wins(csv, tmp_path):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(RECIPE.format(csv=csv))
    done = cli("train", "--config", recipe, "--seed", "7", "--no-progress", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = json.loads((tmp_path / "from-recipe" / "config.json").read_text())
    assert config["model"]["name"] == "dense" and config["model"]["config"]["units"] == 4
    assert config["window"]["horizons"] == [1, 2, 3] and config["training"]["loss"] == "mae"
    assert config["training"]["seed"] == 7  # given on the command line: it wins over the file (default 0)
    shown = cli("runs", "show", tmp_path / "from-recipe", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "model      dense  units=4" in shown.stdout and "horizons [1, 2, 3]" in shown.stdout
    assert "loss mae" in shown.stdout and "test MAE" in shown.stdout
    as_json = strict_json(cli("runs", "show", tmp_path / "from-recipe", "--json", cwd=tmp_path).stdout)
    assert as_json["config"]["training"]["interval_level"] == 0.8 and "test_mae" in as_json["metrics"]


@pytest.mark.parametrize(("text", "needle"), [
    ("[training]\nepoch = 3\n", "the recipe sets 'epoch', which is not a train option"),
    ("[training\nepochs = 3\n", "is not valid TOML"),
    ("[model]\nname = 'dense'\nparams = 3\n", "params must be a table"),
    # a value of the wrong TOML type: named, never a traceback, never read as something else
    ("[training]\nepochs = \"2\"\n", "epochs must be a whole number, got '2' (a TOML string)"),
    ("[training]\nepochs = true\n", "epochs must be a whole number, got True"),
    ("[training]\nseed = \"abc\"\n", "seed must be a whole number"),
    ("[training]\nloss = 5\n", "loss must be text, got 5 (a TOML integer)"),
    ("[data]\ngaps = false\n", "gaps must be text"),
    ("[output]\nout = 5\n", "out must be text"),
    ("[output]\noverwrite = \"no\"\n", "overwrite must be true or false, got 'no'"),
    ("[data]\nno_clean = \"yes\"\n", "no_clean must be true or false"),
])
def test_a_bad_recipe_is_named_by_file_and_key(tmp_path, text, needle):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    clean_error(cli("train", "--config", recipe, cwd=tmp_path), needle, str(recipe))


def test_bad_model_params_are_placed_where_they_were_written_before_the_data_is_read(tmp_path):
    """[model.params] of a recipe file name the file and key; --param names the flag; and both fail before the
    data is loaded (no synthetic banner, no window count), for train, sweep and backtest alike."""
    recipe = tmp_path / "params.toml"
    recipe.write_text('[model]\nname = "lstm"\n[model.params]\nunits = "many"\n[data]\ndata = "synthetic"\n')
    text = clean_error(cli("train", "--config", recipe, "--out", tmp_path / "a", cwd=tmp_path),
                       "units must be an integer from 1 to 65,536, got 'many'",
                       f"Where: {recipe}, [model.params] units",
                       "units = 16")
    assert "SYNTHETIC" not in text and "windows" not in text and not (tmp_path / "a").exists()
    recipe.write_text('[model]\nname = "lstm"\n[model.params]\nbogus = 1\n[data]\ndata = "synthetic"\n')
    clean_error(cli("train", "--config", recipe, "--out", tmp_path / "a", cwd=tmp_path),
                "model 'lstm' has no parameter(s) bogus", f"Where: {recipe}, [model.params]", "use some of: units")
    # the same value on the command line: the flag is the place (it wins over the file, too)
    text = clean_error(cli("train", "--config", recipe, "--param", "units=0", "--out", tmp_path / "a", cwd=tmp_path),
                       "got 0", "Where: --param units")
    assert str(recipe) not in text
    for command in (["sweep", "lstm", "--trials", "2", "--out", tmp_path / "s"], ["backtest", "lstm"]):
        text = clean_error(cli(*command, "--param", "units=0", "--data", "synthetic", cwd=tmp_path),
                           "units must be an integer", "Where: --param units")
        assert "SYNTHETIC" not in text and "windows" not in text, command
    assert not (tmp_path / "s").exists()


def test_runs_show_on_the_format_1_fixture_fills_in_the_old_defaults(tmp_path):

    fixture = FIXTURES / "run_format1"
    done = cli("runs", "show", fixture, "--json", cwd=tmp_path)
    config = strict_json(done.stdout)["config"]
    assert config["format"] == 1 and config["training"]["loss"] == "mse" and config["window"]["horizons"] is None
    assert config["head"] == {"horizons": 1, "loss": "mse", "target": {"kind": "none", "shift": 0.0, "scale": 1.0}}


def test_a_forecasting_recipe_may_name_its_task_and_the_library_refuses_other_tasks(csv, tmp_path):
    from forecastlab.cli.train import read_recipe
    from forecastlab.errors import ForecastlabError
    from forecastlab.training.recipe import Recipe

    recipe = tmp_path / "recipe.toml"
    recipe.write_text('[task]\nkind = "forecast"\n' + RECIPE.format(csv=csv))
    assert Recipe.from_toml(recipe).model.name == "dense"
    assert read_recipe(recipe)["model"] == "dense" and "kind" not in read_recipe(recipe)
    recipe.write_text('[task]\nkind = "forecast"\nunits = 3\n' + RECIPE.format(csv=csv))
    with pytest.raises(ForecastlabError, match="task.units is not a key"):
        Recipe.from_toml(recipe)
    recipe.write_text('[task]\nkind = "events"\n[model]\nname = "gru_stacked"\n')
    with pytest.raises(ForecastlabError, match="trains a events task") as err:
        Recipe.from_toml(recipe)
    assert "forecastlab events --config" in err.value.fix


def test_a_bad_value_from_the_recipe_file_is_placed_in_the_file_not_on_a_flag(csv, tmp_path):
    recipe = tmp_path / "lr.toml"
    recipe.write_text(f'[model]\nname = "dense"\n[data]\ndata = "{csv}"\n[window]\nsequence_length = 24\n'
                      'sampling_rate = 6\nhorizon = 6\n[training]\nepochs = 1\nlr = -1.0\n')
    text = clean_error(cli("train", "--config", recipe, "--out", tmp_path / "x", cwd=tmp_path),
                       f"Where: {recipe}, key lr", "lr = 0.001")
    assert "--lr" not in text
    text = clean_error(cli("train", "--config", recipe, "--lr", "-2", "--out", tmp_path / "x", cwd=tmp_path),
                       "Where: --lr")  # given on the command line: the flag is the place
    assert not (tmp_path / "x").exists()
    (tmp_path / "folder.toml").mkdir()
    clean_error(cli("train", "--config", tmp_path / "folder.toml", cwd=tmp_path), "the recipe path is a folder")
    steps = tmp_path / "steps.toml"  # horizons = 6, a TOML integer: steps, as --horizons 6 is
    steps.write_text(f'[model]\nname = "dense"\n[data]\ndata = "{csv}"\n[window]\nsequence_length = 24\n'
                     'sampling_rate = 6\nhorizons = 6\n[training]\nepochs = 1\nmax_steps_per_epoch = 2\n')
    done = cli("train", "--config", steps, "--out", tmp_path / "steps", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((tmp_path / "steps" / "config.json").read_text())["extra"]["recipe"]["window"]["horizons"] == "6"
    # a refusal placed in the data (row, column) keeps that place, even for an option from the file
    bad_data = tmp_path / "negative.csv"
    frame = pd.read_csv(csv)
    frame.loc[5, "rh (%)"] = -3.0
    frame.to_csv(bad_data, index=False)
    logged = tmp_path / "log.toml"
    logged.write_text(f'[model]\nname = "dense"\n[data]\ndata = "{bad_data}"\ntransforms = "log1p:rh (%)"\n'
                      '[window]\nsequence_length = 24\nsampling_rate = 6\nhorizon = 6\n[training]\nepochs = 1\n')
    clean_error(cli("train", "--config", logged, "--out", tmp_path / "log", cwd=tmp_path), "log1p needs values",
                "Where: row 5, column")
