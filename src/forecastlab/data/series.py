"""The typed series every later step consumes: timestamps, a float array, names, units, provenance."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from forecastlab.errors import ForecastlabError

# A unit at the end of a header, in parentheses as Jena writes it or in brackets as many loggers do.
_UNIT = re.compile(r"^(?P<name>.*?\S)\s*(?:\((?P<paren>[^()]*)\)|\[(?P<bracket>[^\[\]]*)\])\s*$")


def split_unit(column: str) -> tuple[str, str | None]:
    """'T (degC)' -> ('T', 'degC'); 'Temperature [°C]' -> ('Temperature', '°C'); 'load' -> ('load', None).
    Jena headers carry units in parentheses; a header that is only a unit ('(x)', '[]') has none, and an
    empty pair of parentheses or brackets is no unit."""
    m = _UNIT.match(column)
    if not m:
        return column, None
    unit = (m["paren"] if m["paren"] is not None else m["bracket"]).strip()
    return (m["name"], unit) if unit else (column, None)


@dataclass(frozen=True)
class Provenance:
    """Where the numbers came from, so a saved model can say what it was trained on."""

    source: str  # "jena", "synthetic" or "file"
    path: str | None = None
    sha256: str | None = None
    rows: int | None = None
    variant: str | None = None  # e.g. "book-420451" for the Jena file
    note: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Series:
    """A multivariate time series, aligned on one time axis.

    values[i, j] is column j at timestamps[i]. `target` names the column to forecast.
    `quality` holds the loader's report (gaps, duplicates, sentinels, cleaning done).
    """

    timestamps: np.ndarray  # datetime64[ns], shape (rows,)
    values: np.ndarray  # float32, shape (rows, columns)
    columns: list[str]
    target: str
    provenance: Provenance
    units: list[str | None] = field(default_factory=list)
    quality: dict = field(default_factory=dict)
    # Row indices i where the time step from row i-1 to row i is longer than the series' frequency:
    # a hole in the grid. Windows can be told never to straddle one (see forecastlab.windows).
    breaks: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # missing[i, j]: values[i, j] was not read as a number (blank, NaN, a -9999 sentinel, a slot made to fill
    # a hole in the time grid) and the gap policy filled it. Empty: nothing known (every cell was read).
    # A forecast from fresh data refuses a window with such a cell (forecastlab.deploy.fresh).
    missing: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or len(self.timestamps) != len(self.values):
            raise ValueError(
                f"values must be (rows, columns) aligned with timestamps; got {self.values.shape} "
                f"and {len(self.timestamps)} timestamps"
            )
        if self.missing.size and self.missing.shape != self.values.shape:
            # A series cut or rebuilt by hand (dataclasses.replace with other rows or columns): which of its
            # cells were filled is no longer known, rather than wrongly known.
            self.missing = np.zeros((0, 0), dtype=bool)
        if len(self.columns) != self.values.shape[1]:
            raise ValueError(f"{len(self.columns)} column names for {self.values.shape[1]} columns")
        if not self.units:
            self.units = [split_unit(c)[1] for c in self.columns]
        if self.target not in self.columns:
            raise ForecastlabError(
                f"target column {self.target!r} is not in the series",
                where=f"{self.provenance.path or self.provenance.source}, header",
                fix=f"choose target= from: {', '.join(self.columns)}",
            )

    def __len__(self) -> int:
        return len(self.values)

    @property
    def target_index(self) -> int:
        return self.columns.index(self.target)

    @property
    def target_unit(self) -> str | None:
        return self.units[self.target_index]

    @property
    def step_ns(self) -> int | None:
        """The time step of the series' rows in nanoseconds, as the loader recorded it: the --freq step
        when the file was resampled, else the file's own (quality["time"] describes the file as read).
        None when nothing was recorded (a series built by hand)."""
        quality = self.quality or {}
        seconds = quality.get("step_seconds") or (quality.get("time") or {}).get("frequency_seconds")
        return round(seconds * 1e9) if seconds else None

    def column(self, name: str) -> np.ndarray:
        try:
            return self.values[:, self.columns.index(name)]
        except ValueError:
            raise ForecastlabError(
                f"no column named {name!r}",
                where=f"{self.provenance.path or self.provenance.source}, header",
                fix=f"use one of: {', '.join(self.columns)}",
            ) from None

    @property
    def targets(self) -> np.ndarray:
        return self.values[:, self.target_index]
