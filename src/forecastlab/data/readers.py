"""Read a CSV or Parquet file into a DataFrame, fast, whatever wrapper or delimiter it comes in.

CSV goes through pandas' pyarrow engine (the full Jena file in a fraction of a second). Compression is
recognised by content, not by name: a gzip or a single-file zip handed over as 'data.csv' just works.
The delimiter is sniffed from the first lines and reported, so a semicolon file is never silently
read as one column.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from forecastlab.errors import ForecastlabError

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 1 << 16


@dataclass
class Table:
    """A file's raw columns plus what is needed to point at a cell in it."""

    frame: pd.DataFrame
    path: Path
    kind: str  # "csv" or "parquet"
    compression: str | None  # "gzip", "zip" or None
    delimiter: str | None
    sha256: str
    decimal: str = "."  # "," when the file writes numbers with decimal commas (see _decimal_commas)

    def where(self, row: int | None = None, column: str | None = None) -> str:
        """'data.csv, line 17, column 'T'' for data row 16 (0-based; line 1 is the CSV header)."""
        parts = [str(self.path)]
        if row is not None:
            parts.append(f"line {row + 2}" if self.kind == "csv" else f"row {row + 1}")
        if column is not None:
            parts.append(f"column {column!r}")
        return ", ".join(parts)

    def info(self) -> dict:
        return {"kind": self.kind, "compression": self.compression, "delimiter": self.delimiter,
                "decimal": self.decimal}


def read_table(path: str | Path) -> Table:
    """Read `path` (CSV, CSV in gzip or zip, or Parquet) with every failure as a ForecastlabError."""
    path = Path(path).expanduser()
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise ForecastlabError(f"the data file {what}", where=str(path),
                               fix="check the path; --data also takes 'jena', 'synthetic' or 'auto'")
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    if not raw.strip():
        raise ForecastlabError("the file is empty", where=str(path),
                               fix="give a CSV with a header line and at least one data row")
    raw, compression = _unwrap(raw, path)
    if raw.startswith(b"PAR1") or path.suffix.lower() in {".parquet", ".pq"}:
        return Table(_read_parquet(raw, path), path, "parquet", compression, None, sha)
    delimiter, encoding = _sniff(raw, path)
    frame = _read_csv(raw, path, delimiter, encoding)
    # With ',' as the delimiter, '1,000' in quotes is more likely a thousands separator: not guessed.
    decimal = "," if delimiter != "," and _decimal_commas(frame) else "."
    table = Table(frame, path, "csv", compression, delimiter, sha, decimal)
    _check_shape(table)
    return table


def _unwrap(raw: bytes, path: Path) -> tuple[bytes, str | None]:
    """Undo gzip or zip wrapping, recognised by the first bytes whatever the file is called."""
    try:
        if raw.startswith(b"\x1f\x8b"):
            return gzip.decompress(raw), "gzip"
        if raw.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                members = [m for m in zf.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX")]
                if len(members) != 1:
                    raise ForecastlabError(
                        f"the zip holds {len(members)} files ({', '.join(m.filename for m in members)}), "
                        "so it is unclear which to read", where=str(path),
                        fix="unzip it and pass the CSV or Parquet file itself")
                return zf.read(members[0]), "zip"
    except (zipfile.BadZipFile, zlib.error, EOFError, gzip.BadGzipFile, OSError) as err:
        raise ForecastlabError(f"the compressed file is truncated or corrupted ({err})", where=str(path),
                               fix="download or copy it again") from None
    return raw, None


def _read_parquet(raw: bytes, path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(raw))
    except Exception as err:  # pyarrow raises several unrelated types for a bad file
        raise ForecastlabError(f"the file is not a readable Parquet file ({str(err)[:200]})", where=str(path),
                               fix="check that it was written completely, or export it as CSV") from None


def sniff_delimiter(lines: list[str]) -> str:
    """The candidate delimiter that splits every sample line into the same number (>1) of fields,
    the most fields winning; ',' when none does."""
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = delimiter, fields
    return best


def _sniff(raw: bytes, path: Path) -> tuple[str, str]:
    sample = raw[:SAMPLE_BYTES]
    if b"\x00" in sample:
        raise ForecastlabError("the file is binary, not a text CSV", where=str(path),
                               fix="give a CSV (optionally gzip- or zip-compressed) or a Parquet file")
    try:
        text, encoding = sample.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as err:
        if err.start < len(sample) - 4:  # not just a character cut by the sample boundary
            text, encoding = sample.decode("latin-1"), "latin-1"
        else:
            text, encoding = sample[: err.start].decode("utf-8-sig"), "utf-8"
    lines = [line for line in text.splitlines() if line.strip()][:50]
    if len(raw) > SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the sample may end mid-line
    return sniff_delimiter(lines), encoding


def _read_csv(raw: bytes, path: Path, delimiter: str, encoding: str) -> pd.DataFrame:
    import pyarrow as pa

    try:
        if encoding == "utf-8":
            return pd.read_csv(io.BytesIO(raw), engine="pyarrow", sep=delimiter)
        return pd.read_csv(io.BytesIO(raw), sep=delimiter, encoding=encoding)
    except (pa.ArrowInvalid, ValueError, pd.errors.ParserError) as err:
        line = _first_ragged_line(raw, delimiter, encoding)
        where = f"{path}, line {line[0]}" if line else str(path)
        what = (f"line {line[0]} has {line[1]} fields but the header has {line[2]}" if line
                else f"the CSV cannot be parsed ({str(err).splitlines()[0][:200]})")
        raise ForecastlabError(what, where=where,
                               fix=f"make every line have the header's fields, separated by {delimiter!r}"
                               " (a cut-off last line means the file is truncated: copy it again)") from None


DECIMAL_COMMA = r"-?\d+,\d+"


def _decimal_commas(frame: pd.DataFrame) -> list[str]:
    """Convert, in place, the text columns whose every value is a number written with a decimal comma
    ('990,00', as European spreadsheets save with ';' separators) or a whole number; return their names."""
    converted = []
    for name in frame.columns:
        s = frame[name]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        text = s.dropna().astype(str).str.strip()
        text = text[text != ""]
        commas = text.str.fullmatch(DECIMAL_COMMA)
        if len(text) and commas.any() and (commas | text.str.fullmatch(r"-?\d+")).all():
            frame[name] = pd.to_numeric(s.astype(str).str.strip().str.replace(",", ".", regex=False),
                                        errors="coerce")
            converted.append(str(name))
    return converted


def _first_ragged_line(raw: bytes, delimiter: str, encoding: str) -> tuple[int, int, int] | None:
    """(line number, fields, header fields) of the first line whose field count differs from the header's."""
    reader = csv.reader(io.StringIO(raw.decode(encoding, "replace")), delimiter=delimiter)
    header = next(reader, [])
    for number, row in enumerate(reader, start=2):
        if row and len(row) != len(header):
            return number, len(row), len(header)
    return None


def _check_shape(table: Table) -> None:
    frame = table.frame
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        other = next((d for d in DELIMITERS if d in header), None)
        if other:
            raise ForecastlabError(
                f"the file reads as a single column named {header[:80]!r}: it looks separated by "
                f"{other!r}, but its lines do not all have the same number of {other!r}-separated fields",
                where=f"{table.where()}, header", fix=f"check the file: every line should split on {other!r} "
                "into as many fields as the header")
    if len(frame) == 0:
        raise ForecastlabError("the file has a header but no data rows", where=table.where(),
                               fix="add data rows below the header line")
