"""Choose between the two current deep forecasters, N-HiTS (`nhits`) and PatchTST (`patchtst`), by
measurement: train each, and `tcn`, `linear`, `lstm` and `persistence` for context, the same way on the
same windows and report val MAE, test MAE and seconds per model.

    .venv/bin/python benchmarks/deep_forecaster_choice.py [--epochs 3] [--steps 150] [--eval-every 6]
        [--models nhits,patchtst,tcn,linear,lstm,persistence] [--lr LR] [--param MODEL:KEY=VALUE]
        [--threads 1] [--json [FILE]]

Everything goes through forecastlab's Python API: `load_series("synthetic")`, the book's window as a
`WindowRecipe` (lookback 5d, sample every 1h, horizon 24h: 120 x 6 rows, 858 rows ahead), the datasets
of `make_datasets_from_series` (batch 256, seed 0) and `forecastlab.training.train` with each model's
defaults: its own learning rate (`default_lr`) and target transform, RMSprop, MSE, seed 0, the best
epoch by val loss. Every model gets the same `--epochs` of at most `--steps` batches (the first batches
of each epoch's shuffled order, the same windows for every model).

To fit in a few minutes on 2 cores, validation and test are scored on every `--eval-every`-th window
(6: one window per hour instead of one per 10 minutes; neighbouring windows overlap in 119 of their
120 steps, so this is an unbiased estimate of the full split's MAE with far fewer forward passes).
The same windows for every model. Choose by the *validation* MAE; the test MAE is reported, not used.

The torch thread count is this script's own setting (`--threads`, through
`forecastlab.training.configure_cpu`), never the library's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings

DEFAULT_MODELS = "nhits,patchtst,tcn,linear,lstm,persistence"


def _every(dataset, n: int):
    if n == 1:
        return dataset
    keep = (dataset.start_positions - dataset.start_positions[0]) % n == 0
    return dataset.subset(keep, shuffle=False)


def _finite(value):
    """None for NaN/inf (an estimator's history has no training loss), so --json is strict JSON."""
    return value if not isinstance(value, float) or math.isfinite(value) else None


def _params(specs: list[str], parser) -> dict[str, dict]:
    """--param nhits:units=128 --param nhits:pool_sizes=[4,1] -> {"nhits": {"units": 128, "pool_sizes": [4, 1]}}."""
    out: dict[str, dict] = {}
    for spec in specs:
        name, _, assignment = spec.partition(":")
        key, eq, text = assignment.partition("=")
        if not (name and key and eq):
            parser.error(f"--param must be MODEL:KEY=VALUE, got {spec!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        out.setdefault(name, {})[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=DEFAULT_MODELS, help=f"comma-separated (default {DEFAULT_MODELS})")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=150, help="training batches per epoch at most")
    parser.add_argument("--eval-every", type=int, default=6, help="score every Nth val/test window")
    parser.add_argument("--lr", type=float, default=None, help="one learning rate for every torch model "
                        "(default: each model's own default_lr, else 1e-3)")
    parser.add_argument("--param", action="append", default=[], metavar="MODEL:KEY=VALUE",
                        help="override one model's hyperparameter (VALUE as JSON, else a string); repeatable")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                        help="write the results as JSON to FILE, or to stdout instead of the table")
    args = parser.parse_args(argv)

    from forecastlab.data import load_series
    from forecastlab.errors import SyntheticDataWarning
    from forecastlab.models import count_params, get_model_class
    from forecastlab.training import WindowRecipe, configure_cpu, train
    from forecastlab.windows import make_datasets_from_series

    configure_cpu(threads=args.threads)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    for name in names:
        get_model_class(name)  # an unknown name fails before the data is loaded
    params = _params(args.param, parser)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticDataWarning)  # said once below, in the table's header
        series = load_series("synthetic")
    window = WindowRecipe(lookback="5d", sample_every="1h", horizons="24h")
    datasets = make_datasets_from_series(series, window.spec(series), seed=args.seed, **window.dataset_kwargs())
    datasets.val = _every(datasets.val, args.eval_every)
    datasets.test = _every(datasets.test, args.eval_every)
    load_seconds = time.perf_counter() - started

    rows = []
    for name in names:
        estimator = get_model_class(name).kind != "torch"
        t0 = time.perf_counter()
        result = train(name, datasets, epochs=1 if estimator else args.epochs, seed=args.seed, progress=False,
                       max_steps_per_epoch=args.steps, lr=None if estimator else args.lr,
                       model_params=params.get(name))
        seconds = time.perf_counter() - t0
        rows.append({"model": name, "val_mae": result.val["mae"], "test_mae": result.test["mae"],
                     "seconds": seconds, "best_epoch": result.best_epoch, "params": count_params(result.model),
                     "lr": None if estimator else result.config["training"]["lr"],
                     "target_transform": result.config["training"]["target_transform"],
                     "model_params": params.get(name, {}),
                     "history": [{k: _finite(h.get(k)) for k in ("epoch", "loss", "val_mae")} for h in result.history]})
        print(f"{name}: val MAE {result.val['mae']:.4f}, test MAE {result.test['mae']:.4f}, {seconds:.1f} s",
              file=sys.stderr, flush=True)

    torch_rows = [r for r in rows if r["model"] in ("nhits", "patchtst")]
    choice = min(torch_rows, key=lambda r: r["val_mae"])["model"] if len(torch_rows) == 2 else None
    out = {
        "data": "synthetic", "window": {"lookback": "5d", "sample_every": "1h", "horizons": "24h",
                                        "sequence_length": datasets.spec.sequence_length,
                                        "sampling_rate": datasets.spec.sampling_rate, "batch_size": 256},
        "epochs": args.epochs, "steps_per_epoch": args.steps, "eval_every": args.eval_every, "seed": args.seed,
        "windows": {"train": datasets.train.num_windows, "val": datasets.val.num_windows,
                    "test": datasets.test.num_windows},
        "lr": args.lr, "threads": args.threads, "rows": rows, "choice_by_val_mae": choice,
        "load_seconds": load_seconds, "total_seconds": time.perf_counter() - started,
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version()},
    }
    if args.json and args.json != "-":
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    if args.json == "-":
        print(json.dumps(out, indent=1))
        return 0
    print(f"SYNTHETIC DATA, book's window (120 x 6 rows, 24 h ahead); {args.epochs} epochs of at most "
          f"{args.steps} batches of 256; val/test: every {args.eval_every}th window ({out['windows']['val']:,} / "
          f"{out['windows']['test']:,}); {args.threads} torch thread(s); load average "
          f"{', '.join(f'{v:.2f}' for v in out['machine']['load_average'])}")
    print("| model | val MAE (°C) | test MAE (°C) | seconds | best epoch | params | lr |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        lr = "-" if r["lr"] is None else f"{r['lr']:g}"
        print(f"| {r['model']} | {r['val_mae']:.3f} | {r['test_mae']:.3f} | {r['seconds']:.1f} | {r['best_epoch']} "
              f"| {r['params']:,} | {lr} |")
    if choice:
        print(f"choice by val MAE between nhits and patchtst: {choice}")
    print(f"total {out['total_seconds']:.0f} s (data {load_seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
