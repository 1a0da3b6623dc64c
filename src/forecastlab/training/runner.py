"""Running a recipe (forecastlab.training.recipe): load its data, cut its windows, train, record it; and
reading a run's own data back as its recipe says."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from forecastlab.data.public import is_public
from forecastlab.errors import ForecastlabError
from forecastlab.training.recipe import DataRecipe, Recipe, recipe_of


def run_recipe(recipe: Recipe, out_dir: str | Path | None = None, *, resume: bool = False, overwrite: bool = False,
               progress: bool = True, series=None, on_epoch=None):
    """Load the recipe's data (or use `series`), cut its windows, train, and write the run directory with
    the recipe in config.json. Returns forecastlab.training.TrainResult. on_epoch: see train()."""
    from forecastlab.training.config import describe_series
    from forecastlab.training.engine import train
    from forecastlab.training.run_dir import versions
    from forecastlab.windows import make_datasets_from_series

    data = recipe.data.absolute()
    recipe = dataclasses.replace(recipe.as_input(), data=data)
    series = series if series is not None else data.load()
    recipe = dataclasses.replace(recipe, data=data.with_derived(series))
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
        interval_level=t.interval_level, weight_decay=t.weight_decay, clip_norm=t.clip_norm, on_epoch=on_epoch,
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
    data = recipe.data
    if "data" in overrides and data.target is None and "target" not in overrides and is_public(data.data):
        # A run on a public record names no target (the record's default was used): other data is read with
        # the target the run was trained on, not left to guess which column to forecast.
        overrides = overrides | {"target": (run.config.get("data") or {}).get("target")}
    return dataclasses.replace(data, **overrides).load()


def _book_epochs(name: str) -> int:
    from forecastlab.models import get_model_class

    return get_model_class(name).book_epochs


def run_seeds(recipe: Recipe, seeds: int, out_dir: str | Path | None = None, *, overwrite: bool = False,
              progress: bool = True, series=None) -> dict:
    """Train the same recipe with `seeds` seeds (recipe.training.seed, +1, ...), each run in
    out_dir/seed-K, and summarize: the mean and spread (standard deviation over seeds, ddof=1) of val and
    test MAE, and of the test gain over persistence on the same windows. Writes out_dir/seeds.json."""
    from forecastlab.atomic import atomic_write_json
    from forecastlab.evaluation.baselines import compute_baselines
    from forecastlab.evaluation.seeds import spread
    from forecastlab.training import run_dir as rd
    from forecastlab.windows import make_datasets_from_series

    if seeds < 1:
        raise ForecastlabError(f"seeds must be 1 or more, got {seeds}", arg="seeds", fix="pass seeds=3, for example")
    if out_dir is not None and (Path(out_dir) / rd.CONFIG).is_file():
        # overwrite replaces each seed-K run; the single run's files at the top would stay beside them
        raise ForecastlabError("the directory holds a single run (its config.json), not the runs of a --seeds "
                               "training; seed-K runs beside it would mix two results", where=str(out_dir),
                               fix="choose another out_dir=, or remove that directory first")
    series = series if series is not None else recipe.data.absolute().load()
    base = recipe.training.seed
    runs = []
    for seed in range(base, base + seeds):
        one = dataclasses.replace(recipe, training=dataclasses.replace(recipe.training, seed=seed))
        target = None if out_dir is None else Path(out_dir) / f"seed-{seed}"
        result = run_recipe(one, target, overwrite=overwrite, progress=progress, series=series)
        runs.append({"seed": seed, "val_mae": result.val["mae"], "test_mae": result.test["mae"],
                     "total_seconds": result.total_seconds, "run_dir": str(result.run_dir) if result.run_dir else None})
    datasets = make_datasets_from_series(series, recipe.window.spec(series), seed=base,
                                         transforms=recipe.data.transforms, **recipe.window.dataset_kwargs())
    persistence = compute_baselines(series, datasets)["persistence"]
    gains = [100.0 * (persistence["test_mae"] - r["test_mae"]) / persistence["test_mae"] for r in runs]
    summary = {
        "model": recipe.model.name, "seeds": [r["seed"] for r in runs], "runs": runs,
        "val_mae": spread([r["val_mae"] for r in runs]), "test_mae": spread([r["test_mae"] for r in runs]),
        "gain_pct": spread(gains),
        "persistence": {"val_mae": persistence["val_mae"], "test_mae": persistence["test_mae"]},
        "recipe": recipe.as_input().to_dict(),
    }
    if out_dir is not None:
        atomic_write_json(Path(out_dir) / rd.SEEDS_SUMMARY, summary)
    return summary
