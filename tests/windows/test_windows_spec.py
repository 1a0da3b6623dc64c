"""The chapter's helpers: the split, train-only normalization, WindowSpec and the datasets of code 10-7."""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest
import torch

from forecastlab.data.series import Provenance, Series
from forecastlab.errors import ForecastlabError
from forecastlab.windows import (
    Normalizer,
    WindowSpec,
    chronological_split,
    make_datasets_from_series,
    timeseries_dataset_from_array,
)

JENA_ROWS = 420_451


@pytest.fixture(scope="module")
def jena_like():
    """Jena-sized float32 values whose column 1 (the book's temperature) is the row number."""
    values = np.zeros((JENA_ROWS, 14), dtype=np.float32)
    values[:, 1] = np.arange(JENA_ROWS)
    values[:, 0] = np.sin(np.arange(JENA_ROWS) / 100.0)
    return values


# -- split --------------------------------------------------------------------------------------------


def test_chronological_split_is_the_books():
    assert chronological_split(JENA_ROWS) == (210_225, 105_112, 105_114)
    assert chronological_split(10, (0.6, 0.2)) == (6, 2, 2)
    assert chronological_split(0) == (0, 0, 0)


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.5, 0.25, 0.1), (0.0, 0.5, 0.5), (1.0,)])
def test_chronological_split_rejects_bad_fractions(fractions):
    with pytest.raises(ForecastlabError, match="fractions"):
        chronological_split(100, fractions)


# -- the book's counts --------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:columns")
def test_book_settings_give_the_issue_counts(jena_like):
    spec = WindowSpec()
    assert (spec.delay, spec.span_rows, spec.rows_per_window) == (858, 715, 859)
    sets = spec.make_datasets(jena_like, jena_like[:, 1], seed=0)
    got = {name: (getattr(sets, name).num_windows, len(getattr(sets, name))) for name in ("train", "val", "test")}
    assert got == {"train": (209_511, 819), "val": (104_398, 408), "test": (103_542, 405)}
    assert sets.sizes == (210_225, 105_112, 105_114)
    assert sets.train.shuffle and not sets.val.shuffle and not sets.test.shuffle
    assert sets.summary()["splits"]["val"]["windows"] == 104_398


def test_datasets_are_those_of_code_10_7(jena_like):
    """Same windows as calling timeseries_dataset_from_array the way the book does, on book-normalized data."""
    raw, temperature = jena_like, jena_like[:, 1]
    num_train, num_val, _ = chronological_split(len(raw))
    mean = raw[:num_train].astype(np.float64).mean(axis=0)
    std = raw[:num_train].astype(np.float64).std(axis=0)
    std[std == 0] = 1.0
    data = ((raw - mean) / std).astype(np.float32)
    delay = 6 * (120 + 24 - 1)
    book_val = timeseries_dataset_from_array(
        data[:-delay],
        targets=temperature[delay:],
        sampling_rate=6,
        sequence_length=120,
        shuffle=False,
        batch_size=256,
        start_index=num_train,
        end_index=num_train + num_val,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the all-zero columns are constant
        sets = WindowSpec().make_datasets(jena_like, temperature, seed=0)
    assert np.array_equal(sets.val.start_rows, book_val.start_rows)
    assert torch.equal(sets.val.all_targets(), book_val.all_targets())
    for ours, book in itertools.islice(zip(sets.val, book_val, strict=True), 3):
        np.testing.assert_allclose(ours[0].numpy(), book[0].numpy(), atol=1e-5)
        assert torch.equal(ours[1], book[1])
    x, y = next(iter(sets.test))
    # targets stay raw: the window starting at row a has the temperature of row a + delay
    assert y[:3].tolist() == [float(r + delay) for r in sets.test.start_rows[:3]]
    # the temperature column, denormalized, reads back the rows of the window
    first = sets.normalizer.inverse_transform_column(x[0, :, 1], 1)
    assert first.round().tolist() == [float(num_train + num_val + 6 * k) for k in range(120)]


def test_normalization_uses_training_rows_only():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4000, 3)).astype(np.float32)
    values[2000:] += 100.0  # val and test drift far away: they must not move the statistics
    sets = WindowSpec(sequence_length=10, sampling_rate=2, horizon=3).make_datasets(values, values[:, 0])
    np.testing.assert_allclose(sets.normalizer.mean_, values[:2000].astype(np.float64).mean(axis=0))
    np.testing.assert_allclose(sets.normalizer.std_, values[:2000].astype(np.float64).std(axis=0))
    x, _ = next(iter(sets.val))
    assert x.mean() > 50  # val inputs normalized with train stats, so the drift shows


