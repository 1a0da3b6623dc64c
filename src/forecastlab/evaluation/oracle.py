"""The oracle on forecastlab's synthetic data: how good a forecast of T (degC) can be at all.

The synthetic Jena data (forecastlab.data.synthetic) is generated from known processes, so the best
possible forecast is computable: the expected temperature at the target time given everything the
generator had decided by the forecast origin. That information set is every latent process up to the
origin (the air-mass anomaly and its AR(1) driver, the cloudiness AR(1), the local-noise AR(1), the
white noise), plus the air mass up to 18 hours past the origin, because the barometer at the origin
already reads it (`TemperatureModel.lead`). No model that reads the file's rows up to the origin can
know more, so no model can beat the oracle's mean squared error in expectation; its MAE is the
ceiling a leaderboard can be read against ("which share of the room above persistence did a model
close?", `gap_closed`).

The expectation is in closed form: E[AR(1) k steps on] = a^k * state; the low-passed air mass has a
two-variable state (air and its driver), E[air after m steps] = b^m air + (1-b) a (a^m - b^m)/(a-b)
driver / scale; the clipped cloudiness is the mean of a clipped normal; the calendar terms are exact.
tests/evaluation/test_oracle.py checks it against the mean of simulated continuations. The file's
rounding to 2 decimals is ignored (its error is uniform in +-0.005 and averages out). See
docs/synthetic.md, "The oracle: how good a forecast can be", for the method and the measured numbers.

    series = load_series("synthetic")
    sets = make_datasets_from_series(series, WindowSpec())
    oracle_scores(series, sets)  # {"val_mae": 0.836, "test_mae": 0.843, "val_mae_by_horizon": [...], ...}
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from forecastlab.data.series import Series
from forecastlab.data.synthetic import (
    DEFAULT_START,
    GENERATOR_VERSION,
    STEP_MINUTES,
    HiddenState,
    calendar_terms,
    hidden_state,
)
from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.baselines import WindowRows

ORACLE_TARGET = "T (degC)"
_VARIANT = re.compile(r"jena_synthetic_v(?P<version>\d+)_seed(?P<seed>\d+)")
_TIME_FORMAT = "%d.%m.%Y %H:%M:%S"
# The file stores T to 2 decimals, and the series holds it as float32.
_ROUNDING_TOLERANCE = 0.005 + 1e-4
_normal_cdf_erf = np.frompyfunc(math.erf, 1, 1)


def oracle_forecast(
    origin_times,
    leads,
    *,
    seed: int = 0,
    start: str = DEFAULT_START,
    end: str | None = None,
    rows: int | None = None,
    state: HiddenState | None = None,
    lookahead: bool = True,
) -> np.ndarray:
    """E[T (degC) at origin + lead | the generator's hidden state at the origin], float64 (N, H).

    origin_times: (N,) datetime64 (any unit) on the 10-minute grid of the synthetic data made by
    `generate(seed, start, end, rows)`; the grid is the generator's full one, so origins and targets
    may fall on rows the file dropped. leads: the lead times, as hours (numbers) or timedelta64, shape
    (H,) for the same leads at every origin or (N, H) for one set per origin; whole multiples of 10
    minutes, 0 or more, and they may run past the end of the span. A lead of 0 gives the unrounded T.
    state: a `forecastlab.data.synthetic.hidden_state(...)` to reuse (then seed/start/end/rows are not
    used). lookahead=False forgets the air mass past the origin that the barometer already shows: a
    diagnostic of what the pressure lead is worth, not a ceiling (the file reveals more than that).
    """
    if state is None:
        state = hidden_state(seed=seed, start=start, end=end, rows=rows)
    origins = np.atleast_1d(np.asarray(origin_times))
    if origins.ndim != 1 or origins.dtype.kind != "M":
        raise ForecastlabError(
            f"origin_times must be a 1-D array of datetime64, got {origins.dtype} of shape {origins.shape}",
            arg="origin_times", fix="pass e.g. series.timestamps[rows]",
        )
    slots = state.slots(origins)
    off = np.flatnonzero(slots < 0)
    if len(off):
        k = int(off[0])
        raise ForecastlabError(
            f"{len(off)} origin time(s) are not slots of the synthetic data's 10-minute grid "
            f"{_stamp(state.times[0])} .. {_stamp(state.times[-1])} (seed {state.seed}), e.g. {_stamp(origins[k])}",
            where=f"origin_times[{k}]",
            fix="give origins on that grid, or the seed/start/end the data was generated with",
        )
    steps = _lead_steps(leads, len(origins))
    return _expected_temperature(state, slots[:, None], steps, lookahead=lookahead)


def oracle_scores(series: Series, datasets, *, seed: int | None = None) -> dict:
    """The oracle's MAE on the val and test windows of `datasets`, in the format of one entry of
    forecastlab.evaluation.baselines.compute_baselines: {"val_mae", "test_mae", "val_mae_by_horizon",
    "test_mae_by_horizon"} (overall means, then one MAE per horizon of datasets.spec).

    `datasets` is a SplitDatasets built from `series` (make_datasets_from_series(series, spec, ...)),
    any spec, gap windows kept or dropped. Each window's origin is the timestamp of its last input row
    and its target the timestamp of its target row, so rows missing from the file only lengthen the
    lead, as they do for the models. Refuses (ForecastlabError) a series that is not forecastlab's
    synthetic data: provenance source other than "synthetic", another generator version, a target other
    than T (degC), or values that differ from what the generator makes for the recorded seed over the
    series' first..last timestamp (e.g. resampled with --freq, or edited). `seed` is needed only when
    the provenance does not record it (its variant `jena_synthetic_v<N>_seed<S>`); default 0.
    Regenerates the hidden state: about 2 s for the default 8-year span.
    """
    n = len(series)
    if sum(datasets.sizes) != n:
        raise ForecastlabError(
            f"the datasets split {sum(datasets.sizes):,} rows but the series has {n:,}",
            where="oracle_scores(series, datasets)",
            fix="pass the series the datasets were built from (make_datasets_from_series(series, ...))",
        )
    state = _state_for(series, seed)
    target = np.asarray(series.targets, dtype=np.float64)
    timestamps = np.asarray(series.timestamps)
    out: dict = {}
    for split in ("val", "test"):
        rows = WindowRows.of(getattr(datasets, split), datasets.spec)
        origins = timestamps[rows.last_input[:, 0]]
        leads = timestamps[rows.target] - origins[:, None]
        pred = oracle_forecast(origins, leads, state=state)
        err = np.abs(pred - target[rows.target])
        out[f"{split}_mae"] = float(err.mean()) if err.size else float("nan")
        out[f"{split}_mae_by_horizon"] = err.mean(axis=0).tolist() if len(err) else [float("nan")] * err.shape[1]
    return {key: out[key] for key in ("val_mae", "test_mae", "val_mae_by_horizon", "test_mae_by_horizon")}


def gap_closed(model_mae: float, persistence_mae: float, oracle_mae: float) -> float:
    """The share of the room between persistence and the oracle that a model closed:
    (persistence_mae - model_mae) / (persistence_mae - oracle_mae). 0 is persistence, 1 the oracle,
    negative worse than persistence. NaN when persistence is not above the oracle (no room to close)."""
    room = float(persistence_mae) - float(oracle_mae)
    if not room > 0:
        return float("nan")
    return (float(persistence_mae) - float(model_mae)) / room


# --- the closed form ---------------------------------------------------------------------------


def _expected_temperature(state: HiddenState, slot: np.ndarray, k: np.ndarray, *, lookahead: bool) -> np.ndarray:
    """E[T at grid slot slot + k | the state at slot], for integer arrays broadcast to one shape."""
    m = state.model
    slot, k = np.broadcast_arrays(np.asarray(slot, dtype=np.int64), np.asarray(k, dtype=np.int64))
    times = state.times[0] + (slot + k) * np.timedelta64(STEP_MINUTES, "m")  # exact grid times, even past the end
    season, hour = calendar_terms(times)
    daily_shape = np.cos(2 * np.pi * (hour - m.peak_hour) / 24)

    # The air mass: known up to `seen` steps past the origin, then its two-variable state runs on.
    seen = m.lead if lookahead else 0
    a, b = math.exp(-1.0 / m.air_drive_tau), math.exp(-1.0 / m.air_tau)
    ahead = np.maximum(k - seen, 0)
    base = slot + np.minimum(k, seen)
    gain = (1.0 - b) * a * (a**ahead - b**ahead) / (a - b) / state.air_scale
    air = b**ahead * state.air[base] + gain * state.air_drive[base]

    phi_cloud = math.exp(-1.0 / m.cloud_tau) ** k
    mean = 1.0 + m.cloud_amp * phi_cloud * state.cloud_ar[slot]
    sd = m.cloud_amp * np.sqrt(1.0 - phi_cloud**2)
    cloud = _clipped_normal_mean(mean, sd, m.cloud_min, m.cloud_max)

    local = math.exp(-1.0 / m.local_tau) ** k * state.local[slot]
    noise = np.where(k == 0, state.t_noise[slot], 0.0)

    diurnal = (m.diurnal_base + m.diurnal_season * season) * cloud * daily_shape
    t = m.base + m.season_amp * season + diurnal + m.air_amp * (1 - m.air_season * season) * air
    return t + (m.local_amp * local + m.noise_amp * noise)


def _clipped_normal_mean(mean: np.ndarray, sd: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """E[clip(Z, lo, hi)] for Z ~ N(mean, sd^2); sd may be 0 (then clip(mean))."""
    positive = sd > 0
    safe = np.where(positive, sd, 1.0)
    alpha, beta = (lo - mean) / safe, (hi - mean) / safe
    cdf_a, cdf_b = _normal_cdf(alpha), _normal_cdf(beta)
    pdf_a, pdf_b = np.exp(-0.5 * alpha**2), np.exp(-0.5 * beta**2)
    inside = mean * (cdf_b - cdf_a) + safe * (pdf_a - pdf_b) / math.sqrt(2 * math.pi)
    value = lo * cdf_a + hi * (1.0 - cdf_b) + inside
    return np.where(positive, value, np.clip(mean, lo, hi))


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.asarray(_normal_cdf_erf(np.asarray(x) / math.sqrt(2.0)), dtype=np.float64))


# --- inputs ------------------------------------------------------------------------------------


def _lead_steps(leads, n: int) -> np.ndarray:
    """Leads (hours, or timedelta64) as whole 10-minute steps, shape (n, H)."""
    raw = np.asarray(leads)
    if raw.dtype.kind == "m":
        seconds = raw.astype("timedelta64[ns]").astype(np.float64) / 1e9
    elif raw.dtype.kind in "iuf" and raw.dtype != bool:
        seconds = raw.astype(np.float64) * 3600.0
    else:
        raise ForecastlabError(f"leads must be hours (numbers) or timedelta64, got {raw.dtype}", arg="leads",
                               fix="pass e.g. leads=[24] or leads=np.array([24], 'timedelta64[h]')")
    steps = seconds / (STEP_MINUTES * 60)
    whole = np.rint(steps)
    if raw.ndim > 2 or (raw.ndim == 2 and raw.shape[0] != n) or not np.isfinite(steps).all():
        raise ForecastlabError(f"leads must be (H,) or ({n}, H) finite values, got shape {raw.shape}", arg="leads",
                               fix="one lead list for every origin, or one row of leads per origin")
    if (np.abs(steps - whole) > 1e-6).any() or (whole < 0).any():
        raise ForecastlabError("every lead must be 0 or more and a whole multiple of 10 minutes", arg="leads",
                               fix="e.g. 24 (hours), 1/6 (10 minutes) or np.timedelta64(90, 'm')")
    whole = np.atleast_1d(whole).astype(np.int64)
    return np.broadcast_to(whole, (n, whole.shape[-1])) if whole.ndim == 1 else whole


def _state_for(series: Series, seed: int | None) -> HiddenState:
    """The hidden state `series` was generated from, after checking that it is synthetic data."""
    prov = series.provenance
    where = prov.path or prov.source
    if prov.source != "synthetic":
        raise ForecastlabError(
            f"the oracle knows only forecastlab's built-in synthetic data; this series comes from {prov.source!r}",
            where=where,
            fix="load data='synthetic' for the oracle, or compare models on this data without it",
        )
    if series.target != ORACLE_TARGET:
        raise ForecastlabError(
            f"the oracle forecasts {ORACLE_TARGET!r} only; this series' target is {series.target!r}",
            where=where, fix=f"load the series with target={ORACLE_TARGET!r}",
        )
    found = _VARIANT.fullmatch(prov.variant or "")
    if found:
        version, recorded = int(found["version"]), int(found["seed"])
        if version != GENERATOR_VERSION:
            raise ForecastlabError(
                f"the series was made by synthetic generator v{version}; this forecastlab has v{GENERATOR_VERSION}, "
                "whose hidden state is not that file's",
                where=where, fix="load data='synthetic' again: the cache name carries the version, so it is remade",
            )
        if seed is not None and seed != recorded:
            raise ForecastlabError(f"seed={seed} was given but the series records seed {recorded}", where=where,
                                   fix="leave seed= out, or pass the recorded seed")
        seed = recorded
    seed = 0 if seed is None else seed
    ts = np.asarray(series.timestamps)
    if len(ts) < 2:
        raise ForecastlabError("the series has fewer than 2 rows", where=where, fix="load the whole synthetic file")
    start, end = (pd.Timestamp(t).strftime(_TIME_FORMAT) for t in (ts[0], ts[-1]))
    state = hidden_state(seed=seed, start=start, end=end)
    slots = state.slots(ts)
    made = np.full(len(ts), np.nan)
    made[slots >= 0] = np.round(state.temperature[slots[slots >= 0]], 2)
    bad = np.flatnonzero(~(np.abs(np.asarray(series.targets, dtype=np.float64) - made) <= _ROUNDING_TOLERANCE))
    if len(bad):
        r = int(bad[0])
        raise ForecastlabError(
            f"{len(bad):,} of {len(ts):,} {ORACLE_TARGET} values are not what the synthetic generator (v"
            f"{GENERATOR_VERSION}, seed {seed}) makes over {start} .. {end}: row {r} holds "
            f"{float(series.targets[r]):.2f}, the generator {made[r]:.2f}",
            where=f"{where}, row {r} ({_stamp(ts[r])})",
            fix="score the oracle on the unmodified synthetic series (no --freq, no edits, the whole file), "
            "or pass the seed it was generated with",
        )
    return state


def _stamp(t) -> str:
    return pd.Timestamp(t).strftime(_TIME_FORMAT)
