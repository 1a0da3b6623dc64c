"""The real Jena climate file: download it, verify it by content, and keep it in the data cache.

A byte size or hash alone does not pin the file (two copies with different row counts circulate), so
every file is checked by what it contains: the exact 15-column header, a row count in the published
range, and the first and last timestamps. Only a file that passes is moved into the cache, with a
sidecar JSON saying which variant it is, its sha256 and where it came from. A download that fails
half-way, a corrupted zip or a wrong file is removed and never looks like a good cache entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path

from forecastlab.data.cache import data_dir as cache_dir
from forecastlab.data.cache import remove_stale_temp, temp_prefix
from forecastlab.data.download import (
    DEADLINE_FACTOR,
    DownloadLimit,
    check_timeout,
    download_file,
    extract_csv,
    failure_reason,
)
from forecastlab.data.jena_schema import jena_columns
from forecastlab.errors import DataQualityWarning, ForecastlabError

MIRRORS: tuple[str, ...] = (
    "https://s3.amazonaws.com/keras-datasets/jena_climate_2009_2016.csv.zip",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/jena_climate_2009_2016.csv.zip",
)
MIRRORS_ENV = "FORECASTLAB_JENA_MIRRORS"  # comma-separated URLs tried instead of MIRRORS
JENA_CSV = "jena_climate_2009_2016.csv"
JENA_ZIP = JENA_CSV + ".zip"
SIDECAR = JENA_CSV + ".json"

# The two published row counts: the book prints 420,451 (its 50/25/25 split sizes add up to it),
# pandas shows 420,551 for the TF tutorial's copy.
ROWS_RANGE = (420_451, 420_551)
FIRST_TIMESTAMP = "01.01.2009 00:10:00"
LAST_TIMESTAMP = "01.01.2017 00:00:00"
VARIANTS = {420_451: "book-420451", 420_551: "tf-420551"}
# Both published CSVs are ~43 MB: anything much larger is not the file (or a zip bomb), refused before
# it is copied, inflated or parsed.
MAX_CSV_BYTES = 64 << 20
# The real record's first data row (01.01.2009 00:10:00), as printed in the book and in both copies.
# A file with the right layout but other numbers here (forecastlab's own synthetic data, for one) is
# not the real record and must never be cached as it.
FIRST_ROW = (996.52, -8.02, 265.40, -8.90, 93.30, 3.33, 3.11, 0.22, 1.94, 3.12, 1307.75, 1.03, 1.75, 152.30)


def check_csv_size(size: int, shown_as: str, says: str) -> None:
    """Refuse a Jena CSV of more than MAX_CSV_BYTES (`says`: 'the file is', 'the zip says its CSV inflates to')."""
    if size > MAX_CSV_BYTES:
        raise ForecastlabError(
            f"this is not the Jena climate file: {says} {size / (1 << 20):,.1f} MiB, but the real CSV is about "
            f"41 MiB (the limit is {MAX_CSV_BYTES >> 20} MiB)", where=shown_as,
            fix=f"use the original {JENA_ZIP} from one of: {', '.join(MIRRORS)}")


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_jena_csv(
    path: str | os.PathLike,
    *,
    rows_range: tuple[int, int] = ROWS_RANGE,
    first: str = FIRST_TIMESTAMP,
    last: str = LAST_TIMESTAMP,
    first_row: tuple[float, ...] | None = FIRST_ROW,
    shown_as: str | None = None,
) -> dict:
    """Check that `path` really is the Jena climate CSV, by content; return what was found.

    Checks: the exact 15-column header, every cell parses (timestamps as `dd.mm.yyyy HH:MM:SS`,
    the rest as numbers), a row count within `rows_range`, the first and last timestamps, and the first
    row's 14 numbers (`first_row`, None to skip). `shown_as` is the name messages give the file.
    Returns {"variant", "rows", "sha256", "bytes", "first", "last"}; raises ForecastlabError
    naming the first check that failed.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = Path(path)

    def reject(what: str) -> ForecastlabError:
        return ForecastlabError(
            f"this is not the Jena climate file: {what}",
            where=shown_as or str(path),
            fix="download it again (`forecastlab data fetch`), or check that you have "
            f"{JENA_ZIP} from one of: {', '.join(MIRRORS)}",
        )

    check_csv_size(path.stat().st_size, shown_as or str(path), "the file is")
    columns = jena_columns()
    with open(path, "rb") as f:
        header = f.readline(4096).decode("utf-8", "replace").strip()
    found = [h.strip().strip('"') for h in header.split(",")]
    if found != columns:
        raise reject(f"the header is {header[:200]!r}, expected the 15 columns {columns}")
    types = {c: pa.float64() for c in columns[1:]} | {columns[0]: pa.string()}
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
    except (pa.ArrowInvalid, OSError) as err:
        raise reject(f"it does not parse as the expected CSV ({str(err).splitlines()[0]}); "
                     "the file may be truncated or corrupted") from None
    rows = table.num_rows
    if not rows_range[0] <= rows <= rows_range[1]:
        raise reject(f"it has {rows:,} data rows, expected {rows_range[0]:,} to {rows_range[1]:,} "
                     "(a truncated download has fewer)")
    stamps = table.column(columns[0])
    got_first, got_last = stamps[0].as_py(), stamps[rows - 1].as_py()
    if (got_first, got_last) != (first, last):
        raise reject(f"it runs from {got_first!r} to {got_last!r}, expected {first!r} to {last!r}")
    if first_row is not None:
        got_row = tuple(table.column(c)[0].as_py() for c in columns[1:])
        if any(g is None or abs(g - want) > 0.005 for g, want in zip(got_row, first_row, strict=True)):
            raise reject(
                f"its first data row is {_row_text(got_row)}, but the real record's is {_row_text(first_row)}; "
                "a file with the real layout and other numbers looks like forecastlab's synthetic data "
                "(`forecastlab data synth`) or an edited copy, and is never used as the real record")
    return {
        "variant": VARIANTS.get(rows, f"rows-{rows}"),
        "rows": rows,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "first": got_first,
        "last": got_last,
    }


