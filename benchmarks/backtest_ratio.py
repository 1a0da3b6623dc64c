"""How much a backtest costs next to one plain evaluation pass, on the same run and data.

    .venv/bin/python benchmarks/backtest_ratio.py RUN_DIR [--folds 5] [--repeats 3] [--json FILE]

The evaluation pass is what `forecastlab evaluate` does for the test split: cut the split's windows and
forecast every one of them. The backtest is `forecastlab backtest RUN_DIR --folds K --no-refit`: cut every
window of the series once, forecast the K folds of the test period, and score the three baselines on
each fold. Both run in this process, alternately, `--repeats` times; the best time of each is reported,
and the ratio of the two. Darts' users report backtests about 10x slower than a validation pass
(unit8co/darts#1531, #1736); here no dataset is rebuilt per fold.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

from forecastlab.data import load_series
from forecastlab.evaluation.metrics import EVAL_BATCH, forecast_dataset
from forecastlab.training import backtest, load_run


def _series(run):
    data = run.config.get("data") or {}
    provenance = data.get("provenance") or {}
    where = provenance.get("path") if provenance.get("source") == "file" else provenance.get("source", "auto")
    return load_series(where, target=data.get("target"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    run = load_run(args.run_dir)
    series = _series(run)
    evals, backtests, windows = [], [], {}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        values = run.normalizer.transform(series.values) if run.normalizer is not None else series.values
        sets = run.spec.make_datasets(values, series.targets, batch_size=EVAL_BATCH, shuffle_train=False,
                                      normalize=False, times=series.timestamps)
        pred, _ = forecast_dataset(run.model, sets.test, run.head)
        evals.append(time.perf_counter() - t0)
        windows["evaluation"] = len(pred)
        t0 = time.perf_counter()
        result = backtest(run, series, folds=args.folds)
        backtests.append(time.perf_counter() - t0)
        windows["backtest"] = sum(f["windows"] for f in result.folds)
    out = {"model": run.config["model"]["name"], "folds": args.folds, "windows": windows,
           "evaluation_seconds": min(evals), "backtest_seconds": min(backtests),
           "ratio": min(backtests) / min(evals), "repeats": args.repeats,
           "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version()}}
    print(f"{out['model']}: one evaluation pass {out['evaluation_seconds']:.2f} s over {windows['evaluation']:,} "
          f"windows; backtest with {args.folds} folds {out['backtest_seconds']:.2f} s over {windows['backtest']:,} "
          f"windows (baselines included): {out['ratio']:.2f}x")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