# -- normalizer ---------------------------------------------------------------------------------------


def test_normalizer_round_trip_and_json():
    values = np.random.default_rng(1).normal(5.0, 3.0, size=(500, 4)).astype(np.float32)
    norm = Normalizer().fit(values, end=300)
    z = norm.transform(values)
    assert z.dtype == np.float32 and abs(z[:300].mean()) < 1e-5 and abs(z[:300].std() - 1) < 1e-4
    np.testing.assert_allclose(norm.inverse_transform(z), values, atol=1e-4)
    back = Normalizer.from_dict(json.loads(json.dumps(norm.to_dict())))
    np.testing.assert_allclose(back.transform(values), z)
    col = back.inverse_transform_column(torch.from_numpy(z[:, 2]), 2)
    np.testing.assert_allclose(col.numpy(), values[:, 2], atol=1e-4)


def test_normalizer_constant_column_warns_and_keeps_scale():
    values = np.ones((50, 2), dtype=np.float32)
    values[:, 1] = np.arange(50)
    with pytest.warns(UserWarning, match=r"column\(s\) 0 are constant"):
        norm = Normalizer().fit(values)
    assert norm.std_[0] == 1.0 and norm.constant_columns_ == [0]
    assert np.all(norm.transform(values)[:, 0] == 0)
    with pytest.warns(UserWarning, match=r"column\(s\) 'flat' are constant"):  # named when the names are given
        Normalizer().fit(values, columns=["flat", "ramp"])


def test_normalizer_errors():
    bad = np.ones((10, 2), dtype=np.float32)
    bad[4, 1] = np.nan
    with pytest.raises(ForecastlabError, match="NaN") as err:
        Normalizer().fit(bad)
    assert err.value.where == "row 4, column 1"
    with pytest.raises(ForecastlabError, match="not been fitted"):
        Normalizer().transform(bad)


# -- WindowSpec ---------------------------------------------------------------------------------------


def test_window_spec_validates_and_round_trips():
    with pytest.raises(ForecastlabError, match="horizon must be a whole number") as err:
        WindowSpec(horizon=0)
    assert err.value.arg == "horizon" and "pass horizon=1 or more" in err.value.fix
    with pytest.raises(ForecastlabError, match="sampling_rate must be"):
        WindowSpec(sampling_rate=1.5)
    spec = WindowSpec(sequence_length=30, sampling_rate=2, horizon=5)
    assert WindowSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec.delay == 2 * (30 + 5 - 1)


def test_too_short_series_says_how_many_rows_are_needed():
    spec = WindowSpec()
    with pytest.raises(ForecastlabError) as err:
        spec.make_datasets(np.zeros((3000, 2), np.float32), np.zeros(3000, np.float32))
    need = spec.min_rows()
    message = str(err.value)
    assert "3000 rows" in message and "test has 750 rows and needs 1573" in message
    assert f"use at least {need} rows" in message and "sequence_length=" in message
    # the suggestion is exact: one row fewer fails, that many works
    with pytest.raises(ForecastlabError):
        spec.make_datasets(np.zeros((need - 1, 2), np.float32), np.zeros(need - 1, np.float32), normalize=False)
    sets = spec.make_datasets(np.zeros((need, 2), np.float32), np.zeros(need, np.float32), normalize=False)
    assert min(sets.train.num_windows, sets.val.num_windows, sets.test.num_windows) == 1


def test_engine_errors_become_forecastlab_errors():
    values = np.zeros((3000, 2), np.float32)
    with pytest.raises(ForecastlabError, match="cannot cut the train windows.*batch_size") as err:
        WindowSpec(sequence_length=10, sampling_rate=2, horizon=3).make_datasets(
            values, values[:, 0], batch_size=0, normalize=False
        )
    assert "batch_size=" in str(err.value)
    with pytest.raises(ForecastlabError) as err:  # named as the stride it is, with how to fix it
        WindowSpec(sequence_length=10, sampling_rate=2, horizon=3, stride=10**6).make_datasets(
            values, values[:, 0], normalize=False)
    assert err.value.what == "stride=1000000 is longer than the train split (1,500 rows)" and "stride=" in err.value.fix


