"""Train a model on windowed data, keep the best checkpoint, resume, and use the result later.

    result = train("lstm", datasets, epochs=10, out_dir="runs/lstm")   # fit (book recipe)
    run = load_run("runs/lstm")                                         # later: rebuild + best weights
    predict(run, raw_values, last=1)                                    # next forecast, target units
    backtest(run, series, folds=5)                                      # rolling-origin folds
    run_recipe(Recipe(ModelRecipe("lstm"), DataRecipe("my.csv")), out_dir="runs/x")  # all in one value

The library leaves the process's settings alone; `configure_cpu()` (once, from a script or notebook)
applies the CPU tuning the CLI uses: one torch thread on <= 2 cores, denormals flushed, malloc tuned.

Names are imported on first use, so `forecastlab.training.recipe` (the recipe's dataclasses) can be used
without importing torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "BacktestResult": "backtest", "backtest": "backtest",
    "describe_series": "config",
    "select_device": "device",
    "Interrupted": "engine", "TrainResult": "engine", "train": "engine",
    "TorchForecaster": "forecaster",
    "LoadedRun": "loading", "load_run": "loading", "predict": "loading",
    "DataRecipe": "recipe", "ModelRecipe": "recipe", "Recipe": "recipe", "TrainingRecipe": "recipe",
    "WindowRecipe": "recipe", "recipe_of": "recipe", "run_recipe": "runner", "run_series": "runner",
    "configure_cpu": "runtime",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'forecastlab.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"forecastlab.training.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
