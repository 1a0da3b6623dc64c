"""The Darts half of benchmarks/peer_darts.py: fit Darts models on the windows forecastlab exported.

    .darts-venv/bin/python benchmarks/peer_darts_worker.py EXCHANGE_DIR [--models lstm,tcn] [--out result.json]

Runs in its own venv (scripts/darts-venv.sh) and never imports forecastlab. EXCHANGE_DIR holds what
peer_darts.py wrote, as .npy and .json only (np.load with allow_pickle=False):

- task.json: the window (sequence_length, sampling_rate s, horizon in sampled steps), the target's column
  and its train-split mean and std, the models, the budget (epochs, steps per epoch, batch size), threads.
- hourly_R.npy for each phase R < s: the normalized series sampled every s rows from row R, rows R::s.
- train_end_rows.npy, val_end_rows.npy, test_end_rows.npy: the last input row of every window of each
  split, in the series' row numbers, exactly as forecastlab cut them.

A window whose last input row is e reads rows e-(L-1)s, ..., e (L = sequence_length) and predicts row
e + horizon*s: in Darts terms, the hourly series of phase e mod s, input_chunk_length L, the last point of an
output_chunk_length=horizon forecast. Windows that follow one another in a phase form one Darts series
(a RangeIndex of row numbers, step s), so Darts' own training and inference datasets cut exactly the
exported windows: no more, no fewer.

Written back: result.json (or --out; seconds, parameters, val losses per model) and, per model of
task.json's list (or --models), pred_NAME.npy (the
forecast of each test window, in the target's units), rows_NAME.npy (the row Darts says each forecast is
for, read from its time index) and actual_NAME.npy (the target at that row as Darts' own series holds it,
in units). peer_darts.py matches them to forecastlab's test targets and checks that they agree.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np


def segments(end_rows: np.ndarray, s: int) -> list[tuple[int, int, int]]:
    """(phase, first window's last input hourly index, windows) for each run of consecutive windows."""
    out = []
    rows = np.unique(end_rows)
    if len(rows) != len(end_rows):
        raise SystemExit("two windows share a last input row")
    for phase in range(s):
        k = (rows[rows % s == phase] - phase) // s
        if not len(k):
            continue
        for run in np.split(k, np.flatnonzero(np.diff(k) != 1) + 1):
            out.append((phase, int(run[0]), len(run)))
    return out


def blocks(task: dict, hourly: list[np.ndarray], end_rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(row of the first value, hourly block) per run of consecutive windows: each block holds its windows'
    inputs and targets, so that Darts' input_chunk_length/output_chunk_length cutting finds exactly them."""
    s, length, horizon = task["sampling_rate"], task["sequence_length"], task["horizon"]
    out = []
    for phase, k_end, m in segments(end_rows, s):
        first = k_end - (length - 1)
        block = hourly[phase][first : k_end + m + horizon]
        if first < 0 or len(block) != length + m - 1 + horizon:
            raise SystemExit(f"phase {phase}: the exported series is too short for windows ending at {k_end}")
        out.append((phase + s * first, block))
    return out


def series_of(task: dict, hourly: list[np.ndarray], end_rows: np.ndarray):
    """(targets, past covariates) as lists of Darts TimeSeries covering exactly these windows, indexed by
    the rows of the original series (a RangeIndex of step s)."""
    import pandas as pd
    from darts import TimeSeries

    s, col, names = task["sampling_rate"], task["target_column"], task["columns"]
    others = [j for j in range(hourly[0].shape[1]) if j != col]
    targets, covariates = [], []
    for row, block in blocks(task, hourly, end_rows):
        times = pd.RangeIndex(row, row + s * len(block), s)
        targets.append(TimeSeries.from_times_and_values(times, block[:, [col]], columns=[names[col]]))
        covariates.append(TimeSeries.from_times_and_values(times, block[:, others], columns=[names[j] for j in others]))
    return targets, covariates


def build(name: str, task: dict, callbacks: list):
    import torch
    from darts.models import BlockRNNModel, DLinearModel, TCNModel

    common = dict(
        input_chunk_length=task["sequence_length"], output_chunk_length=task["horizon"],
        batch_size=task["batch_size"], n_epochs=task["epochs"], random_state=task["seed"],
        pl_trainer_kwargs={
            "accelerator": "cpu", "devices": 1, "enable_progress_bar": False, "enable_model_summary": False,
            "logger": False, "enable_checkpointing": False, "num_sanity_val_steps": 0,
            "limit_train_batches": task["steps_per_epoch"] or 1.0, "callbacks": callbacks,
        },
    )
    if name == "lstm":
        return BlockRNNModel(model="LSTM", hidden_dim=32, n_rnn_layers=1, dropout=0.0, **common)
    if name == "tcn":
        return TCNModel(kernel_size=3, num_filters=16, dilation_base=2, weight_norm=False, dropout=0.1, **common)
    if name == "dlinear":
        return DLinearModel(kernel_size=25, **common)
    if name == "lstm_rmsprop":  # the book's optimizer, for a like-for-like check of the optimizer's share
        return BlockRNNModel(model="LSTM", hidden_dim=32, n_rnn_layers=1, dropout=0.0,
                             optimizer_cls=torch.optim.RMSprop, optimizer_kwargs={"lr": 1e-3}, **common)
    raise SystemExit(f"unknown Darts model {name!r}; choose from lstm, tcn, dlinear, lstm_rmsprop")


def _lightning_callbacks():
    import pytorch_lightning as pl

    class Clock(pl.Callback):
        """Wall time of each training epoch and of its validation pass; the best weights by val loss."""

        def __init__(self):
            self.epochs, self.val, self.val_losses = [], [], []
            self.best, self.best_loss, self.best_epoch = None, float("inf"), 0

        def on_train_epoch_start(self, trainer, pl_module):
            self._t_epoch = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module):
            self.epochs.append(time.perf_counter() - self._t_epoch)

        def on_validation_start(self, trainer, pl_module):
            self._t_val = time.perf_counter()

        def on_validation_end(self, trainer, pl_module):
            if trainer.sanity_checking:
                return
            self.val.append(time.perf_counter() - self._t_val)
            loss = float(trainer.callback_metrics["val_loss"])
            self.val_losses.append(loss)
            if loss < self.best_loss:  # forecastlab's (and Keras's) ModelCheckpoint(save_best_only=True)
                self.best_loss, self.best_epoch = loss, len(self.val_losses)
                self.best = copy.deepcopy(pl_module.state_dict())

    return Clock()


def train_samples(model, data: dict) -> tuple[int | None, int | None]:
    """(samples per epoch, distinct windows) in Darts' own training dataset over the train series. Darts
    draws as many samples from every series as from the longest one, repeating windows of the shorter ones
    (its max_samples_per_ts), so the first can exceed the second. A private method: (None, None) when this
    Darts version has no such method."""
    build = getattr(model, "_build_train_dataset", None)
    if build is None:
        return None, None
    try:
        total = len(build(data["train"][0], data["train"][1], None, None, None))
        distinct = sum(len(build([t], [c], None, None, None)) for t, c in zip(*data["train"], strict=True))
    except TypeError:
        return None, None
    return total, distinct


def run_model(name: str, task: dict, data: dict, out: Path) -> dict:
    started = time.perf_counter()
    clock = _lightning_callbacks()
    model = build(name, task, [clock])
    validate = task["validate"]
    t0 = time.perf_counter()
    model.fit(data["train"][0], past_covariates=data["train"][1],
              val_series=data["val"][0] if validate else None,
              val_past_covariates=data["val"][1] if validate else None, verbose=False)
    fit_s = time.perf_counter() - t0
    if validate and clock.best is not None:
        model.model.load_state_dict(clock.best)
    params = sum(p.numel() for p in model.model.parameters() if p.requires_grad)
    samples = train_samples(model, data)
    targets, covariates = data["test"]
    t0 = time.perf_counter()
    forecasts = model.historical_forecasts(
        targets, past_covariates=covariates, forecast_horizon=task["horizon"], stride=1, retrain=False,
        last_points_only=True, verbose=False, predict_kwargs={"batch_size": task["eval_batch"]})
    predict_s = time.perf_counter() - t0
    if isinstance(forecasts, list) and forecasts and isinstance(forecasts[0], list):
        raise SystemExit("historical_forecasts returned lists of forecasts; expected one series per segment")
    mean, std = task["target_mean"], task["target_std"]
    rows, pred, actual = [], [], []
    for series, forecast in zip(targets, forecasts, strict=True):
        index = np.asarray(forecast.time_index, dtype=np.int64)
        rows.append(index)
        pred.append(forecast.values(copy=False)[:, 0].astype(np.float64) * std + mean)
        actual.append(series.slice_intersect(forecast).values(copy=False)[:, 0].astype(np.float64) * std + mean)
    rows, pred, actual = np.concatenate(rows), np.concatenate(pred), np.concatenate(actual)
    np.save(out / f"rows_{name}.npy", rows)
    np.save(out / f"pred_{name}.npy", pred)
    np.save(out / f"actual_{name}.npy", actual)
    train_s = [e - v for e, v in zip(clock.epochs, clock.val + [0.0] * (len(clock.epochs) - len(clock.val)),
                                     strict=True)]
    return {"model": name, "darts_class": type(model).__name__, "params": int(params), "fit_seconds": fit_s,
            "train_seconds": sum(train_s), "val_seconds": sum(clock.val), "epoch_seconds": clock.epochs,
            "epochs_run": len(clock.epochs), "val_losses": clock.val_losses, "best_epoch": clock.best_epoch,
            "predict_seconds": predict_s, "forecasts": len(pred), "train_series": len(data["train"][0]),
            "test_series": len(targets), "train_samples": samples[0], "train_windows": samples[1],
            "model_seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exchange")
    parser.add_argument("--models", help="comma-separated; default: task.json's")
    parser.add_argument("--out", default="result.json")
    args = parser.parse_args()
    exchange = Path(args.exchange)
    task = json.loads((exchange / "task.json").read_text())
    models = args.models.split(",") if args.models else task["models"]
    started = time.perf_counter()
    import torch

    # The same process settings forecastlab's side runs under (its configure_cpu): threads, denormals.
    torch.set_num_threads(task["threads"])
    torch.set_flush_denormal(True)
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric", "darts"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    import darts

    imported = time.perf_counter() - started
    hourly = [np.load(exchange / f"hourly_{r}.npy", allow_pickle=False) for r in range(task["sampling_rate"])]
    t0 = time.perf_counter()
    data = {split: series_of(task, hourly, np.load(exchange / f"{split}_end_rows.npy", allow_pickle=False))
            for split in ("train", "val", "test")}
    series_s = time.perf_counter() - t0
    results = []
    for name in models:
        results.append(run_model(name, task, data, exchange))
        print(f"darts {name}: fit {results[-1]['fit_seconds']:.1f} s, predict {results[-1]['predict_seconds']:.1f} s",
              file=sys.stderr, flush=True)
    import pytorch_lightning

    meta = {"darts": darts.__version__, "torch": torch.__version__, "pytorch_lightning": pytorch_lightning.__version__,
            "python": platform.python_version(), "threads": torch.get_num_threads(), "import_seconds": imported,
            "series_seconds": series_s, "total_seconds": time.perf_counter() - started}
    (exchange / args.out).write_text(json.dumps({"meta": meta, "models": results}, indent=1))


if __name__ == "__main__":
    main()
