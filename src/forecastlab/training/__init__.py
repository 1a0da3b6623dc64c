"""Train a model on windowed data, keep the best checkpoint, resume, and use the result later.

    result = train("lstm", datasets, epochs=10, out_dir="runs/lstm")   # fit (book recipe)
    run = load_run("runs/lstm")                                         # later: rebuild + best weights
    predict(run, raw_values, last=1)                                    # next forecast, target units
    backtest(run, series, folds=5)                                      # rolling-origin folds

The library leaves the process's settings alone; `configure_cpu()` (once, from a script or notebook)
applies the CPU tuning the CLI uses: one torch thread on <= 2 cores, denormals flushed, malloc tuned.
"""

from forecastlab.training.backtest import BacktestResult, backtest
from forecastlab.training.config import describe_series
from forecastlab.training.device import select_device
from forecastlab.training.engine import Interrupted, TrainResult, train
from forecastlab.training.forecaster import TorchForecaster
from forecastlab.training.loading import LoadedRun, load_run, predict
from forecastlab.training.runtime import configure_cpu

__all__ = ["BacktestResult", "Interrupted", "LoadedRun", "TorchForecaster", "TrainResult", "backtest",
           "configure_cpu", "describe_series", "load_run", "predict", "select_device", "train"]
