"""The windowing engine against hand-computed indices and a transcription of Keras's arithmetic.

`keras_reference` below is the oracle: a line-by-line pure-Python transcription of Keras 3's
timeseries_dataset_from_array (keras/src/utils/timeseries_dataset_utils.py, tf path), written without
our code. Data rows are encoded in the values (data[i, 0] == i), so every window reads back its rows.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecastlab.windows import WindowDataset, timeseries_dataset_from_array


class KerasIterationError(Exception):
    """Keras builds the dataset but TF fails while iterating (a target gather out of range)."""


def keras_reference(
    num_rows,
    num_targets,
    sequence_length,
    sequence_stride=1,
    sampling_rate=1,
    batch_size=128,
    start_index=None,
    end_index=None,
):
    """[(windows, targets)] per batch: windows are lists of data rows, targets are target rows (or None)."""
    if start_index:
        if start_index < 0:
            raise ValueError("start_index < 0")
        if start_index >= num_rows:
            raise ValueError("start_index >= len(data)")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("end_index <= start_index")
        if end_index >= num_rows:
            raise ValueError("end_index >= len(data)")
        if end_index <= 0:
            raise ValueError("end_index <= 0")
    if sampling_rate <= 0:
        raise ValueError("sampling_rate <= 0")
    if sampling_rate >= num_rows:
        raise ValueError("sampling_rate >= len(data)")
    if sequence_stride <= 0:
        raise ValueError("sequence_stride <= 0")
    if sequence_stride >= num_rows:
        raise ValueError("sequence_stride >= len(data)")

    if start_index is None:
        start_index = 0
    if end_index is None:
        end_index = num_rows
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if num_targets is not None:
        num_seqs = min(num_seqs, num_targets)
    start_positions = list(range(0, num_seqs, sequence_stride))

    # sequences_from_indices gathers from data[start_index:end_index] and targets[start_index:end_index].
    windows = [
        [start_index + i for i in range(p, p + sequence_length * sampling_rate, sampling_rate)] for p in start_positions
    ]
    targets = None
    if num_targets is not None:
        target_slice_len = len(range(num_targets)[start_index:end_index])
        if any(p >= target_slice_len for p in start_positions):
            raise KerasIterationError("target index out of range")
        targets = [start_index + p for p in start_positions]
    if batch_size is None:
        return [(w, None if targets is None else t) for w, t in zip(windows, targets or windows, strict=True)]
    return [
        (windows[i : i + batch_size], None if targets is None else targets[i : i + batch_size])
        for i in range(0, len(windows), batch_size)
    ]


# -- helpers ------------------------------------------------------------------------------------------


def rows_data(n: int) -> np.ndarray:
    """data[i] == (i, -i): every window reads back the rows it was cut from."""
    d = np.zeros((n, 2), dtype=np.float32)
    d[:, 0] = np.arange(n)
    d[:, 1] = -np.arange(n)
    return d


def row_targets(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64) * 10  # target of row i is 10*i


def observed(ds: WindowDataset):
    """The same structure keras_reference returns, read back from our batches."""
    out = []
    for batch in ds:
        x, y = (batch, None) if ds.targets is None else batch
        assert torch.equal(x[..., 1], -x[..., 0])  # the columns travel together
        rows = x[..., 0].long().tolist()
        out.append((rows, None if y is None else (y // 10).tolist()))
    return out


def windows(n, targets="rows", **kw):
    tgt = row_targets(n) if isinstance(targets, str) else targets
    return timeseries_dataset_from_array(rows_data(n), tgt, **kw)


# -- hand-computed index arithmetic ------------------------------------------------------------------


def test_keras_docstring_example_1():
    ds = windows(99, None, sequence_length=10, sampling_rate=2, sequence_stride=3)
    (batch,) = observed(ds)
    rows = batch[0]
    assert rows[0] == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
    assert rows[1] == [3, 5, 7, 9, 11, 13, 15, 17, 19, 21]
    assert rows[2] == [6, 8, 10, 12, 14, 16, 18, 20, 22, 24]
    assert rows[-1] == [78, 80, 82, 84, 86, 88, 90, 92, 94, 96]
    assert ds.num_windows == 27 and len(ds) == 1


def test_keras_docstring_example_2_temporal_regression():
    data = np.arange(100, dtype=np.float32)
    ds = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10)
    x, y = next(iter(ds))
    assert x.shape == (90 - 9, 10) and y.shape == (81,)
    assert x[0].tolist() == list(range(10)) and y[0].item() == 10.0


def test_start_end_and_partial_last_batch():
    ds = windows(20, sequence_length=3, sampling_rate=2, start_index=5, end_index=15, batch_size=4)
    # num_seqs = 15 - 5 - (3-1)*2 = 6 windows starting at rows 5..10
    assert observed(ds) == [
        ([[5, 7, 9], [6, 8, 10], [7, 9, 11], [8, 10, 12]], [5, 6, 7, 8]),
        ([[9, 11, 13], [10, 12, 14]], [9, 10]),
    ]
    assert len(ds) == 2 and ds.num_windows == 6 and ds.start_rows.tolist() == [5, 6, 7, 8, 9, 10]
    assert ds.start_positions.tolist() == [0, 1, 2, 3, 4, 5]
    assert ds.last_input_rows.tolist() == [9, 10, 11, 12, 13, 14]


def test_stride_with_start_index_runs_to_the_end():
    ds = windows(30, sequence_length=4, sequence_stride=5, start_index=2, batch_size=128)
    # num_seqs = 30 - 2 - 3 = 25 -> positions 0, 5, ..., 20
    ((rows, targets),) = observed(ds)
    assert [w[0] for w in rows] == [2, 7, 12, 17, 22] and rows[-1] == [22, 23, 24, 25]
    assert targets == [2, 7, 12, 17, 22]


def test_window_count_is_capped_by_len_targets():
    ds = windows(20, targets=row_targets(5), sequence_length=2)
    assert ds.num_windows == 5 and observed(ds)[0][1] == [0, 1, 2, 3, 4]


def test_partial_last_batch_sizes():
    ds = windows(10, sequence_length=3, batch_size=3)
    assert [len(t) for _, t in observed(ds)] == [3, 3, 2] and len(ds) == 3


def test_targets_none_yields_samples_only():
    ds = windows(12, None, sequence_length=4, batch_size=5)
    batches = list(ds)
    assert all(isinstance(b, torch.Tensor) for b in batches)
    assert [b.shape for b in batches] == [(5, 4, 2), (4, 4, 2)]
    with pytest.raises(ValueError, match="targets=None"):
        ds.all_targets()


def test_batch_size_none_yields_single_windows():
    ds = windows(8, sequence_length=3, sampling_rate=2, batch_size=None)
    items = list(ds)
    assert len(ds) == len(items) == 4
    x, y = items[1]
    assert x.shape == (3, 2) and y.shape == () and x[:, 0].tolist() == [1, 3, 5] and y.item() == 10


def test_end_index_zero_and_too_short_data_give_empty_datasets():
    # Keras tests `if end_index:`, so end_index=0 skips validation and cuts no window.
    assert windows(10, sequence_length=2, end_index=0).num_windows == 0
    ds = windows(10, sequence_length=11)
    assert ds.num_windows == 0 and len(ds) == 0 and list(ds) == []


def test_explicit_zero_start_is_the_same_as_none():
    assert observed(windows(15, sequence_length=3, start_index=0)) == observed(windows(15, sequence_length=3))


def test_shapes_follow_keras_for_nd_data_and_targets():
    data = np.arange(40 * 6, dtype=np.float64).reshape(40, 2, 3)
    targets = np.arange(80, dtype=np.float64).reshape(40, 2)
    x, y = next(iter(timeseries_dataset_from_array(data, targets, sequence_length=5, batch_size=7)))
    assert x.shape == (7, 5, 2, 3) and x.dtype == torch.float32
    assert y.shape == (7, 2) and y.dtype == torch.float32
    assert torch.equal(x[3], torch.from_numpy(data[3:8]).float()) and y[3].tolist() == [6.0, 7.0]


def test_torch_input_matches_numpy_input_and_int_targets_stay_int():
    d, t = rows_data(50), row_targets(50)
    a = list(timeseries_dataset_from_array(d, t, sequence_length=4, sampling_rate=3, batch_size=8))
    b = list(timeseries_dataset_from_array(torch.from_numpy(d), torch.from_numpy(t), 4, sampling_rate=3, batch_size=8))
    assert all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in zip(a, b, strict=True))
    assert a[0][1].dtype == torch.int64


def test_float32_data_is_viewed_not_copied():
    d = rows_data(100)
    ds = timeseries_dataset_from_array(d, None, sequence_length=3, start_index=10, end_index=90)
    assert ds.data.data_ptr() == d.ctypes.data + 10 * d.strides[0]


def test_baseline_helpers_read_targets_and_last_inputs_without_samples():
    ds = windows(40, sequence_length=4, sampling_rate=3, start_index=2, end_index=35, batch_size=5)
    assert ds.all_targets().tolist() == [10 * r for r in ds.start_rows]
    assert torch.cat(list(ds.iter_targets())).tolist() == ds.all_targets().tolist()
    assert ds.last_inputs(0).tolist() == [float(r) for r in ds.last_input_rows]
    assert ds.epoch == 0  # none of these consumed an epoch


# -- Keras's validation errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"start_index": -1}, "`start_index` must be 0 or greater"),
        ({"start_index": 20}, "`start_index` must be lower than the length of the data"),
        ({"start_index": 5, "end_index": 5}, "`end_index` must be higher than `start_index`"),
        ({"end_index": 20}, "`end_index` must be lower than the length of the data"),
        ({"end_index": -2}, "`end_index` must be higher than 0"),
        ({"sampling_rate": 0}, "`sampling_rate` must be higher than 0"),
        ({"sampling_rate": 20}, "`sampling_rate` must be lower than the length of the data"),
        ({"sequence_stride": 0}, "`sequence_stride` must be higher than 0"),
        ({"sequence_stride": 25}, "`sequence_stride` must be lower than the length of the data"),
        # Keras leaves these to TF at iteration time; we refuse them up front.
        ({"sequence_length": 0}, "`sequence_length` must be higher than 0"),
        ({"batch_size": 0}, "`batch_size` must be higher than 0 or None"),
        ({"shuffle": True, "seed": -1}, "`seed` must be 0 or greater"),
    ],
)
def test_validation_errors(kw, message):
    kw = {"sequence_length": 3} | kw
    with pytest.raises(ValueError, match=message):
        windows(20, **kw)


def test_targets_too_short_for_start_index_is_refused_up_front():
    # Keras caps by len(targets), not len(targets) - start_index, then fails inside TF while iterating.
    with pytest.raises(ValueError, match=r"`targets` has 8 rows.*needs targets\[12\]"):
        windows(30, targets=row_targets(8), sequence_length=2, start_index=5)


# -- property-based: random valid (and invalid) parameters against the transcription ------------------

optional_index = st.one_of(st.none(), st.integers(-3, 45))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 40),
    num_targets=st.one_of(st.none(), st.integers(0, 45)),
    sequence_length=st.integers(1, 12),
    sequence_stride=st.integers(-1, 8),
    sampling_rate=st.integers(-1, 6),
    batch_size=st.one_of(st.none(), st.integers(1, 12)),
    start_index=optional_index,
    end_index=optional_index,
)
def test_matches_keras_arithmetic(
    n, num_targets, sequence_length, sequence_stride, sampling_rate, batch_size, start_index, end_index
):
    kw = dict(
        sequence_length=sequence_length,
        sequence_stride=sequence_stride,
        sampling_rate=sampling_rate,
        batch_size=batch_size,
        start_index=start_index,
        end_index=end_index,
    )
    targets = None if num_targets is None else row_targets(num_targets)
    try:
        expected = keras_reference(n, num_targets, **kw)
    except (ValueError, KerasIterationError):
        with pytest.raises(ValueError):
            timeseries_dataset_from_array(rows_data(n), targets, **kw)
        return
    ds = timeseries_dataset_from_array(rows_data(n), targets, **kw)
    if batch_size is None:
        got = [(x[:, 0].long().tolist(), None if y is None else int(y) // 10) for x, y in _pairs(ds)]
    else:
        got = observed(ds)
    assert got == expected
    assert len(ds) == len(expected)


def _pairs(ds):
    for item in ds:
        yield (item, None) if ds.targets is None else item


# -- order: determinism, per-epoch reshuffle, set_epoch, prefetch -------------------------------------


def _starts(batches):
    return [int(v) for x, _ in batches for v in x[:, 0, 0]]


def test_unshuffled_iteration_repeats_exactly():
    ds = windows(200, sequence_length=5, batch_size=16)
    first, second = list(ds), list(ds)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, second, strict=True))


def test_shuffle_follows_the_documented_rule_and_reshuffles_each_epoch():
    ds = windows(300, sequence_length=5, sampling_rate=2, batch_size=32, shuffle=True, seed=7)
    chrono = windows(300, sequence_length=5, sampling_rate=2).start_rows
    epochs = [_starts(list(ds)) for _ in range(3)]
    for k, order in enumerate(epochs):
        assert order == chrono[np.random.default_rng([7, k]).permutation(len(chrono))].tolist()
        assert sorted(order) == chrono.tolist()
    assert epochs[0] != epochs[1] != epochs[2]
    again = windows(300, sequence_length=5, sampling_rate=2, batch_size=32, shuffle=True, seed=7)
    assert _starts(list(again)) == epochs[0]
    assert _starts(list(windows(300, sequence_length=5, sampling_rate=2, shuffle=True, seed=8))) != epochs[0]


def test_set_epoch_resumes_the_order_and_iter_advances_the_epoch_eagerly():
    a = windows(100, sequence_length=3, batch_size=10, shuffle=True, seed=1)
    orders = [_starts(list(a)) for _ in range(4)]
    b = windows(100, sequence_length=3, batch_size=10, shuffle=True, seed=1)
    b.set_epoch(3)
    assert _starts(list(b)) == orders[3] and b.epoch == 4
    it = iter(b)
    assert b.epoch == 5  # advanced by iter(), before any batch is drawn
    next(it)


def test_random_seed_is_drawn_and_recorded():
    a = windows(100, sequence_length=3, shuffle=True)
    assert isinstance(a.seed, int)
    b = windows(100, sequence_length=3, shuffle=True, seed=a.seed)
    assert _starts(list(a)) == _starts(list(b))


def test_prefetch_gives_the_same_batches_and_survives_an_early_break():
    kw = dict(sequence_length=6, sampling_rate=2, batch_size=9, shuffle=True, seed=3)
    plain, ahead = list(windows(150, **kw)), list(windows(150, prefetch=True, **kw))
    assert len(plain) == len(ahead)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(plain, ahead, strict=True))
    ds = windows(150, prefetch=True, **kw)
    for i, _ in enumerate(ds):
        if i == 2:
            break
    assert len(list(ds)) == len(plain)


# -- gaps ---------------------------------------------------------------------------------------------


def test_drop_windows_crossing_breaks_by_hand():
    ds = windows(40, sequence_length=3, sampling_rate=2, batch_size=64)  # rows a..a+4 per window
    kept = ds.drop_windows_crossing([10, 25])
    dropped = {6, 7, 8, 9, 21, 22, 23, 24}
    assert kept.start_rows.tolist() == [a for a in ds.start_rows if a not in dropped]
    assert kept.dropped_windows == 8 and kept.num_windows == ds.num_windows - 8
    ((rows, targets),) = observed(kept)
    assert [w[0] for w in rows] == kept.start_rows.tolist() == targets


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(10, 80),
    sequence_length=st.integers(1, 6),
    sampling_rate=st.integers(1, 4),
    extra_span=st.integers(0, 10),
    breaks=st.lists(st.integers(1, 79), max_size=6),
)
def test_kept_windows_never_straddle_a_break(n, sequence_length, sampling_rate, extra_span, breaks):
    if (sequence_length - 1) * sampling_rate >= n or sampling_rate >= n:
        return
    ds = windows(n, sequence_length=sequence_length, sampling_rate=sampling_rate)
    span = (sequence_length - 1) * sampling_rate + extra_span
    kept = ds.drop_windows_crossing(breaks, span=span)
    brute = [a for a in ds.start_rows if not any(a < b <= a + span for b in breaks)]
    assert kept.start_rows.tolist() == brute
    assert kept.dropped_windows == ds.num_windows - len(brute)
