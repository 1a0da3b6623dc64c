"""Lazy sliding windows over one array, batch by batch: Keras's `timeseries_dataset_from_array` on torch.

Nothing per window is ever stored: the dataset keeps the data (one view, no copy for float32 input) and
one int64 start position per window. Each batch is a single vectorized gather (`np.take` along the row
axis with the batch x sequence_length row indices), handed to torch without a copy, so memory is
O(rows x features) plus one batch.

Why np.take and not torch's index_select: on a small shared machine torch's intra-op thread pool makes
this memory-bound gather slow whenever the other cores are busy, while np.take is single-threaded and
never waits on a barrier (benchmarks/README.md, "Windows": 13 s vs 0.66 s per pass on 2 busy cores).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from forecastlab.windows.positions import (
    crossing_mask,
    keras_bounds,
    span_rows,
    validate_keras_args,
    window_positions,
)

Batch = tuple[torch.Tensor, torch.Tensor] | torch.Tensor


def timeseries_dataset_from_array(
    data,
    targets,
    sequence_length: int,
    sequence_stride: int = 1,
    sampling_rate: int = 1,
    batch_size: int | None = 128,
    shuffle: bool = False,
    seed: int | None = None,
    start_index: int | None = None,
    end_index: int | None = None,
    *,
    prefetch: bool = False,
) -> WindowDataset:
    """Sliding windows over `data`, with the parameters, defaults and index arithmetic of Keras 3's
    `keras.utils.timeseries_dataset_from_array`.

    The window at position p (p = 0, sequence_stride, 2*sequence_stride, ...) holds rows
    `data[start_index + p + k*sampling_rate]` for k < sequence_length, and its target is
    `targets[start_index + p]`. There are `end_index - start_index - (sequence_length-1)*sampling_rate`
    positions, capped by `len(targets)`. Batches hold `batch_size` windows, the last one may be shorter;
    `batch_size=None` yields single windows. `targets=None` yields samples only, as in Keras.

    Differences from Keras, all documented in docs/windows.md: samples are float32 torch tensors;
    `shuffle=True` gives a full permutation per epoch (`np.random.default_rng([seed, epoch])`) where Keras
    shuffles once plus a local buffer; errors Keras would hit only while iterating (targets too short,
    sequence_length or batch_size < 1) are ValueErrors here, at construction.
    `prefetch=True` gathers the next batch in a background thread while the caller uses the current one.
    """
    num_rows = len(data)
    validate_keras_args(num_rows, sequence_length, sequence_stride, sampling_rate, batch_size, start_index, end_index)
    start, end = keras_bounds(num_rows, start_index, end_index)
    positions = window_positions(
        start, end, sequence_length, sampling_rate, sequence_stride, None if targets is None else len(targets)
    )
    data_t = _as_tensor(data, torch.float32)[start:end]
    targets_t = None
    if targets is not None:
        targets_t = _as_tensor(targets, None)[start:end]
        if len(positions) and positions[-1] >= len(targets_t):
            raise ValueError(
                f"`targets` has {len(targets)} rows, but the last window starts at data row "
                f"{start + positions[-1]} and needs targets[{start + positions[-1]}]. "
                "Pass targets at least as long as end_index (or as the data)"
            )
    return WindowDataset(
        data_t,
        targets_t,
        positions,
        start_index=start,
        sequence_length=sequence_length,
        sampling_rate=sampling_rate,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        prefetch=prefetch,
    )


class WindowDataset:
    """An iterable of `(samples, targets)` batches (or `samples` alone when there are no targets).

    samples: float32 (batch, sequence_length, *data.shape[1:]); targets: (batch, *targets.shape[1:]),
    so (batch,) for 1-D targets. Float targets become float32, integer targets stay int64.

    Shuffling: with `shuffle=True`, iteration number k (k = 0, 1, 2, ... counts calls to `iter()`)
    visits the windows in the order `np.random.default_rng([seed, k]).permutation(num_windows)` of
    their chronological order. `set_epoch(k)` makes the next iteration use epoch k (for resuming).
    Without shuffle every iteration is chronological.
    """

    def __init__(
        self,
        data: torch.Tensor,
        targets: torch.Tensor | None,
        positions: np.ndarray,
        *,
        start_index: int,
        sequence_length: int,
        sampling_rate: int,
        batch_size: int | None,
        shuffle: bool,
        seed: int | None,
        prefetch: bool = False,
        dropped_windows: int = 0,
    ):
        self.data = data  # rows start_index..end_index-1 of the caller's data; a view, not a copy
        self.targets = targets
        self.start_index = start_index
        self.sequence_length = sequence_length
        self.sampling_rate = sampling_rate
        self.batch_size = batch_size
        self.shuffle = shuffle
        if seed is not None and seed < 0:
            raise ValueError(f"`seed` must be 0 or greater. Received: seed={seed}")
        # Drawn once when not given, so a run can report (and later replay) the order it used.
        self.seed = int(np.random.SeedSequence().entropy % 2**63) if shuffle and seed is None else seed
        self.prefetch = prefetch
        self.dropped_windows = dropped_windows
        self._positions = np.ascontiguousarray(positions, dtype=np.int64)
        self._offsets = np.arange(sequence_length, dtype=np.int64) * sampling_rate
        # numpy views of the same memory, for the gather
        self._data_np = data.numpy()
        self._targets_np = None if targets is None else targets.numpy()
        self._epoch = 0
        # The time of every row of the caller's data (datetime64), when known: calendar features and
        # forecast times index it by row (make_datasets(times=...) sets it; never copied).
        self.times: np.ndarray | None = None

    # -- sizes ------------------------------------------------------------------------------------
    @property
    def num_windows(self) -> int:
        return len(self._positions)

    def __len__(self) -> int:
        """Number of batches per pass (number of windows when batch_size is None)."""
        if self.batch_size is None:
            return self.num_windows
        return math.ceil(self.num_windows / self.batch_size)

    @property
    def span_rows(self) -> int:
        """Rows from a window's first input row to its last, inclusive."""
        return span_rows(self.sequence_length, self.sampling_rate)

    # -- where the windows are ----------------------------------------------------------------------
    @property
    def start_positions(self) -> np.ndarray:
        """Keras's start positions: chronological, relative to start_index."""
        return self._positions.copy()

    @property
    def start_rows(self) -> np.ndarray:
        """Row of the caller's data where each window starts, chronological."""
        return self.start_positions + self.start_index

    @property
    def last_input_rows(self) -> np.ndarray:
        """Row of the caller's data holding each window's last input step, chronological."""
        return self.start_rows + (self.span_rows - 1)

    def last_inputs(self, column: int) -> torch.Tensor:
        """data[last input row, column] for every window, chronological: the persistence baseline."""
        rows = self._positions + (self.span_rows - 1)
        return torch.from_numpy(self._data_np[rows, column])

    def all_targets(self) -> torch.Tensor:
        """Every window's target, chronological, without gathering any samples."""
        self._require_targets()
        return torch.from_numpy(np.take(self._targets_np, self._positions, axis=0))

    def iter_targets(self) -> Iterator[torch.Tensor]:
        """Target batches in chronological order (batch_size windows each); does not advance the epoch."""
        self._require_targets()
        step = self.batch_size or 1
        for i in range(0, self.num_windows, step):
            y = torch.from_numpy(np.take(self._targets_np, self._positions[i : i + step], axis=0))
            yield y if self.batch_size else y[0]

    # -- epochs -------------------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        """The epoch the next iteration will use."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use this epoch's order (resume at epoch k with set_epoch(k))."""
        if epoch < 0:
            raise ValueError(f"epoch must be 0 or greater, got {epoch}")
        self._epoch = int(epoch)

    def order(self, epoch: int) -> np.ndarray:
        """Start positions in the order epoch `epoch` visits them (chronological without shuffle)."""
        if not self.shuffle:
            return self.start_positions
        perm = np.random.default_rng([self.seed, epoch]).permutation(self.num_windows)
        return self.start_positions[perm]

    # -- iteration ----------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Batch]:
        # Not a generator function: the epoch must advance when iter() is called, not at first next().
        order = self.order(self._epoch)
        self._epoch += 1
        if self.batch_size is None:
            return self._single_windows(order)
        chunks = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.prefetch:
            return _prefetched(self.gather, chunks)
        return map(self.gather, chunks)

    def shards(self, rank: int, world: int) -> Iterator[tuple[Batch, int, int]]:
        """Data-parallel iteration: the batches iter() would give (the same epoch order), each cut into
        `world` contiguous parts; yields (rank's part as a Batch, the whole batch's windows, the part's
        windows). A part with no window (a last batch smaller than `world`) gathers the batch's first
        window instead, with 0 as its count, so every rank still takes part in each step."""
        if self.batch_size is None:
            raise ValueError("sharded iteration needs batches (batch_size)")
        order = self.order(self._epoch)
        self._epoch += 1
        for i in range(0, len(order), self.batch_size):
            chunk = order[i : i + self.batch_size]
            part = np.array_split(chunk, world)[rank]
            yield self.gather(part if len(part) else chunk[:1]), len(chunk), len(part)

    def gather(self, positions: np.ndarray) -> Batch:
        """The batch of windows starting at these positions (relative to start_index): one gather."""
        rows = (positions[:, None] + self._offsets).reshape(-1)  # (batch * sequence_length,)
        samples = np.take(self._data_np, rows, axis=0)  # (batch * sequence_length, *features), new memory
        samples = torch.from_numpy(samples.reshape(len(positions), self.sequence_length, *self._data_np.shape[1:]))
        if self._targets_np is None:
            return samples
        return samples, torch.from_numpy(np.take(self._targets_np, positions, axis=0))

    def _single_windows(self, order: np.ndarray) -> Iterator[Batch]:
        chunk = 1024  # gathered in blocks so unbatched iteration is not one gather per window
        for i in range(0, len(order), chunk):
            batch = self.gather(order[i : i + chunk])
            if self.targets is None:
                yield from batch
            else:
                yield from zip(*batch, strict=True)

    # -- gaps ---------------------------------------------------------------------------------------
    def drop_windows_crossing(self, breaks, span: int | None = None) -> WindowDataset:
        """A copy without the windows that straddle a break (a hole between row b-1 and row b).

        `breaks` are rows of the caller's data. A window starting at row a depends on rows a..a+span;
        span defaults to its own input span (span_rows - 1); pass the target offset (the book's `delay`)
        to keep the target on the same side of every hole too. `dropped_windows` counts what went.
        """
        span = self.span_rows - 1 if span is None else span
        crossing = crossing_mask(self.start_rows, span, np.asarray(breaks, dtype=np.int64))
        kept = WindowDataset(
            self.data,
            self.targets,
            self.start_positions[~crossing],
            start_index=self.start_index,
            sequence_length=self.sequence_length,
            sampling_rate=self.sampling_rate,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            seed=self.seed,
            prefetch=self.prefetch,
            dropped_windows=self.dropped_windows + int(crossing.sum()),
        )
        kept._epoch = self._epoch
        kept.times = self.times
        return kept

    def subset(self, keep: np.ndarray, *, shuffle: bool | None = None, seed: int | None = None) -> WindowDataset:
        """The windows where the boolean mask `keep` (one per window, chronological) is True, over the same
        data (no copy): how a backtest cuts its folds out of one dataset. `shuffle`/`seed` default to this
        dataset's."""
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (self.num_windows,):
            raise ValueError(f"keep must have one entry per window ({self.num_windows}), got {keep.shape}")
        part = WindowDataset(
            self.data, self.targets, self._positions[keep], start_index=self.start_index,
            sequence_length=self.sequence_length, sampling_rate=self.sampling_rate, batch_size=self.batch_size,
            shuffle=self.shuffle if shuffle is None else shuffle, seed=self.seed if seed is None else seed,
            prefetch=self.prefetch,
        )
        part.times = self.times
        return part

    def summary(self) -> dict:
        """Counts for reports and --json output."""
        return {
            "windows": self.num_windows,
            "batches": len(self),
            "batch_size": self.batch_size,
            "dropped_windows": self.dropped_windows,
            "first_row": int(self.start_rows[0]) if self.num_windows else None,
            "last_row": int(self.last_input_rows[-1]) if self.num_windows else None,
            "shuffle": self.shuffle,
            "seed": self.seed,
        }

    def __repr__(self) -> str:
        return (
            f"WindowDataset(windows={self.num_windows}, batches={len(self)}, batch_size={self.batch_size}, "
            f"sequence_length={self.sequence_length}, sampling_rate={self.sampling_rate}, "
            f"shuffle={self.shuffle}, seed={self.seed})"
        )

    def _require_targets(self) -> None:
        if self.targets is None:
            raise ValueError("this dataset was built with targets=None, so it has no targets")


