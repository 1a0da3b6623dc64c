"""Keras's index arithmetic for sliding windows: argument checks and window start positions.

Transcribed from `keras/src/utils/timeseries_dataset_utils.py` (Keras 3.15) so that our dataset cuts
exactly the windows Keras cuts. Kept apart from the dataset so the arithmetic can be read on its own.
"""

from __future__ import annotations

import numpy as np


def span_rows(sequence_length: int, sampling_rate: int) -> int:
    """Rows one window's inputs cover, first to last inclusive: (sequence_length-1)*sampling_rate + 1,
    715 for the book's 120 x 6. The one definition: WindowSpec, WindowDataset and a loaded run use it."""
    return (sequence_length - 1) * sampling_rate + 1


def validate_keras_args(
    num_rows: int,
    sequence_length: int,
    sequence_stride: int,
    sampling_rate: int,
    batch_size: int | None,
    start_index: int | None,
    end_index: int | None,
) -> None:
    """Raise ValueError under exactly the conditions Keras does, plus two Keras leaves to TF to fail on.

    Keras tests `if start_index:` / `if end_index:`, so 0 skips those checks (end_index=0 then gives an
    empty dataset, as in Keras). `end_index == len(data)` is an error in Keras too: pass None instead.
    """
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= num_rows:
            raise ValueError(
                "`start_index` must be lower than the length of the data. "
                f"Received: start_index={start_index}, for data of length {num_rows}"
            )
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(
                "`end_index` must be higher than `start_index`. "
                f"Received: start_index={start_index}, and end_index={end_index}"
            )
        if end_index >= num_rows:
            raise ValueError(
                "`end_index` must be lower than the length of the data. "
                f"Received: end_index={end_index}, for data of length {num_rows} "
                "(pass end_index=None to use the data up to its end)"
            )
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    if sampling_rate <= 0:
        raise ValueError(f"`sampling_rate` must be higher than 0. Received: sampling_rate={sampling_rate}")
    if sampling_rate >= num_rows:
        raise ValueError(
            "`sampling_rate` must be lower than the length of the data. "
            f"Received: sampling_rate={sampling_rate}, for data of length {num_rows}"
        )
    if sequence_stride <= 0:
        raise ValueError(f"`sequence_stride` must be higher than 0. Received: sequence_stride={sequence_stride}")
    if sequence_stride >= num_rows:
        raise ValueError(
            "`sequence_stride` must be lower than the length of the data. "
            f"Received: sequence_stride={sequence_stride}, for data of length {num_rows}"
        )
    # Keras does not check these two; TF then yields empty windows or fails inside `batch`.
    if sequence_length <= 0:
        raise ValueError(f"`sequence_length` must be higher than 0. Received: sequence_length={sequence_length}")
    if batch_size is not None and batch_size <= 0:
        raise ValueError(f"`batch_size` must be higher than 0 or None. Received: batch_size={batch_size}")


def keras_bounds(num_rows: int, start_index: int | None, end_index: int | None) -> tuple[int, int]:
    """The [start, end) row range Keras cuts windows from (None -> 0 and len(data))."""
    return (0 if start_index is None else start_index, num_rows if end_index is None else end_index)


def window_positions(
    start: int,
    end: int,
    sequence_length: int,
    sampling_rate: int,
    sequence_stride: int,
    num_targets: int | None,
) -> np.ndarray:
    """Chronological window start positions, relative to `start`, exactly as Keras computes them.

    The window at position p covers rows start+p, start+p+r, ..., start+p+(L-1)*r and its target is
    targets[start+p]. The count is capped by len(targets) (not by len(targets) - start: Keras's own rule).
    """
    num_seqs = end - start - (span_rows(sequence_length, sampling_rate) - 1)
    if num_targets is not None:
        num_seqs = min(num_seqs, num_targets)
    return np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64)


def crossing_mask(first_rows: np.ndarray, span: int, breaks: np.ndarray) -> np.ndarray:
    """True for each window whose rows first..first+span straddle a break.

    A break b means the step from row b-1 to row b is a hole, so a window crosses it when it holds both
    rows: first < b <= first + span. Two binary searches count the breaks in that range per window.
    """
    breaks = np.unique(np.asarray(breaks, dtype=np.int64))
    left = np.searchsorted(breaks, first_rows, side="right")
    right = np.searchsorted(breaks, first_rows + span, side="right")
    return right > left
