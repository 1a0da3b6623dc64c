"""The built-in synthetic Jena data: format, defects, physics, calibration, determinism, file handling."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from forecastlab.data import synthetic
from forecastlab.data.jena_schema import JENA_COLUMNS
from forecastlab.data.synthetic import REAL_JENA_STATS, embedded_default, generate, write_csv
from forecastlab.errors import ForecastlabError

HEADER = (
    '"Date Time","p (mbar)","T (degC)","Tpot (K)","Tdew (degC)","rh (%)","VPmax (mbar)",'
    '"VPact (mbar)","VPdef (mbar)","sh (g/kg)","H2OC (mmol/mol)","rho (g/m**3)","wv (m/s)",'
    '"max. wv (m/s)","wd (deg)"'
)
NUMBER = r"-?\d+\.\d\d"
ROW = re.compile(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d" + rf"(,{NUMBER}){{14}}")

# The real file's first four rows (as printed by pandas in public notebooks): the physics must match.
REAL_ROWS = [
    [996.52, -8.02, 265.40, -8.90, 93.30, 3.33, 3.11, 0.22, 1.94, 3.12, 1307.75],
    [996.57, -8.41, 265.01, -9.28, 93.40, 3.23, 3.02, 0.21, 1.89, 3.03, 1309.80],
    [996.53, -8.51, 264.91, -9.31, 93.90, 3.21, 3.01, 0.20, 1.88, 3.02, 1310.24],
    [996.51, -8.31, 265.12, -9.07, 94.20, 3.26, 3.07, 0.19, 1.92, 3.08, 1309.19],
]

REAL_STATS = REAL_JENA_STATS

# The book's windows: 5 days sampled hourly, target 24 h after the window's last sample.
LAST, DELAY = (120 - 1) * 6, 6 * (120 + 24 - 1)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate(seed=0)


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("synth") / "jena_synthetic.csv", seed=0)


@pytest.fixture(scope="module")
def times(frame) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(frame["Date Time"], format="%d.%m.%Y %H:%M:%S"))


def numbers(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype=np.float64)


# --- format ------------------------------------------------------------------------------------


def test_every_line_of_the_file_has_the_real_format(csv_path):
    data = csv_path.read_bytes()
    assert b"\r" not in data and data.endswith(b"\n")
    lines = data.decode("ascii").split("\n")[:-1]
    assert lines[0] == HEADER
    bad = [i for i, line in enumerate(lines[1:], start=2) if not ROW.fullmatch(line)]
    assert bad == [], f"lines not in the Jena format, e.g. {lines[bad[0] - 1]!r}"
    assert len(lines) == 1 + 420_451


def test_file_holds_exactly_the_generated_frame(csv_path, frame):
    back = pd.read_csv(csv_path)
    assert list(back.columns) == JENA_COLUMNS
    assert (back["Date Time"] == frame["Date Time"]).all()
    np.testing.assert_array_equal(back[JENA_COLUMNS[1:]].to_numpy(), frame[JENA_COLUMNS[1:]].to_numpy())


def test_number_formatting_matches_percent_2f():
    small = generate(seed=3, rows=3000)
    edge_cases = [-0.004, -0.01, 0.0, 0.5, 0.04, -12.34, 99.99, 1234.5, 1316.0, -9999.0]
    small.loc[: len(edge_cases) - 1, "p (mbar)"] = np.round(edge_cases, 2) + 0.0
    expected = HEADER + "\n" + small.to_csv(header=False, index=False, float_format="%.2f", lineterminator="\n")
    assert synthetic.csv_bytes(small).decode("ascii") == expected


def test_default_span_row_count_and_first_and_last_timestamps(frame):
    assert list(frame.columns) == JENA_COLUMNS
    assert len(frame) == 420_451
    assert frame["Date Time"].iloc[0] == "01.01.2009 00:10:00"
    assert frame["Date Time"].iloc[-1] == "01.01.2017 00:00:00"


def test_numbers_are_rounded_like_the_file(frame):
    values = frame[JENA_COLUMNS[1:]].to_numpy()
    np.testing.assert_array_equal(values, np.round(values, 2))
    # rh and wd are logged to 0.1 in the real file
    for name in ("rh (%)", "wd (deg)"):
        np.testing.assert_array_equal(numbers(frame, name), np.round(numbers(frame, name), 1))


# --- defects like the real file's -------------------------------------------------------------


def test_missing_rows_include_isolated_ones_and_multi_hour_holes(times):
    steps = np.diff(times.to_numpy().astype("datetime64[m]").astype(np.int64)) // 10
    assert steps.min() == 1, "timestamps must increase on the 10-minute grid"
    missing = steps - 1
    assert missing.sum() == 420_768 - 420_451
    assert (missing == 1).sum() >= 20
    assert (missing >= 36).sum() >= 2  # at least two holes of six hours or more


def test_a_few_minus_9999_wind_glitches(frame):
    wv, max_wv = numbers(frame, "wv (m/s)"), numbers(frame, "max. wv (m/s)")
    glitches = (wv == -9999.0).sum() + (max_wv == -9999.0).sum()
    assert 10 <= glitches <= 20
    assert (wv == -9999.0).any()
    others = np.concatenate([numbers(frame, c) for c in JENA_COLUMNS[1:12] + ["wd (deg)"]])
    assert not (others == -9999.0).any()


# --- physics ----------------------------------------------------------------------------------


def physics(t, p, rh):
    """The formulas written out independently of the module (Magnus over water, Sonntag-type)."""
    vpmax = 6.1078 * np.exp(17.08085 * t / (234.175 + t))
    vpact = rh / 100 * vpmax
    x = np.log(vpact / 6.1078)
    return {
        "Tpot (K)": (t + 273.16) * (1000 / p) ** 0.286,
        "Tdew (degC)": 234.175 * x / (17.08085 - x),
        "VPmax (mbar)": vpmax,
        "VPact (mbar)": vpact,
        "sh (g/kg)": 622 * vpact / (p - 0.378 * vpact),
        "H2OC (mmol/mol)": 1000 * vpact / p,
        "rho (g/m**3)": (p - 0.378 * vpact) * 1e5 / (287.058 * (t + 273.16)),
    }


def test_physics_reproduces_the_real_files_first_rows():
    real = np.array(REAL_ROWS)
    p, t, rh = real[:, 0], real[:, 1], real[:, 4]
    derived = physics(t, p, rh)
    # The file's T, p and rh are themselves rounded, so allow what that rounding can move each formula.
    moved = [physics(t + 0.005, p, rh), physics(t, p + 0.005, rh), physics(t, p, rh + 0.05)]
    for j, name in enumerate(JENA_COLUMNS[1:12]):
        if name in derived:
            tolerance = 0.005 + sum(np.abs(m[name] - derived[name]) for m in moved) + 1e-9
            assert (np.abs(derived[name] - real[:, j]) <= tolerance).all(), name
    np.testing.assert_allclose(synthetic.derive(t, p, rh)["Tpot (K)"], derived["Tpot (K)"])


def test_all_rows_are_physically_consistent_to_rounding(frame):
    t, p, rh = numbers(frame, "T (degC)"), numbers(frame, "p (mbar)"), numbers(frame, "rh (%)")
    for name, value in physics(t, p, rh).items():
        worst = np.abs(numbers(frame, name) - value).max()
        assert worst <= 0.005 + 1e-6, f"{name} is off by {worst}"
    vpdef = numbers(frame, "VPmax (mbar)") - numbers(frame, "VPact (mbar)")
    assert np.abs(numbers(frame, "VPdef (mbar)") - vpdef).max() <= 0.015 + 1e-9
    assert (numbers(frame, "Tdew (degC)") <= t + 0.01).all()
    assert rh.min() > 0 and rh.max() <= 100


def test_wind_is_physical(frame):
    wv, max_wv = numbers(frame, "wv (m/s)"), numbers(frame, "max. wv (m/s)")
    ok = (wv != -9999.0) & (max_wv != -9999.0)
    assert (wv[ok] >= 0).all() and (max_wv[ok] >= wv[ok]).all()
    wd = numbers(frame, "wd (deg)")
    assert wd.min() >= 0 and wd.max() <= 360


# --- calibration ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(REAL_STATS))
def test_column_statistics_are_close_to_the_real_file(frame, name):
    x = numbers(frame, name)
    x = x[x != -9999.0]
    mean, std = REAL_STATS[name]
    assert abs(x.mean() - mean) <= 0.15 * std, f"mean {x.mean():.2f} vs real {mean}"
    assert abs(x.std() / std - 1) <= 0.15, f"std {x.std():.2f} vs real {std}"


def split_windows(n: int, name: str) -> np.ndarray:
    """Window starts of the book's 50/25/25 split, as keras' timeseries_dataset_from_array makes them."""
    num_train, num_val = int(0.5 * n), int(0.25 * n)
    s, e = {"val": (num_train, num_train + num_val), "test": (num_train + num_val, n)}[name]
    return np.arange(s, min(e - LAST, n - DELAY))


def test_24_hour_persistence_baseline_is_near_the_books(frame):
    t = numbers(frame, "T (degC)")
    for name in ("val", "test"):
        i = split_windows(len(t), name)
        mae = np.abs(t[i + LAST] - t[i + DELAY]).mean()
        assert 2.0 <= mae <= 3.0, f"{name} persistence MAE {mae:.2f}"


def ridge_mae(frame: pd.DataFrame, names: list[str]) -> float:
    """Validation MAE of a ridge regression predicting the 24-hour change of T from the named columns
    sampled every 4 hours over the 5-day window (every 12th window, to stay fast)."""
    x_all = frame[names].to_numpy(dtype=np.float64)
    x_all = (x_all - x_all.mean(0)) / x_all.std(0)
    t = numbers(frame, "T (degC)")
    lags = np.arange(0, 120, 4) * 6

    def design(i):
        x = x_all[i[:, None] + lags[None, :]].reshape(len(i), -1)
        return np.hstack([x, np.ones((len(i), 1))]), t[i + DELAY] - t[i + LAST]

    x, y = design(np.arange(0, int(0.5 * len(t)) - LAST, 12))
    w = np.linalg.solve(x.T @ x + 10 * np.eye(x.shape[1]), x.T @ y)
    x, y = design(split_windows(len(t), "val")[::12])
    return float(np.abs(x @ w - y).mean())


def test_pressure_foreshadows_temperature_but_only_partly(frame):
    t = numbers(frame, "T (degC)")
    i = split_windows(len(t), "val")
    persistence = np.abs(t[i + LAST] - t[i + DELAY]).mean()
    t_only = ridge_mae(frame, ["T (degC)"])
    with_pressure = ridge_mae(frame, ["T (degC)", "p (mbar)"])
    assert with_pressure < 0.97 * t_only, "pressure should carry signal about tomorrow's temperature"
    assert 0.6 * persistence < with_pressure < 0.95 * persistence


def test_annual_cycle_and_a_daily_cycle_larger_in_summer(frame, times):
    t = pd.Series(numbers(frame, "T (degC)"), index=times)
    monthly = t.groupby(times.month).mean()
    assert monthly[7] - monthly[1] > 12
    daily_range = (t.resample("D").max() - t.resample("D").min()).dropna()
    by_month = daily_range.groupby(daily_range.index.month).mean()
    assert by_month[[6, 7, 8]].mean() > 1.5 * by_month[[12, 1, 2]].mean()


# --- determinism, spans, files ----------------------------------------------------------------


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    args = {"start": "01.03.2010 00:00:00", "end": "15.03.2010 00:00:00"}
    a = write_csv(tmp_path / "a.csv", seed=7, **args).read_bytes()
    b = write_csv(tmp_path / "b.csv", seed=7, **args).read_bytes()
    c = write_csv(tmp_path / "c.csv", seed=8, **args).read_bytes()
    assert a == b
    assert a != c and a.split(b"\n")[0] == c.split(b"\n")[0]


def test_custom_start_and_end():
    df = generate(seed=1, start="15.06.2012 12:00:00", end="25.06.2012 12:00:00")
    slots = 10 * 144 + 1
    assert df["Date Time"].iloc[0] == "15.06.2012 12:00:00"
    assert df["Date Time"].iloc[-1] == "25.06.2012 12:00:00"
    assert slots - 3 <= len(df) < slots  # proportionally few rows missing (317 of 420,768)
    assert df["T (degC)"].mean() > 10  # it is June there


def test_custom_row_count_and_start_only():
    assert len(generate(seed=2, rows=5000)) == 5000
    tail = generate(seed=2, start="31.12.2016 00:00:00")
    assert tail["Date Time"].iloc[-1] == "01.01.2017 00:00:00"
    assert 140 <= len(tail) <= 145


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": "2009-01-01 00:10:00"},
        {"start": "01.01.2010 00:00:00", "end": "01.01.2009 00:00:00"},
        {"start": "01.01.2010 00:00:00", "end": "01.01.2010 00:05:00"},
        {"end": "02.01.2009 00:00:00", "rows": 10},
    ],
)
def test_bad_spans_are_user_errors(kwargs):
    with pytest.raises(ForecastlabError) as err:
        generate(**kwargs)
    assert err.value.fix


def test_refuses_to_overwrite_unless_asked(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("precious\n")
    with pytest.raises(ForecastlabError) as err:
        write_csv(path, rows=500)
    assert "overwrite=True" in err.value.fix and str(path) in err.value.where
    assert path.read_text() == "precious\n"
    write_csv(path, rows=500, overwrite=True)
    assert path.read_text().startswith(HEADER)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temp file left behind


def test_embedded_default_is_cached_versioned_and_equals_the_seed_0_file(csv_path, isolated_data_dir):
    path = embedded_default()
    assert path == isolated_data_dir / "synthetic" / "jena_synthetic_v2_seed0.csv"
    assert path.read_bytes() == csv_path.read_bytes()
    stamp = path.stat().st_mtime_ns
    assert embedded_default() == path and path.stat().st_mtime_ns == stamp


def test_embedded_default_honours_an_explicit_data_dir(tmp_path):
    path = embedded_default(data_dir=tmp_path, seed=5)
    assert path == tmp_path / "synthetic" / "jena_synthetic_v2_seed5.csv"
    assert len(path.read_bytes().split(b"\n")) == 1 + 420_451 + 1


def test_note_says_synthetic_and_how_to_get_real_data():
    assert "SYNTHETIC" in synthetic.SYNTHETIC_NOTE
    assert "forecastlab data fetch" in synthetic.SYNTHETIC_NOTE


def test_unwritable_destinations_are_user_errors(tmp_path):
    with pytest.raises(ForecastlabError, match="directory"):
        write_csv(tmp_path, rows=500)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ForecastlabError) as err:
        write_csv(blocker / "out.csv", rows=500)
    assert str(blocker / "out.csv") in err.value.where


def test_wind_stays_physically_plausible(frame):
    # v1's log-normal tail produced 52 m/s winds and 88 m/s gusts; the real record stays under 30 m/s.
    for col in ("wv (m/s)", "max. wv (m/s)"):
        v = frame[col].to_numpy()
        assert v[v > -9000].max() < 30.0


def test_spans_and_row_counts_past_max_rows_are_refused_before_generating():
    assert synthetic.MAX_ROWS == 1_000_000
    with pytest.raises(ForecastlabError, match="rows=1,000,001 is more than the 1,000,000 rows") as err:
        generate(rows=synthetic.MAX_ROWS + 1)
    assert err.value.arg == "rows" and "rows=1000000" in err.value.fix
    with pytest.raises(ForecastlabError, match="holds 419,969,250 rows of 10-minute data") as err:
        synthetic.hidden_state(end="31.12.9999 23:50:00")
    assert err.value.where == "start=, end=" and "11.01.2028 16:20:00" in err.value.fix
    # the latest end named is the last one the cap allows, for any start
    start = "15.06.2012 12:00:00"
    t0 = synthetic._parse_time(start, "start")
    last = synthetic._latest_end(t0)
    times, drops = synthetic._grid(start, last, None)
    assert len(times) - drops == synthetic.MAX_ROWS
    later = synthetic._format_times(np.array([t0 + len(times) * np.timedelta64(10, "m")]))[0]
    with pytest.raises(ForecastlabError, match=f"choose an end no later than {last}"):
        synthetic._grid(start, str(later), None)
