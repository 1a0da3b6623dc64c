"""Injected sensor faults in a real record, found by forecastlab's anomaly detectors, beside trivial ones.

    .venv/bin/python benchmarks/anomaly_faults.py [--data tmy3] [--seeds 0,1,2] [--per-kind 5] [--run RUN]

Without --run it first trains the residual detector's forecaster, as
`forecastlab train lightgbm --data DATA --lookback 24h --horizons 1h --out RUN` would (one hour ahead,
a day of history), into a temporary folder. Per seed, forecastlab.tasks.anomaly.fault_benchmark injects
--per-kind faults of each kind (stuck, spike, drift, -9999, dropout) into the target, runs every detector
(the rules, the run's residuals and intervals, and the sequence autoencoder trained with that seed) and
scores it with a 6-hour tolerance; the table gives the mean ± sd over the seeds. Prints Markdown;
`--json PATH` writes every seed's numbers.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from forecastlab.data import load_series
from forecastlab.tasks.anomaly import fault_benchmark
from forecastlab.training import load_run
from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
from forecastlab.training.runner import run_recipe

KEYS = ("event_precision", "event_recall", "event_f1", "range_precision", "range_recall", "range_f1",
        "point_adjusted_f1")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="tmy3")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--per-kind", type=int, default=5)
    ap.add_argument("--run", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)  # as the CLI does on this 2-core machine (forecastlab.training.runtime)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run
        if run_dir is None:
            run_dir = Path(tmp) / "run"
            recipe = Recipe(ModelRecipe("lightgbm", {}), DataRecipe(args.data),
                            WindowRecipe(lookback="24h", horizons="1h"), TrainingRecipe(seed=0))
            run_recipe(recipe, out_dir=run_dir, progress=False)
        run = load_run(run_dir)
        series = load_series(args.data, clean=False)
        seeds = [int(s) for s in args.seeds.split(",")]
        per_seed = {}
        for seed in seeds:
            bench = fault_benchmark(series, run, seed=seed, per_kind=args.per_kind, autoencoder=True)
            bench.pop("result")
            per_seed[seed] = bench
    rows: dict[str, list[dict]] = {}
    for bench in per_seed.values():
        for name, m in bench["metrics"].items():
            for sub, v in (m.items() if name == "trivial" else [(None, m)]):
                rows.setdefault(f"trivial: {sub}" if sub else name, []).append(v)
    lines = [f"{args.data}: {len(per_seed[seeds[0]]['truth'])} injected faults per seed, seeds {args.seeds}, "
             f"tolerance {per_seed[seeds[0]]['tolerance_hours']:g} h; mean ± sd over the seeds", "",
             "| detector | flagged ranges | " + " | ".join(k.replace("_", " ") for k in KEYS) + " |",
             "|---|---:|" + "---:|" * len(KEYS)]
    for name, vs in rows.items():
        cells = [f"{np.mean([v[k] for v in vs]):.3f} ± {np.std([v[k] for v in vs], ddof=1) if len(vs) > 1 else 0:.3f}"
                 for k in KEYS]
        lines.append(f"| {name} | {np.mean([v['found'] for v in vs]):.0f} | " + " | ".join(cells) + " |")
    kinds = per_seed[seeds[0]]["recall_by_kind"]
    recall = {k: np.mean([b["recall_by_kind"][k] for b in per_seed.values()]) for k in kinds}
    lines += ["", "recall by kind (any detector): " + ", ".join(f"{k} {v:.2f}" for k, v in recall.items()),
              "events on the clean record's target (false alarms, or the record's own faults): "
              + ", ".join(f"{k} {v}" for k, v in sorted(per_seed[seeds[0]]["clean_series_events"].items()))]
    print("\n".join(lines))
    report = {"data": args.data, "seeds": per_seed}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return report


if __name__ == "__main__":
    main()
