"""Feature transforms: a per-column function applied to the raw inputs before train-only standardization
(forecastlab.windows.Normalizer), for skewed columns such as rain or wind speed.

    log1p   log(1 + x), for counts and amounts >= 0 (x must be > -1)
    sqrt    the square root, for x >= 0
    asinh   the inverse hyperbolic sine, log-like in both directions, for any x

Written in a recipe or on the command line as `log1p:rain (mm),wv (m/s);asinh:wd (deg)`: a transform, a
colon, the columns it applies to; transforms separated by semicolons. The target column is never
transformed (forecasts stay in its units). A value outside a transform's domain is an error naming the
column and the row.
"""

from __future__ import annotations

import numpy as np

from forecastlab.errors import ForecastlabError

TRANSFORMS = {
    "log1p": (np.log1p, np.expm1, lambda x: x > -1, "greater than -1"),
    "sqrt": (np.sqrt, np.square, lambda x: x >= 0, "0 or more"),
    "asinh": (np.arcsinh, np.sinh, lambda x: np.isfinite(x), "finite"),
}


def parse_transforms(text: str | None, columns: list[str], target: str | None = None) -> dict[int, str]:
    """'log1p:a,b;asinh:c' -> {index of a: 'log1p', index of b: 'log1p', index of c: 'asinh'}."""
    if not text or not text.strip():
        return {}
    out: dict[int, str] = {}
    for part in (p for p in text.split(";") if p.strip()):
        name, sep, cols = part.partition(":")
        name = name.strip().lower()
        if name not in TRANSFORMS or not sep or not cols.strip():
            raise ForecastlabError(f"bad feature transform {part.strip()!r} in {text!r}",
                                   arg="transforms", fix="write TRANSFORM:COLUMN[,COLUMN...] with TRANSFORM one of "
                                   f"{', '.join(TRANSFORMS)}, e.g. log1p:rain (mm)")
        for col in (c.strip() for c in cols.split(",") if c.strip()):
            if col not in columns:
                raise ForecastlabError(f"feature transform {name!r} names {col!r}, which is not an input column",
                                       arg="transforms",
                                       fix=f"use some of: {', '.join(columns)}")
            if col == target:
                raise ForecastlabError(f"the target column {col!r} cannot be transformed: forecasts are given in its "
                                       "own units", arg="transforms",
                                       fix="transform other input columns only")
            index = columns.index(col)
            if index in out and out[index] != name:
                raise ForecastlabError(f"column {col!r} is given two transforms ({out[index]}, {name})",
                                       arg="transforms", fix="give each column one")
            out[index] = name
    return out


def apply_transforms(values: np.ndarray, transforms: dict[int, str], *, row_offset: int = 0) -> np.ndarray:
    """A float64 copy of (rows, columns) `values` with each transform applied to its column."""
    out = np.array(values, dtype=np.float64, copy=True)
    for col, name in sorted(transforms.items()):
        forward, _, valid, domain = TRANSFORMS[name]
        column = out[..., col]
        ok = valid(column)
        if not np.all(ok):
            flat = np.argwhere(~ok)[0]
            raise ForecastlabError(
                f"{name} needs values {domain}, but input column {col} holds {column[tuple(flat)]!r}",
                where=f"row {int(flat[0]) + row_offset}, column {col}", arg="transforms",
                fix=f"drop the {name} transform of that column, or clean the value")
        out[..., col] = forward(column)
    return out


def invert_transforms(values: np.ndarray, transforms: dict[int, str]) -> np.ndarray:
    out = np.array(values, dtype=np.float64, copy=True)
    for col, name in transforms.items():
        out[..., col] = TRANSFORMS[name][1](out[..., col])
    return out
