"""The oracle on the synthetic data: its hidden state is the generator's, its closed form is the mean of
simulated continuations, it beats persistence, it aligns by timestamp, and it refuses other data."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from forecastlab.data import Provenance, Series
from forecastlab.data.loader import load_series
from forecastlab.data.synthetic import (
    GENERATOR_VERSION,
    TEMPERATURE,
    calendar_terms,
    csv_bytes,
    generate,
    hidden_state,
    write_csv,
)
from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.baselines import WindowRows, compute_baselines
from forecastlab.evaluation.oracle import _clipped_normal_mean, gap_closed, oracle_forecast, oracle_scores
from forecastlab.windows import WindowSpec, make_datasets_from_series

SEED, START, END = 5, "01.06.2012 00:00:00", "31.07.2012 00:00:00"  # 60 days, 8,641 grid slots
BOOK = WindowSpec(sequence_length=120, sampling_rate=6, horizon=24)
STEP = np.timedelta64(10, "m")


@pytest.fixture(scope="module")
def state():
    return hidden_state(seed=SEED, start=START, end=END)


@pytest.fixture(scope="module")
def series(tmp_path_factory) -> Series:
    """The short span as a run loads it, with the provenance `load_series('synthetic')` gives."""
    path = write_csv(tmp_path_factory.mktemp("oracle") / "short.csv", seed=SEED, start=START, end=END)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = load_series(str(path))
    assert loaded.provenance.source == "file"
    variant = f"jena_synthetic_v{GENERATOR_VERSION}_seed{SEED}"  # what embedded_default's file name records
    synthetic = Provenance(source="synthetic", path=str(path), variant=variant)
    return dataclasses.replace(loaded, provenance=synthetic)


def datasets_of(series: Series, spec: WindowSpec = BOOK):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the gap-window note
        return make_datasets_from_series(series, spec, batch_size=512)


# --- the hidden state is the generator's --------------------------------------------------------


def test_the_csv_is_byte_identical_to_the_one_made_before_the_refactor():
    # sha256 measured with the generator as it was before `_weather` returned its latents.
    pins = {
        (3, None, None, 3000): "2cc3e601e3fb2a2d0de2daf81cf20a49326c57ee3ffb4fbcf4de62c1e03a58a1",
        (1, "05.03.2011 12:00:00", "20.04.2011 00:00:00", None):
            "f01d776086c06125df6f20a6327c3e4e955b36d6ee9d08a15ad9054987c30e07",
    }
    for (seed, start, end, rows), sha in pins.items():
        kwargs = {"seed": seed, "end": end, "rows": rows} | ({"start": start} if start else {})
        assert hashlib.sha256(csv_bytes(generate(**kwargs))).hexdigest() == sha


def test_hidden_state_is_exactly_what_the_file_was_made_from():
    frame = generate(seed=3, rows=3000)
    st = hidden_state(seed=3, rows=3000)
    np.testing.assert_array_equal(np.round(st.temperature[st.kept], 2) + 0.0, frame["T (degC)"].to_numpy())
    stamps = pd.to_datetime(frame["Date Time"], format="%d.%m.%Y %H:%M:%S").to_numpy().astype("datetime64[m]")
    np.testing.assert_array_equal(st.times[st.kept], stamps)
    # T rebuilt from the latents with the model written out here.
    m, n = TEMPERATURE, len(st.times)
    season, hour = calendar_terms(st.times)
    cloud = np.clip(1 + 0.35 * st.cloud_ar, 0.15, 2.0)
    t = (9.45 + 9.6 * season + (3.1 + 2.1 * season) * cloud * np.cos(2 * np.pi * (hour - 14.5) / 24)
         + 4.4 * (1 - 0.15 * season) * st.air[:n] + 0.45 * st.local + 0.04 * st.t_noise)
    np.testing.assert_allclose(t, st.temperature, rtol=0, atol=1e-12)
    # The air mass is the unit-variance low-pass of its driver, and runs `lead` slots past the grid.
    assert len(st.air) == len(st.air_drive) == n + m.lead
    b = math.exp(-1 / m.air_tau)
    np.testing.assert_allclose(st.air[1:], b * st.air[:-1] + (1 - b) * st.air_drive[1:] / st.air_scale, atol=1e-12)
    # The same state from the file's own first and last timestamps (end= instead of rows=).
    last = pd.Timestamp(st.times[-1]).strftime("%d.%m.%Y %H:%M:%S")
    again = hidden_state(seed=3, end=last)
    np.testing.assert_array_equal(again.temperature, st.temperature)
    np.testing.assert_array_equal(again.air, st.air)


# --- the closed form is the mean of simulated continuations -----------------------------------------


def simulate(st, slot: int, steps: list[int], paths: int, rng, lookahead: bool) -> np.ndarray:
    """T at slot + k for each k in steps on `paths` continuations of the generator's recursions from the
    state at `slot` (the air mass known up to slot + lead with the lookahead, up to slot without)."""
    m = st.model
    a, b = math.exp(-1 / m.air_drive_tau), math.exp(-1 / m.air_tau)
    ac, al = math.exp(-1 / m.cloud_tau), math.exp(-1 / m.local_tau)
    seen = m.lead if lookahead else 0
    x = np.full(paths, st.air_drive[slot + seen])
    y = np.full(paths, st.air[slot + seen] * st.air_scale)
    c, loc = np.full(paths, st.cloud_ar[slot]), np.full(paths, st.local[slot])
    out = []
    for k in range(1, max(steps) + 1):
        c = ac * c + math.sqrt(1 - ac**2) * rng.standard_normal(paths)
        loc = al * loc + math.sqrt(1 - al**2) * rng.standard_normal(paths)
        if k > seen:
            x = a * x + math.sqrt(1 - a**2) * rng.standard_normal(paths)
            y = b * y + (1 - b) * x
            air = y / st.air_scale
        else:
            air = np.full(paths, st.air[slot + k])
        if k in steps:
            season, hour = calendar_terms(np.array([st.times[0] + (slot + k) * STEP]))
            cloud = np.clip(1 + m.cloud_amp * c, m.cloud_min, m.cloud_max)
            t = (m.base + m.season_amp * season + (m.diurnal_base + m.diurnal_season * season) * cloud
                 * np.cos(2 * np.pi * (hour - m.peak_hour) / 24) + m.air_amp * (1 - m.air_season * season) * air
                 + m.local_amp * loc + m.noise_amp * rng.standard_normal(paths))
            out.append(t)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("lookahead", [True, False])
def test_closed_form_is_the_mean_of_simulated_continuations(state, lookahead):
    rng = np.random.default_rng(0)
    steps = [1, 6, 36, 108, 144, 216]  # 10 min .. 36 h; 108 is the barometer's lookahead
    # The cloudiest moment of the span, so the clip of cloudiness matters.
    slot = int(np.argmax(state.cloud_ar[: len(state.times) - 300]))
    sims = simulate(state, slot, steps, 20_000, rng, lookahead)
    leads = np.array(steps) * STEP
    oracle = oracle_forecast(state.times[[slot]], leads, state=state, lookahead=lookahead)[0]
    se = sims.std(axis=0) / math.sqrt(len(sims))
    assert (np.abs(sims.mean(axis=0) - oracle) < 4 * se + 1e-3).all(), (sims.mean(axis=0), oracle, se)


def test_clipped_normal_mean_matches_sampling_where_the_clip_bites():
    rng = np.random.default_rng(1)
    for mean, sd in [(1.9, 0.3), (0.2, 0.2), (1.0, 0.35), (1.5, 0.0)]:
        z = mean + sd * rng.standard_normal(1_000_000)
        want = np.clip(z, 0.15, 2.0).mean()
        got = float(_clipped_normal_mean(np.array(mean), np.array(sd), 0.15, 2.0))
        assert got == pytest.approx(want, abs=5 * sd / 1000 + 1e-12)


def test_lead_zero_is_the_unrounded_temperature_and_far_ahead_only_the_calendar_is_left(state):
    slots = np.arange(0, len(state.times), 7)
    now = oracle_forecast(state.times[slots], [0], state=state)[:, 0]
    np.testing.assert_array_equal(now, state.temperature[slots])
    # 30 days on, every AR(1) has forgotten its state: air 0, local noise 0, cloudiness its clipped mean.
    far = oracle_forecast(state.times[slots], [30 * 24], state=state)[:, 0]
    season, hour = calendar_terms(state.times[slots] + np.timedelta64(30, "D"))
    z = np.random.default_rng(3).standard_normal(1_000_000)
    cloud = np.clip(1 + 0.35 * z, 0.15, 2.0).mean()
    climate = 9.45 + 9.6 * season + (3.1 + 2.1 * season) * cloud * np.cos(2 * np.pi * (hour - 14.5) / 24)
    np.testing.assert_allclose(far, climate, atol=0.01)


# --- scores on windows ----------------------------------------------------------------------------


def test_oracle_beats_persistence_by_a_clear_margin(series):
    sets = datasets_of(series)
    persistence = compute_baselines(series, sets)["persistence"]
    oracle = oracle_scores(series, sets)
    assert set(oracle) == {"val_mae", "test_mae", "val_mae_by_horizon", "test_mae_by_horizon"}
    for split in ("val", "test"):
        assert 0.2 < oracle[f"{split}_mae"] < 0.6 * persistence[f"{split}_mae"], (split, oracle, persistence)
        assert oracle[f"{split}_mae_by_horizon"] == [pytest.approx(oracle[f"{split}_mae"])]
    gap = gap_closed(oracle["val_mae"], persistence["val_mae"], oracle["val_mae"])
    assert gap == pytest.approx(1.0)


def test_several_horizons_get_one_mae_each_and_nearer_is_easier(series):
    sets = datasets_of(series, WindowSpec(sequence_length=48, sampling_rate=6, horizons=(1, 6, 24)))
    oracle = oracle_scores(series, sets)
    by_h = oracle["val_mae_by_horizon"]
    assert len(by_h) == 3 and by_h[0] < by_h[2]
    assert oracle["val_mae"] == pytest.approx(np.mean(by_h))


def test_alignment_is_by_timestamp_whatever_rows_were_dropped(series):
    # Cut a 7-hour hole and 50 single rows more out of the file, then window it row by row as the book does.
    rng = np.random.default_rng(2)
    n = len(series)
    drop = np.zeros(n, dtype=bool)
    drop[5000:5042] = True
    drop[rng.choice(np.arange(1, n - 1), 50, replace=False)] = True
    keep = np.flatnonzero(~drop)
    ts = series.timestamps[keep]
    steps = np.diff(ts) // np.timedelta64(10, "m")
    holed = dataclasses.replace(series, timestamps=ts, values=series.values[keep],
                                breaks=np.flatnonzero(steps > 1).astype(np.int64) + 1)
    sets = datasets_of(holed)
    scores = oracle_scores(holed, sets)

    rows = WindowRows.of(sets.val, sets.spec)
    origins, targets = ts[rows.last_input[:, 0]], ts[rows.target[:, 0]]
    assert (targets - origins > np.timedelta64(24, "h")).sum() > 100  # many windows straddle a hole
    # At lead 0 the oracle is the file's value (to its rounding) at both ends of every window: aligned.
    truth = holed.targets.astype(np.float64)
    at_origin = oracle_forecast(origins, [0], seed=SEED, start=START, end=END)[:, 0]
    at_target = oracle_forecast(targets, [0], seed=SEED, start=START, end=END)[:, 0]
    assert np.abs(at_origin - truth[rows.last_input[:, 0]]).max() <= 0.0051
    assert np.abs(at_target - truth[rows.target[:, 0]]).max() <= 0.0051
    # One row off would be 10 minutes off: far outside the rounding.
    shifted = oracle_forecast(origins + STEP, [0], seed=SEED, start=START, end=END)[:, 0]
    assert np.abs(shifted - truth[rows.last_input[:, 0]]).max() > 0.05
    # And the scores are the forecasts from those timestamps.
    pred = oracle_forecast(origins, (targets - origins)[:, None], seed=SEED, start=START, end=END)[:, 0]
    assert scores["val_mae"] == pytest.approx(float(np.abs(pred - truth[rows.target[:, 0]]).mean()))
    assert scores["val_mae"] < 0.6 * compute_baselines(holed, sets)["persistence"]["val_mae"]


def test_gap_closed():
    assert gap_closed(2.0, 2.5, 0.5) == pytest.approx(0.25)
    assert gap_closed(2.5, 2.5, 0.5) == 0.0
    assert gap_closed(3.0, 2.5, 0.5) < 0
    assert math.isnan(gap_closed(2.0, 0.5, 0.5))


# --- refusals -------------------------------------------------------------------------------------


def refused(call, *words: str) -> ForecastlabError:
    with pytest.raises(ForecastlabError) as info:
        call()
    err = info.value
    assert err.where and err.fix, err
    for word in words:
        assert word in err.what, err.what
    return err


def test_refuses_data_that_is_not_forecastlabs_synthetic_data(series):
    sets = datasets_of(series)
    as_file = dataclasses.replace(series, provenance=Provenance(source="file", path="/data/mine.csv"))
    err = refused(lambda: oracle_scores(as_file, sets), "synthetic", "'file'")
    assert err.where == "/data/mine.csv"
    jena = dataclasses.replace(series, provenance=Provenance(source="jena", variant="book-420451"))
    refused(lambda: oracle_scores(jena, sets), "'jena'")
    old = dataclasses.replace(
        series, provenance=dataclasses.replace(series.provenance, variant="jena_synthetic_v1_seed5"))
    refused(lambda: oracle_scores(old, sets), "v1")
    other_seed = dataclasses.replace(
        series, provenance=dataclasses.replace(series.provenance, variant=f"jena_synthetic_v{GENERATOR_VERSION}_seed6"))
    refused(lambda: oracle_scores(other_seed, sets), "seed 6")
    refused(lambda: oracle_scores(series, sets, seed=4), "seed=4")


def test_refuses_edited_shifted_or_other_target_series(series):
    sets = datasets_of(series)
    edited_values = series.values.copy()
    edited_values[100, series.target_index] += 1.0
    edited = dataclasses.replace(series, values=edited_values)
    err = refused(lambda: oracle_scores(edited, sets), "T (degC)")
    assert "row 100" in err.where
    shifted = dataclasses.replace(series, timestamps=series.timestamps + STEP)
    refused(lambda: oracle_scores(shifted, sets), "not what the synthetic generator")
    pressure = Series(series.timestamps, series.values, series.columns, "p (mbar)", series.provenance)
    refused(lambda: oracle_scores(pressure, sets), "T (degC)")
    # A shorter span is another grid, hence other latents: the values no longer match.
    cut = dataclasses.replace(series, timestamps=series.timestamps[:8000], values=series.values[:8000],
                              breaks=series.breaks[series.breaks < 8000])
    refused(lambda: oracle_scores(cut, datasets_of(cut)), "not what the synthetic generator")
    refused(lambda: oracle_scores(cut, sets), "rows")  # datasets from another series


def test_oracle_forecast_refuses_off_grid_origins_and_bad_leads(state):
    origin = state.times[[10]]
    refused(lambda: oracle_forecast(origin + np.timedelta64(5, "m"), [24], state=state), "grid")
    refused(lambda: oracle_forecast(state.times[[0]] - STEP, [24], state=state), "grid")
    for bad in ([-1], [7 / 60], np.array([1, 2]).reshape(2, 1), ["24h"]):
        refused(lambda bad=bad: oracle_forecast(origin, bad, state=state))
    hours = oracle_forecast(origin, [0.5, 24], state=state)
    deltas = oracle_forecast(origin, np.array([30, 1440], dtype="timedelta64[m]"), state=state)
    np.testing.assert_array_equal(hours, deltas)
    assert hours.shape == (1, 2)
