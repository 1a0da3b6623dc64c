"""Read a CSV or Parquet file into a DataFrame, fast, whatever wrapper or delimiter it comes in.

CSV goes through pandas' pyarrow engine (the full Jena file in a fraction of a second). Compression is
recognised by content, not by name: a gzip or a single-file zip handed over as 'data.csv' just works.
The delimiter is sniffed from the first lines and reported, so a semicolon file is never silently
read as one column; a file separated by runs of spaces is read too. Text is read as UTF-8, UTF-16 or
UTF-32 (by byte order mark, or by the NUL bytes of BOM-less UTF-16) or else Latin-1, and handed to the
parser as UTF-8.

Size limits, so a hostile file fails fast instead of filling memory (both overridable):
  - a plain file, or what a gzip or zip inflates to, may be at most $FORECASTLAB_MAX_INPUT_BYTES
    (default 2 GiB); a zip member that declares more is refused before any inflating;
  - compressed input that inflates past 64 MiB at more than $FORECASTLAB_MAX_COMPRESSION_RATIO:1
    (default 200:1) is refused as a zip bomb (real CSV data compresses 3-20:1); raise it, or
    decompress a genuine file yourself to pass it plainly.
Decompression streams and stops as soon as a bound is passed.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import os
import re
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from forecastlab.errors import ForecastlabError

DELIMITERS = (",", ";", "\t", "|")
SPACES = " "  # Table.delimiter of a file separated by runs of spaces (tried when no DELIMITERS fits)
SAMPLE_BYTES = 1 << 16
MAX_INPUT_ENV = "FORECASTLAB_MAX_INPUT_BYTES"
DEFAULT_MAX_INPUT_BYTES = 2 << 30
BOMB_FLOOR_BYTES = 64 << 20  # the ratio check starts here: small files may compress very well
RATIO_ENV = "FORECASTLAB_MAX_COMPRESSION_RATIO"
DEFAULT_BOMB_RATIO = 200
_INFLATE_CHUNK = 1 << 20
SHOWN_CHARS = 60  # longest cell or column name quoted in a message


def shorten(text: object, limit: int = SHOWN_CHARS) -> str:
    """`text` as a string of at most `limit` characters (a 20 MB cell must not become a 20 MB message)."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def max_input_bytes() -> int:
    """The input size limit: $FORECASTLAB_MAX_INPUT_BYTES, else DEFAULT_MAX_INPUT_BYTES (2 GiB)."""
    return _env_number(MAX_INPUT_ENV, DEFAULT_MAX_INPUT_BYTES, "a whole number of bytes")


def max_ratio() -> int:
    """The zip-bomb ratio: $FORECASTLAB_MAX_COMPRESSION_RATIO, else DEFAULT_BOMB_RATIO (200)."""
    return _env_number(RATIO_ENV, DEFAULT_BOMB_RATIO, "a whole number such as 1000")


def _env_number(name: str, default: int, kind: str) -> int:
    text = os.environ.get(name, "").strip().replace("_", "")
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ForecastlabError(f"${name} is {os.environ[name]!r}, not {kind}", where=f"environment variable {name}",
                               fix=f"set it to {kind} (default {default}), or unset it")
    return int(text)


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


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
    encoding: str | None = None  # the text encoding found ("utf-8", "utf-16-le", "latin-1", ...)
    # The UTC offsets ('+01:00', 'Z') written in a CSV's stamps that were read as UTC times (pyarrow converts
    # them and keeps no offset), in the order first seen in the file's first and last SAMPLE_BYTES; () if none.
    zones: tuple[str, ...] = ()

    def where(self, row: int | None = None, column: str | None = None) -> str:
        """'data.csv, line 17, column 'T'' for data row 16 (0-based; line 1 is the CSV header)."""
        parts = [str(self.path)]
        if row is not None:
            parts.append(f"line {row + 2}" if self.kind == "csv" else f"row {row + 1}")
        if column is not None:
            parts.append(f"column {shorten(column)!r}")
        return ", ".join(parts)

    def info(self) -> dict:
        return {"kind": self.kind, "compression": self.compression, "delimiter": self.delimiter,
                "decimal": self.decimal, "encoding": self.encoding}


def special_kind(path: str | Path) -> str:
    """What a path that exists but is neither a regular file nor a folder is, in words: 'a character device'
    (/dev/null), 'a block device', 'a named pipe' (a fifo), 'a socket'."""
    import stat

    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return "not readable"
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


