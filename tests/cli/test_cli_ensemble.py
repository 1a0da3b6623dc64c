"""`forecastlab ensemble`: the command's JSON and table, refusals in flags, and `evaluate` on the ensemble.

The ensemble command runs in-process (typer's CliRunner: the suite is at its time budget and every new
process imports torch); `evaluate` runs in a real `python -m forecastlab` process."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from forecastlab.cli import app
from forecastlab.cli.options import FLAGS
from forecastlab.errors import ForecastlabError
from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
from forecastlab.training.runner import run_recipe
from run_helpers import cli, strict_json, write_jena_csv


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny torch run and the persistence model, trained from their recipes (as `forecastlab train` does)."""
    root = tmp_path_factory.mktemp("cli-ensemble")
    csv = write_jena_csv(root / "mini.csv", days=20)
    window = WindowRecipe(sequence_length=24, sampling_rate=6, horizon=6, batch_size=64)
    for name, params in (("dense", {"units": 4}), ("persistence", {})):
        run_recipe(Recipe(ModelRecipe(name, params), DataRecipe(str(csv)), window,
                          TrainingRecipe(epochs=1, max_steps_per_epoch=3)), out_dir=root / name, progress=False)
    return root


def test_ensemble_json_then_evaluate_json_in_a_fresh_process(runs, monkeypatch):
    monkeypatch.chdir(runs)
    done = CliRunner().invoke(app, ["ensemble", "dense", "persistence", "--out", "ens", "--method", "median",
                                    "--weights", "inverse-val-mae", "--json"])
    assert done.exit_code == 0, done.output
    out = strict_json(done.stdout)
    assert out["method"] == "median" and [m["model"] for m in out["members"]] == ["dense", "persistence"]
    inverse = [1 / m["val_mae"] for m in out["members"]]  # weighted by 1 / validation MAE, normalized
    assert out["weights"] == pytest.approx([v / sum(inverse) for v in inverse])
    assert set(out["baselines"]["persistence"]) == {"val_mae", "test_mae"}
    metrics = json.loads((runs / "ens" / "metrics.json").read_text())
    assert out["ensemble"]["test_mae"] == pytest.approx(metrics["test_mae"])

    # A new process, which has never imported the ensemble module: load_run finds it from config.json alone.
    done = cli("evaluate", "ens", "--json", cwd=runs)
    assert done.returncode == 0, done.stderr
    scores = strict_json(done.stdout)
    assert scores["val"]["mae"] == pytest.approx(metrics["val_mae"], rel=1e-9)
    assert scores["test"]["mae"] == pytest.approx(metrics["test_mae"], rel=1e-9)
    assert scores["test"]["intervals"]["coverage_all"] == pytest.approx(metrics["intervals"]["test_coverage_all"])
    resumed = CliRunner().invoke(app, ["train", "--resume", "ens"])  # made, not trained: nothing to resume
    assert isinstance(resumed.exception, ForecastlabError) and "is an ensemble" in str(resumed.exception)
    assert "forecastlab ensemble" in resumed.exception.fix


def test_the_table_names_every_member_and_persistence_and_nothing_is_overwritten(runs, monkeypatch):
    monkeypatch.chdir(runs)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    done = runner.invoke(app, ["ensemble", "dense", "persistence", "--out", "table", "--weights", "2,1"])
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert any("member 00" in line and "dense (torch)" in line and "0.667" in line for line in lines)
    assert any("member 01" in line and "persistence (estimator)" in line for line in lines)
    assert any("baseline" in line and "persistence" in line for line in lines)
    assert any(line.lstrip("│ ").startswith("ensemble") for line in lines)

    again = runner.invoke(app, ["ensemble", "dense", "persistence", "--out", "table"])
    assert isinstance(again.exception, ForecastlabError)
    assert "not empty" in again.exception.paragraph(FLAGS) and "--overwrite" in again.exception.paragraph(FLAGS)
    bad = runner.invoke(app, ["ensemble", "dense", "persistence", "--out", "other", "--weights", "1,2,3"])
    assert isinstance(bad.exception, ForecastlabError)
    assert "3 weights were given for 2 runs" in bad.exception.paragraph(FLAGS)
    assert "--weights" in bad.exception.paragraph(FLAGS) and not (runs / "other").exists()
