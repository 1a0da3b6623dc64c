"""Darts, a peer toolkit, next to forecastlab: the same data, the same windows, the same test points.

    bash scripts/darts-venv.sh        # once: .darts-venv with darts 0.41.0 on torch 2.13.0 (CPU)
    .venv/bin/python benchmarks/peer_darts.py [--data synthetic] [--epochs 3] [--steps 80] [--threads 1] \
        [--darts lstm,tcn] [--ours lstm lstm:units=32,optimizer=adam,as=lstm32 linear] [--json FILE]

The book's task (Chapter 10): 5 days of history sampled every hour, T (degC) 24 hours after the last
input, a 50/25/25 chronological split, every column normalized with train-split statistics. forecastlab
cuts the windows (forecastlab.data.load_series, forecastlab.windows.make_datasets_from_series); this
script then:

1. exports the normalized series, as one hourly array per phase (rows R::6 for 10-minute data), and the
   last input row of every train, val and test window, as .npy plus a task.json (no pickle);
2. trains forecastlab's models (`--ours`, with forecastlab.training.train) on those windows;
3. runs benchmarks/peer_darts_worker.py in the Darts venv (`--darts-python`), which fits Darts'
   BlockRNNModel(LSTM, hidden_dim=32) and TCNModel with input_chunk_length=120 and output_chunk_length=24
   on exactly the same train windows (checked: Darts' own dataset cuts them and no other; it samples a
   few of them twice per pass, to give every series as many samples as the longest), with the target's
   past and the other 13 columns (past covariates) as its inputs, keeps the best epoch by
   validation loss as forecastlab does, and forecasts every test window with historical_forecasts
   (retrain=False); the 24th step is scored;
4. checks that Darts forecast the same rows and sees the same true values there as forecastlab's test
   targets, and prints one table: test MAE (target units) on those points, persistence MAE on the same
   points, and seconds. Both sides get the same budget: `--epochs` epochs of at most `--steps` batches of
   `--batch-size` windows, a validation pass per epoch over the same every `--val-every`-th val window
   (the best epoch by val loss is kept), under the same torch thread count.

Seconds: "train" is the training batches alone, "fit" adds the validation passes, "predict" is one pass
over every test window (ours: forecast_dataset; Darts: historical_forecasts). forecastlab's train() also
scores the test split itself at the end (that is in the "ours" process total, not in "fit").

The two toolkits run one after another on the same machine, interleaved model by model by default
(`--order`), each Darts model in its own worker process, so that other jobs' load falls on both alike.
Darts is never a dependency of forecastlab; without its venv the script says how to make one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from forecastlab.errors import SyntheticDataWarning
from forecastlab.training.recipe import DataRecipe, WindowRecipe
from forecastlab.windows import make_datasets_from_series

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).resolve().with_name("peer_darts_worker.py")
DEFAULT_DARTS_PYTHON = os.environ.get("FORECASTLAB_DARTS_PYTHON") or str(ROOT / ".darts-venv" / "bin" / "python")
# Which of our models each Darts model is compared with, for the speed ratios.
PEERS = {"lstm": "lstm", "lstm_rmsprop": "lstm", "tcn": "tcn", "dlinear": "linear"}
TRAIN_OPTIONS = ("optimizer", "lr", "target_transform", "loss")
# Peers of Darts' models first (an LSTM set up as Darts' BlockRNNModel is: 32 units, Adam, standardized
# target; our TCN, when this forecastlab has one), then the book's LSTM(16) and the DLinear-style linear model.
DEFAULT_OURS = ("lstm:units=32,optimizer=adam,target_transform=standardize,as=lstm32-adam-std", "tcn", "lstm",
                "linear")


def parse_ours(items: list[str]) -> list[tuple[str, str, dict, dict]]:
    """'lstm', 'lstm:units=32' or 'lstm:units=32,optimizer=adam,target_transform=standardize,as=lstm32' ->
    (label, model name, model params, train() options). TRAIN_OPTIONS go to train(), `as` names the row."""
    out = []
    for item in items:
        name, _, rest = item.partition(":")
        params = {}
        for pair in filter(None, rest.split(",")):
            key, _, value = pair.partition("=")
            try:
                params[key.strip()] = json.loads(value)
            except json.JSONDecodeError:
                params[key.strip()] = value.strip()
        options = {k: params.pop(k) for k in TRAIN_OPTIONS if k in params}
        out.append((str(params.pop("as", item)), name.strip(), params, options))
    return out


def load(args):
    """The series and its three window datasets, exactly as `forecastlab train --data ...` cuts them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        series = DataRecipe(data=args.data, target=args.target).load()
    for w in caught:
        if issubclass(w.category, SyntheticDataWarning):
            print("note: synthetic Jena-format data (forecastlab's built-in generator), not the real record",
                  file=sys.stderr)
        else:
            print(f"warning: {w.message}", file=sys.stderr)
    spec = WindowRecipe(lookback="5d", sample_every="1h", horizons="24h").spec(series)
    sets = make_datasets_from_series(series, spec, batch_size=args.batch_size, seed=args.seed)
    # Fewer validation (and, for quick checks, test) windows: every k-th, on both sides alike.
    every = {"val": args.val_every, "test": args.test_every}
    sets = dataclasses.replace(sets, **{split: getattr(sets, split).subset(_every(getattr(sets, split), k))
                                        for split, k in every.items() if k > 1})
    if sets.target_column is None:
        raise SystemExit(f"the target {series.target!r} is not one of the input columns; Darts reads the target's "
                         "past as an input, so pick a target among the features")
    return series, spec, sets