STREAM_FIX = "give a CSV or Parquet file; to read a stream, save it to a file first"


def require_file(path: Path, name: str, *, missing_fix: str, dir_fix: str, special_fix: str = STREAM_FIX,
                 missing: str | None = None) -> None:
    """Refuse `path` unless it is a regular file, saying what it is instead: "{name} is a directory, not a
    file", "{name} is not a regular file (it is a named pipe)" (/dev/null, a fifo: nothing a table can be read
    from, or read twice), or `missing` (default "{name} does not exist"), each with its fix."""
    if path.is_file():
        return
    if path.is_dir():
        raise ForecastlabError(f"{name} is a directory, not a file", where=str(path), fix=dir_fix)
    if path.exists():
        raise ForecastlabError(f"{name} is not a regular file (it is {special_kind(path)})", where=str(path),
                               fix=special_fix)
    raise ForecastlabError(missing or f"{name} does not exist", where=str(path), fix=missing_fix)


def read_table(path: str | Path) -> Table:
    """Read `path` (CSV, CSV in gzip or zip, or Parquet) with every failure as a ForecastlabError."""
    path = Path(path).expanduser()
    require_file(path, "the data file", missing_fix="check the path; data= also takes 'jena', 'synthetic' or 'auto'",
                 dir_fix="give the CSV or Parquet file itself (a path inside that folder)")
    limit = max_input_bytes()
    if (size := path.stat().st_size) > limit:
        raise ForecastlabError(f"the file is {_mib(size)}, more than the {_mib(limit)} input limit", where=str(path),
                               fix=f"if it is genuine, raise the limit with {MAX_INPUT_ENV}=BYTES (now {limit})")
    return table_from_bytes(path.read_bytes(), path)


def table_from_bytes(raw: bytes, path: str | Path) -> Table:
    """read_table for content already in memory (a request's body); `path` names it in messages."""
    path, limit = Path(path), max_input_bytes()
    if len(raw) > limit:
        raise ForecastlabError(f"the input is {_mib(len(raw))}, more than the {_mib(limit)} input limit",
                               where=str(path), fix=f"send less, or raise the limit with {MAX_INPUT_ENV}=BYTES")
    sha = hashlib.sha256(raw).hexdigest()
    if not raw.strip():
        raise ForecastlabError("the file is empty", where=str(path),
                               fix="give a CSV with a header line and at least one data row")
    raw, compression = _unwrap(raw, path, limit)
    if raw.startswith(b"PAR1") or path.suffix.lower() in {".parquet", ".pq"}:
        return Table(_read_parquet(raw, path), path, "parquet", compression, None, sha)
    raw, encoding = to_utf8(raw, path)
    delimiter, header = _sniff(raw, path)
    _refuse_duplicate_names(header, delimiter, path)
    if delimiter == SPACES:
        raw = _spaces_to_commas(raw)
    frame = _read_csv(raw, path, "," if delimiter == SPACES else delimiter, shown=delimiter)
    # With ',' as the delimiter, '1,000' in quotes is more likely a thousands separator: not guessed.
    decimal = "," if delimiter != "," and _decimal_commas(frame) else "."
    zoned = any(getattr(frame[c].dtype, "tz", None) is not None for c in frame.columns)
    table = Table(frame, path, "csv", compression, delimiter, sha, decimal, encoding, _zones(raw) if zoned else ())
    _check_shape(table)
    return table


# A clock time and its UTC offset, ending a field: '...T10:00:00+01:00', '...10:00Z'.
_OFFSET = re.compile(rb"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*([zZ]|[+-]\d{2}(?::?\d{2})?)(?=\s*(?:[\",;\t|\r\n]|$))")


def _zones(raw: bytes) -> tuple[str, ...]:
    """The distinct UTC offsets of the stamps in the first and last SAMPLE_BYTES of UTF-8 CSV text."""
    found = _OFFSET.findall(raw[:SAMPLE_BYTES]) + _OFFSET.findall(raw[-SAMPLE_BYTES:])
    return tuple(dict.fromkeys(z.decode("ascii") for z in found))


