"""Peer toolkit: aeon's MiniRocket on one UCR/UEA dataset, as a reference for forecastlab's classifiers.

    bash scripts/aeon-venv.sh
    .aeon-venv/bin/python benchmarks/peer_minirocket_worker.py --dataset GunPoint --json out.json

Options: --dataset (GunPoint, ArrowHead, ItalyPowerDemand or BasicMotions), --seed (default 0, MiniRocket's
random_state), --threads (default 1), --json FILE (where to write the result; it is printed as well).

Runs in its own venv (scripts/aeon-venv.sh) and never imports forecastlab. The four datasets ship inside
aeon's package data (aeon/datasets/data/NAME/NAME_TRAIN.ts and NAME_TEST.ts), and
aeon.datasets.load_classification(NAME, split="train"/"test") reads them from there: no download, no network.
Other names are refused, exactly so that aeon never tries to fetch one from Zenodo.

It fits aeon.classification.convolution_based.MiniRocketClassifier(random_state=seed, n_jobs=threads) (MiniRocket
transform, 10,000 kernels, then StandardScaler and RidgeClassifierCV) on the train split, predicts the test
split, and reports, as JSON:

- dataset, seed, threads, and the aeon, numba, sklearn, numpy and python versions;
- n_train, n_test, length (time points per series), channels, classes (sorted label strings of both splits);
- x_train_mean, x_train_std, x_test_mean, x_test_std: float64 mean and population std (ddof=0) over every value
  of each split, so that the caller can check it loaded the same data;
- accuracy on the test split;
- warmup_seconds, fit_seconds, predict_seconds (time.perf_counter).

warmup_seconds: before anything is timed, a throwaway MiniRocketClassifier is fitted, and predicts, on a tiny
subset of the train split (the first two cases of each class), so that numba's JIT compilation of MiniRocket's
kernels lands there and not in fit_seconds. aeon compiles with cache=True: the first run in a fresh venv
compiles (several seconds); later runs mostly load the machine code from numba's cache in aeon's __pycache__,
and their warmup is much shorter. Univariate and multivariate data use different kernels, so each is compiled
the first time it is met.

--threads sets NUMBA_NUM_THREADS, OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and
NUMEXPR_NUM_THREADS before numpy, numba or aeon is imported, and is passed to MiniRocketClassifier as n_jobs.

Errors (an unknown dataset, a bad --threads) end with a one-line message on stderr and a nonzero status.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

DATASETS = ("GunPoint", "ArrowHead", "ItalyPowerDemand", "BasicMotions")
THREAD_VARIABLES = (
    "NUMBA_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Fit aeon's MiniRocketClassifier on one bundled dataset.")
    parser.add_argument("--dataset", required=True, help=f"one of {', '.join(DATASETS)}")
    parser.add_argument("--seed", type=int, default=0, help="MiniRocket's random_state (default 0)")
    parser.add_argument("--threads", type=int, default=1, help="numba/BLAS threads and n_jobs (default 1)")
    parser.add_argument("--json", type=Path, default=None, help="write the result here (it is printed as well)")
    args = parser.parse_args(argv)
    if args.dataset not in DATASETS:
        raise SystemExit(f"error: unknown dataset {args.dataset!r}; choose one of {', '.join(DATASETS)}")
    if args.threads < 1:
        raise SystemExit(f"error: --threads must be at least 1, not {args.threads}")
    return args


def limit_threads(threads: int) -> None:
    """Must run before numpy, numba or aeon is imported: they read these when they load."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)


def warmup_subset(y) -> list[int]:
    """Indices of the first two train cases of each class: the tiny set the throwaway fit compiles numba on."""
    seen: dict[str, int] = {}
    chosen = []
    for i, label in enumerate(y):
        if seen.get(label, 0) < 2:
            seen[label] = seen.get(label, 0) + 1
            chosen.append(i)
    return chosen


def run(args: argparse.Namespace) -> dict:
    import aeon
    import numba
    import numpy as np
    import sklearn
    from aeon.classification.convolution_based import MiniRocketClassifier
    from aeon.datasets import load_classification

    x_train, y_train = load_classification(args.dataset, split="train")
    x_test, y_test = load_classification(args.dataset, split="test")
    x_train, x_test = np.asarray(x_train), np.asarray(x_test)
    y_train, y_test = np.asarray(y_train).astype(str), np.asarray(y_test).astype(str)
    if x_train.ndim != 3 or x_test.shape[1:] != x_train.shape[1:]:
        raise SystemExit(f"error: {args.dataset}: unexpected shapes {x_train.shape} and {x_test.shape}")

    def make():
        return MiniRocketClassifier(random_state=args.seed, n_jobs=args.threads)

    tiny = warmup_subset(y_train)
    start = time.perf_counter()
    make().fit(x_train[tiny], y_train[tiny]).predict(x_train[tiny])
    warmup_seconds = time.perf_counter() - start

    model = make()
    start = time.perf_counter()
    model.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - start

    start = time.perf_counter()
    predicted = np.asarray(model.predict(x_test)).astype(str)
    predict_seconds = time.perf_counter() - start

    n_train, channels, length = x_train.shape
    return {
        "dataset": args.dataset,
        "seed": args.seed,
        "threads": args.threads,
        "aeon": aeon.__version__,
        "numba": numba.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "n_train": int(n_train),
        "n_test": int(x_test.shape[0]),
        "length": int(length),
        "channels": int(channels),
        "classes": sorted(set(y_train.tolist()) | set(y_test.tolist())),
        "x_train_mean": float(x_train.astype(np.float64).mean()),
        "x_train_std": float(x_train.astype(np.float64).std()),
        "x_test_mean": float(x_test.astype(np.float64).mean()),
        "x_test_std": float(x_test.astype(np.float64).std()),
        "accuracy": float(np.mean(predicted == y_test)),
        "warmup_seconds": warmup_seconds,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limit_threads(args.threads)
    result = run(args)
    text = json.dumps(result, indent=2)
    if args.json is not None:
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
