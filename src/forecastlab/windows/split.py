"""The chapter's chronological split and train-only normalization."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from forecastlab.errors import DataQualityWarning, ForecastlabError
from forecastlab.windows.transforms import apply_transforms, invert_transforms


def chronological_split(n: int, fractions: tuple[float, ...] = (0.5, 0.25, 0.25)) -> tuple[int, int, int]:
    """Sizes (train, val, test) of a chronological split of n rows, computed as the book does.

    num_train = int(fractions[0] * n), num_val = int(fractions[1] * n), num_test = the rest, so
    420,451 rows give 210,225 / 105,112 / 105,114. A third fraction, if given, must make the sum 1.
    """
    if n < 0:
        raise ForecastlabError(f"cannot split {n} rows", fix="pass a row count of 0 or more")
    if len(fractions) not in (2, 3) or any(f <= 0 for f in fractions[:2]):
        raise ForecastlabError(
            f"split fractions must be (train, val[, test]) with positive train and val, got {fractions}",
            fix="use e.g. (0.5, 0.25, 0.25), the book's split",
        )
    if fractions[0] + fractions[1] >= 1 or (len(fractions) == 3 and not math.isclose(sum(fractions), 1.0)):
        raise ForecastlabError(
            f"split fractions {fractions} must leave a test share and sum to 1",
            fix="use e.g. (0.5, 0.25, 0.25), the book's split",
        )
    num_train = int(fractions[0] * n)
    num_val = int(fractions[1] * n)
    return num_train, num_val, n - num_train - num_val


@dataclass
class Normalizer:
    """Per-column standardization fitted on training rows only: (x - mean_) / std_.

    std_ uses ddof=0, like the book's `raw_data[:num_train_samples].std(axis=0)`. A column that is
    constant in the training rows has std 0; it gets std 1.0 (so it becomes x - mean) and a warning,
    and is listed in `constant_columns_`, rather than dividing by zero.
    """

    mean_: np.ndarray | None = None
    std_: np.ndarray | None = None
    constant_columns_: list[int] = field(default_factory=list)
    # Feature transforms applied before the standardization (forecastlab.windows.transforms): column -> name.
    transforms: dict[int, str] = field(default_factory=dict)

    def fit(self, values, end: int | None = None, columns: list[str] | None = None) -> Normalizer:
        """Learn mean and std from values[:end] (the training rows), after the feature transforms; returns self.
        `columns` (the names of the value columns) are what warnings and errors name."""

        def name(i: int) -> str:
            return repr(columns[i]) if columns is not None and i < len(columns) else str(i)

        train = np.asarray(values[:end], dtype=np.float64)
        if self.transforms:
            train = apply_transforms(train, self.transforms)
        if train.ndim not in (1, 2) or len(train) == 0:
            raise ForecastlabError(
                f"cannot fit normalization on an array of shape {train.shape}",
                fix="fit on (rows, columns) values with at least one training row",
            )
        if not np.isfinite(train).all():
            row, col = np.argwhere(~np.isfinite(train.reshape(len(train), -1)))[0]
            raise ForecastlabError(
                "the training rows contain NaN or infinite values",
                where=f"row {row}, column {name(int(col))}",
                fix="fill the gaps when loading (gaps='interpolate') or drop those rows",
            )
        self.mean_ = train.mean(axis=0)
        std = train.std(axis=0)
        constant = np.atleast_1d(std == 0)
        self.constant_columns_ = [int(i) for i in np.flatnonzero(constant)]
        if self.constant_columns_:
            warnings.warn(
                f"column(s) {', '.join(name(i) for i in self.constant_columns_)} are constant in the training "
                "rows; they are centred but not scaled (std set to 1.0), and tell the model nothing",
                DataQualityWarning,
                stacklevel=2,
            )
        self.std_ = np.where(std == 0, 1.0, std)
        return self

    @property
    def fitted(self) -> bool:
        return self.mean_ is not None

    def transform(self, values) -> np.ndarray:
        """(transformed values - mean_) / std_ as float32 (a new array; the input is left alone)."""
        self._check_fitted()
        if self.transforms:
            values = apply_transforms(values, self.transforms)
        else:  # a float64 copy of the input, worked on in place: the same arithmetic, two temporaries fewer
            values = np.array(values, dtype=np.float64)
        np.subtract(values, self.mean_, out=values)
        np.divide(values, self.std_, out=values)
        return values.astype(np.float32)

    def inverse_transform(self, values) -> np.ndarray:
        """values * std_ + mean_ (and the feature transforms undone) as float32: back to the original units."""
        self._check_fitted()
        out = np.asarray(values, dtype=np.float64) * self.std_ + self.mean_
        return (invert_transforms(out, self.transforms) if self.transforms else out).astype(np.float32)

    def inverse_transform_column(self, x, col: int):
        """Undo the scaling of one column (numpy array, torch tensor or float): x * std_[col] + mean_[col]."""
        self._check_fitted()
        if col in self.transforms:
            raise ForecastlabError(f"column {col} is {self.transforms[col]}-transformed, so scaling alone does not "
                                   "undo it", fix="use inverse_transform on whole rows")
        return x * float(np.atleast_1d(self.std_)[col]) + float(np.atleast_1d(self.mean_)[col])

    def to_dict(self) -> dict:
        """Plain lists, so the stats can be saved next to a model as JSON."""
        self._check_fitted()
        out = {
            "mean": np.atleast_1d(self.mean_).tolist(),
            "std": np.atleast_1d(self.std_).tolist(),
            "constant_columns": list(self.constant_columns_),
        }
        if self.transforms:  # left out when there are none, as in every run made before transforms
            out["transforms"] = {str(col): name for col, name in sorted(self.transforms.items())}
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Normalizer:
        return cls(
            mean_=np.asarray(d["mean"], dtype=np.float64),
            std_=np.asarray(d["std"], dtype=np.float64),
            constant_columns_=list(d.get("constant_columns", [])),
            transforms={int(col): name for col, name in (d.get("transforms") or {}).items()},
        )

    def _check_fitted(self) -> None:
        if self.mean_ is None:
            raise ForecastlabError("the normalizer has not been fitted", fix="call fit(train_values) first")