def _every(dataset, k: int) -> np.ndarray:
    keep = np.zeros(dataset.num_windows, dtype=bool)
    keep[::k] = True
    return keep


def export(exchange: Path, series, spec, sets, args) -> dict:
    """Write the normalized hourly arrays, the windows' last input rows and task.json for the worker."""
    values = sets.normalizer.transform(series.values)  # the very transform the datasets' inputs went through
    s = spec.sampling_rate
    for phase in range(s):
        np.save(exchange / f"hourly_{phase}.npy", np.ascontiguousarray(values[phase::s]))
    for split in ("train", "val", "test"):
        np.save(exchange / f"{split}_end_rows.npy", getattr(sets, split).last_input_rows.astype(np.int64))
    col = sets.target_column
    task = {
        "columns": list(series.columns), "target_column": col, "sampling_rate": s,
        "sequence_length": spec.sequence_length, "horizon": spec.horizon,
        "target_mean": float(np.atleast_1d(sets.normalizer.mean_)[col]),
        "target_std": float(np.atleast_1d(sets.normalizer.std_)[col]),
        "models": args.darts, "epochs": args.epochs, "steps_per_epoch": args.steps, "batch_size": args.batch_size,
        "eval_batch": args.eval_batch, "seed": args.seed, "threads": args.threads, "validate": not args.no_val,
    }
    (exchange / "task.json").write_text(json.dumps(task, indent=1))
    return task