def _prefetched(gather, chunks: list[np.ndarray]) -> Iterator[Batch]:
    """Gather batch i+1 in a thread while the caller works on batch i (np.take releases the GIL)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="window-prefetch") as pool:
        pending = pool.submit(gather, chunks[0]) if chunks else None
        for chunk in chunks[1:]:
            ready = pending.result()
            pending = pool.submit(gather, chunk)
            yield ready
        if pending is not None:
            yield pending.result()


def _as_tensor(array, dtype: torch.dtype | None) -> torch.Tensor:
    """A torch view of `array` (no copy when it is already a contiguous tensor/array of the right type).

    dtype None keeps integers as int64 and turns other numbers into float32.
    """
    if isinstance(array, torch.Tensor):
        t = array.detach().cpu()
    else:
        a = np.asarray(array)
        if a.dtype.kind not in "biuf":
            raise ValueError(f"expected a numeric array, got dtype {a.dtype}")
        if dtype is None and a.dtype.kind in "biu":
            a = a.astype(np.int64, copy=False)
        elif a.dtype != np.float32:
            a = a.astype(np.float32)
        with warnings.catch_warnings():
            # Read-only arrays (e.g. memory-mapped) are fine: windows are only ever read.
            warnings.filterwarnings("ignore", message=".*not writable.*")
            t = torch.from_numpy(np.ascontiguousarray(a))
    if t.ndim == 0:
        raise ValueError("expected an array with a time axis, got a scalar")
    want = dtype or (torch.float32 if t.is_floating_point() else torch.int64)
    return t.to(want).contiguous()
