"""Built-in synthetic weather in exactly the Jena climate file's format: the offline default.

The real record (Max Planck Institute for Biogeochemistry, Jena, 2009-2016) cannot ship with the
package and may not be downloadable, so this module makes a stand-in that every later step can use
unchanged: same 15 columns, same header quoting, same `dd.mm.yyyy HH:MM:SS` timestamps, same
2-decimal numbers, same row count (420,451), the same kind of defects (missing rows, `-9999` wind
glitches), and column statistics and a 24-hour persistence baseline calibrated to the real file.
See docs/synthetic.md for the model and the measured calibration.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from forecastlab.atomic import atomic_write_bytes
from forecastlab.data.book import BOOK_REFERENCE
from forecastlab.data.jena_schema import JENA_COLUMNS, TIME_COLUMN, TIME_FORMAT
from forecastlab.errors import ForecastlabError

SYNTHETIC_NOTE: str = (
    "SYNTHETIC DATA: these numbers come from forecastlab's built-in weather generator, not from the "
    "real Jena climate record (Max Planck Institute for Biogeochemistry, 2009-2016). They have the "
    "real file's format, defects, column statistics and roughly its 24-hour persistence error, so the "
    "whole pipeline runs offline, but any MAE or model ranking measured on them says nothing about "
    "real weather. To use the real record, run `forecastlab data fetch` (it downloads "
    "jena_climate_2009_2016.csv.zip into the data cache) and pass `data='jena'`."
)

# The calibration targets: the real file's (mean, std) per column, as pandas.describe() shows them for
# the whole file with the -9999 wind readings excluded (issue 2). Tests and the calibration script
# compare against these.
REAL_JENA_STATS = {
    "p (mbar)": (989.2, 8.36),
    "T (degC)": (9.45, 8.42),
    "Tpot (K)": (283.5, 8.50),
    "Tdew (degC)": (4.96, 6.73),
    "rh (%)": (76.0, 16.5),
    "VPmax (mbar)": (13.58, 7.74),
    "VPact (mbar)": (9.53, 4.18),
    "VPdef (mbar)": (4.04, 4.90),
    "sh (g/kg)": (6.02, 2.66),
    "H2OC (mmol/mol)": (9.64, 4.24),
    "rho (g/m**3)": (1216.1, 40.0),
    "wv (m/s)": (2.13, 1.54),
    "max. wv (m/s)": (3.53, 2.34),
    "wd (deg)": (174.7, 86.7),
}
# The book's common-sense baseline on the real file (code 10-9), as {"val": 2.44, "test": 2.62}.
REAL_PERSISTENCE_MAE = {split: BOOK_REFERENCE["persistence"][f"{split}_mae"] for split in ("val", "test")}

GENERATOR_VERSION = 2
DEFAULT_START = "01.01.2009 00:10:00"
DEFAULT_END = "01.01.2017 00:00:00"
STEP_MINUTES = 10

# The real file: a complete 10-minute grid over the default span has 420,768 slots, the file 420,451
# rows (the book's count), and a handful of -9999 wind readings. Custom spans scale these.
_FULL_SLOTS = 420_768
_FULL_DROPS = 317
_FULL_GLITCHES = 16
# The most rows one call makes (generate, write_csv, hidden_state; `forecastlab data synth`): about 19 years
# of 10-minute rows, 2.4 times the real file, a CSV of about 100 MB and under 1 GB of memory while it is
# made (the default span takes 0.3 GB). A longer span is refused before anything is generated.
MAX_ROWS = 1_000_000

# Magnus constants (Sonntag-type, over water) and the Kelvin offset and gas constant that reproduce
# the real file's first rows to the last digit; with 273.15 Tpot comes out 0.01 K low. See docs.
MAGNUS_A, MAGNUS_B, MAGNUS_C = 6.1078, 17.08085, 234.175
KELVIN = 273.16
R_DRY = 287.058
KAPPA = 0.286


# --- physics ---------------------------------------------------------------------------------


def magnus(t_degc: np.ndarray) -> np.ndarray:
    """Saturation vapour pressure (mbar) over water at temperature `t_degc`."""
    return MAGNUS_A * np.exp(MAGNUS_B * t_degc / (t_degc + MAGNUS_C))


def inverse_magnus(vp_mbar: np.ndarray) -> np.ndarray:
    """The temperature (degC) whose saturation vapour pressure is `vp_mbar`: the dew point."""
    x = np.log(vp_mbar / MAGNUS_A)
    return MAGNUS_C * x / (MAGNUS_B - x)


def derive(t: np.ndarray, p: np.ndarray, rh: np.ndarray) -> dict[str, np.ndarray]:
    """All Jena columns that follow from temperature (degC), pressure (mbar) and humidity (%).

    Unrounded; the generator feeds it already-rounded T, p and rh, so that anyone recomputing these
    formulas from the file's numbers gets the file's derived columns back to the last digit.
    """
    vpmax = magnus(t)
    vpact = rh / 100.0 * vpmax
    return {
        "Tpot (K)": (t + KELVIN) * (1000.0 / p) ** KAPPA,
        "Tdew (degC)": inverse_magnus(vpact),
        "VPmax (mbar)": vpmax,
        "VPact (mbar)": vpact,
        "VPdef (mbar)": vpmax - vpact,
        "sh (g/kg)": 622.0 * vpact / (p - 0.378 * vpact),
        "H2OC (mmol/mol)": 1000.0 * vpact / p,
        # Moist air: water vapour is lighter than dry air, hence the 0.378 * vpact.
        "rho (g/m**3)": (p - 0.378 * vpact) * 100.0 / (R_DRY * (t + KELVIN)) * 1000.0,
    }


# --- random processes ------------------------------------------------------------------------


def _ar1(rng: np.random.Generator, n: int, tau_steps: float) -> np.ndarray:
    """A stationary, unit-variance AR(1) (discretised Ornstein-Uhlenbeck) process with e-folding
    time `tau_steps`. `accumulate` keeps the recursion in C-speed iteration: ~40 ms per 420k steps."""
    a = float(np.exp(-1.0 / tau_steps))
    shocks = rng.standard_normal(n)
    shocks[1:] *= np.sqrt(1.0 - a * a)
    return np.fromiter(accumulate(shocks.tolist(), lambda x, e: a * x + e), dtype=np.float64, count=n)


def _smooth(x: np.ndarray, x_tau_steps: float, tau_steps: float) -> np.ndarray:
    """First-order low-pass (leaky integrator) of the unit-variance AR(1) `x`, rescaled to unit
    variance: a smooth second-order process, whose trend a model can extrapolate from its recent past.

    Unscaled, y[t] = b * y[t-1] + (1 - b) * x[t] with y[0] = (1 - b) * x[0]; the result is
    y / smooth_scale(x_tau_steps, tau_steps)."""
    b = float(np.exp(-1.0 / tau_steps))
    y = np.fromiter(accumulate(((1.0 - b) * x).tolist(), lambda s, v: b * s + v), np.float64, len(x))
    return y / smooth_scale(x_tau_steps, tau_steps)


def smooth_scale(x_tau_steps: float, tau_steps: float) -> float:
    """The stationary standard deviation of `_smooth`'s unscaled recursion (its divisor)."""
    a, b = float(np.exp(-1.0 / x_tau_steps)), float(np.exp(-1.0 / tau_steps))
    variance = (1.0 - b) ** 2 * (1.0 + a * b) / ((1.0 - b * b) * (1.0 - a * b))
    return float(np.sqrt(variance))