def _unwrap(raw: bytes, path: Path, limit: int) -> tuple[bytes, str | None]:
    """Undo gzip or zip wrapping, recognised by the first bytes whatever the file is called; inflating
    streams and stops at `limit` bytes or at a zip bomb's ratio (see the module docstring)."""
    try:
        if raw.startswith(b"\x1f\x8b"):
            with gzip.GzipFile(fileobj=(source := io.BytesIO(raw))) as gz:
                return _inflate(gz, source.tell, path, limit, "gzip"), "gzip"
        if raw.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                members = [m for m in zf.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX")]
                if len(members) != 1:
                    raise ForecastlabError(
                        f"the zip holds {len(members)} files ({shorten(', '.join(m.filename for m in members), 200)})"
                        ", so it is unclear which to read", where=str(path),
                        fix="unzip it and pass the CSV or Parquet file itself")
                member = members[0]
                _check_inflated(member.file_size, member.compress_size, path, limit, "zip", declared=True)
                with zf.open(member) as src:
                    return _inflate(src, lambda: member.compress_size, path, limit, "zip"), "zip"
    except (zipfile.BadZipFile, zlib.error, EOFError, gzip.BadGzipFile, OSError, NotImplementedError,
            RuntimeError) as err:  # RuntimeError: an encrypted zip; NotImplementedError: an unknown method
        raise ForecastlabError(f"the compressed file is truncated or corrupted ({shorten(err, 200)})",
                               where=str(path), fix="download or copy it again, unencrypted") from None
    return raw, None


def _inflate(stream, consumed, path: Path, limit: int, kind: str) -> bytes:
    """Read `stream` to the end in chunks, checking the size and ratio (`consumed()`: compressed bytes
    read so far) after each, so a bomb is stopped after at most one chunk past a bound."""
    chunks, total = [], 0
    while chunk := stream.read(_INFLATE_CHUNK):
        chunks.append(chunk)
        total += len(chunk)
        _check_inflated(total, consumed(), path, limit, kind, declared=False)
    return b"".join(chunks)


def _check_inflated(inflated: int, compressed: int, path: Path, limit: int, kind: str, *, declared: bool) -> None:
    says = "says it inflates" if declared else "inflates"
    if inflated > limit:
        raise ForecastlabError(f"the {kind} file {says} to more than the {_mib(limit)} input limit", where=str(path),
                               fix=f"if it is genuine, raise the limit with {MAX_INPUT_ENV}=BYTES (now {limit})")
    ratio = max_ratio()
    if inflated > BOMB_FLOOR_BYTES and inflated > ratio * max(compressed, 1):
        raise ForecastlabError(
            f"the {kind} file {says} to {'' if declared else 'over '}{_mib(inflated)} from {_mib(compressed)}, "
            f"more than {ratio}:1 past {_mib(BOMB_FLOOR_BYTES)}: that looks like a zip bomb, not data (real CSV "
            "compresses 3-20:1)", where=str(path),
            fix=f"if it is genuine, raise the limit with {RATIO_ENV}=N (now {ratio}), or decompress it yourself "
            f"and pass the plain file (held only to the {MAX_INPUT_ENV} limit)")


def _read_parquet(raw: bytes, path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(io.BytesIO(raw))
    except Exception as err:  # pyarrow raises several unrelated types for a bad file
        raise ForecastlabError(f"the file is not a readable Parquet file ({str(err)[:200]})", where=str(path),
                               fix="check that it was written completely, or export it as CSV") from None
    # A frame saved with its index (df.set_index("timestamp").to_parquet()): a named or datetime index is
    # a column of the file, often the time column, so it becomes one again; a row-number index is not data:
    # pandas' RangeIndex, named or not (df.index.name = "row"), or the unnamed integers left by filtering rows.
    if isinstance(frame.index, pd.RangeIndex):
        return frame.reset_index(drop=True)
    if any(n is not None for n in frame.index.names) or isinstance(frame.index, pd.DatetimeIndex):
        names = [n if n is not None else f"index_{k}" if frame.index.nlevels > 1 else "index"
                 for k, n in enumerate(frame.index.names)]
        clash = [n for n in names if n in frame.columns]
        if clash:
            raise ForecastlabError(f"the Parquet file's index {clash[0]!r} has the name of one of its columns",
                                   where=str(path), fix="rename the index or that column, or save the frame "
                                   "with index=False")
        frame.index = frame.index.set_names(names)
        frame = frame.reset_index()
    return frame


def sniff_delimiter(lines: list[str]) -> str:
    """The candidate delimiter that splits every sample line into the same number (>1) of fields,
    the most fields winning; else SPACES when runs of spaces do that (see _space_layout); else ','."""
    best, best_fields = ",", 1
    with big_fields():
        for delimiter in DELIMITERS:
            counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
            if len(counts) == 1 and (fields := counts.pop()) > best_fields:
                best, best_fields = delimiter, fields
        if best_fields == 1 and _space_layout(lines) is not None:
            return SPACES
    return best


@contextlib.contextmanager
def big_fields():
    """Lift the csv module's 128 KiB field limit while reading (a 20 MB cell is data, not an attack: the
    input size limit already bounds it), restoring it after."""
    old = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _split_spaces(line: str) -> list[str]:
    """A line's fields separated by runs of spaces ("quoted fields" may hold spaces)."""
    return next(csv.reader([line.strip()], delimiter=" ", skipinitialspace=True), [])


_DATE = re.compile(r"\d{1,4}[-./]\d{1,2}[-./]\d{1,4}")
_CLOCK = re.compile(r"\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?")


def _space_layout(lines: list[str]) -> str | None:
    """'same' when every line splits on runs of spaces into the same number (>1) of fields, 'stamp' when
    the data lines have one field more than the header and their first two fields are a date and a
    time ('2024-01-01 00:00 1.5' under 'time value'), else None. A header with a ',', ';', '|' or tab in
    a field is not space-separated (it is a ragged file of another delimiter)."""
    rows = [_split_spaces(line) for line in lines]
    if not rows or any(d in field for field in rows[0] for d in DELIMITERS):
        return None
    header, counts = len(rows[0]), {len(row) for row in rows[1:]}
    if not counts:  # the header alone
        return "same" if header > 1 else None
    if len(counts) != 1:
        return None
    data = counts.pop()
    if data == header > 1:
        return "same"
    if data == header + 1 and all(_DATE.fullmatch(row[0]) and _CLOCK.fullmatch(row[1]) for row in rows[1:]):
        return "stamp"
    return None


def _spaces_to_commas(raw: bytes) -> bytes:
    """A space-separated file rewritten as a comma-separated one, line for line (blank lines kept, so line
    numbers in messages stay those of the file); a date and a time in two fields become one field."""
    lines = raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    layout = _space_layout([line for line in lines if line.strip()][:50])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header_done = False
    with big_fields():
        for line in lines:
            fields = _split_spaces(line) if line.strip() else []
            if header_done and layout == "stamp" and len(fields) > 1:
                fields = [f"{fields[0]} {fields[1]}", *fields[2:]]
            header_done = header_done or bool(fields)
            writer.writerow(fields)
    return out.getvalue().encode("utf-8")


_BOMS = (  # longest first: the UTF-32-LE mark starts with the UTF-16-LE one
    (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
)


def _wide_encoding(raw: bytes) -> tuple[str, str] | None:
    """(codec, how it was recognised) for UTF-16/UTF-32 text: by byte order mark, or, without one, by
    NUL bytes in every other position (the high byte of ASCII characters in UTF-16)."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return codec, "its byte order mark"
    sample = raw[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16-le", "the NUL byte after each character"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16-be", "the NUL byte before each character"
    return None


def to_utf8(raw: bytes, path: Path) -> tuple[bytes, str]:
    """(`raw` as UTF-8 bytes, the encoding it was in): UTF-16/32 (see _wide_encoding), UTF-8 (a character cut
    off by truncation at the very end is dropped) or else Latin-1, which any byte sequence decodes as."""
    wide = _wide_encoding(raw)
    if wide:
        codec, how = wide
        try:
            return raw.decode(codec).encode("utf-8"), codec
        except UnicodeDecodeError as err:
            raise ForecastlabError(
                f"the file is {codec.upper()} text (recognised by {how}), but byte {err.start:,} of it is not "
                f"valid {codec.upper()} ({err.reason})", where=str(path),
                fix="save it again as UTF-8, or copy it again if it was cut off") from None
    try:
        raw.decode("utf-8")
        return raw, "utf-8"
    except UnicodeDecodeError as err:
        if err.reason == "unexpected end of data" and err.end == len(raw):  # truncated mid-character
            return raw[: err.start], "utf-8"
        return raw.decode("latin-1").encode("utf-8"), "latin-1"


def _sniff(raw: bytes, path: Path) -> tuple[str, str | None]:
    """(delimiter, the header line, or None if the sample does not hold all of it) from the first lines."""
    sample = raw[:SAMPLE_BYTES]
    if b"\x00" in sample:
        raise ForecastlabError("the file is binary, not a text CSV", where=str(path),
                               fix="give a CSV (optionally gzip- or zip-compressed) or a Parquet file; text in "
                               "UTF-8, UTF-16, UTF-32 or Latin-1 is understood")
    text = sample.decode("utf-8-sig", "ignore")  # "ignore": a character cut by the sample boundary
    lines = [line for line in text.splitlines() if line.strip()][:50]
    cut = len(raw) > SAMPLE_BYTES
    header = lines[0] if lines and (len(lines) > 1 or not cut) else None
    if cut and len(lines) > 1:
        lines = lines[:-1]  # the sample may end mid-line
    return sniff_delimiter(lines), header


def _refuse_duplicate_names(header: str | None, delimiter: str, path: Path) -> None:
    """pandas renames a second 'x' to 'x.1' without a word; two columns with one name are refused instead."""
    if header is None:
        return
    with big_fields():
        names = _split_spaces(header) if delimiter == SPACES else next(csv.reader([header], delimiter=delimiter))
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name.strip() and name in seen:
            raise ForecastlabError(
                f"the header names two columns {shorten(name)!r} (fields {seen[name]} and {position})",
                where=f"{path}, line 1", fix="rename one of them, so every column has a name of its own")
        seen.setdefault(name, position)


def _read_csv(raw: bytes, path: Path, delimiter: str, shown: str) -> pd.DataFrame:
    """pandas' pyarrow engine; for a line too long for its blocks (a huge cell), the C engine, once the
    csv module has checked that every line has the header's fields (the C engine pads short lines)."""
    import pyarrow as pa

    if not raw.endswith((b"\n", b"\r")):
        raw += b"\n"  # pyarrow reads a lone header line without a newline as "no columns"
    try:
        return pd.read_csv(io.BytesIO(raw), engine="pyarrow", sep=delimiter)
    except (pa.ArrowException, ValueError, pd.errors.ParserError, OverflowError) as err:
        first_error = err
    line = _first_bad_line(raw, delimiter)
    if line is None and "straddl" in str(first_error):
        try:
            return pd.read_csv(io.BytesIO(raw), engine="c", sep=delimiter, encoding="utf-8")
        except (ValueError, pd.errors.ParserError, OverflowError) as err:
            first_error = err
    where = f"{path}, line {line[0]}" if line else str(path)
    what = (f"line {line[0]} {line[1]}" if line
            else f"the CSV cannot be parsed ({shorten(str(first_error).splitlines()[0], 200)})")
    separated = "runs of spaces" if shown == SPACES else repr(shown)
    raise ForecastlabError(what, where=where,
                           fix=f"make every line have the header's fields, separated by {separated}"
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


def _first_bad_line(raw: bytes, delimiter: str) -> tuple[int, str] | None:
    """(line number, what is wrong) for the first line whose field count differs from the header's, or
    that the csv module cannot read at all (an unclosed quote running to the end, a NUL byte)."""
    with big_fields():
        reader = csv.reader(io.StringIO(raw.decode("utf-8-sig", "replace")), delimiter=delimiter)
        header: list[str] = []
        try:
            header = next((row for row in reader if row), [])
            for row in reader:
                if row and len(row) != len(header):
                    comment = row[0].lstrip().startswith("#")
                    return reader.line_num, (f"has {len(row)} fields but the header has {len(header)}"
                                             + (" (it starts with '#': a comment line, which a data file cannot "
                                                "hold; delete it)" if comment else ""))
        except csv.Error as err:
            return reader.line_num, f"cannot be read as CSV ({err})"
    return None


def _check_shape(table: Table) -> None:
    frame = table.frame
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        other = next((d for d in DELIMITERS if d in header), SPACES if " " in header.strip() else None)
        if other:
            name = "spaces" if other == SPACES else repr(other)
            raise ForecastlabError(
                f"the file reads as a single column named {shorten(header, 80)!r}: it looks separated by "
                f"{name}, but its lines do not all have the same number of fields separated by {name}",
                where=f"{table.where()}, header", fix=f"check the file: every line should split on {name} "
                "into as many fields as the header")
    if len(frame) == 0:
        raise ForecastlabError("the file has a header but no data rows", where=table.where(),
                               fix="add data rows below the header line")
