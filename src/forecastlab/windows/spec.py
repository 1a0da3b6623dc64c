"""The chapter's window settings as one value, and the three datasets of code 10-7 built in one call."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from forecastlab.errors import ForecastlabError, GapWindowsWarning
from forecastlab.windows.dataset import WindowDataset, timeseries_dataset_from_array
from forecastlab.windows.positions import crossing_mask, span_rows
from forecastlab.windows.split import Normalizer, chronological_split

_SPLITS = ("train", "val", "test")


class TooFewRowsError(ForecastlabError):
    """WindowSpec.check_rows's refusal: the series has fewer rows than `rows_needed` (WindowSpec.min_rows, the
    fewest from which every count holds one window per split). Its fix advises that many rows or a smaller
    window, naming the window's settings as `knobs` (argument spellings, lowered to shrink the window); the
    CLI words it again with the options the user set the window with (`advise`).

    A window the caller cannot change (a saved run's: backtest or resume it, and its window comes with it)
    is `fixed_window(why)`: the fix then asks for rows only, and `advise` keeps it so."""

    KNOBS = ("sequence_length=", "sampling_rate=", "horizon=")

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None, arg: str | None = None,
                 rows_needed: int | None = None, knobs: tuple[str, ...] = KNOBS):
        self.rows_needed = rows_needed
        self.window_fixed: str | None = None  # why the window cannot be lowered, once fixed_window() said so
        super().__init__(what, where=where, fix=fix if fix is not None else self._fix(rows_needed, knobs), arg=arg)

    @staticmethod
    def _fix(rows_needed: int | None, knobs: tuple[str, ...], why: str | None = None) -> str | None:
        if rows_needed is None:
            return None
        if why is not None:
            return f"use at least {rows_needed} rows ({why})"
        if not knobs:
            return f"use at least {rows_needed} rows"
        listed = knobs[0] if len(knobs) == 1 else f"{', '.join(knobs[:-1])} or {knobs[-1]}"
        return f"use at least {rows_needed} rows, or lower {listed}"

    def advise(self, knobs: tuple[str, ...]) -> TooFewRowsError:
        """This error (itself) with the fix naming `knobs` instead: e.g. ('lookback=', 'horizons='). A fixed
        window's error (fixed_window) is left as it is: there is no setting to lower."""
        if self.rows_needed is not None and self.window_fixed is None:
            self.fix = self._fix(self.rows_needed, tuple(knobs))
            self.args = (self.paragraph(),)
        return self

    def fixed_window(self, why: str = "the run's window needs them") -> TooFewRowsError:
        """This error (itself) for a window that cannot be changed where it was used (a saved run's): the fix
        asks for `rows_needed` rows only, saying `why`, and a later `advise` keeps it."""
        self.window_fixed = why
        if self.rows_needed is not None:
            self.fix = self._fix(self.rows_needed, (), why)
            self.args = (self.paragraph(),)
        return self


@dataclass(frozen=True)
class WindowSpec:
    """How windows are cut: `sequence_length` sampled steps, one row in every `sampling_rate`, predicting
    the target `horizon` sampled steps after the last input step (Jena: 120 hourly steps = 5 days,
    predicting 24 hours ahead).

    `horizons`: several horizons at once (sampled steps, e.g. (1, 2, ..., 24)); the targets are then
    (windows, H), one column per horizon, and `horizon` is the farthest. None (the book) is `(horizon,)`.
    `stride`: train on every stride-th window only (Keras's `sequence_stride`, on the train split; the
    validation and test splits are always scored on every window). 1, the book's, keeps them all.
    """

    sequence_length: int = 120
    sampling_rate: int = 6
    horizon: int = 24
    horizons: tuple[int, ...] | None = None
    stride: int = 1

    def __post_init__(self) -> None:
        for name in ("sequence_length", "sampling_rate", "horizon", "stride"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
                raise ForecastlabError(
                    f"{name} must be a whole number of 1 or more, got {value!r}",
                    arg=name, fix=f"pass {name}=1 or more",
                )
        if self.horizons is not None:
            steps = tuple(sorted({int(h) for h in self.horizons})) if len(self.horizons) else ()
            if not steps or any(isinstance(h, bool) or h < 1 for h in self.horizons):
                raise ForecastlabError(f"horizons must be whole numbers of 1 or more, got {self.horizons!r}",
                                       arg="horizons", fix="e.g. horizons=(1, 6, 24)")
            # One horizon is the book's single-horizon task: stored as `horizon` alone.
            object.__setattr__(self, "horizons", steps if len(steps) > 1 else None)
            object.__setattr__(self, "horizon", steps[-1])

    @property
    def steps(self) -> tuple[int, ...]:
        """The horizons, in sampled steps, ascending: (24,) for the book."""
        return self.horizons or (self.horizon,)

    @property
    def delays(self) -> tuple[int, ...]:
        """Rows from a window's first input row to each horizon's target row."""
        return tuple(self.sampling_rate * (self.sequence_length + h - 1) for h in self.steps)

    @property
    def delay(self) -> int:
        """Rows from a window's first input row to its (farthest) target row, the book's
        `sampling_rate * (sequence_length + delay_steps - 1)`: 6 * (120 + 24 - 1) = 858 for Jena."""
        return self.sampling_rate * (self.sequence_length + self.horizon - 1)

    @property
    def span_rows(self) -> int:
        """Rows covered by one window's inputs, first to last inclusive: (120-1)*6 + 1 = 715."""
        return span_rows(self.sequence_length, self.sampling_rate)

    @property
    def rows_per_window(self) -> int:
        """Rows from a window's first input row to its target row inclusive (delay + 1)."""
        return self.delay + 1

    def to_dict(self) -> dict:
        out = asdict(self)
        out["horizons"] = list(self.horizons) if self.horizons else None
        if self.stride == 1:  # the book's: left implicit, as in every run made before strides
            del out["stride"]
        return out

    @classmethod
    def from_dict(cls, d: dict) -> WindowSpec:
        horizons = d.get("horizons")
        return cls(**{k: int(d[k]) for k in ("sequence_length", "sampling_rate", "horizon")},
                   horizons=tuple(int(h) for h in horizons) if horizons else None, stride=int(d.get("stride") or 1))

    def target_matrix(self, targets) -> np.ndarray:
        """What the datasets' targets are: the book's `targets[delay:]` for one horizon, else (n - delay, H)
        with column j holding each window's target `delays[j]` rows after its first input row."""
        if self.horizons is None:
            return targets[self.delay :]
        n = len(targets) - self.delay
        return np.stack([np.asarray(targets[d : d + n]) for d in self.delays], axis=1)

    def check_rows(self, n: int, sizes: tuple[int, int, int], source: str | None = None, *,
                   fractions: tuple[float, ...] = (0.5, 0.25, 0.25)) -> None:
        """ForecastlabError (a TooFewRowsError) unless n rows are enough: each split of `sizes` (n split by
        `fractions`) holds at least one window (`source`, e.g. the file, is named in the message).

        The refusal advises `min_rows(fractions)`: the count from which every count works. The split rounds
        train and val down, so the test split can be a row longer at n than at n + 1 (420 rows give a 105-row
        test split, 419 give 106): a few counts just below min_rows fit while the next does not. Such a count
        is accepted (its windows are real), and a refused count is never told a number that would fail."""
        need = {"train": self.span_rows, "val": self.span_rows, "test": self.span_rows + self.delay}
        short = [(name, size, need[name]) for name, size in zip(_SPLITS, sizes, strict=True) if size < need[name]]
        if not short:
            return
        least = self.min_rows(fractions)
        window = (f"One window spans {self.span_rows} rows of input ((sequence_length-1)*sampling_rate+1) and its "
                  f"target lies {self.delay} rows after its first input row (the delay); the test split needs both")
        detail = "; ".join(f"{name} has {size} rows and needs {want}" for name, size, want in short)
        what = f"the series has {n} rows, too few for one window per split ({detail}). {window}"
        raise TooFewRowsError(what, where=f"{_place(source)}{n} rows split {sizes[0]}/{sizes[1]}/{sizes[2]}",
                              rows_needed=least)

    def min_rows(self, fractions: tuple[float, ...] = (0.5, 0.25, 0.25)) -> int:
        """The smallest row count N from which every count holds one window in each split of the chronological
        split by `fractions` (the book's 50/25/25 by default): N rows work, and so does every count above,
        while N - 1 rows do not (check_rows advises it; it also accepts the few counts below it that fit).

        Exact, with the split's own arithmetic (chronological_split), and quick for any window (no count-up
        from 1: --sequence-length 1e9 needs 4.8e10 rows). The train and val sizes int(f * m) never shrink as m
        grows, so each has one first fitting count, found near need / f. The test size m - int(f_train * m)
        - int(f_val * m) is not monotone (the rounding), but it lies in [f_test * m, f_test * m + 2): every m
        from `need / f_test` (plus a margin for float rounding) fits, every m up to (need - 2) / f_test fails,
        and the last failing count lies in between, a scan of about 4 / f_test counts.
        """
        chronological_split(0, fractions)  # bad fractions are refused as the split refuses them
        f_train, f_val = float(fractions[0]), float(fractions[1])
        f_test = 1.0 - f_train - f_val
        test_need = self.span_rows + self.delay

        def first_reaching(f: float, want: int) -> int:  # smallest m >= 1 with int(f * m) >= want
            m = max(int(-(-want // f)), 1)  # ceil(want / f), then corrected for float rounding
            while m > 1 and int(f * (m - 1)) >= want:
                m -= 1
            while int(f * m) < want:
                m += 1
            return m

        m = int(test_need / f_test * (1 + 1e-9)) + 3  # every count from here fits the test split
        while m > 0 and chronological_split(m - 1, fractions)[2] >= test_need:
            m -= 1
        return max(m, first_reaching(f_train, self.span_rows), first_reaching(f_val, self.span_rows), 1)

    def _fits(self, sizes: tuple[int, int, int]) -> bool:
        return sizes[0] >= self.span_rows and sizes[1] >= self.span_rows and sizes[2] >= self.delay + self.span_rows

    def make_datasets(
        self,
        values,
        targets,
        *,
        batch_size: int = 256,
        shuffle_train: bool = True,
        seed: int | None = None,
        fractions: tuple[float, ...] = (0.5, 0.25, 0.25),
        normalize: bool = True,
        breaks=None,
        drop_gap_windows: bool = False,
        shuffle_eval: bool = False,
        prefetch: bool = False,
        source: str | None = None,
        times=None,
        target_column: int | None = None,
        transforms: dict[int, str] | None = None,
        columns: list[str] | None = None,
    ) -> SplitDatasets:
        """Train, val and test datasets exactly as the book's code 10-7 builds them.

        Inputs are `values` normalized with train-only statistics (unless normalize=False); targets stay
        in their raw units. Each dataset is `timeseries_dataset_from_array(data[:-delay],
        targets=targets[delay:], ...)` with start/end indices at the split boundaries, so a window whose
        first input row is a has target row a + delay. With `breaks` (rows where the step from the
        previous row is a hole) and drop_gap_windows=True, windows whose rows a..a+delay straddle a
        break are dropped (counted in each dataset's `dropped_windows`); either way the result's
        `gap_windows` counts them. `source` (e.g. the file) is named in error messages. `times` (one
        datetime64 per row) is kept on every dataset for models with calendar terms, and `target_column`
        (the target's index among the value columns, when it is one of them) for persistence.
        `transforms` ({column index: 'log1p' | 'sqrt' | 'asinh'}) are applied before the normalization
        (forecastlab.windows.transforms) and recorded in the normalizer. `columns` (the value columns'
        names) are what the normalizer's warnings name.
        """
        values = np.asarray(values)
        n = len(values)
        if values.ndim != 2 or len(targets) != n:
            raise ForecastlabError(
                f"values must be (rows, columns) with one target per row; got values {values.shape} "
                f"and {len(targets)} targets",
                fix="pass series.values and series.targets (or use make_datasets_from_series)",
            )
        sizes = chronological_split(n, fractions)
        self.check_rows(n, sizes, source, fractions=fractions)
        if transforms and not normalize:
            raise ForecastlabError("feature transforms are part of the normalization", arg="transforms",
                                   fix="pass normalize=True with transforms=")
        normalizer = (Normalizer(transforms=dict(transforms or {})).fit(values, end=sizes[0], columns=columns)
                      if normalize else None)
        data = normalizer.transform(values) if normalizer else values.astype(np.float32, copy=False)
        bounds = {
            "train": (0, sizes[0]),
            "val": (sizes[0], sizes[0] + sizes[1]),
            "test": (sizes[0] + sizes[1], None),
        }
        datasets, gap_windows = {}, {}
        target_matrix = self.target_matrix(targets)
        for name, (start, end) in bounds.items():
            try:
                ds = timeseries_dataset_from_array(
                    data[: -self.delay],
                    targets=target_matrix,
                    sampling_rate=self.sampling_rate,
                    sequence_length=self.sequence_length,
                    shuffle=shuffle_train if name == "train" else shuffle_eval,
                    sequence_stride=self.stride if name == "train" else 1,
                    batch_size=batch_size,
                    seed=seed,
                    start_index=start,
                    end_index=end,
                    prefetch=prefetch,
                )
            except ValueError as err:  # extreme settings the row check above cannot see, e.g. batch_size=0
                text = str(err)
                if "sequence_stride" in text:
                    span = (end or n) - start
                    what, fix = (f"stride={self.stride} is longer than the {name} split ({span:,} rows)",
                                 "lower stride= (training uses every stride-th window; 1 is every window)")
                else:
                    what, fix = f"cannot cut the {name} windows: {text}", "check batch_size= and sampling_rate="
                raise ForecastlabError(what, where=f"{_place(source)}rows {start}..{(end or n) - 1}", fix=fix) from err
            if breaks is not None and len(breaks):
                crossing = int(crossing_mask(ds.start_rows, self.delay, np.asarray(breaks)).sum())
                gap_windows[name] = {"straddling": crossing, "windows": ds.num_windows}
                if drop_gap_windows and crossing:
                    ds = ds.drop_windows_crossing(breaks, span=self.delay)
                    if ds.num_windows == 0:
                        raise ForecastlabError(
                            f"every window of the {name} split crosses a hole in the time grid",
                            where=f"{_place(source)}rows {start}..{(end or n) - 1}",
                            fix="fill the holes (gaps='interpolate:N' with a larger N), use shorter windows, "
                            "or keep those windows with drop_gap_windows=False",
                        )
            ds.times = None if times is None else np.asarray(times)
            datasets[name] = ds
        return SplitDatasets(**datasets, normalizer=normalizer, spec=self, sizes=sizes, gap_windows=gap_windows,
                             gap_windows_dropped=bool(drop_gap_windows), target_column=target_column)


@dataclass
class SplitDatasets:
    """The three datasets of one run, with what is needed to undo and describe them."""

    train: WindowDataset
    val: WindowDataset
    test: WindowDataset
    normalizer: Normalizer | None
    spec: WindowSpec
    sizes: tuple[int, int, int]  # rows (num_train, num_val, num_test)
    # Per split, windows whose rows straddle a break, and how many windows there were before any drop.
    gap_windows: dict[str, dict[str, int]] = field(default_factory=dict)
    gap_windows_dropped: bool = False
    target_column: int | None = None  # the target's index among the input columns, when it is one

    @property
    def num_train(self) -> int:
        return self.sizes[0]

    @property
    def num_val(self) -> int:
        return self.sizes[1]

    @property
    def num_test(self) -> int:
        return self.sizes[2]

    def summary(self) -> dict:
        """Rows, windows and batches per split, for reports and --json output."""
        return {
            "spec": self.spec.to_dict() | {"delay": self.spec.delay},
            "splits": {
                name: {"rows": rows} | getattr(self, name).summary()
                for name, rows in zip(_SPLITS, self.sizes, strict=True)
            },
            "gap_windows": self.gap_windows | {"dropped": self.gap_windows_dropped},
        }


def _place(source: str | None) -> str:
    return f"{source}, " if source else ""


def make_datasets_from_series(
    series, spec: WindowSpec | None = None, *, drop_gap_windows: bool | None = None, targets=None, **kwargs
) -> SplitDatasets:
    """spec.make_datasets on a forecastlab Series: its values, its target column and its gap breaks.

    `drop_gap_windows=None` (auto) drops the windows that straddle a hole in the time grid, so no window
    mixes data from both sides of one, except for Jena-format data used row for row as the book does
    (no --freq), where they are kept for a faithful reproduction. Either way, when any window straddles
    a hole, one line on stderr says how many and what was done. `targets` (one per row) replaces the
    target column's values as the windows' targets, e.g. the class labels of a classification task.
    """
    spec = spec or WindowSpec()
    kwargs.setdefault("breaks", series.breaks)
    fmt = series.quality.get("format", {})
    book = fmt.get("book_faithful", series.provenance.source in ("jena", "synthetic"))
    drop = (not book) if drop_gap_windows is None else bool(drop_gap_windows)
    kwargs.setdefault("source", series.provenance.path or series.provenance.source)
    kwargs.setdefault("times", series.timestamps)
    kwargs.setdefault("columns", list(series.columns))
    if isinstance(kwargs.get("transforms"), str):  # 'log1p:rain (mm),wv (m/s);asinh:wd (deg)'
        from forecastlab.windows.transforms import parse_transforms

        kwargs["transforms"] = parse_transforms(kwargs["transforms"], list(series.columns), series.target)
    if series.target in list(series.columns):
        kwargs.setdefault("target_column", list(series.columns).index(series.target))
    if targets is None:
        targets = series.targets
    elif len(targets) != len(series):  # e.g. class labels: one per row
        raise ForecastlabError(f"{len(targets)} targets for a series of {len(series)} rows", arg="targets",
                               fix="give one target per row of the series")
    sets = spec.make_datasets(series.values, targets, drop_gap_windows=drop, **kwargs)
    _report_gap_windows(sets, len(kwargs["breaks"]), auto_book=book and drop_gap_windows is None)
    return sets


def _report_gap_windows(sets: SplitDatasets, holes: int, *, auto_book: bool) -> None:
    parts = [f"{g['straddling']:,} of {g['windows']:,} {name}" for name, g in sets.gap_windows.items()
             if g["straddling"]]
    if not parts:
        return
    if sets.gap_windows_dropped:
        done = ("dropped, so no window mixes data from both sides of a hole "
                "(pass drop_gap_windows=False to keep them)")
    elif auto_book:
        done = "kept, as the book does; pass drop_gap_windows=True to drop them"
    else:
        done = "kept (drop_gap_windows=False); pass drop_gap_windows=True to drop them"
    warnings.warn(f"{', '.join(parts)} windows straddle a hole in the time grid ({holes:,} in the series); {done}",
                  GapWindowsWarning, stacklevel=3)
