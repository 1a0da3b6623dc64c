"""How good a forecast can be on the synthetic data: persistence against the oracle, on the book's task.

    .venv/bin/python benchmarks/oracle_ceiling.py [--data-dir DIR] [--horizons 1,6,12,24,48] [--model-mae 2.3]

Loads the built-in synthetic data exactly as a run does (`load_series("synthetic")`, generated into
the data cache on first use), cuts the book's windows (5 days of hourly samples, 24 hours ahead,
50/25/25 split, gap windows kept as the book does), and prints the persistence MAE
(forecastlab.evaluation.baselines), the oracle MAE (forecastlab.evaluation.oracle: the expected T given
the generator's hidden state at the window's last input) and the room between them, on val and test.
`--horizons` adds a table per lead time (hours); `--model-mae` the share of the room a model with that
val MAE closed. The oracle without the barometer's 18-hour lookahead is printed as a diagnostic.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from forecastlab.data.loader import load_series
from forecastlab.data.synthetic import hidden_state
from forecastlab.evaluation.baselines import WindowRows, compute_baselines
from forecastlab.evaluation.oracle import gap_closed, oracle_forecast, oracle_scores
from forecastlab.windows import WindowSpec, make_datasets_from_series


def _no_lookahead_mae(series, sets) -> dict[str, float]:
    """The oracle that forgets the air mass past the origin (what the pressure lead is worth). Seed 0:
    the embedded default file's (its name, jena_synthetic_v2_seed0, records it)."""
    ts = np.asarray(series.timestamps)
    start, end = (pd.Timestamp(t).strftime("%d.%m.%Y %H:%M:%S") for t in (ts[0], ts[-1]))
    state = hidden_state(seed=0, start=start, end=end)
    out = {}
    for split in ("val", "test"):
        rows = WindowRows.of(getattr(sets, split), sets.spec)
        origins = ts[rows.last_input[:, 0]]
        pred = oracle_forecast(origins, ts[rows.target] - origins[:, None], state=state, lookahead=False)
        out[split] = float(np.abs(pred - series.targets[rows.target].astype(np.float64)).mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None, help="data cache (default: forecastlab's)")
    parser.add_argument("--horizons", default="", help="also a per-lead table, e.g. 1,6,12,24,48 (hours)")
    parser.add_argument("--model-mae", type=float, default=None, help="a model's val MAE, for gap_closed")
    args = parser.parse_args()

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the synthetic-data banner and the gap-window note
        series = load_series("synthetic", data_dir=args.data_dir)
        sets = make_datasets_from_series(series, WindowSpec(sequence_length=120, sampling_rate=6, horizon=24))
    loaded = time.perf_counter()
    persistence = compute_baselines(series, sets)["persistence"]
    oracle = oracle_scores(series, sets)
    scored = time.perf_counter()
    blind = _no_lookahead_mae(series, sets)

    print(f"data: {series.provenance.variant} ({len(series):,} rows), book task: 5 days hourly -> 24 h ahead")
    print(f"windows: val {sets.val.num_windows:,}, test {sets.test.num_windows:,}")
    print()
    print("| split | persistence MAE | oracle MAE | room (persistence - oracle) | oracle w/o pressure lookahead |")
    print("|---|---:|---:|---:|---:|")
    for split in ("val", "test"):
        p, o = persistence[f"{split}_mae"], oracle[f"{split}_mae"]
        print(f"| {split} | {p:.3f} | {o:.3f} | {p - o:.3f} ({(p - o) / p:.0%} of persistence) | {blind[split]:.3f} |")
    if args.model_mae is not None:
        closed = gap_closed(args.model_mae, persistence["val_mae"], oracle["val_mae"])
        print(f"\nmodel val MAE {args.model_mae:.3f} closes {closed:.1%} of the val room")

    if args.horizons:
        hours = tuple(int(h) for h in args.horizons.split(","))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            multi = make_datasets_from_series(series, WindowSpec(sequence_length=120, sampling_rate=6, horizons=hours))
        p_h = compute_baselines(series, multi)["persistence"]
        o_h = oracle_scores(series, multi)
        print("\n| lead (h) | persistence val | oracle val | persistence test | oracle test |")
        print("|---:|---:|---:|---:|---:|")
        for j, h in enumerate(multi.spec.steps):
            print(f"| {h} | {p_h['val_mae_by_horizon'][j]:.3f} | {o_h['val_mae_by_horizon'][j]:.3f} "
                  f"| {p_h['test_mae_by_horizon'][j]:.3f} | {o_h['test_mae_by_horizon'][j]:.3f} |")
    print(f"\ntime: load + windows {loaded - started:.1f} s, persistence + oracle {scored - loaded:.1f} s")


if __name__ == "__main__":
    main()