# -- gaps and series ----------------------------------------------------------------------------------


def _series(n: int, breaks) -> Series:
    values = np.zeros((n, 3), dtype=np.float32)
    values[:, 1] = np.arange(n)
    values[:, 0] = np.cos(np.arange(n))
    values[:, 2] = np.sin(np.arange(n) / 7)
    return Series(
        timestamps=np.arange(n).astype("datetime64[h]").astype("datetime64[ns]"),
        values=values,
        columns=["a", "T (degC)", "c"],
        target="T (degC)",
        provenance=Provenance(source="synthetic"),
        breaks=np.asarray(breaks, dtype=np.int64),
    )


def test_series_with_gaps_drops_every_window_that_straddles_one():
    spec = WindowSpec(sequence_length=8, sampling_rate=3, horizon=4)  # delay 33: rows a..a+33 per window
    series = _series(1200, breaks=[100, 700, 1000])
    kept = make_datasets_from_series(series, spec, drop_gap_windows=True, seed=0)
    every = make_datasets_from_series(series, spec, seed=0)
    for name in ("train", "val", "test"):
        k, e = getattr(kept, name), getattr(every, name)
        assert k.dropped_windows == e.num_windows - k.num_windows > 0
        starts = k.start_rows
        for b in series.breaks:
            assert not np.any((starts < b) & (b <= starts + spec.delay))
    # each break removes the delay's worth of windows (33) when it lies inside a split's windows
    assert kept.train.dropped_windows == 33 and kept.val.dropped_windows == 33 and kept.test.dropped_windows == 33
    # targets follow the kept windows: temperature is the row number, target row = start + delay
    _, y = next(iter(kept.val))
    assert y.tolist() == [float(a + spec.delay) for a in kept.val.start_rows[: len(y)]]
    assert every.train.dropped_windows == 0


def test_split_whose_windows_all_cross_gaps_is_an_error():
    spec = WindowSpec(sequence_length=8, sampling_rate=3, horizon=4)
    series = _series(400, breaks=list(range(1, 400, 10)))
    with pytest.raises(ForecastlabError, match="every window of the train split crosses a hole"):
        make_datasets_from_series(series, spec, drop_gap_windows=True)


def _rows_from_which_every_count_fits(spec: WindowSpec, fractions, upto: int) -> int:
    """By brute force: 1 + the largest count below `upto` whose split leaves some split without a window."""
    failing = [m for m in range(upto) if not spec._fits(chronological_split(m, fractions))]
    assert failing and failing[-1] < upto - 50, "upto is not far enough above the last failing count"
    return failing[-1] + 1


def test_min_rows_is_the_count_from_which_every_count_fits():
    # Before: min_rows was the first count that fits (6287 for the book's window), though 6288 does not, and it
    # guessed the split's fractions back from the sizes of the short series (183 rows split 91/45/47 gave "use
    # at least 6119 rows"; 188 rows split 94/47/47 with a 24-row window gave "use at least 187").
    rng = np.random.default_rng(0)
    for case in range(300):
        spec = WindowSpec(int(rng.integers(1, 40)), int(rng.integers(1, 6)), int(rng.integers(1, 30)))
        if case % 3:
            f_train = float(rng.uniform(0.05, 0.85))
            fractions = (f_train, float(rng.uniform(0.02, 0.97 - f_train)))
        else:
            fractions = (0.5, 0.25, 0.25)
        need = spec.min_rows(fractions)
        upto = need + int(4 / (1 - sum(fractions[:2]))) + 200
        assert need == _rows_from_which_every_count_fits(spec, fractions, upto), (spec, fractions)
    assert WindowSpec().min_rows() == 6289  # 6287 rows split 3143/1571/1573 fit; 6288 split 3144/1572/1572 do not
    assert WindowSpec(24, 1, 1).min_rows() == 189


def _windows_per_split(spec: WindowSpec, n: int, fractions) -> list[int]:
    """Windows in each split of n rows as the real dataset code cuts them, with the row check switched off."""
    sizes = chronological_split(n, fractions)
    counts = []
    for start, end in ((0, sizes[0]), (sizes[0], sizes[0] + sizes[1]), (sizes[0] + sizes[1], None)):
        try:
            ds = timeseries_dataset_from_array(np.zeros((n - spec.delay, 1), np.float32),
                                               targets=spec.target_matrix(np.zeros(n, np.float32)),
                                               sequence_length=spec.sequence_length, sampling_rate=spec.sampling_rate,
                                               batch_size=8, start_index=start, end_index=end)
            counts.append(ds.num_windows)
        except ValueError:  # the engine's refusal of a split too short for one window (or n below the delay)
            counts.append(0)
    return counts