def run_darts(exchange: Path, args, models: list[str]) -> tuple[dict, float]:
    """One worker process for `models`: ({"meta", "models"}, its wall seconds)."""
    if not Path(args.darts_python).exists():
        raise SystemExit(f"no Darts venv at {args.darts_python}: run `bash scripts/darts-venv.sh` first "
                         "(or pass --darts-python / set FORECASTLAB_DARTS_PYTHON)")
    env = os.environ | {"OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads),
                        "PYTHONWARNINGS": "ignore"}
    out = f"result_{'-'.join(models)}.json"
    t0 = time.perf_counter()
    proc = subprocess.run([args.darts_python, str(WORKER), str(exchange), "--models", ",".join(models), "--out", out],
                          env=env, text=True, capture_output=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"the Darts worker failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    sys.stderr.write(proc.stderr[-2000:] if args.verbose else "")
    result = json.loads((exchange / out).read_text())
    for name in models:
        print(f"darts {name}: fit {_of(result, name)['fit_seconds']:.1f} s, predict "
              f"{_of(result, name)['predict_seconds']:.1f} s", file=sys.stderr, flush=True)
    return result, wall


def _of(result: dict, name: str) -> dict:
    return next(m for m in result["models"] if m["model"] == name)


def run_ours(sets, args, specs: list[tuple[str, str, dict, dict]]) -> list[dict]:
    from forecastlab.evaluation.metrics import forecast_dataset
    from forecastlab.models.head import Head
    from forecastlab.training import train

    rows = []
    for label, name, params, options in specs:
        t0 = time.perf_counter()
        result = train(name, sets, epochs=args.epochs, max_steps_per_epoch=args.steps, seed=args.seed,
                       progress=False, model_params=params or None, early_stopping=None, **options)
        train_call = time.perf_counter() - t0
        head = Head.from_dict(result.config.get("head"))
        t0 = time.perf_counter()
        pred, y = forecast_dataset(result.model, sets.test, head)
        predict_s = time.perf_counter() - t0
        history = result.history
        rows.append({
            "model": label, "base": name, "params": int(result.params),
            "pred": pred[:, -1, head.loss.median_index], "y": y[:, -1],
            "train_seconds": float(sum(h.get("train_seconds", h.get("seconds", 0.0)) for h in history)),
            "fit_seconds": float(sum(h.get("seconds", 0.0) for h in history)), "train_call_seconds": train_call,
            "predict_seconds": predict_s, "epochs_run": len(history), "best_epoch": result.best_epoch,
            "val_mae": result.val["mae"], "engine_test_mae": result.test["mae"],
            "optimizer": result.config.get("training", {}).get("optimizer"),
            "target_transform": head.target.kind, "process_seconds": train_call + predict_s,
        })
        print(f"ours {label}: fit {rows[-1]['fit_seconds']:.1f} s, predict {predict_s:.1f} s", file=sys.stderr,
              flush=True)
    return rows


def run_all(exchange: Path, sets, args) -> tuple[list[dict], dict, dict]:
    """Our models and Darts' one after another, in `--order`: interleaved (ours 1, darts 1, ours 2, ...; a
    worker process per Darts model, so a change in the machine's load falls on both), ours-first or
    darts-first (one worker for all Darts models)."""
    specs = parse_ours(args.ours)
    ours, darts, walls = [], {"models": [], "meta": {}}, {"ours": 0.0, "darts": 0.0, "darts_import": 0.0}
    if args.order == "interleaved":
        jobs = []
        for i in range(max(len(specs), len(args.darts))):
            jobs += [("ours", specs[i:i + 1]), ("darts", args.darts[i:i + 1])]
    elif args.order == "ours-first":
        jobs = [("ours", specs), ("darts", args.darts)]
    else:
        jobs = [("darts", args.darts), ("ours", specs)]
    for side, part in jobs:
        if not part:
            continue
        t0 = time.perf_counter()
        if side == "ours":
            ours += run_ours(sets, args, part)
            walls["ours"] += time.perf_counter() - t0
        else:
            result, wall = run_darts(exchange, args, part)
            darts["models"] += result["models"]
            darts["meta"] = result["meta"]
            walls["darts"] += wall
            walls["darts_import"] += result["meta"]["import_seconds"]
    return ours, darts, walls


def steps_run(samples: int, args, epochs: int) -> int:
    """Training batches over `epochs` epochs of `samples` windows (each side counts its own samples)."""
    per_epoch = -(-samples // args.batch_size)
    return epochs * (min(per_epoch, args.steps) if args.steps else per_epoch)


def score(series, spec, sets, ours: list[dict], darts: dict, exchange: Path, args) -> dict:
    """Every model on the same test points: forecastlab's test targets, checked against what Darts saw."""
    target = series.targets.astype(np.float64)
    last = sets.test.last_input_rows.astype(np.int64)
    rows = last + spec.horizon * spec.sampling_rate
    truth = target[rows]
    persistence = float(np.mean(np.abs(target[last] - truth)))
    table = []
    for r in ours:
        if not np.array_equal(r["y"], truth):
            raise SystemExit(f"ours {r['model']}: the test targets are not the series' rows at last input + horizon")
        mae = float(np.mean(np.abs(r["pred"] - truth)))
        table.append({"toolkit": "forecastlab"} | {k: v for k, v in r.items() if k not in ("pred", "y")}
                     | {"test_mae": mae, "steps": steps_run(sets.train.num_windows, args, r["epochs_run"])})
    for d in darts.get("models", []):
        name = d["model"]
        if d.get("train_windows") not in (None, sets.train.num_windows):
            raise SystemExit(f"darts {name}: it cut {d['train_windows']:,} distinct training windows, forecastlab "
                             f"{sets.train.num_windows:,}")
        drows = np.load(exchange / f"rows_{name}.npy", allow_pickle=False)
        order = np.argsort(drows)
        at = np.searchsorted(drows[order], rows)
        if len(drows) != len(rows) or not np.array_equal(drows[order][np.minimum(at, len(drows) - 1)], rows):
            raise SystemExit(f"darts {name}: it forecast {len(drows):,} rows, not forecastlab's {len(rows):,} test "
                             "target rows")
        pick = order[at]
        pred = np.load(exchange / f"pred_{name}.npy", allow_pickle=False)[pick]
        actual = np.load(exchange / f"actual_{name}.npy", allow_pickle=False)[pick]
        gap = float(np.max(np.abs(actual - truth))) if len(truth) else 0.0
        if gap > 1e-3:  # float32 normalization round trip only
            raise SystemExit(f"darts {name}: its true values differ from forecastlab's targets by up to {gap:g}")
        table.append({"toolkit": f"darts {darts['meta']['darts']}"} | d
                     | {"test_mae": float(np.mean(np.abs(pred - truth))), "target_gap": gap,
                        "steps": steps_run(d.get("train_samples") or sets.train.num_windows, args,
                                           d["epochs_run"])})
    for row in table:
        row["persistence_mae"] = persistence
        row["ms_per_step"] = 1000 * row["train_seconds"] / row["steps"] if row["steps"] else None
    return {"rows": table, "persistence_mae": persistence, "test_windows": len(rows)}


def ratios(table: list[dict]) -> list[dict]:
    """Darts' seconds over ours, for each Darts model and each of our rows of its peer model."""
    ours = [r for r in table if r["toolkit"] == "forecastlab"]
    out = []
    for d in (r for r in table if r["toolkit"] != "forecastlab"):
        for mine in (r for r in ours if r["base"] == PEERS.get(d["model"], d["model"])):
            out.append({"darts": d["model"], "ours": mine["model"],
                        **{f"{k}_ratio": d[k] / mine[k] for k in ("train_seconds", "fit_seconds", "predict_seconds")
                           if mine[k]}})
    return out


def print_table(report: dict, unit: str) -> None:
    print(f"\n{report['test_windows']:,} test windows, the same target points for every row; MAE in {unit}\n")
    print("| toolkit | model | params | test MAE | persistence MAE | train s | ms/step | fit s (with val) "
          "| predict s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in report["rows"]:
        ms = f"{r['ms_per_step']:.1f}" if r["ms_per_step"] is not None else "-"
        print(f"| {r['toolkit']} | {r['model']} | {r['params']:,} | {r['test_mae']:.3f} | {r['persistence_mae']:.3f} "
              f"| {r['train_seconds']:.1f} | {ms} | {r['fit_seconds']:.1f} | {r['predict_seconds']:.1f} |")
    for q in report["ratios"]:
        parts = ", ".join(f"{k.removesuffix('_seconds_ratio')} {v:.2f}x" for k, v in q.items() if k.endswith("ratio"))
        print(f"darts {q['darts']} / ours {q['ours']}: {parts}")
    p = report["processes"]
    print(f"wall: ours {p['ours_seconds']:.1f} s (train() calls, with their own test scoring, and the predict "
          f"passes), darts workers {p['darts_seconds']:.1f} s (with imports {p['darts_import_seconds']:.1f} s); "
          f"data + windows + export {p['prepare_seconds']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="synthetic", help="synthetic (default), jena, a CSV/Parquet path, or "
                        "any other load_series keyword")
    parser.add_argument("--target", default=None, help="target column (default: load_series's, T (degC) for Jena)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=80, help="training batches per epoch at most (0: all)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--eval-batch", type=int, default=1024, help="Darts' prediction batch (ours: EVAL_BATCH)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads, both sides")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--darts", default="lstm,tcn", help="Darts models: lstm, tcn, dlinear, lstm_rmsprop")
    parser.add_argument("--ours", nargs="+", default=None,
                        help="forecastlab models, NAME or NAME:key=value,... (e.g. lstm:units=32); keys "
                        f"{', '.join(TRAIN_OPTIONS)} go to train(), as= names the row "
                        f"(default: {' '.join(DEFAULT_OURS)}, those this forecastlab has)")
    parser.add_argument("--val-every", type=int, default=6, help="validate on every k-th val window (both sides)")
    parser.add_argument("--test-every", type=int, default=1, help="score every k-th test window (1: all of them)")
    parser.add_argument("--darts-python", default=DEFAULT_DARTS_PYTHON)
    parser.add_argument("--order", choices=("interleaved", "ours-first", "darts-first"), default="interleaved",
                        help="interleaved (default): ours 1, darts 1, ours 2, darts 2, ...")
    parser.add_argument("--no-val", action="store_true", help="Darts: no validation pass (last epoch's weights)")
    parser.add_argument("--keep", help="keep the exchanged files in this directory")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    args.darts = [m.strip() for m in args.darts.split(",") if m.strip()]
    if args.ours is None:
        from forecastlab.models import MODELS

        args.ours = [spec for spec in DEFAULT_OURS if spec.partition(":")[0] in MODELS]
    from forecastlab.training.runtime import configure_cpu

    configure_cpu(args.threads)
    load_before = os.getloadavg()
    started = time.perf_counter()
    series, spec, sets = load(args)
    with tempfile.TemporaryDirectory(prefix="peer-darts-") as tmp:
        exchange = Path(args.keep or tmp)
        exchange.mkdir(parents=True, exist_ok=True)
        task = export(exchange, series, spec, sets, args)
        prepare = time.perf_counter() - started
        ours, darts, walls = run_all(exchange, sets, args)
        report = score(series, spec, sets, ours, darts, exchange, args)
    meta = darts.get("meta", {})
    report["ratios"] = ratios(report["rows"])
    report["processes"] = {"ours_seconds": walls["ours"], "darts_seconds": walls["darts"],
                           "darts_import_seconds": walls["darts_import"], "prepare_seconds": prepare}
    import torch

    import forecastlab

    report["setup"] = {
        "data": args.data, "target": series.target, "rows": len(series), "window": spec.to_dict(),
        "splits": list(sets.sizes), "windows": {k: getattr(sets, k).num_windows for k in ("train", "val", "test")},
        "epochs": args.epochs, "steps_per_epoch": args.steps, "batch_size": args.batch_size, "threads": args.threads,
        "seed": args.seed, "darts_validation": not args.no_val, "val_every": args.val_every,
        "test_every": args.test_every, "order": args.order,
        "task": {k: task[k] for k in ("sampling_rate", "sequence_length", "horizon", "target_column")},
    }
    report["machine"] = {
        "cpus": os.cpu_count(), "python": platform.python_version(), "load_average_before": load_before,
        "load_average_after": os.getloadavg(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "forecastlab": forecastlab.__version__, "torch": torch.__version__, "darts": meta,
    }
    unit = series.target_unit or "target units"
    print_table(report, unit)
    print(f"load average {load_before[0]:.2f} before, {report['machine']['load_average_after'][0]:.2f} after; "
          f"{args.threads} torch thread(s) each side; total {time.perf_counter() - started:.0f} s")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