# --- the time grid ---------------------------------------------------------------------------


def _parse_time(text: str, what: str) -> np.datetime64:
    try:
        return np.datetime64(pd.to_datetime(text, format=TIME_FORMAT), "m")
    except (ValueError, TypeError):
        raise ForecastlabError(
            f"cannot read the {what} time {text!r}",
            where=f"--{what}",
            fix="write it as dd.mm.yyyy HH:MM:SS, e.g. 01.01.2009 00:10:00",
        ) from None


def _grid(start: str, end: str | None, rows: int | None) -> tuple[np.ndarray, int]:
    """The complete 10-minute grid and how many of its rows to drop as the real file's holes."""
    t0 = _parse_time(start, "start")
    if rows is not None and end is not None:
        raise ForecastlabError("both an end time and a row count were given", fix="pass only one of them")
    if rows is not None:
        if rows < 2:
            raise ForecastlabError(f"rows must be at least 2, got {rows}", fix="ask for more rows")
        if rows > MAX_ROWS:
            raise ForecastlabError(f"rows={rows:,} is more than the {MAX_ROWS:,} rows one synthetic file may hold",
                                   arg="rows", fix=f"ask for at most rows={MAX_ROWS}, or make several files "
                                   "with different start= times")
        drops = round(rows * _FULL_DROPS / (_FULL_SLOTS - _FULL_DROPS))
        slots = rows + drops
    else:
        t1 = _parse_time(end or DEFAULT_END, "end")
        minutes = int((t1 - t0) / np.timedelta64(1, "m"))
        if minutes < STEP_MINUTES or minutes % STEP_MINUTES:
            raise ForecastlabError(
                f"the span {start} .. {end or DEFAULT_END} is not a positive multiple of 10 minutes",
                where="start=, end=",
                fix="choose an end after the start, on the same 10-minute grid",
            )
        slots = minutes // STEP_MINUTES + 1
        drops = round(slots * _FULL_DROPS / _FULL_SLOTS)
        if slots - drops > MAX_ROWS:  # refused before any array of that length exists
            raise ForecastlabError(
                f"the span {start} .. {end or DEFAULT_END} holds {slots - drops:,} rows of 10-minute data, more than "
                f"the {MAX_ROWS:,} rows one synthetic file may hold", where="start=, end=",
                fix=f"choose an end no later than {_latest_end(t0)} for this start (about "
                f"{MAX_ROWS * STEP_MINUTES / (60 * 24 * 365.25):.0f} years), or write several files with "
                "different start= and end= times")
    times = t0 + np.arange(slots) * np.timedelta64(STEP_MINUTES, "m")
    return times, drops