@pytest.mark.parametrize("spec, fractions", [
    (WindowSpec(), (0.5, 0.25, 0.25)),  # the book's: 120 steps of 6 rows, 24 steps ahead
    (WindowSpec(24, 1, 1), (0.5, 0.25, 0.25)),  # --lookback 4h --sample-every 10min --horizons 10min
    (WindowSpec(48, 1, 24), (0.5, 0.25, 0.25)),  # an events-like hourly window
    (WindowSpec(5, 2, 3), (0.5, 0.25, 0.25)),
    (WindowSpec(10, 3, horizons=(1, 4, 8)), (0.5, 0.25, 0.25)),  # several horizons: the farthest counts
    (WindowSpec(7, 1, 2), (0.7, 0.15, 0.15)),
    (WindowSpec(30, 2, 5), (0.6, 0.3)),
    (WindowSpec(12, 1, 6, stride=5), (0.5, 0.25, 0.25)),
])
def test_the_advice_is_true_n_rows_work_and_one_fewer_is_refused(spec, fractions):
    need = spec.min_rows(fractions)

    def refusal(n):
        with pytest.raises(ForecastlabError) as err:
            spec.make_datasets(np.zeros((n, 2), np.float32), np.zeros(n, np.float32), normalize=False,
                               fractions=fractions)
        return err.value

    for n in range(need, need + 12):  # the advice, and every count above it
        sets = spec.make_datasets(np.zeros((n, 2), np.float32), np.zeros(n, np.float32), normalize=False,
                                  fractions=fractions)
        assert min(sets.train.num_windows, sets.val.num_windows, sets.test.num_windows) >= 1, n
    assert min(_windows_per_split(spec, need, fractions)) >= 1
    # One fewer is refused, and rightly: the real dataset code cuts no window in some split of it.
    assert min(_windows_per_split(spec, need - 1, fractions)) == 0
    refused = 0
    for n in range(max(need - 12, 1), need):  # below the advice: refused and told the same count, unless it fits
        if min(_windows_per_split(spec, n, fractions)) >= 1:  # the split's rounding: accepted, its windows are real
            spec.make_datasets(np.zeros((n, 2), np.float32), np.zeros(n, np.float32), normalize=False,
                               fractions=fractions)
            continue
        err = refusal(n)
        refused += 1
        assert err.rows_needed == need and f"use at least {need} rows" in err.fix and need > n, (n, err)
        assert "sequence_length=, sampling_rate= or horizon=" in err.fix
    assert refused >= 1


def test_a_count_that_fits_only_by_the_splits_rounding_is_accepted_and_the_next_told_a_count_that_works():
    # 187 rows split 93/46/48 hold a 24-row window with its 24-row delay, but 188 split 94/47/47 do not: before,
    # 188 was refused with "use at least 187 rows" (and 183 with "at least 182", fewer than it had).
    spec = WindowSpec(24, 1, 1)
    assert min(_windows_per_split(spec, 187, (0.5, 0.25))) == 1 and min(_windows_per_split(spec, 188, (0.5, 0.25))) == 0
    spec.check_rows(187, chronological_split(187))  # its windows are real: accepted
    for n in (183, 188):
        with pytest.raises(ForecastlabError, match="use at least 189 rows"):
            spec.check_rows(n, chronological_split(n))
    with pytest.raises(ForecastlabError) as err:
        spec.check_rows(188, chronological_split(188), "short.csv")
    assert "test has 47 rows and needs 48" in err.value.what and err.value.where == "short.csv, 188 rows split 94/47/47"
    spec.check_rows(189, chronological_split(189))


