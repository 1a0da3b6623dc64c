"""`forecastlab classify`: train frost on a real file and save (--json, the table), predict with --run on
fresh rows, a UCR dataset from a wheel-shaped zip, and refusals that name the flag and keep files.
In-process (typer's CliRunner), and one real process for the exit code and the one-paragraph error."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from forecastlab.cli import app
from forecastlab.data import ucr
from forecastlab.errors import ForecastlabError
from run_helpers import TESTS, clean_error, cli, digests, strict_json

sys.path.insert(0, str(TESTS / "data"))
sys.path.insert(0, str(TESTS / "tasks"))
from test_classification import frost_csv  # noqa: E402
from test_ucr import wheel  # noqa: E402, F401 (a fixture)

TINY = ["--model", "fcn", "--param", "filters=4", "--epochs", "1", "--max-steps", "3", "--batch-size", "64",
        "--stride", "6", "--no-progress"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-classify")
    frost_csv(root / "frost.csv")
    done = CliRunner().invoke(app, ["classify", "--data", str(root / "frost.csv"), *TINY, "--out",
                                    str(root / "frost"), "--json"])
    assert done.exit_code == 0, done.output
    (root / "train.json").write_text(done.stdout)
    return root


def test_train_json_holds_the_leaderboard_and_the_folder(root):
    out = strict_json((root / "train.json").read_text())
    assert out["task"] == "frost" and out["out"] == str(root / "frost")
    assert [r["name"] for r in out["rows"]][-1] == "fcn"
    assert {"accuracy", "macro_f1", "confusion", "log_loss"} <= set(out["rows"][-1]["test"])
    assert sorted(p.name for p in (root / "frost").iterdir()) == ["classifier.json", "weights.safetensors"]
    meta = json.loads((root / "frost" / "classifier.json").read_text())
    assert "hour sin" in meta["columns"] and meta["task"]["feature_set"] == "auto"  # the default derived inputs


def test_the_table_shows_baselines_model_and_confusion(root, tmp_path):
    done = cli("classify", "--data", root / "frost.csv", *TINY, cwd=tmp_path)  # a real process, 250 columns
    assert done.returncode == 0, done.stderr
    for needle in ("frost in the past 24 h", "temperature now below t", "test macro F1", "confusion matrix",
                   "share of windows with frost ahead"):
        assert needle in done.stdout, needle  # the result on stdout, as train's and baseline's (> board.txt)
    assert "test macro F1" not in done.stderr  # messages only there


def test_run_predicts_the_outlook_of_fresh_rows(root):
    frame = pd.read_csv(root / "frost.csv").tail(800)
    frame.to_csv(root / "recent.csv", index=False)
    done = CliRunner().invoke(app, ["classify", "--run", str(root / "frost"), "--data", str(root / "recent.csv"),
                                    "--json"])
    assert done.exit_code == 0, done.output
    out = strict_json(done.stdout)
    assert out["origin"].startswith(pd.to_datetime(frame["Date Time"].iloc[-1], dayfirst=True).strftime("%Y-%m-%d"))
    assert sum(out["probabilities"].values()) == pytest.approx(1.0)
    text = CliRunner().invoke(app, ["classify", "--run", str(root / "frost"), "--data", str(root / "recent.csv")])
    assert "P(frost within 24 h)" in text.output


def test_refusals_keep_the_saved_classifier(root):
    before = digests(root / "frost")
    done = cli("classify", "--data", root / "frost.csv", *TINY, "--out", root / "frost", cwd=root)
    clean_error(done, "already holds a classifier", "--overwrite")
    done = cli("classify", "--run", root / "frost", "--data", root / "frost.csv", "--epochs", "3", cwd=root)
    clean_error(done, "--epochs train a classifier; --run predicts with a saved one")
    done = cli("classify", "--run", root / "frost", "--data", "ucr:GunPoint", cwd=root)
    clean_error(done, "classifies frost windows of a series")
    done = cli("classify", "--data", "ucr:Nope", cwd=root)
    clean_error(done, "not a bundled UCR classification dataset", "GunPoint")
    assert digests(root / "frost") == before


def test_ucr_from_a_wheel_trains_saves_and_scores_again(wheel, tmp_path):  # noqa: F811
    run = CliRunner()
    args = ["classify", "--data", "ucr:GunPoint", "--ucr-wheel", str(wheel), "--param", "filters=2"]
    done = run.invoke(app, [*args, "--epochs", "2", "--out", str(tmp_path / "gp"), "--json", "--no-progress"])
    assert done.exit_code == 0, done.output
    out = strict_json(done.stdout)
    assert out["task"] == "ucr:GunPoint" and [r["name"] for r in out["rows"]] == [
        "majority class", "1-NN (Euclidean)", "fcn"]
    done = run.invoke(app, ["classify", "--run", str(tmp_path / "gp"), "--data", "ucr:GunPoint", "--ucr-wheel",
                            str(wheel), "--predictions", str(tmp_path / "p.csv"), "--json"])
    assert done.exit_code == 0, done.output
    again = strict_json(done.stdout)
    assert again["test"]["accuracy"] == out["rows"][-1]["test"]["accuracy"]
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table.columns) == ["case", "true", "predicted", "p_1", "p_2"] and len(table) == 2
    done = run.invoke(app, [*args, "--stride", "3"])
    assert isinstance(done.exception, ForecastlabError) and "belong to the frost task" in str(done.exception)


def test_predictions_need_a_run_and_a_csv_name(root, tmp_path):
    done = cli("classify", "--data", "ucr:GunPoint", "--predictions", tmp_path / "p.csv", cwd=root)
    clean_error(done, "--predictions needs --run")
    assert ucr.AEON_WHEEL["name"].endswith(".whl")


def test_a_killed_training_resumes_with_resume_to_the_uninterrupted_weights(root, tmp_path):
    import signal
    import time

    from run_helpers import popen

    args = ["classify", "--data", root / "frost.csv", "--model", "fcn", "--param", "filters=4", "--epochs", "100",
            "--max-steps", "3", "--batch-size", "64", "--stride", "6", "--feature-set", "book", "--no-progress"]
    whole = cli(*args, "--out", tmp_path / "whole", cwd=tmp_path, timeout=300)
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "killed"
    proc = popen(*args, "--out", out, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not (out / "training.pt").is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert (out / "training.pt").is_file() and not (out / "classifier.json").exists(), "not killed mid-training"
    kept = digests(out)
    # without --resume the interrupted training is neither restarted over nor lost
    again = cli(*args, "--out", out, cwd=tmp_path)
    assert again.returncode == 2 and digests(out) == kept
    assert "interrupted training" in clean_error(again, "--resume", "--overwrite")
    other = cli(*args[:-1], "--epochs", "99", "--no-progress", "--out", out, "--resume", cwd=tmp_path)
    assert other.returncode == 2 and digests(out) == kept
    clean_error(other, "had --epochs 100; this one has --epochs 99")
    resumed = cli(*args, "--out", out, "--resume", "--json", cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    payload = strict_json(resumed.stdout)
    assert payload["resumed"] is True and len(payload["history"]) == 100
    assert sorted(p.name for p in out.iterdir()) == ["classifier.json", "weights.safetensors"]
    assert digests(out)["weights.safetensors"] == digests(tmp_path / "whole")["weights.safetensors"]
    nothing = cli(*args, "--out", tmp_path / "fresh", "--resume", cwd=tmp_path)
    assert nothing.returncode == 2 and "no interrupted training" in clean_error(nothing, "drop --resume")


def _toml(options: dict) -> str:
    """A task file from a saved classifier's task.options (scalars, and [params] as a table)."""
    lines = [f"{k} = {json.dumps(v)}" for k, v in options.items() if k != "params"]
    lines += ["[params]"] + [f"{k} = {json.dumps(v)}" for k, v in options.get("params", {}).items()]
    return "\n".join(lines) + "\n"


