"""`forecastlab runs show RUN`: each kind of run is described by the options that apply to it (a torch run's
schedule, step cap and early stopping; an estimator's learning rate only where it has one; an ensemble's
members and weights, and none of the training options an ensemble does not have)."""

from __future__ import annotations

import pytest

from forecastlab.training.ensemble import make_ensemble
from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
from forecastlab.training.runner import run_recipe
from run_helpers import cli, write_jena_csv


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Two tiny dense runs, their ensemble and a persistence run, made in-process (as the commands make them)
    to save the starts; only `runs show` runs in a real process."""
    root = tmp_path_factory.mktemp("cli-runs")
    data = DataRecipe(str(write_jena_csv(root / "mini.csv", days=20)))
    window = WindowRecipe(sequence_length=24, sampling_rate=6, horizon=6, batch_size=64)
    for seed in (1, 2):
        run_recipe(Recipe(ModelRecipe("dense", {"units": 4}), data, window, TrainingRecipe(
            epochs=2, max_steps_per_epoch=3, lr_schedule="cosine", early_stopping=4, seed=seed)),
            out_dir=root / f"dense-{seed}", progress=False)
    make_ensemble([root / "dense-1", root / "dense-2"], root / "ens", weights=[1.0, 3.0])
    run_recipe(Recipe(ModelRecipe("persistence"), data, window, TrainingRecipe()), out_dir=root / "pers",
               progress=False)
    return root


def _show(root, run) -> dict[str, str]:
    done = cli("runs", "show", run, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    return {line[:10].strip(): line[11:] for line in done.stdout.splitlines()}


def test_a_torch_run_shows_its_schedule_step_cap_and_early_stopping(root):
    shown = _show(root, "dense-1")
    training = shown["training"]
    assert training.startswith("2 epochs, rmsprop lr 0.001, lr schedule cosine, at most 3 steps per epoch, "
                               "early stopping after 4 epochs without a better val loss, seed 1"), training
    assert "members" not in shown


def test_an_ensemble_shows_its_members_and_no_training_option_it_has_not(root):
    shown = _show(root, "ens")
    training = shown["training"]
    assert training.startswith("none (it combines trained runs), loss mse (its members')"), training
    for absent in ("learning rate", " lr ", "epoch", "seed", "optimizer", "rmsprop", "target ", "steps"):
        assert absent not in training, (absent, training)
    members = shown["members"]
    assert members.startswith("weighted mean of 2 runs, weights 0.25, 0.75: dense "), members
    assert str(root / "dense-1") in members and str(root / "dense-2") in members
    assert "weights=" not in shown["model"] and "weights in its members" in shown["model"]


def test_an_estimator_without_a_learning_rate_shows_none(root):
    training = _show(root, "pers")["training"]
    assert training.startswith("one fit (an estimator), seed 0, loss mse"), training
    assert "learning rate" not in training