def test_huge_sequence_length_fails_fast_and_tiny_series_do_not_divide_by_zero():
    import time

    spec = WindowSpec(1_000_000_000, 6, 24)
    start = time.perf_counter()
    with pytest.raises(ForecastlabError, match="use at least 48000000529 rows"):
        spec.check_rows(1000, chronological_split(1000))
    assert time.perf_counter() - start < 1.0
    assert not spec._fits(chronological_split(48000000528)) and spec._fits(chronological_split(48000000529))
    with pytest.raises(ForecastlabError, match="use at least 6289 rows"):  # 1 row splits 0/0/1
        WindowSpec().check_rows(1, chronological_split(1))
    with pytest.raises(ForecastlabError, match="use at least 6289 rows"):
        WindowSpec().check_rows(0, chronological_split(0))


def test_the_too_few_rows_advice_can_name_other_knobs_and_survives_pickling():
    import pickle

    from forecastlab.windows.spec import TooFewRowsError

    with pytest.raises(TooFewRowsError) as err:
        WindowSpec(24, 1, 1).check_rows(100, chronological_split(100))
    assert err.value.advise(("lookback=", "horizons=")).fix == "use at least 189 rows, or lower lookback= or horizons="
    assert "lower lookback= or horizons=" in str(err.value)
    again = pickle.loads(pickle.dumps(err.value))
    assert isinstance(again, TooFewRowsError) and again.rows_needed == 189 and again.fix == err.value.fix


def test_a_fixed_window_is_advised_rows_only_and_advise_keeps_that():
    # A saved run's window (backtest RUN_DIR, train --resume) cannot be lowered there: before, the CLI's
    # advise() always reworded the fix to "or lower --lookback or --horizons", flags those commands refuse.
    import pickle

    from forecastlab.cli.options import FLAGS, _window_advice
    from forecastlab.training.recipe import WindowRecipe
    from forecastlab.windows.spec import TooFewRowsError

    with pytest.raises(TooFewRowsError) as err:
        WindowSpec(24, 1, 1).check_rows(188, chronological_split(188))
    fixed = err.value.fixed_window("the run's window needs them")
    assert fixed is err.value and fixed.fix == "use at least 189 rows (the run's window needs them)"
    assert fixed.advise(("lookback=", "horizons=")).fix == fixed.fix
    _window_advice(fixed, WindowRecipe())  # what the CLI does with every command's TooFewRowsError
    assert fixed.paragraph(FLAGS).endswith("Fix: use at least 189 rows (the run's window needs them).")
    assert str(fixed).endswith("Fix: use at least 189 rows (the run's window needs them).")
    again = pickle.loads(pickle.dumps(fixed))
    assert again.fix == fixed.fix and again.advise(("lookback=",)).fix == fixed.fix


def test_a_stride_thins_the_train_windows_only_and_is_recorded():
    values = np.random.default_rng(0).normal(size=(2000, 2)).astype(np.float32)
    every = WindowSpec(10, 2, 3).make_datasets(values, values[:, 0], batch_size=32, shuffle_train=False)
    thin = WindowSpec(10, 2, 3, stride=4).make_datasets(values, values[:, 0], batch_size=32, shuffle_train=False)
    np.testing.assert_array_equal(thin.train.start_rows, every.train.start_rows[::4])
    np.testing.assert_array_equal(thin.val.start_rows, every.val.start_rows)  # scored on every window
    np.testing.assert_array_equal(thin.test.start_rows, every.test.start_rows)
    assert WindowSpec.from_dict(thin.spec.to_dict()) == thin.spec and "stride" not in every.spec.to_dict()
    with pytest.raises(ForecastlabError, match="stride must be a whole number of 1 or more"):
        WindowSpec(10, 2, 3, stride=0)


def test_targets_replace_the_target_column_row_for_row():
    # Class labels (here: each row's own index) as the windows' targets: each window's target is the label of
    # the row `delay` after its first input row, as for the target column.
    series = _series(600, [])
    spec = WindowSpec(sequence_length=10, sampling_rate=2, horizon=3)
    labels = np.arange(600, dtype=np.int64)
    sets = make_datasets_from_series(series, spec, targets=labels, batch_size=64)
    plain = make_datasets_from_series(series, spec, batch_size=64)
    for name in ("train", "val", "test"):
        got = getattr(sets, name)
        np.testing.assert_array_equal(got.all_targets().numpy(), got.start_rows + spec.delay)
        np.testing.assert_array_equal(got.start_rows, getattr(plain, name).start_rows)
    with pytest.raises(ForecastlabError, match="599 targets for a series of 600 rows"):
        make_datasets_from_series(series, spec, targets=labels[:-1])
