"""`forecastlab report PATH`: the command end to end in a real process (--json), its refusals as clean
one-paragraph errors in flags (exit 2, no traceback), and --data for a run whose file has moved."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from forecastlab.cli import app
from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
from forecastlab.training.runner import run_recipe
from run_helpers import TESTS, clean_error, cli, strict_json, write_jena_csv


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A tiny dense run, trained from its recipe (as `forecastlab train` does), in-process to save a start."""
    root = tmp_path_factory.mktemp("cli-report")
    csv = write_jena_csv(root / "mini.csv", days=20)
    run_recipe(Recipe(ModelRecipe("dense", {"units": 4}), DataRecipe(str(csv)),
                      WindowRecipe(sequence_length=24, sampling_rate=6, horizon=6, batch_size=64),
                      TrainingRecipe(epochs=1, max_steps_per_epoch=3)), out_dir=root / "run", progress=False)
    return root


def test_report_json_in_a_fresh_process(root):
    done = cli("report", "run", "--out", "dense.html", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    out = strict_json(done.stdout)
    assert out == {"report": "dense.html", "sections": ["leaderboard", "curves", "data", "forecast", "errors",
                                                        "coverage"],
                   "model": "dense", "kind": "run", "run_dir": "run", "unavailable": {}}
    page = (root / "dense.html").read_text()
    metrics = json.loads((root / "run" / "metrics.json").read_text())
    assert f"{metrics['test_mae']:.2f}" in page and page.count('src="data:image/png;base64,') == 8
    assert 'src="http' not in page and 'href="http' not in page


def test_a_path_that_is_not_a_run_is_a_clean_error(root):
    # A folder holding a run is not the run; the file and the missing path are tested in tests/deploy.
    done = cli("report", ".", cwd=root)
    clean_error(done, "this folder is neither a run directory (it has no config.json) nor a reproduce directory",
                "Where: .", "Fix:")
    assert not (root / "report.html").exists() and done.stdout == ""


def test_refusals_speak_in_flags(root, monkeypatch):
    monkeypatch.chdir(root)
    runner = CliRunner()
    done = runner.invoke(app, ["report", "run", "--out", "twice.html"])
    assert done.exit_code == 0, done.output
    assert "report written to twice.html" in done.stdout
    done = runner.invoke(app, ["report", "run", "--out", "twice.html"])
    assert done.exit_code != 0 and "refusing to overwrite" in str(done.exception)
    assert "--overwrite" in str(done.exception) and "overwrite=True" not in str(done.exception)
    assert runner.invoke(app, ["report", "run", "--out", "twice.html", "--overwrite"]).exit_code == 0


def test_data_points_at_a_moved_file(root, monkeypatch):
    monkeypatch.chdir(root)
    (root / "mini.csv").rename(root / "moved.csv")
    try:
        runner = CliRunner()
        done = runner.invoke(app, ["report", "run", "--out", "moved.html", "--json"])
        assert done.exit_code == 0, done.output
        out = strict_json(done.stdout)
        assert set(out["unavailable"]) == {"leaderboard", "data", "forecast", "errors"}
        assert "the data file does not exist" in out["unavailable"]["forecast"]
        done = runner.invoke(app, ["report", "run", "--out", "moved.html", "--overwrite", "--data", "moved.csv",
                                   "--json"])
        assert done.exit_code == 0, done.output
        assert strict_json(done.stdout)["unavailable"] == {}
    finally:
        (root / "moved.csv").rename(root / "mini.csv")


def test_report_json_of_a_classifier_names_its_model_and_folder(tmp_path):
    sys.path.insert(0, str(TESTS / "tasks"))
    from test_classification import frost_csv

    frost_csv(tmp_path / "frost.csv")
    done = CliRunner().invoke(app, ["classify", "--data", str(tmp_path / "frost.csv"), "--model", "fcn", "--param",
                                    "filters=4", "--epochs", "1", "--max-steps", "3", "--batch-size", "64",
                                    "--stride", "6", "--no-progress", "--out", str(tmp_path / "frost")])
    assert done.exit_code == 0, done.output
    done = cli("report", "frost", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out = strict_json(done.stdout)
    assert out["kind"] == "classifier" and out["report"] == "frost/report.html", out
    assert out["model"] == "fcn" and out["run_dir"] == "frost", out


def test_an_empty_out_is_refused_not_taken_as_the_current_folder(root):
    before = sorted(p.name for p in root.iterdir())
    clean_error(cli("report", "run", "--out", "", cwd=root), "--out is empty", "give --out a path, e.g. --out")
    assert sorted(p.name for p in root.iterdir()) == before and not (root / "run" / "report.html").exists()
