"""forecastlab's deep classifier beside aeon's MiniRocket on the bundled UCR/UEA datasets, side by side.

    bash scripts/aeon-venv.sh          # once: .aeon-venv with aeon 1.6.0 (MiniRocket); never a dependency
    .venv/bin/python benchmarks/classify_ucr.py [--datasets GunPoint,ArrowHead,ItalyPowerDemand,BasicMotions]
        [--model fcn] [--epochs 2000] [--seeds 1] [--threads 1] [--json FILE]

For each dataset, one after the other on the same machine: forecastlab.tasks.classify_cases trains the model
on the archive's train split (normalized per channel with train statistics; a fixed number of epochs with
Ismail Fawaz et al.'s protocol, training split only, no selection on test) and scores test beside the majority
class and 1-NN (Euclidean); then benchmarks/peer_minirocket_worker.py fits MiniRocket in its own venv on the
same files (aeon's package data; forecastlab reads the same files from the pinned aeon wheel). The script
checks that both sides saw the same data (case counts, shape, classes, and the mean and std of every value)
and prints one table: test accuracy of each, with the published MiniRocket accuracy (Dempster et al. 2021),
and seconds (ours: training; MiniRocket: fit, after a JIT warm-up fit it reports separately). Both run under
the same thread count (`--threads`, default 1). """

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).resolve().with_name("peer_minirocket_worker.py")
DEFAULT_AEON_PYTHON = os.environ.get("FORECASTLAB_AEON_PYTHON") or str(ROOT / ".aeon-venv" / "bin" / "python")


def minirocket(python: str, dataset: str, seed: int, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        done = subprocess.run([python, str(WORKER), "--dataset", dataset, "--seed", str(seed), "--threads",
                               str(threads), "--json", str(out)], capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise SystemExit(f"MiniRocket worker failed on {dataset}: {done.stderr.strip()[-2000:]}")
        return json.loads(out.read_text())


def same_data(cases, peer: dict) -> None:
    """Both sides read the same files: counts, shape, classes, and every value's mean and std."""
    mine = {"n_train": len(cases.train.y), "n_test": len(cases.test.y), "length": cases.length,
            "channels": cases.channels, "classes": sorted(c.lower() for c in cases.classes)}
    theirs = {k: peer[k] for k in mine} | {"classes": sorted(c.lower() for c in peer["classes"])}  # aeon lowercases
    if mine != theirs:
        raise SystemExit(f"{cases.name}: forecastlab and aeon read different data: {mine} vs {theirs}")
    for split in ("train", "test"):
        x = getattr(cases, split).x.astype(np.float64)
        for stat, value in (("mean", x.mean()), ("std", x.std())):
            if abs(value - peer[f"x_{split}_{stat}"]) > 1e-5 * max(1.0, abs(value)):
                raise SystemExit(f"{cases.name}: {split} {stat} {value} (forecastlab) vs "
                                 f"{peer[f'x_{split}_{stat}']} (aeon)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="GunPoint,ArrowHead,ItalyPowerDemand,BasicMotions")
    parser.add_argument("--model", default="fcn")
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--aeon-python", default=DEFAULT_AEON_PYTHON)
    parser.add_argument("--no-peer", action="store_true", help="Only forecastlab's side.")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from forecastlab.data.ucr import UCR_DATASETS, load_ucr
    from forecastlab.tasks.classification import classify_cases

    torch.set_num_threads(args.threads)
    if not args.no_peer and not Path(args.aeon_python).exists():
        raise SystemExit(f"no MiniRocket venv at {args.aeon_python}: run `bash scripts/aeon-venv.sh` (or pass "
                         "--aeon-python, or --no-peer)")
    rows = []
    for name in args.datasets.split(","):
        cases = load_ucr(name)
        ours, peers = [], []
        for seed in range(args.seeds):
            result = classify_cases(cases, model=args.model, epochs=args.epochs, seed=seed)
            board = {r["name"]: r for r in result.rows}
            ours.append({"seed": seed, "accuracy": board[args.model]["test"]["accuracy"],
                         "macro_f1": board[args.model]["test"]["macro_f1"], "seconds": board[args.model]["seconds"]})
            if not args.no_peer:
                peer = minirocket(args.aeon_python, cases.name, seed, args.threads)
                same_data(cases, peer)
                peers.append(peer)
        row = {"dataset": cases.name, "n_train": len(cases.train.y), "n_test": len(cases.test.y),
               "majority": board["majority class"]["test"]["accuracy"],
               "nn1": board["1-NN (Euclidean)"]["test"]["accuracy"], "ours": ours,
               "ours_accuracy": float(np.mean([o["accuracy"] for o in ours])),
               "ours_accuracy_std": float(np.std([o["accuracy"] for o in ours])),
               "ours_seconds": float(np.mean([o["seconds"] for o in ours])),
               "published_minirocket": UCR_DATASETS[cases.name]["published_minirocket"]}
        if peers:
            row |= {"minirocket": peers, "minirocket_accuracy": float(np.mean([p["accuracy"] for p in peers])),
                    "minirocket_accuracy_std": float(np.std([p["accuracy"] for p in peers])),
                    "minirocket_fit_seconds": float(np.mean([p["fit_seconds"] for p in peers])),
                    "minirocket_warmup_seconds": float(np.mean([p["warmup_seconds"] for p in peers]))}
        rows.append(row)
        print(_line(row, args), flush=True)
    report = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
              "cpus": os.cpu_count(), "python": sys.version.split()[0], "torch": torch.__version__,
              "args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}
    print()
    print(table(rows, args))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


def _pm(mean: float, std: float, seeds: int) -> str:
    return f"{mean:.3f}" + (f" ± {std:.3f}" if seeds > 1 else "")


def _line(row: dict, args) -> str:
    text = f"{row['dataset']}: {args.model} {_pm(row['ours_accuracy'], row['ours_accuracy_std'], args.seeds)} " \
           f"in {row['ours_seconds']:.1f} s"
    if "minirocket_accuracy" in row:
        text += f"; MiniRocket {row['minirocket_accuracy']:.3f} in {row['minirocket_fit_seconds']:.2f} s"
    return text


def table(rows: list[dict], args) -> str:
    head = (f"| dataset | train/test | majority | 1-NN | {args.model} ({args.epochs} epochs) | {args.model} s | "
            "MiniRocket | MiniRocket fit s | published MiniRocket |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        published = "" if r["published_minirocket"] is None else f"{r['published_minirocket']:.3f}"
        peer = (_pm(r["minirocket_accuracy"], r["minirocket_accuracy_std"], args.seeds),
                f"{r['minirocket_fit_seconds']:.2f}") if "minirocket_accuracy" in r else ("", "")
        lines.append(f"| {r['dataset']} | {r['n_train']}/{r['n_test']} | {r['majority']:.3f} | {r['nn1']:.3f} | "
                     f"{_pm(r['ours_accuracy'], r['ours_accuracy_std'], args.seeds)} | {r['ours_seconds']:.1f} | "
                     f"{peer[0]} | {peer[1]} | {published} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
