"""The stronger training options: AdamW and weight decay, warm-up + cosine per step, gradient clipping;
recorded in config.json and the recipe, kept on resume, refused where they do not apply."""

from __future__ import annotations

import json

import pytest
import torch

from forecastlab.data import load_series
from forecastlab.errors import ForecastlabError
from forecastlab.training import train
from forecastlab.training.engine import train_step
from forecastlab.training.optim import make_optimizer
from forecastlab.training.recipe import recipe_of
from forecastlab.windows import WindowSpec, make_datasets_from_series
from run_helpers import write_jena_csv

SPEC = WindowSpec(24, 6, 6)


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return load_series(str(write_jena_csv(tmp_path_factory.mktemp("options") / "mini.csv", days=20)))


@pytest.fixture(scope="module")
def datasets(series):
    return make_datasets_from_series(series, SPEC, batch_size=64, seed=0)


def test_clip_norm_bounds_the_global_gradient_norm_of_every_step():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(24 * 3, 1))
    x, y = torch.randn(16, 24, 3) * 100, torch.randn(16) * 100
    seen = []

    class Spy(torch.optim.SGD):
        def step(self, closure=None):
            seen.append(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()])).item())
            return super().step(closure)

    opt = Spy(model.parameters(), lr=1e-6)
    zero = torch.zeros((), dtype=torch.float64)
    train_step(model, opt, x, y, zero.clone(), zero.clone(), clip_norm=0.5)
    train_step(model, opt, x, y, zero.clone(), zero.clone())
    assert seen[0] == pytest.approx(0.5, rel=1e-5) and seen[1] > 10  # clipped, then not


def test_the_options_train_are_recorded_and_resume_with_them(datasets, tmp_path):
    out = tmp_path / "run"
    options = dict(optimizer="adamw", weight_decay=0.01, clip_norm=1.0, lr_schedule="warmup_cosine:warmup=0.5",
                   max_steps_per_epoch=4, progress=False, model_params={"units": 4})
    first = train("lstm", datasets, epochs=1, out_dir=out, **options)
    t = first.config["training"]
    assert (t["optimizer"], t["weight_decay"], t["clip_norm"]) == ("adamw", 0.01, 1.0)
    assert first.history[0]["lr"] < 1e-3  # the warm-up starts low
    resumed = train("lstm", datasets, epochs=2, out_dir=out, resume=True, **options)
    assert len(resumed.history) == 2
    with pytest.raises(ForecastlabError, match="clip_norm"):
        train("lstm", datasets, epochs=3, out_dir=out, resume=True, **(options | {"clip_norm": 2.0}))
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["weight_decay"] == 0.01
    # the book's own config keeps exactly its keys
    book = train("lstm", datasets, epochs=1, max_steps_per_epoch=2, progress=False, model_params={"units": 4})
    assert "weight_decay" not in book.config["training"] and "clip_norm" not in book.config["training"]


def test_recipe_round_trips_the_options_and_estimators_refuse_them(datasets, series):
    from forecastlab.training import describe_series
    from forecastlab.training.recipe import Recipe

    config = train("linear", datasets, epochs=1, max_steps_per_epoch=2, progress=False, optimizer="adamw",
                   clip_norm=0.5, extra_config={"data": describe_series(series)}).config
    recipe = recipe_of(config)
    assert (recipe.training.weight_decay, recipe.training.clip_norm) == (0.004, 0.5)
    assert Recipe.from_dict(recipe.to_dict()) == recipe
    with pytest.raises(ForecastlabError, match="do not apply to an estimator"):
        train("persistence", datasets, epochs=1, progress=False, clip_norm=1.0)
    with pytest.raises(ForecastlabError, match="clip_norm must be a positive"):
        train("linear", datasets, epochs=1, progress=False, clip_norm=0.0)
    with pytest.raises(ForecastlabError, match="weight_decay"):
        make_optimizer("adamw", [torch.nn.Parameter(torch.zeros(1))], weight_decay=float("nan"))


def test_on_epoch_sees_every_epoch_and_can_stop_the_run_which_then_finishes(datasets, tmp_path):
    seen = []
    full = train("lstm", datasets, epochs=3, max_steps_per_epoch=2, progress=False, model_params={"units": 4},
                 on_epoch=lambda row: seen.append(row) or False)
    assert [r["epoch"] for r in seen] == [1, 2, 3] and all(r["val_loss"] > 0 for r in seen)
    assert [r["val_loss"] for r in seen] == [r["val_loss"] for r in full.history]
    out = tmp_path / "stopped"
    stopped = train("lstm", datasets, epochs=5, max_steps_per_epoch=2, progress=False, model_params={"units": 4},
                    out_dir=out, on_epoch=lambda row: row["epoch"] >= 2)
    assert len(stopped.history) == 2 and stopped.stopped_early
    # the same first two epochs as the run that was not stopped, and a complete run directory
    assert [r["val_loss"] for r in stopped.history] == [r["val_loss"] for r in full.history[:2]]
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 2
