"""Measure the synthetic Jena data against the real file's published statistics; print a Markdown table.

    .venv/bin/python benchmarks/synthetic_calibration.py [--seed 0] [--learnability] [--spread 8]

Columns: real mean/std (pandas.describe() of the real file, -9999 wind excluded, from issue 2),
measured mean/std of `generate(seed)`, then the book's 24-hour persistence MAE on val and test
(real: 2.44 / 2.62). `--learnability` also fits a ridge regression on 5 days of hourly history of
all columns and reports its val/test MAE, a cheap proxy for how much a learned model can beat
persistence (the book's best models gain about 10%). `--spread N` adds the persistence MAE of seeds
0..N-1, to show how much it varies between seeds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from forecastlab.data.jena_schema import JENA_COLUMNS
from forecastlab.data.synthetic import REAL_JENA_STATS, REAL_PERSISTENCE_MAE, generate

REAL = REAL_JENA_STATS
REAL_PERSISTENCE = REAL_PERSISTENCE_MAE
SEQUENCE_LENGTH, SAMPLING_RATE, HORIZON_HOURS = 120, 6, 24
DELAY = SAMPLING_RATE * (SEQUENCE_LENGTH + HORIZON_HOURS - 1)  # 858 rows, as in the book
LAST = (SEQUENCE_LENGTH - 1) * SAMPLING_RATE  # 714: offset of a window's last sample


def splits(n: int) -> dict[str, tuple[int, int]]:
    """The book's 50/25/25 split of the raw rows."""
    num_train, num_val = int(0.5 * n), int(0.25 * n)
    return {"train": (0, num_train), "val": (num_train, num_train + num_val), "test": (num_train + num_val, n)}


def window_starts(n: int, split: tuple[int, int]) -> np.ndarray:
    """Window start rows i of a split [s, e): i <= e - 1 - LAST and a target exists (i + DELAY < n)."""
    s, e = split
    return np.arange(s, min(e - LAST, n - DELAY))


def persistence_mae(temperature: np.ndarray) -> dict[str, float]:
    """The book's common-sense baseline: predict T 24 h ahead as the window's last T."""
    n = len(temperature)
    out = {}
    for name in ("val", "test"):
        i = window_starts(n, splits(n)[name])
        out[name] = float(np.mean(np.abs(temperature[i + LAST] - temperature[i + DELAY])))
    return out


def ridge_mae(values: np.ndarray, temperature: np.ndarray, stride: int = 6) -> dict[str, float]:
    """Ridge regression of T[i+DELAY] - T[i+LAST] on hourly samples of the 5-day window (every
    `stride`-th window, to keep it to seconds)."""
    n = len(values)
    parts = splits(n)
    mean, std = values[: parts["train"][1]].mean(0), values[: parts["train"][1]].std(0)
    z = (values - mean) / std
    lags = np.arange(0, SEQUENCE_LENGTH, 4) * SAMPLING_RATE  # every 4 hours of the 5 days

    def design(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        i = window_starts(n, parts[name])[::stride]
        x = z[i[:, None] + lags[None, :]].reshape(len(i), -1)
        x = np.hstack([x, np.ones((len(i), 1))])
        return x, temperature[i + DELAY] - temperature[i + LAST], i

    x, y, _ = design("train")
    w = np.linalg.solve(x.T @ x + 10.0 * np.eye(x.shape[1]), x.T @ y)
    out = {}
    for name in ("val", "test"):
        x, y, _ = design(name)
        out[name] = float(np.mean(np.abs(x @ w - y)))
    return out


def table(seed: int, learnability: bool) -> str:
    t0 = time.perf_counter()
    frame = generate(seed=seed)
    seconds = time.perf_counter() - t0
    lines = [
        f"Synthetic seed {seed}: {len(frame):,} rows, generated in {seconds:.1f} s.",
        "",
        "| column | real mean | synthetic mean | real std | synthetic std |",
        "|---|---|---|---|---|",
    ]
    for name in JENA_COLUMNS[1:]:
        x = frame[name].to_numpy()
        x = x[x != -9999.0]
        mean, std = REAL[name]
        lines.append(f"| {name} | {mean:g} | {x.mean():.2f} | {std:g} | {x.std(ddof=1):.2f} |")
    temperature = frame["T (degC)"].to_numpy()
    base = persistence_mae(temperature)
    lines += [
        "",
        "| 24-hour persistence MAE (degC) | real | synthetic |",
        "|---|---|---|",
        f"| validation | {REAL_PERSISTENCE['val']} | {base['val']:.2f} |",
        f"| test | {REAL_PERSISTENCE['test']} | {base['test']:.2f} |",
    ]
    if learnability:
        values = frame[JENA_COLUMNS[1:]].to_numpy().copy()
        values[values == -9999.0] = 0.0
        fits = {
            "T only": ridge_mae(temperature[:, None], temperature),
            "all 14 columns": ridge_mae(values, temperature),
        }
        for label, ridge in fits.items():
            for name in ("val", "test"):
                gain = 1 - ridge[name] / base[name]
                lines.append(f"| ridge on 5 days of {label}, {name} | - | {ridge[name]:.2f} ({gain:.0%} below) |")
    return "\n".join(lines)


def spread(seeds: int) -> str:
    lines = ["", "| seed | persistence val | persistence test |", "|---|---|---|"]
    for seed in range(seeds):
        base = persistence_mae(generate(seed=seed)["T (degC)"].to_numpy())
        lines.append(f"| {seed} | {base['val']:.2f} | {base['test']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learnability", action="store_true")
    parser.add_argument("--spread", type=int, default=0, metavar="N")
    args = parser.parse_args()
    print(table(args.seed, args.learnability))
    if args.spread:
        print(spread(args.spread))


if __name__ == "__main__":
    main()