def _latest_end(t0: np.datetime64) -> str:
    """The last timestamp whose span from `t0` still holds at most MAX_ROWS rows, as dd.mm.yyyy HH:MM:SS."""
    slots = MAX_ROWS + round(MAX_ROWS * _FULL_DROPS / (_FULL_SLOTS - _FULL_DROPS)) + 2
    while slots - round(slots * _FULL_DROPS / _FULL_SLOTS) > MAX_ROWS:
        slots -= 1
    return str(_format_times(np.array([t0 + (slots - 1) * np.timedelta64(STEP_MINUTES, "m")]))[0])


def _kept_rows(rng: np.random.Generator, slots: int, drops: int) -> np.ndarray:
    """Indices of the grid rows to keep. About 60% of the dropped rows form two or three multi-hour
    holes; the rest are isolated single rows, as in the real file. First and last rows always stay."""
    keep = np.ones(slots, dtype=bool)
    holes = 3 if drops >= 150 else (2 if drops >= 40 else 0)
    if holes:
        sizes = rng.multinomial(int(drops * 0.6) - 6 * holes, np.ones(holes) / holes) + 6
        edges = np.linspace(1, slots - 1, holes + 1).astype(int)
        for (lo, hi), size in zip(zip(edges[:-1], edges[1:], strict=True), sizes, strict=True):
            begin = int(rng.integers(lo, max(lo + 1, hi - size - 1)))
            keep[begin : begin + size] = False
    interior = np.flatnonzero(keep[1:-1]) + 1
    keep[rng.choice(interior, size=drops - int((~keep).sum()), replace=False)] = False
    return np.flatnonzero(keep)


