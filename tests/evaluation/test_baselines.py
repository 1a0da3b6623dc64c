"""Baselines are scored on exactly the models' windows, and agree with the book's own loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecastlab.data import Provenance, Series
from forecastlab.evaluation.baselines import climatology_table, compute_baselines
from forecastlab.windows import WindowSpec, make_datasets_from_series


def make_series(target: np.ndarray, start="2009-01-01 00:10", freq="10min", extra_cols=1) -> Series:
    n = len(target)
    ts = pd.date_range(start, periods=n, freq=freq).to_numpy()
    rng = np.random.default_rng(0)
    values = np.column_stack([rng.normal(size=(n, extra_cols)), target]).astype(np.float32)
    cols = [f"x{i}" for i in range(extra_cols)] + ["T (degC)"]
    return Series(ts, values, cols, "T (degC)", Provenance("test", rows=n))


SPEC = WindowSpec(sequence_length=12, sampling_rate=6, horizon=4)


def test_persistence_on_a_ramp_is_slope_times_lead():
    # T rises 0.01 per row; persistence looks (delay - (seq-1)*rate) rows back, so its error is constant.
    series = make_series(0.01 * np.arange(20_000, dtype=np.float64))
    datasets = make_datasets_from_series(series, SPEC, batch_size=64)
    scores = compute_baselines(series, datasets)
    lead = SPEC.delay - (SPEC.sequence_length - 1) * SPEC.sampling_rate
    assert scores["persistence"]["val_mae"] == pytest.approx(0.01 * lead, abs=2e-3)
    assert scores["persistence"]["test_mae"] == pytest.approx(0.01 * lead, abs=2e-3)
    # One day is 144 ten-minute rows.
    assert scores["seasonal_persistence"]["val_mae"] == pytest.approx(1.44, abs=2e-3)


def test_seasonal_persistence_is_perfect_on_a_pure_daily_cycle_and_persistence_is_not():
    rows = 30 * 144
    target = 10 * np.sin(2 * np.pi * np.arange(rows) / 144)
    series = make_series(target)
    spec = WindowSpec(sequence_length=12, sampling_rate=6, horizon=7)  # 7 h ahead: off the cycle
    scores = compute_baselines(series, make_datasets_from_series(series, spec, batch_size=32))
    assert scores["seasonal_persistence"]["test_mae"] < 1e-4
    assert scores["persistence"]["test_mae"] > 1.0
    # The train split covers every hour of a day, so climatology also recovers the pure cycle closely.
    assert scores["climatology"]["test_mae"] < 0.8


def test_seasonal_persistence_beyond_one_period_uses_only_what_the_origin_knows():
    """36 and 48 hours ahead: the value 2 days before the target (at or before the origin), never the one
    1 day before, which lies after the origin. On a random walk nothing honest beats persistence."""
    rng = np.random.default_rng(1)
    n = 60 * 24
    target = np.cumsum(rng.normal(size=n))
    series = make_series(target, start="2024-01-01 00:00", freq="1h")
    spec = WindowSpec(sequence_length=24, sampling_rate=1, horizon=48, horizons=(12, 36, 48))
    datasets = make_datasets_from_series(series, spec, batch_size=64)
    scores = compute_baselines(series, datasets)
    y = series.targets.astype(np.float64)
    last = np.asarray(datasets.test.last_input_rows)
    for k, (h, back) in enumerate(((12, 24), (36, 48), (48, 48))):
        truth = y[last + h]
        expected = np.abs(y[last + h - back] - truth).mean()  # rows are hourly and complete: row offsets
        assert scores["seasonal_persistence"]["test_mae_by_horizon"][k] == pytest.approx(expected, rel=1e-9), h
    # 48 h = two whole days: the latest same-hour value known at the origin is the origin's own
    assert scores["seasonal_persistence"]["test_mae_by_horizon"][2] == \
        pytest.approx(scores["persistence"]["test_mae_by_horizon"][2], rel=1e-12)
    leaky = np.abs(y[last + 48 - 24] - y[last + 48]).mean()  # what the old lookup scored: a day after the origin
    assert leaky < 0.9 * scores["seasonal_persistence"]["test_mae_by_horizon"][2]  # the leak flattered it: not vacuous


def test_persistence_equals_the_books_loop_over_every_window():
    """Code 10-9: preds = samples[:, -1, T] * std + mean, summed over all batches incl. the partial one."""
    rng = np.random.default_rng(3)
    target = np.cumsum(rng.normal(size=12_345)).astype(np.float32)
    series = make_series(target, extra_cols=3)
    datasets = make_datasets_from_series(series, SPEC, batch_size=100)
    mean = datasets.normalizer.mean_[series.target_index]
    std = datasets.normalizer.std_[series.target_index]
    for split in ("val", "test"):
        total, seen = 0.0, 0
        for samples, targets in getattr(datasets, split):
            preds = samples[:, -1, series.target_index].numpy().astype(np.float64) * std + mean
            total += np.abs(preds - targets.numpy()).sum()
            seen += samples.shape[0]
        assert seen == getattr(datasets, split).num_windows
        ours = compute_baselines(series, datasets)["persistence"][f"{split}_mae"]
        assert ours == pytest.approx(total / seen, rel=1e-5)


def test_climatology_uses_only_the_train_split():
    rows = 3 * 365 * 24
    series = make_series(np.zeros(rows), freq="1h")
    poisoned = series.targets.copy()
    poisoned[rows // 2:] = 1000.0  # anything outside train must not leak into the table
    table = climatology_table(poisoned, series.timestamps, rows // 2)
    assert table.max() == 0.0
    assert len(table) == 366 * 24 or len(table) == 365 * 24
