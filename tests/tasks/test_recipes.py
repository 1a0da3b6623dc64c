"""forecastlab.tasks.recipes: a task trained from Python as its command trains it (same options, same
weights), any task's recipe file run by run_task_recipe, and the output folder's refusals."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from forecastlab.cli import app
from forecastlab.errors import ForecastlabError
from forecastlab.tasks.recipes import TASK_OPTIONS, option_names, read_task_recipe, run_task, run_task_recipe
from forecastlab.training.recipe import toml_text
from run_helpers import TESTS, digests, write_jena_csv

sys.path.insert(0, str(TESTS / "tasks"))
from test_classification import frost_csv  # noqa: E402

TINY = {"model": "fcn", "params": {"filters": 4}, "epochs": 1, "max_steps": 3, "batch_size": 64, "stride": 6,
        "feature_set": "book"}


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    return frost_csv(tmp_path_factory.mktemp("task-recipes") / "frost.csv")


def test_run_task_saves_what_the_command_saves_for_the_same_options(csv, tmp_path):
    result = run_task("classify", TINY | {"data": str(csv)}, out=tmp_path / "py")
    assert result.classifier.task["options"] == TINY | {"data": str(csv), "out": str(tmp_path / "py")}
    args = ["classify", "--data", str(csv), "--model", "fcn", "--param", "filters=4", "--epochs", "1",
            "--max-steps", "3", "--batch-size", "64", "--stride", "6", "--feature-set", "book", "--no-progress",
            "--out", str(tmp_path / "cli")]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert digests(tmp_path / "py")["weights.safetensors"] == digests(tmp_path / "cli")["weights.safetensors"]
    saved = json.loads((tmp_path / "py" / "classifier.json").read_text())["task"]
    assert saved["recipe"]["task"] == {"kind": "classify"} and saved["recipe"]["model"]["params"] == {"filters": 4}
    # the saved recipe, as a file, trains the same weights through run_task_recipe
    (tmp_path / "again.toml").write_text(toml_text(saved["recipe"]))
    run_task_recipe(tmp_path / "again.toml", out=tmp_path / "again")
    assert digests(tmp_path / "again")["weights.safetensors"] == digests(tmp_path / "py")["weights.safetensors"]
    with pytest.raises(ForecastlabError, match="already holds a classifier"):  # nothing overwritten unasked
        run_task("classify", TINY | {"data": str(csv)}, out=tmp_path / "py")
    run_task("classify", TINY | {"data": str(csv), "seed": 1}, out=tmp_path / "py", overwrite=True)
    assert digests(tmp_path / "py")["weights.safetensors"] != digests(tmp_path / "cli")["weights.safetensors"]


def test_run_task_recipe_runs_a_forecasting_recipe_into_its_output_folder(tmp_path):
    data = write_jena_csv(tmp_path / "mini.csv")
    recipe = {"task": {"kind": "forecast"}, "model": {"name": "dense", "params": {"units": 4}},
              "data": {"data": str(data)}, "window": {"sequence_length": 24, "sampling_rate": 6, "batch_size": 64},
              "training": {"epochs": 1, "max_steps_per_epoch": 3}, "output": {"out": str(tmp_path / "run")}}
    (tmp_path / "r.toml").write_text(toml_text(recipe))
    assert read_task_recipe(tmp_path / "r.toml")[0] == "forecast"
    result = run_task_recipe(tmp_path / "r.toml")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["name"] == "dense" and result.run_dir == tmp_path / "run"
    del recipe["output"]
    (tmp_path / "r.toml").write_text(toml_text(recipe))
    with pytest.raises(ForecastlabError, match="names no run directory"):
        run_task_recipe(tmp_path / "r.toml")


def test_options_and_recipes_are_refused_by_name(tmp_path):
    assert set(option_names("events")) == {n for names in TASK_OPTIONS["events"].values() for n in names}
    with pytest.raises(ForecastlabError, match="'units' is not an option of the classify task"):
        run_task("classify", {"units": 3})
    with pytest.raises(ForecastlabError, match="--below, --stride belong to the frost task"):
        run_task("classify", {"data": "ucr:GunPoint", "stride": 2, "below": 1.0})
    with pytest.raises(ForecastlabError, match="no --out was given"):
        run_task("events", {}, resume=True)
    (tmp_path / "e.toml").write_text('[task]\nkind = "events"\n[training]\nepochs = 1\nbelow = 2.0\n')
    with pytest.raises(ForecastlabError, match="'below' is not an option of the events task"):
        read_task_recipe(tmp_path / "e.toml")


def test_an_anomalies_scan_from_python_is_the_command_s_scan(csv, tmp_path, monkeypatch):
    from run_helpers import strict_json

    scan = run_task("anomalies", {"data": str(csv), "threshold": 4.0})
    assert scan["benchmark"] is None and scan["result"].detectors == ["rules"]
    monkeypatch.setenv("COLUMNS", "200")
    done = CliRunner().invoke(app, ["anomalies", "--data", str(csv), "--threshold", "4", "--json"])
    assert done.exit_code == 0, done.output
    assert strict_json(done.stdout)["events"] == json.loads(json.dumps(scan["result"].to_dict()["events"]))


def _same_weights(a, b) -> bool:
    sa, sb = a.classifier.module.state_dict(), b.classifier.module.state_dict()
    return sa.keys() == sb.keys() and all(bool((sa[k] == sb[k]).all()) for k in sa)


def test_run_task_passes_every_classify_option_on_as_a_direct_call_does(csv):
    from forecastlab.data import load_series
    from forecastlab.tasks.classification import classify_frost

    extra = {"below": 1.0, "balanced": True, "lr": 0.003, "optimizer": "rmsprop", "seed": 2}
    ours = run_task("classify", TINY | extra | {"data": str(csv)})
    direct = classify_frost(load_series(str(csv)), model="fcn", model_params={"filters": 4}, epochs=1, max_steps=3,
                            batch_size=64, stride=6, feature_set="book", **extra)
    assert _same_weights(ours, direct) and ours.classifier.task["below"] == 1.0
    assert not _same_weights(ours, run_task("classify", TINY | {"data": str(csv)}))  # the options matter


def test_run_task_passes_every_events_option_on_as_a_direct_call_does():
    from forecastlab.tasks.events import RULE, detect_fronts
    from forecastlab.tasks.recipes import load_event_series

    options = {"params": {"units": 4}, "epochs": 1, "max_steps": 2, "drop": 2.0, "turn": 45.0, "lookback_hours": 12,
               "warn_hours": 4, "tolerance_hours": 2, "seed": 1}
    ours = run_task("events", options)
    direct = detect_fronts(load_event_series("synthetic"), model_params={"units": 4}, epochs=1, max_steps=2,
                           lookback_hours=12, warn_hours=4, tolerance_hours=2, seed=1,
                           rule=RULE | {"drop": 2.0, "turn": 45.0})
    assert _same_weights(ours, direct) and ours.data["events"] == direct.data["events"]
    assert ours.data["rule"]["drop"] == 2.0 and ours.classifier.task["lookback_hours"] == 12


def test_values_are_checked_from_python_as_from_a_file(tmp_path):
    with pytest.raises(ForecastlabError, match="not of type bool"):
        run_task("classify", {"balanced": "false"})  # a non-empty string would have meant True
    with pytest.raises(ForecastlabError, match="out of range") as err:
        run_task("events", {"turn": 200.0})
    assert "0.0 to 180.0" in err.value.fix
    with pytest.raises(ForecastlabError, match="writes no folder"):
        run_task("anomalies", {"data": "synthetic"}, out=tmp_path / "x")
    (tmp_path / "a.toml").write_text('[task]\nkind = "anomalies"\n[output]\nplot = "p.png"\n')
    with pytest.raises(ForecastlabError, match="plot is drawn by the command"):
        run_task_recipe(tmp_path / "a.toml")
    (tmp_path / "a.toml").write_text('[task]\nkind = "anomalies"\n[training]\nseed = "1"\n')
    with pytest.raises(ForecastlabError, match="not of type int") as err:
        run_task_recipe(tmp_path / "a.toml")
    assert "key training.seed" in err.value.where


def test_an_anomalies_recipe_writes_its_events_file(csv, tmp_path):
    (tmp_path / "a.toml").write_text(f'[task]\nkind = "anomalies"\n[data]\ndata = {json.dumps(str(csv))}\n'
                                     f'[output]\nout = {json.dumps(str(tmp_path / "events.json"))}\n')
    scan = run_task_recipe(tmp_path / "a.toml")
    written = json.loads((tmp_path / "events.json").read_text())
    assert written["events"] == json.loads(json.dumps(scan["result"].to_dict()["events"]))
    with pytest.raises(ForecastlabError, match="refusing to overwrite"):
        run_task_recipe(tmp_path / "a.toml")


def test_toml_text_round_trips_awkward_values():
    import math
    import tomllib

    doc = {"task": {"kind": "classify", "below": -math.inf, "x": math.inf},
           "data": {"data": 'a "quoted"\\path\nwith a newline, é and 😀'},
           "model": {"name": "fcn", "params": {"odd key": 1, "dotted.key": [1.5, 2], "ok_key-2": True}}}
    back = tomllib.loads(toml_text(doc))
    assert back["model"]["params"] == doc["model"]["params"] and back["data"] == doc["data"]
    assert back["task"]["below"] == -math.inf and back["task"]["x"] == math.inf
    assert math.isnan(tomllib.loads(toml_text({"a": math.nan}))["a"])
    with pytest.raises(ForecastlabError, match="no null"):
        toml_text({"a": [1, None]})


def test_run_task_recipe_reads_a_forecasting_file_as_train_config_does(tmp_path):
    from run_helpers import cli

    data = write_jena_csv(tmp_path / "mini.csv")
    text = (f'seed = 3\nepochs = 1\n[model]\nname = "dense"\n[model.params]\nunits = 4\n[data]\ndata = "{data}"\n'
            '[window]\nsequence_length = 24\nsampling_rate = 6\nbatch_size = 64\n[training]\n'
            'max_steps_per_epoch = 3\n[output]\nout = "by-train"\n')
    (tmp_path / "r.toml").write_text(text)
    done = cli("train", "--config", "r.toml", "--no-progress", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = run_task_recipe(tmp_path / "r.toml", out=tmp_path / "by-python")
    by_train = json.loads((tmp_path / "by-train" / "metrics.json").read_text())
    assert result.test["mae"] == pytest.approx(by_train["test_mae"], abs=0) and result.config["training"]["seed"] == 3
    assert digests(tmp_path / "by-train")["best.pt"] == digests(tmp_path / "by-python")["best.pt"]
    (tmp_path / "s.toml").write_text(text.replace('out = "by-train"', f'out = "{tmp_path / "seeds"}"\nseeds = 2'))
    summary = run_task_recipe(tmp_path / "s.toml")
    assert (tmp_path / "seeds" / "seeds.json").is_file() and len(summary["runs"]) == 2
    (tmp_path / "bad.toml").write_text('[model]\nname = "dense"\n[training]\nepoch = 1\n[output]\nout = "x"\n')
    with pytest.raises(ForecastlabError, match="training.epoch is not a key of a forecasting recipe"):
        run_task_recipe(tmp_path / "bad.toml")


def test_a_finished_training_leaves_none_of_the_temp_files_a_killed_write_left(csv, tmp_path):
    import os
    import subprocess
    import sys as system

    dead = subprocess.run([system.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()  # a process that has exited
    out = tmp_path / "frost"
    out.mkdir()
    stale = [f".training.pt.sha256.{dead}.22cfb1a7.tmp", f".training.pt.{dead}.0123abcd.tmp"]
    live = f".weights.safetensors.{os.getpid()}.89abcdef.tmp"  # a write still under way: not ours to remove
    for name in [*stale, live, "notes.txt"]:
        (out / name).write_text("x")
    run_task("classify", TINY | {"data": str(csv)}, out=out)
    assert sorted(p.name for p in out.iterdir()) == sorted([live, "classifier.json", "notes.txt",
                                                            "weights.safetensors"])