def test_a_task_file_trains_and_the_saved_options_train_the_same_weights_again(root, tmp_path):
    (tmp_path / "frost.toml").write_text(_toml({
        "data": str(root / "frost.csv"), "model": "fcn", "epochs": 1, "max_steps": 3, "batch_size": 64,
        "stride": 6, "feature_set": "book", "out": str(tmp_path / "a"), "params": {"filters": 4}}))
    done = cli("classify", "--config", tmp_path / "frost.toml", "--epochs", "2", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    meta = json.loads((tmp_path / "a" / "classifier.json").read_text())
    options = meta["task"]["options"]
    assert options["epochs"] == 2 and meta["task"]["epochs"] == 2  # the command line won over the file's 1
    assert options["params"] == {"filters": 4} and meta["model"]["filters"] == 4
    (tmp_path / "again.toml").write_text(_toml(options | {"out": str(tmp_path / "b")}))
    again = cli("classify", "--config", tmp_path / "again.toml", "--no-progress", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert digests(tmp_path / "a")["weights.safetensors"] == digests(tmp_path / "b")["weights.safetensors"]


@pytest.mark.parametrize(("text", "needles"), [
    ('epochs = "two"\n', ["key epochs", "not of type int"]),
    ("epochs = 0\n", ["key epochs", "out of range", "at least 1"]),
    ('run_dir = "x"\n', ["key run_dir", "is not an option", "use these keys: data, model"]),
    ("params = 3\n", ["key params", "[params]"]),
    ("epochs = \n", ["not valid TOML"]),
])
def test_a_bad_task_file_is_refused_by_key(tmp_path, text, needles):
    (tmp_path / "t.toml").write_text(text)
    clean_error(cli("classify", "--config", tmp_path / "t.toml", cwd=tmp_path), "t.toml", *needles)


def _frost_recipe(root, out) -> str:
    """The task file above in a recipe's tables, with [task] kind = "classify"."""
    return f"""[task]
kind = "classify"
below = 0.0

[model]
name = "fcn"
[model.params]
filters = 4

[data]
data = {json.dumps(str(root / "frost.csv"))}
feature_set = "book"

[window]
batch_size = 64
stride = 6

[training]
epochs = 1
max_steps = 3

[output]
out = {json.dumps(str(out))}
"""


def test_one_recipe_file_trains_a_classifier_through_train_and_classify_alike(root, tmp_path):
    from forecastlab.training.recipe import toml_text

    (tmp_path / "frost.toml").write_text(_frost_recipe(root, tmp_path / "a"))
    done = cli("train", "--config", tmp_path / "frost.toml", "--no-progress", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert strict_json(done.stdout)["out"] == str(tmp_path / "a")  # classify's answer, from `train`
    same = CliRunner().invoke(app, ["classify", "--config", str(tmp_path / "frost.toml"), "--out",
                                    str(tmp_path / "b"), "--no-progress", "--json"])
    assert same.exit_code == 0, same.output
    weights = digests(tmp_path / "a")["weights.safetensors"]
    assert digests(tmp_path / "b")["weights.safetensors"] == weights
    meta = json.loads((tmp_path / "a" / "classifier.json").read_text())
    recipe = meta["task"]["recipe"]
    assert recipe["task"] == {"kind": "classify", "below": 0.0} and recipe["model"] == {
        "name": "fcn", "params": {"filters": 4}}
    assert recipe["window"] == {"batch_size": 64, "stride": 6} and recipe["training"] == {"epochs": 1, "max_steps": 3}
    from forecastlab.deploy.report import write_report

    html = write_report(tmp_path / "a", out=tmp_path / "a.html").read_text()
    assert "recipe: task.kind" in html and "recipe: model.params" in html and "filters=4" in html
    recipe["output"]["out"] = str(tmp_path / "c")  # the saved recipe, written back as a file, trains it again
    (tmp_path / "again.toml").write_text(toml_text(recipe))
    again = CliRunner().invoke(app, ["train", "--config", str(tmp_path / "again.toml"), "--no-progress"])
    assert again.exit_code == 0, again.output
    assert digests(tmp_path / "c")["weights.safetensors"] == weights
    flat = meta["task"]["options"]  # the flat task file of the same options trains the same weights
    (tmp_path / "flat.toml").write_text(_toml(flat | {"out": str(tmp_path / "d")}))
    assert CliRunner().invoke(app, ["classify", "--config", str(tmp_path / "flat.toml"),
                                    "--no-progress"]).exit_code == 0
    assert digests(tmp_path / "d")["weights.safetensors"] == weights


@pytest.mark.parametrize(("command", "text", "extra", "needles"), [
    ("classify", '[task]\nkind = "events"\n', [], ["key task.kind", "trains a events task",
                                                  "forecastlab events --config"]),
    ("events", '[task]\nkind = "classify"\n', [], ["key task.kind", "forecastlab classify --config"]),
    ("train", '[task]\nkind = "classify"\n', ["--lr", "0.1"], ["is a classify recipe", "--lr is a train option",
                                                                "forecastlab classify --config"]),
    ("train", '[task]\nkind = "regress"\n', [], ["key task.kind", "is not a task", "'forecast', 'classify'"]),
    ("train", 'task = "classify"\n', [], ["key task", "must be a table"]),
    ("classify", 'epochs = 2\n[training]\nepochs = 3\n', [], ["key training.epochs", "epochs is set twice"]),
    ("classify", '[task]\nkind = "classify"\n[training]\nepoch = 3\n', [], ["key training.epoch", "is not an option"]),
    ("events", '[task]\nkind = "events"\nwarn_hours = -1\n', [], ["key task.warn_hours", "out of range"]),
    ("classify", '[task]\nkind = ["classify"]\n', [], ["key task.kind", "is not a task"]),
    ("classify", '[training]\nbalanced = "false"\n', [], ["key training.balanced", "not of type bool"]),
])
def test_a_recipe_of_another_task_or_a_bad_task_table_is_refused_by_key(tmp_path, command, text, extra, needles):
    (tmp_path / "r.toml").write_text(text)
    clean_error(cli(command, "--config", tmp_path / "r.toml", *extra, cwd=tmp_path), "r.toml", *needles)


def test_every_task_file_key_has_one_table_in_the_recipe_shape():
    from forecastlab.cli import anomalies, classify, events
    from forecastlab.tasks.recipes import TASK_OPTIONS

    for kind, module in (("classify", classify), ("events", events), ("anomalies", anomalies)):
        placed = [name for names in TASK_OPTIONS[kind].values() for name in names]
        assert sorted(placed) == sorted(module.CONFIG_KEYS), kind  # each key once, none left out


def test_the_library_s_option_types_are_the_commands_own():
    import typing
    from pathlib import Path

    from forecastlab.cli import anomalies, classify, events
    from forecastlab.tasks.recipes import OPTION_TYPES

    names = {bool: "bool", int: "int", float: "float", str: "str", Path: "path", list: "table"}
    for kind, command in (("classify", classify.classify_command), ("events", events.events_command),
                          ("anomalies", anomalies.anomalies_command)):
        hints = typing.get_type_hints(command, include_extras=True)
        for key in OPTION_TYPES[kind]:
            hint = hints[key]
            base = [t for t in typing.get_args(typing.get_args(hint)[0]) or [typing.get_args(hint)[0]]
                    if t is not type(None)][0]
            info = next(m for m in hint.__metadata__ if hasattr(m, "min"))
            spec = OPTION_TYPES[kind][key] + (None, None)
            assert names[typing.get_origin(base) or base] == spec[0], (kind, key)
            assert (info.min, info.max) == spec[1:3], (kind, key, info.min, info.max)


def test_runs_show_describes_a_saved_classifier_and_its_artifact(root, tmp_path):
    from forecastlab.deploy.artifact import export_classifier

    shown = CliRunner().invoke(app, ["runs", "show", str(root / "frost")])
    assert shown.exit_code == 0, shown.output
    words = " ".join(shown.output.split())
    assert "frost (below 0) within 24 h; classes no frost, frost" in words and "model fcn filters=4" in words
    assert "recipe [model] name=fcn" in words and "test accuracy" in words
    saved = json.loads((root / "frost" / "classifier.json").read_text())
    as_json = strict_json(CliRunner().invoke(app, ["runs", "show", str(root / "frost"), "--json"]).stdout)
    assert as_json["classes"] == saved["classes"] and as_json["scores"]["test"] == saved["metrics"]["test"]
    art = export_classifier(root / "frost", tmp_path / "art")
    from_art = strict_json(CliRunner().invoke(app, ["runs", "show", str(art), "--json"]).stdout)
    assert from_art["scores"] == as_json["scores"] and from_art["task"] == as_json["task"]
    (tmp_path / "art" / "weights.safetensors").write_bytes(b"tampered")
    done = cli("runs", "show", tmp_path / "art", cwd=tmp_path)  # checked as serve checks it: refused by name
    clean_error(done, "weights.safetensors")


def test_a_one_class_validation_split_is_said_with_its_dates_and_fix(tmp_path):
    # Before: tmy3-sandpoint's July-September validation windows, none with frost, chose the "best" epoch by a
    # validation macro F1 of one class, and the run reported frost_share val 0.0 without a word.
    from run_helpers import cli

    done = cli("classify", "--data", "tmy3-sandpoint", "--epochs", "1", "--max-steps", "3", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-1500:]
    said = " ".join(done.stderr.split())
    assert "the validation split has only 'no frost' windows (from 2005-07-07 to 2005-09-30)" in said
    assert "Temperature (degC) never falls below 0" in said and "a higher --below than 0" in said
    assert json.loads(done.stdout)["data"]["frost_share"]["val"] == 0.0


def test_below_must_be_finite_and_the_optimizers_are_the_same_in_help_and_error(tmp_path):
    from forecastlab.cli.classify import OPTIMIZERS, OPTIMIZERS_HELP
    from forecastlab.training.optim import KERAS_DEFAULT_LR

    for value in ("nan", "inf", "-inf"):  # refused before the data (not there) is read
        clean_error(cli("classify", "--data", tmp_path / "not-read.csv", "--below", value, cwd=tmp_path),
                    f"--below must be a finite number, got {value}", "Where: --below", "e.g. --below 0")
    (tmp_path / "nan.toml").write_text("below = nan\n")
    done = CliRunner().invoke(app, ["classify", "--config", str(tmp_path / "nan.toml")])
    assert isinstance(done.exception, ForecastlabError) and "below must be a finite number" in str(done.exception)
    assert sorted(OPTIMIZERS) == sorted(KERAS_DEFAULT_LR)
    helped = " ".join(CliRunner().invoke(app, ["classify", "--help"], env={"COLUMNS": "250"}).output.split())
    assert OPTIMIZERS_HELP in helped and all(name in OPTIMIZERS_HELP for name in OPTIMIZERS)
    clean_error(cli("classify", "--data", tmp_path / "not-read.csv", "--optimizer", "bogus", cwd=tmp_path),
                "unknown optimizer 'bogus'", "Where: --optimizer", "use one of: adam, adamw, rmsprop, sgd")