def calendar_terms(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Season in [-1, 1] (-1 in mid-January, +1 in mid-July) and the hour of the day (0..24)."""
    days = (times - np.datetime64("2000-01-01T00:00", "m")) / np.timedelta64(1, "D")
    season = -np.cos(2 * np.pi * (days / 365.2425 - 0.045))
    hour = (times - times.astype("datetime64[D]")) / np.timedelta64(1, "h")
    return season, hour


# --- the weather -----------------------------------------------------------------------------

_H = 6  # 10-minute steps per hour
_LEAD = 18 * _H  # pressure and wind see the coming air mass this many steps ahead of the thermometer
_WARM = 12 * 24 * _H  # spin-up so the smoothed processes start stationary


@dataclass(frozen=True)
class TemperatureModel:
    """The coefficients `_weather` builds T (degC) from, in 10-minute steps (also read by the oracle,
    forecastlab.evaluation.oracle, so the two can never disagree). With s = season, h = hour of day:

        T = base + season_amp*s + (diurnal_base + diurnal_season*s) * cloud * cos(2 pi (h - peak_hour)/24)
            + air_amp * (1 - air_season*s) * air + local_amp * local + noise_amp * white

    cloud = clip(1 + cloud_amp * C, cloud_min, cloud_max) with C a unit AR(1) of e-folding time
    `cloud_tau`; air the unit-variance low-pass (`air_tau`) of a unit AR(1) (`air_drive_tau`); local a
    unit AR(1) (`local_tau`); white standard normal. The pressure sees `air` `lead` steps early.
    """

    base: float = 9.45
    season_amp: float = 9.6
    diurnal_base: float = 3.1
    diurnal_season: float = 2.1
    peak_hour: float = 14.5
    air_amp: float = 4.4
    air_season: float = 0.15
    local_amp: float = 0.45
    noise_amp: float = 0.04
    cloud_amp: float = 0.35
    cloud_min: float = 0.15
    cloud_max: float = 2.0
    air_drive_tau: float = 60 * _H
    air_tau: float = 10 * _H
    cloud_tau: float = 20 * _H
    local_tau: float = 1.5 * _H
    lead: int = _LEAD


TEMPERATURE = TemperatureModel()


def _weather(rng: np.random.Generator, times: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """T, p, rh, wind on the full grid, unrounded, and the latent processes behind T.

    Temperature = annual cycle + daily cycle (amplitude larger in summer, and damped on cloudy days)
    + a slow, smooth air-mass anomaly + short-lived local noise. Pressure carries the air-mass anomaly
    `_LEAD` steps early (a falling barometer before warm air), and wind direction its tendency, so a
    model that reads pressure and wind can beat 24-hour persistence, but only partly.

    The latents ("air_drive" and "air" run `_LEAD` steps past the grid; "cloud_ar", "local", "t_noise")
    are exactly the arrays T is computed from; see `HiddenState`.
    """
    m = TEMPERATURE
    n = len(times)
    season, hour = calendar_terms(times)
    warm = _WARM
    air_drive = _ar1(rng, n + warm + _LEAD, m.air_drive_tau)
    air = _smooth(air_drive, m.air_drive_tau, m.air_tau)[warm:]
    now, ahead = air[:n], air[_LEAD:]
    tendency = (ahead - now) / 0.9
    cloud_ar = _ar1(rng, n, m.cloud_tau)
    cloud = np.clip(1.0 + m.cloud_amp * cloud_ar, m.cloud_min, m.cloud_max)
    daily_shape = np.cos(2 * np.pi * (hour - m.peak_hour) / 24)
    diurnal = (m.diurnal_base + m.diurnal_season * season) * cloud * daily_shape

    t = m.base + m.season_amp * season + diurnal + m.air_amp * (1 - m.air_season * season) * now
    local, t_noise = _ar1(rng, n, m.local_tau), rng.standard_normal(n)
    t += m.local_amp * local + m.noise_amp * t_noise

    p = 989.2 + 7.2 * _ar1(rng, n, 72 * _H) - 4.2 * ahead + 0.03 * rng.standard_normal(n)

    rh = 76.5 - 11.0 * season - 4.2 * diurnal - 16.0 * (cloud - 1.0) - 2.0 * now
    rh += 7.0 * _ar1(rng, n, 24 * _H)
    rh += 1.0 * _ar1(rng, n, _H)
    rh = np.clip(100.0 - 2.0 * np.logaddexp(0.0, (100.0 - rh) / 2.0), 12.0, 100.0)

    gust = 0.55 * _ar1(rng, n, 30 * _H) + 0.35 * np.abs(tendency) - 0.25 * (p - 989.2) / 8.4
    gust += 0.25 * daily_shape * (1 + season) / 2 + 0.45 * _ar1(rng, n, 2)
    # Fixed centring (the default span's gust mean and std), so a short span gets the same climate.
    wv = 1.74 * np.exp(0.64 * (gust - 0.175) / 0.775)
    max_wv = 0.28 + wv * (1.25 + 0.25 * np.exp(0.5 * rng.standard_normal(n)))
    # The log-normal's tail reached 50+ m/s means and 88 m/s gusts; the real file's maxima are under
    # 30 m/s. A soft ceiling bends only that tail (typical winds move by < 0.01 m/s) and keeps
    # max. wv >= wv, since 30*tanh(1.25y/30) >= 20*tanh(y/20) for every y >= 0.
    wv = 20.0 * np.tanh(wv / 20.0)
    max_wv = 30.0 * np.tanh(max_wv / 30.0)

    spread = 25.0 + 35.0 / np.sqrt(wv + 0.3)  # light winds turn every which way
    wd = 173.0 + 60.0 * np.tanh(tendency) + 75.0 * _ar1(rng, n, 36 * _H) + spread * rng.standard_normal(n)
    weather = {"T": t, "p": p, "rh": rh, "wv": wv, "max_wv": max_wv, "wd": np.mod(wd, 360.0)}
    latents = {"air_drive": air_drive[warm:], "air": air, "cloud_ar": cloud_ar, "local": local, "t_noise": t_noise}
    return weather, latents


@dataclass(frozen=True, eq=False)
class HiddenState:
    """The latent processes a synthetic file was generated from, on its full 10-minute grid.

    Grid slot i is `times[i]`; the file holds the slots `kept` (the rest are its missing rows).
    `air` and `air_drive` have `lead` extra slots at the end: the barometer at slot i reads air[i + lead].
    `temperature` is T (degC) before rounding; the file's T is round(temperature[kept], 2).
    Every array is exactly what `generate` used (`tests/evaluation/test_oracle.py` checks it).
    """

    seed: int
    times: np.ndarray  # datetime64[m], (slots,)
    kept: np.ndarray  # int64 grid slots that are rows of the file, ascending
    air_drive: np.ndarray  # (slots + lead,) the unit AR(1) that `air` smooths
    air: np.ndarray  # (slots + lead,) unit-variance air-mass anomaly; T at slot i uses air[i]
    cloud_ar: np.ndarray  # (slots,) unit AR(1) behind cloud = clip(1 + 0.35 * cloud_ar, 0.15, 2)
    local: np.ndarray  # (slots,) unit AR(1): T's short-lived local noise
    t_noise: np.ndarray  # (slots,) standard normal: T's white noise
    temperature: np.ndarray  # (slots,) T (degC), unrounded
    model: TemperatureModel = TEMPERATURE

    @property
    def lead(self) -> int:
        return self.model.lead

    @property
    def air_scale(self) -> float:
        """air = (unscaled low-pass of air_drive) / air_scale."""
        return smooth_scale(self.model.air_drive_tau, self.model.air_tau)

    def slots(self, times) -> np.ndarray:
        """Grid slot of each timestamp (any datetime64 unit); -1 where it is not on the grid."""
        t = np.asarray(times).astype("datetime64[ns]").astype(np.int64)
        step = STEP_MINUTES * 60 * 10**9
        offset = t - self.times[0].astype("datetime64[ns]").astype(np.int64)
        idx = offset // step
        ok = (offset % step == 0) & (idx >= 0) & (idx < len(self.times))
        return np.where(ok, idx, -1)


def hidden_state(seed: int = 0, start: str = DEFAULT_START, end: str | None = None,
                 rows: int | None = None) -> HiddenState:
    """The latent state behind `generate(seed, start, end, rows)`, every slot of its full grid.

    The latents depend only on the seed, the start and the number of grid slots, so `end=` set to a
    file's last timestamp gives the same state as the `rows=` that made it (its first and last rows
    are never dropped). Runs the whole generator (about 2 s for the default span).
    """
    rng = np.random.default_rng([1, seed])
    times, drops = _grid(start, end, rows)
    weather, latents = _weather(rng, times)
    keep = _kept_rows(rng, len(times), drops)
    return HiddenState(seed=seed, times=times, kept=keep, temperature=weather["T"], **latents)


# --- assembling the file ---------------------------------------------------------------------


def _format_times(times: np.ndarray) -> np.ndarray:
    """'dd.mm.yyyy HH:MM:SS' for every timestamp, by shuffling the bytes of ISO strings (fast)."""
    iso = np.datetime_as_string(times, unit="s").astype("S19")  # yyyy-mm-ddTHH:MM:SS
    raw = iso.view(np.uint8).reshape(-1, 19)
    order = [8, 9, 7, 5, 6, 4, 0, 1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    out = raw[:, order].copy()
    out[:, [2, 5]] = ord(".")
    out[:, 10] = ord(" ")
    return out.reshape(-1).view("S19").astype(str)


def _round(x: np.ndarray, decimals: int) -> np.ndarray:
    return np.round(x, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0, so no "-0.00" in the file


def generate(
    seed: int = 0, start: str = DEFAULT_START, end: str | None = None, rows: int | None = None
) -> pd.DataFrame:
    """Synthetic Jena-format weather as a DataFrame with columns `JENA_COLUMNS`.

    "Date Time" holds the file's `dd.mm.yyyy HH:MM:SS` strings; numbers are already rounded as in the
    file (2 decimals; rh and wd to 1). By default: 420,451 rows from 01.01.2009 00:10:00 to
    01.01.2017 00:00:00, i.e. the complete 10-minute grid (420,768 slots) less 317 missing rows.
    Give `end` (inclusive) or `rows` for another span; missing rows and `-9999` wind glitches scale
    with its length. The same seed always gives the same numbers.

    >>> df = generate(seed=1, rows=1000)
    >>> list(df.columns) == JENA_COLUMNS, len(df)
    (True, 1000)
    """
    # Stream 1 since v1: v2 only bent the wind tail, so every other column stays as calibrated.
    rng = np.random.default_rng([1, seed])
    times, drops = _grid(start, end, rows)
    w, _ = _weather(rng, times)
    keep = _kept_rows(rng, len(times), drops)
    t, p, rh = _round(w["T"][keep], 2), _round(w["p"][keep], 2), _round(w["rh"][keep], 1)
    frame = {TIME_COLUMN: _format_times(times[keep]), "p (mbar)": p, "T (degC)": t}
    frame.update({name: _round(v, 2) for name, v in derive(t, p, rh).items()})
    frame["rh (%)"] = rh
    frame["wv (m/s)"] = _round(w["wv"][keep], 2)
    frame["max. wv (m/s)"] = _round(w["max_wv"][keep], 2)
    frame["wd (deg)"] = _round(w["wd"][keep], 1)
    _add_glitches(rng, frame)
    return pd.DataFrame({name: frame[name] for name in JENA_COLUMNS})


def _add_glitches(rng: np.random.Generator, frame: dict[str, np.ndarray]) -> None:
    """A few -9999.0 wind readings (logger dropouts), as in the real file: most in `wv`, some in max."""
    n = len(frame["wv (m/s)"])
    count = round(_FULL_GLITCHES * n / (_FULL_SLOTS - _FULL_DROPS))
    if n >= 1000:
        count = max(count, 1)
    where = np.sort(rng.choice(n, size=count, replace=False))
    in_max = rng.random(count) < 0.35
    frame["wv (m/s)"][where[~in_max]] = -9999.0
    frame["max. wv (m/s)"][where[in_max]] = -9999.0


def write_csv(
    path: str | os.PathLike,
    seed: int = 0,
    start: str = DEFAULT_START,
    end: str | None = None,
    overwrite: bool = False,
    rows: int | None = None,
) -> Path:
    """Write `generate(seed, start, end, rows)` to `path` in exactly the real file's CSV format.

    Header names double-quoted, data unquoted, numbers as %.2f, '\\n' line ends. The file appears
    atomically (temp file + rename), so an interrupted run never leaves half a CSV. Refuses to replace
    an existing file unless `overwrite=True`. Returns the path written.
    """
    path = Path(path)
    if path.is_dir():
        raise ForecastlabError("the output path is a directory", where=str(path), fix="give a file name")
    if path.exists() and not overwrite:
        raise ForecastlabError(
            "the output file already exists", where=str(path), fix="pass overwrite=True, or choose another path"
        )
    data = csv_bytes(generate(seed=seed, start=start, end=end, rows=rows))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ForecastlabError(
            f"cannot write the synthetic data file ({exc.strerror or exc})",
            where=str(path),
            fix="choose a writable path with enough free space (about 43 MB for the full span)",
        ) from exc
    return path


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The Jena CSV file content for a `generate()` frame: quoted header, unquoted %.2f rows.

    Formatting 6 million numbers with Python's '%' takes seconds; this does it with integer
    arithmetic in Arrow (exactly the same digits for values already rounded to 2 decimals).
    """
    columns = [pa.array(frame[TIME_COLUMN].to_numpy(dtype=str))]
    columns += [_format_cents(frame[name].to_numpy(dtype=np.float64)) for name in JENA_COLUMNS[1:]]
    body = io.BytesIO()
    pa_csv.write_csv(
        pa.table(columns, names=JENA_COLUMNS),
        body,
        pa_csv.WriteOptions(include_header=False, quoting_style="none"),
    )
    header = ",".join(f'"{name}"' for name in JENA_COLUMNS) + "\n"
    return header.encode("ascii") + body.getvalue()


def _format_cents(x: np.ndarray) -> pa.Array:
    """'%.2f' of each value, as an Arrow string array."""
    cents = np.rint(x * 100.0).astype(np.int64)
    digits = pc.utf8_lpad(pc.cast(pa.array(np.abs(cents)), pa.string()), width=3, padding="0")
    text = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(digits, 0, -2), pc.utf8_slice_codeunits(digits, -2, 2**31 - 1), "."
    )
    return pc.if_else(pa.array(cents < 0), pc.binary_join_element_wise("-", text, ""), text)


def embedded_default(data_dir: str | os.PathLike | None = None, seed: int = 0) -> Path:
    """The product's offline default data file, generated into the data cache on first use.

    Returns `<data dir>/synthetic/jena_synthetic_v<N>_seed<seed>.csv`. The name carries the generator
    version, so a changed generator never reuses a stale cache.
    """
    from forecastlab.data.cache import data_dir as cache_dir

    path = cache_dir(data_dir) / "synthetic" / f"jena_synthetic_v{GENERATOR_VERSION}_seed{seed}.csv"
    if not path.exists():
        # overwrite=True: if a concurrent process got there first, its file is byte-identical.
        write_csv(path, seed=seed, overwrite=True)
    return path