def _row_text(row) -> str:
    return ",".join("?" if v is None else f"{v:.2f}" for v in row)


def _read_sidecar(directory: Path) -> dict | None:
    try:
        return json.loads((directory / SIDECAR).read_text())
    except (OSError, ValueError):
        return None


def read_sidecar(data_dir: str | os.PathLike | None = None) -> dict | None:
    """The cache's record of the verified Jena file (variant, sha256, rows, source, fetched_at), if any."""
    return _read_sidecar(cache_dir(data_dir))


def _write_json_atomic(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def install_verified(csv: Path, directory: Path, *, source: str, extra: dict | None = None,
                     shown_as: str | None = None) -> Path:
    """Verify `csv` (a temp file inside `directory`) and move it into the cache with its sidecar.

    `csv` must be on the cache's file system so the move is an atomic rename: a reader sees either
    no file or the whole verified one. Messages name the file as `shown_as` (the user's path, not the
    temp copy that is gone by the time they read it).
    """
    info = verify_jena_csv(csv, shown_as=shown_as)
    target = directory / JENA_CSV
    os.replace(csv, target)
    meta = info | {"source": source, "fetched_at": datetime.now(UTC).isoformat(timespec="seconds")}
    _write_json_atomic(directory / SIDECAR, meta | (extra or {}))
    return target


def cached_jena(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The verified Jena CSV in the cache, or None when there is none.

    A file placed in the cache by hand (the CSV or the zip, under its usual name) is verified on first
    use and then recorded like a download. A cached file that fails verification (a hand-placed one,
    or our own copy changed since it was verified) raises BrokenCachedFile naming it; it is left as it
    is (`fetch_jena` moves it aside, saying so, before downloading a fresh copy).
    """
    directory = cache_dir(data_dir)
    csv, meta = directory / JENA_CSV, _read_sidecar(directory)
    if csv.exists():
        if meta and meta.get("bytes") == csv.stat().st_size:
            return csv
        try:
            check_csv_size(csv.stat().st_size, str(csv), "the file is")  # before copying it
            with tempfile.TemporaryDirectory(dir=directory, prefix=temp_prefix("import")) as tmp:
                # Verify a copy so a bad hand-placed file stays exactly as the user left it.
                staged = Path(tmp) / JENA_CSV
                shutil.copyfile(csv, staged)
                return install_verified(staged, directory, source="placed in the cache by hand", shown_as=str(csv))
        except ForecastlabError as err:
            raise BrokenCachedFile(csv, err.what, ours=meta is not None) from None
    if (directory / JENA_ZIP).exists():
        try:
            return import_jena_file(directory / JENA_ZIP, data_dir)
        except ForecastlabError as err:
            raise BrokenCachedFile(directory / JENA_ZIP, err.what, ours=False) from None
    return None


class BrokenCachedFile(ForecastlabError):
    """The Jena file in the data cache fails verification; `path` is that file."""

    def __init__(self, path: Path, reason: str, *, ours: bool):
        self.path, self.reason = path, reason.removeprefix("this is not the Jena climate file: ")
        whose = ("the cached copy has changed since it was verified" if ours
                 else "it was placed in the cache by hand")
        super().__init__(
            f"the Jena file in the data cache fails verification ({whose}): {self.reason}",
            where=str(path),
            fix=f"run `forecastlab data fetch --force`: it moves this file aside as {path.name}.bad (nothing is "
            "deleted) and downloads a fresh copy; or replace the file with a good copy yourself")


def set_aside(broken: BrokenCachedFile) -> Path:
    """Rename a broken cached file to `*.bad` (and drop the sidecar that described it); say so (a warning)."""
    bad = broken.path.with_name(broken.path.name + ".bad")
    os.replace(broken.path, bad)
    if broken.path.name == JENA_CSV:
        (broken.path.parent / SIDECAR).unlink(missing_ok=True)
    warnings.warn(f"the cached Jena file {broken.path} fails verification ({broken.reason}); moved it aside "
                  f"to {bad} (not deleted) and fetching a fresh copy.", DataQualityWarning, stacklevel=3)
    return bad


def import_jena_file(path: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> Path:
    """Verify a Jena zip or CSV you downloaded yourself and install it in the cache (`data fetch --file`)."""
    path = Path(path).expanduser()
    from forecastlab.data.readers import require_file

    inside = next((path / n for n in (JENA_ZIP, JENA_CSV) if (path / n).is_file()), None) if path.is_dir() else None
    require_file(path, "the Jena file path", missing="no such file",
                 missing_fix="give the path of the .csv.zip or .csv",
                 dir_fix=f"give the file in it, {inside}" if inside is not None else
                 f"give the path of the {JENA_ZIP} (or {JENA_CSV}) itself, not of its folder",
                 special_fix=f"give the {JENA_ZIP} (or {JENA_CSV}) you downloaded, saved as a file")
    directory = cache_dir(data_dir)
    remove_stale_temp(directory)
    with tempfile.TemporaryDirectory(dir=directory, prefix=temp_prefix("import")) as tmp:
        csv = extract_csv(path, Path(tmp), name=JENA_CSV, check_size=check_csv_size)
        return install_verified(csv, directory, source=f"file:{path.resolve()}", shown_as=str(path))


def mirrors_from_env() -> list[str]:
    """$FORECASTLAB_JENA_MIRRORS (comma-separated) if set, else MIRRORS."""
    env = os.environ.get(MIRRORS_ENV, "")
    urls = [u.strip() for u in env.split(",") if u.strip()]
    return urls or list(MIRRORS)


def fetch_jena(
    data_dir: str | os.PathLike | None = None,
    url: str | None = None,
    sha256: str | None = None,
    timeout: float = 30,
    progress: bool = True,
    *,
    mirrors: list[str] | None = None,
    force: bool = False,
    deadline: float | None = None,
) -> Path:
    """Make sure the verified Jena CSV is in the cache and return its path.

    A verified cached copy is returned at once with no network request, unless `force` or `url`. A
    cached file that fails verification is moved aside as `*.bad` (said on stderr) first. Otherwise the
    zip is downloaded from `url`, or from `mirrors` (default $FORECASTLAB_JENA_MIRRORS, else MIRRORS)
    tried in turn, with `timeout` seconds (> 0) per connect/read and `deadline` seconds for each whole
    download (default download.DEADLINE_FACTOR x `timeout`, 600 s at the default 30 s); at most
    download.MAX_DOWNLOAD_BYTES are accepted. With `sha256`, the downloaded file must
    have that hash. The file is unzipped and verified in a temp folder inside the cache, and only then
    moved into place; temp folders left by a killed fetch are removed first. Raises ForecastlabError
    (naming the cache path and how to install the file by hand) when no mirror gives a valid file.
    """
    timeout = check_timeout(timeout)
    deadline = DEADLINE_FACTOR * timeout if deadline is None else check_timeout(deadline, "deadline")
    if sha256 is not None:  # before any download: a malformed hash can never match
        import re

        if not re.fullmatch(r"(sha256:)?[0-9a-fA-F]{64}", sha256.strip()):
            raise ForecastlabError(f"sha256={sha256!r} is not a sha256: that is 64 hexadecimal digits", arg="sha256",
                                   fix="copy the whole hash, e.g. from `sha256sum FILE`")
        sha256 = sha256.strip().removeprefix("sha256:").lower()
    remove_stale_temp(cache_dir(data_dir))
    try:
        found = cached_jena(data_dir)
    except BrokenCachedFile as broken:
        set_aside(broken)
        found = None
    if found is not None and not force and url is None:
        return found
    directory = cache_dir(data_dir)
    urls = [url] if url else (list(mirrors) if mirrors else mirrors_from_env())
    return download_first_valid(urls, directory, sha256=sha256, timeout=timeout, progress=progress,
                                custom_url=url is not None, deadline=deadline)


def download_first_valid(
    urls: list[str], directory: Path, *, sha256: str | None, timeout: float, progress: bool,
    custom_url: bool = False, deadline: float | None = None,
) -> Path:
    """Try each URL in turn; install and return the first download that verifies as the Jena CSV.
    `custom_url`: the URL is the user's own (url=), so the advice is about it, not the mirrors.
    `deadline`: seconds for each whole download (default download.DEADLINE_FACTOR x `timeout`)."""
    import requests

    timeout = check_timeout(timeout)
    deadline = DEADLINE_FACTOR * timeout if deadline is None else check_timeout(deadline, "deadline")
    failures: list[tuple[str, str, str]] = []
    for url in urls:
        with tempfile.TemporaryDirectory(dir=directory, prefix=temp_prefix("download")) as tmp:
            try:
                got = download_file(url, Path(tmp), sha256=sha256, timeout=timeout, deadline=deadline,
                                    progress=progress)
                csv = extract_csv(got, Path(tmp) / "unzipped", name=JENA_CSV, check_size=check_csv_size)
                extra = {"download_sha256": sha256_file(got), "download_bytes": got.stat().st_size}
                return install_verified(csv, directory, source=url, extra=extra, shown_as=url)
            except ForecastlabError as err:
                failures.append((url, "content", err.what))
            except (requests.RequestException, ValueError, OSError, DownloadLimit) as err:
                failures.append((url, *failure_reason(err, timeout)))
    raise _failure(failures, directory, custom_url=custom_url)


def manual_fix(directory: Path) -> str:
    """How to install the file by hand: the fix part of every 'could not download' message."""
    return (
        f"on a machine with internet access, download {MIRRORS[0]} (or {MIRRORS[1]}), then run "
        f"`forecastlab data fetch --file PATH` with that .zip or the .csv inside it, or copy it into "
        f"{directory} as {JENA_ZIP} or {JENA_CSV} (it is verified on first use); until then "
        "data='synthetic' runs everything on built-in synthetic data"
    )


def _failure(failures: list[tuple[str, str, str]], directory: Path, *, custom_url: bool = False) -> ForecastlabError:
    details = "; ".join(f"{url}: {text}" for url, _, text in failures)
    if custom_url:
        url, kind, text = failures[0]
        if kind == "hash":
            fix = ("check the sha256= value against the one published for that file, or leave sha256= out: "
                   "the file is verified by its content anyway")
        elif kind == "network":
            fix = ("check the URL and your connection, or leave url= out to try the standard mirrors; a file "
                   "you already have installs with `forecastlab data fetch --file PATH`")
        elif kind == "slow":
            fix = (f"on a slow connection raise timeout= (a whole download may take {DEADLINE_FACTOR} times it), "
                   "or download the file another way and install it with `forecastlab data fetch --file PATH`")
        else:
            fix = ("check that url= points at jena_climate_2009_2016.csv.zip (or the .csv), or leave url= out "
                   "to try the standard mirrors; a file you already have installs with `forecastlab data fetch "
                   "--file PATH`")
        return ForecastlabError(f"the download from url={url} failed, so nothing was cached: {text}",
                                where=f"data cache {directory}", fix=fix)
    if all(kind == "network" for _, kind, _ in failures):
        what = f"cannot download the Jena climate file: no mirror could be reached ({details})"
    else:
        what = f"no mirror gave a valid Jena climate file, so nothing was cached ({details})"
    slow = any(kind == "slow" for _, kind, _ in failures)
    fix = (f"raise timeout= (a whole download may take {DEADLINE_FACTOR} times it), or " if slow else "")
    return ForecastlabError(what, where=f"data cache {directory}", fix=fix + manual_fix(directory))
