"""Running a recipe (forecastlab.training.recipe): load its data, cut its windows, train, record it; and
reading a run's own data back as its recipe says."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from forecastlab.errors import ForecastlabError
from forecastlab.training.recipe import DataRecipe, Recipe, recipe_of


def run_recipe(recipe: Recipe, out_dir: str | Path | None = None, *, resume: bool = False, overwrite: bool = False,
               progress: bool = True, series=None):
    """Load the recipe's data (or use `series`), cut its windows, train, and write the run directory with
    the recipe in config.json. Returns forecastlab.training.TrainResult."""
    from forecastlab.training.config import describe_series
    from forecastlab.training.engine import train
    from forecastlab.training.run_dir import versions
    from forecastlab.windows import make_datasets_from_series

    data = recipe.data.absolute()
    recipe = dataclasses.replace(recipe.as_input(), data=data)
    series = series if series is not None else data.load()
    t = recipe.training
    datasets = make_datasets_from_series(series, recipe.window.spec(series), seed=t.seed,
                                         transforms=recipe.data.transforms, **recipe.window.dataset_kwargs())
    epochs = t.epochs if t.epochs is not None else _book_epochs(recipe.model.name)
    described = describe_series(series)
    return train(
        recipe.model.name, datasets, epochs=epochs, optimizer=t.optimizer, lr=t.lr, seed=t.seed, out_dir=out_dir,
        resume=resume, overwrite=overwrite, device=t.device, early_stopping=t.early_stopping,
        lr_schedule=t.lr_schedule, progress=progress, max_steps_per_epoch=t.max_steps_per_epoch,
        model_params=recipe.model.params, loss=t.loss, target_transform=t.target_transform,
        interval_level=t.interval_level,
        extra_config={"data": described, "recipe": dataclasses.replace(
            recipe, training=dataclasses.replace(t, epochs=epochs),
            provenance={"data": described, "versions": versions()}).to_dict()},
    )


def run_series(run, **overrides):
    """The data a loaded run was trained on, read as its recipe says; `overrides` (DataRecipe fields,
    e.g. data="new.csv" or gaps="drop") replace only those settings."""
    recipe = recipe_of(run.config)
    if recipe is None:
        if "data" not in overrides:
            raise ForecastlabError(
                "config.json does not say where this run's data came from (it was trained on datasets made by "
                "hand)", where=str(Path(run.run_dir) / "config.json"),
                fix="pass the data: run_series(run, data='file.csv'), or --data on the command line")
        return DataRecipe(**overrides).load()
    return dataclasses.replace(recipe.data, **overrides).load()


def _book_epochs(name: str) -> int:
    from forecastlab.models import get_model_class

    return get_model_class(name).book_epochs
