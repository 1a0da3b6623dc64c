"""The frost and front-passage leaderboards over several seeds: mean and spread of every method's test score.

    .venv/bin/python benchmarks/task_leaderboards.py --task frost --data synthetic --seeds 3 [--json FILE]
    .venv/bin/python benchmarks/task_leaderboards.py --task fronts --data tmy3 --seeds 3

Each seed is one `forecastlab.tasks` run with the task's default recipe (FROST_DEFAULTS, FRONT_DEFAULTS: fixed
on validation before these runs), the same a `forecastlab classify` / `forecastlab events` gives with
--seed. The rule baselines do not depend on the seed (their spread is 0); "trivial: random" does.
A model is marked better only if its mean test score exceeds every non-trivial baseline's by more than
the model's seed spread (standard deviation). `--render FILE` prints the table of a saved --json report.
Methods are listed as the runs give them; the
recipe was chosen on validation, and test is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("frost", "fronts"))
    parser.add_argument("--render", type=Path, default=None, help="Print the table of a saved --json report.")
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.render is not None:
        report = json.loads(args.render.read_text())
        _mark(report["rows"])
        print_table(report)
        return
    if args.task is None:
        parser.error("--task is required (or --render FILE)")

    import torch

    from forecastlab.data import load_series
    from forecastlab.data.public import is_public
    from forecastlab.errors import SyntheticDataWarning

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", SyntheticDataWarning)
    if args.task == "frost":
        from forecastlab.tasks.classification import classify_frost as run
        series = load_series(args.data)
        metric = "macro_f1"
    else:
        from forecastlab.tasks.events import detect_fronts as run
        series = load_series(args.data) if is_public(args.data) else load_series(args.data, freq="1h")
        metric = "event_f1"
    per_method: dict[str, list[dict]] = {}
    started = time.perf_counter()
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        result = run(series, seed=seed)
        for r in result.rows:
            per_method.setdefault(r["name"], []).append({"kind": r["kind"], "val": r["val"][metric],
                                                         "test": r["test"][metric],
                                                         "accuracy": r["test"].get("accuracy"),
                                                         "lead": r["test"].get("median_lead_hours")})
        print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    rows = []
    for name, runs in per_method.items():
        test = np.array([r["test"] for r in runs])
        row = {"method": name, "kind": runs[0]["kind"], "val_mean": float(np.mean([r["val"] for r in runs])),
               "test_mean": float(test.mean()), "test_std": float(test.std(ddof=1)) if len(test) > 1 else 0.0}
        if runs[0]["accuracy"] is not None:
            row["test_accuracy_mean"] = float(np.mean([r["accuracy"] for r in runs]))
        leads = [r["lead"] for r in runs if r["lead"] is not None and r["lead"] == r["lead"]]
        if leads:
            row["median_lead_hours_mean"] = float(np.mean(leads))
        rows.append(row)
    best_baseline = max((r for r in rows if r["kind"] == "baseline" and not r["method"].startswith("trivial")),
                        key=lambda r: r["val_mean"])
    report = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
              "cpus": os.cpu_count(), "python": sys.version.split()[0], "torch": torch.__version__,
              "task": args.task, "data": args.data, "seeds": args.seeds, "metric": metric,
              "seconds": time.perf_counter() - started, "best_baseline": best_baseline["method"], "rows": rows}
    _mark(rows)
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


def _mark(rows: list[dict]) -> None:
    """beats_every_baseline: the model's mean test score exceeds every non-trivial baseline's by more than
    the model's seed spread."""
    rules = [r["test_mean"] for r in rows if r["kind"] == "baseline" and not r["method"].startswith("trivial")]
    for r in rows:
        r.pop("beats_best_baseline", None)
        if r["kind"] == "model":
            r["beats_every_baseline"] = bool(r["test_mean"] - max(rules) > r["test_std"])


def print_table(report: dict) -> None:
    frost = report["task"] == "frost"
    label = "test macro F1" if frost else "test event F1"
    extra = " | test accuracy" if frost else " | median lead h"
    print(f"\n| method | kind | val ({report['metric']}) | {label} (mean ± sd, {report['seeds']} seeds){extra} |")
    print("|---|---|---|---|---|")
    for r in report["rows"]:
        mark = " (better than every baseline by more than its spread)" if r.get("beats_every_baseline") else ""
        last = r.get("test_accuracy_mean", r.get("median_lead_hours_mean"))
        shown = "" if last is None else f"{last:.3f}" if frost else f"{last:.1f}"
        print(f"| {r['method']} | {r['kind']} | {r['val_mean']:.3f} | {r['test_mean']:.3f} ± {r['test_std']:.3f}"
              f"{mark} | {shown} |")
    print(f"\n{report['seeds']} seeds in {report['seconds']:.0f} s ({report['when']}, {report['machine']}, "
          f"{report['cpus']} CPUs, torch {report['torch']}); best baseline by validation: {report['best_baseline']}")


if __name__ == "__main__":
    main()
