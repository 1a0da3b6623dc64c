"""Jena-format test files built fast: the real 10-minute grid and header, simple made-up numbers.

A file with the real row count and the real first/last timestamps lets the download tests run the
real verification rules instead of loosened ones.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from forecastlab.data.jena import FIRST_ROW
from forecastlab.data.jena_schema import JENA_COLUMNS

HEADER = ",".join(f'"{c}"' for c in JENA_COLUMNS) + "\n"
FULL_GRID = 420_768  # 10-minute slots from 01.01.2009 00:10:00 to 01.01.2017 00:00:00


def jena_like_csv(path: Path, rows: int = 420_451, start: str = "2009-01-01T00:10", header: str = HEADER,
                  sentinels: dict[str, list[int]] | None = None, slots: int = FULL_GRID) -> Path:
    """A Jena-format CSV: `rows` of the `slots`-long 10-minute grid from `start` (interior rows dropped
    evenly, first and last kept), numbers from a smooth daily cycle after the real record's first row
    (public data, checked by verification). `sentinels` puts -9999 in {column: [rows]}."""
    grid = np.datetime64(start, "m") + np.arange(slots) * np.timedelta64(10, "m")
    keep = np.ones(slots, dtype=bool)
    keep[np.linspace(1, slots - 2, slots - rows).astype(int)] = False
    times = grid[keep]
    assert len(times) == rows
    phase = np.arange(rows) * 2 * np.pi / 144
    columns = {"Date Time": pc.strftime(pa.array(times.astype("datetime64[s]")), format="%d.%m.%Y %H:%M:%S")}
    for k, name in enumerate(JENA_COLUMNS[1:]):
        values = np.round(10 + k + 5 * np.sin(phase + k), 2)
        values[0] = FIRST_ROW[k]
        for row in (sentinels or {}).get(name, []):
            values[row] = -9999.0
        columns[name] = pa.array(values)
    with open(path, "wb") as f:
        f.write(header.encode())
        pacsv.write_csv(pa.table(columns), f, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return path


def zip_bytes(csv: Path, name: str = "jena_climate_2009_2016.csv") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.write(csv, name)
    return buf.getvalue()
