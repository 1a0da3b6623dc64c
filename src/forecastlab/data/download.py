"""The mechanics of fetching a file: a bounded pooch download, the CSV unpacked from it, each failure's reason.

`forecastlab.data.jena` uses them to try the Jena mirrors in turn and turn every failure into one
message; this module imports nothing from it (the expected file name and size check are passed in).
Everything happens in a hidden temp folder inside the cache (same file system, so the final move is
an atomic rename); the folder is deleted whatever happens, so nothing half-done is ever cached. A
process killed outright cannot delete it: the next fetch removes such leftovers (see cache.py).

Every download is bounded, so a hostile or broken server cannot hang it or fill the disk:
  - `timeout` seconds for the connection and for each read (no byte for that long: timed out);
  - DEADLINE_FACTOR x `timeout` seconds for the whole download (a server trickling one byte a second
    passes every per-read timeout): 600 s at the default 30 s, ~22 KB/s at least for the 13 MB zip;
  - MAX_DOWNLOAD_BYTES (100 MiB; the zip is ~13 MB), checked against Content-Length first and
    against the bytes received as they arrive (a never-ending chunked response);
  - the CSV inflated from it, by the caller's size check (for Jena, jena.MAX_CSV_BYTES: 64 MiB; the CSV
    is ~43 MB), against the size the zip declares before inflating, then as it inflates (a zip bomb).
"""

from __future__ import annotations

import gzip
import math
import shutil
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from forecastlab.errors import ForecastlabError

CHUNK = 1 << 16
DEADLINE_FACTOR = 20
MAX_DOWNLOAD_BYTES = 100 << 20

SizeCheck = Callable[[int, str, str], None]  # (bytes, the file as shown, what says so); raises when too many


class DownloadLimit(Exception):
    """A download stopped by a bound: `kind` 'slow' (the overall deadline) or 'too-large'."""

    def __init__(self, kind: str, text: str):
        self.kind, self.text = kind, text
        super().__init__(text)


def check_timeout(timeout, name: str = "timeout") -> float:
    """`timeout` as a float, refused unless a finite number of seconds above 0 (0 would fail every
    download and blame the mirrors). `name` is the argument's name in the message."""
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ForecastlabError(f"{name} must be a number of seconds above 0, got {timeout!r}", arg=name,
                               fix=f"pass a positive number of seconds, e.g. {name}=30")
    return value


class BoundedDownloader:
    """A pooch downloader (`downloader(url, output_file, pooch)`) that streams with requests within a
    per-read timeout, an overall deadline and a byte cap, drawing `progressbar` (a RichProgress) if any.

    Reads use `read1`, which returns whatever bytes have arrived, so the deadline is checked however
    slowly they come (iter_content's read(64 KiB) would block until all 64 KiB were there)."""

    def __init__(self, *, timeout: float, deadline: float, max_bytes: int = MAX_DOWNLOAD_BYTES,
                 progressbar=None):
        self.timeout, self.deadline, self.max_bytes, self.progressbar = timeout, deadline, max_bytes, progressbar

    def __call__(self, url: str, output_file, pooch_obj=None, check_only: bool = False):
        import requests

        end = time.monotonic() + self.deadline
        # identity: the zip is compressed already, and a compressed body would dodge the byte count
        with requests.get(url, stream=True, timeout=self.timeout, headers={"Accept-Encoding": "identity"}) as r:
            r.raise_for_status()
            if check_only:
                return True
            declared = _content_length(r)
            if declared > self.max_bytes:
                raise DownloadLimit("too-large", f"the server announces {declared:,} bytes, more than the "
                                    f"{self.max_bytes:,}-byte limit (the Jena zip is about 13 MB)")
            if self.progressbar:
                self.progressbar.total = declared
            with open(output_file, "wb") as out:
                got = 0
                for chunk in self._chunks(r, end):
                    got += len(chunk)
                    if got > self.max_bytes:
                        raise DownloadLimit("too-large", f"more than {self.max_bytes:,} bytes arrived and the "
                                            "transfer was still going (the Jena zip is about 13 MB)")
                    out.write(chunk)
                    if self.progressbar:
                        self.progressbar.update(len(chunk))
        return None

    def _chunks(self, response, end: float):
        import requests
        import urllib3.exceptions as u3

        while True:
            if time.monotonic() > end:
                rule = (f"{DEADLINE_FACTOR} x the {self.timeout:g} s timeout"
                        if math.isclose(self.deadline, DEADLINE_FACTOR * self.timeout) else "the deadline given")
                raise DownloadLimit("slow", f"the download did not finish within {self.deadline:g} s (the limit "
                                    f"for a whole download: {rule})")
            try:
                chunk = response.raw.read1(CHUNK)
            except u3.ReadTimeoutError as err:
                raise requests.exceptions.ReadTimeout(str(err)) from None
            except (u3.ProtocolError, u3.DecodeError) as err:
                raise requests.exceptions.ChunkedEncodingError(str(err)) from None
            if not chunk:
                return
            yield chunk


def _content_length(response) -> int:
    try:
        return max(int(response.headers.get("Content-Length", 0)), 0)
    except ValueError:
        return 0


class RichProgress:
    """pooch's custom progress-bar protocol (`total`, `update`, `reset`, `close`) drawn with rich on
    stderr, since tqdm (pooch's own choice) is not a dependency."""

    def __init__(self, label: str, console=None):
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        if console is None:
            from forecastlab.console import console

        self.total = 0
        self._label = label
        self._task = None
        # markup=False: the label holds the URL's file name, where "[/]" is text, not a style.
        self._bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
                             TransferSpeedColumn(), console=console)

    def update(self, n: int) -> None:
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task(self._label, total=self.total or None)
        self._bar.update(self._task, advance=n)

    def reset(self) -> None:
        if self._task is not None:
            self._bar.reset(self._task, total=self.total or None)

    def close(self) -> None:
        self._bar.stop()


def extract_csv(path: Path, out_dir: Path, *, name: str, check_size: SizeCheck) -> Path:
    """The CSV inside `path` (a zip, a gzip or a plain CSV), written to `out_dir` as `name`; not yet verified.

    `check_size(size, shown_as, says)` raises when `size` bytes are too many for the file expected (the
    Jena reader passes its own size check): it is asked before a zip member is inflated, and as the bytes
    are written, so a zip bomb stops early."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / name
    with open(path, "rb") as f:
        magic = f.read(4)
    try:
        if magic.startswith(b"PK"):
            with zipfile.ZipFile(path) as zf:
                members = [m for m in zf.infolist()
                           if m.filename.lower().endswith(".csv") and not m.filename.startswith("__MACOSX")]
                if len(members) != 1:
                    names = [m.filename for m in zf.infolist()][:20]
                    raise ForecastlabError(f"the zip should hold exactly one .csv file; it holds {names}",
                                           where=str(path), fix="use the original jena_climate_2009_2016.csv.zip")
                check_size(members[0].file_size, str(path), "the zip says its CSV inflates to")
                with zf.open(members[0]) as src, open(target, "wb") as dst:
                    _copy_bounded(src, dst, str(path), check_size)  # reading checks each block's CRC
        elif magic.startswith(b"\x1f\x8b"):
            with gzip.open(path, "rb") as src, open(target, "wb") as dst:
                _copy_bounded(src, dst, str(path), check_size)
        else:
            check_size(path.stat().st_size, str(path), "the file is")
            shutil.copyfile(path, target)  # maybe a plain CSV: verification decides
    except (zipfile.BadZipFile, zlib.error, EOFError, gzip.BadGzipFile, NotImplementedError, RuntimeError) as err:
        raise ForecastlabError(f"the archive is truncated or corrupted ({str(err)[:200]})", where=str(path),
                               fix="download it again; a partial download cannot be repaired") from None
    return target


def _copy_bounded(src, dst, shown_as: str, check_size: SizeCheck) -> None:
    written = 0
    while block := src.read(CHUNK):
        written += len(block)
        check_size(written, shown_as, "it inflates to more than")
        dst.write(block)


def failure_reason(err: BaseException, timeout: float) -> tuple[str, str]:
    """(kind, short text) for a failed download; kind 'network' means the mirror was never reached."""
    import requests

    text = str(err)
    if isinstance(err, DownloadLimit):
        return err.kind, err.text
    if isinstance(err, requests.Timeout) or "timed out" in text.lower():
        return "network", f"no answer within {timeout:g} s (timed out)"
    if isinstance(err, requests.HTTPError):
        status = err.response.status_code if err.response is not None else "?"
        return "http", f"the server answered HTTP {status}"
    if isinstance(err, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return "truncated", "the transfer broke off before the end (truncated download)"
    if isinstance(err, requests.ConnectionError):
        if "refused" in text.lower():
            return "network", "connection refused"
        if "resolve" in text.lower() or "name or service" in text.lower():
            return "network", "the host name could not be resolved (offline, or no DNS)"
        return "network", f"cannot connect ({text[:160]})"
    if isinstance(err, ValueError) and "hash" in text.lower():
        return "hash", _hash_mismatch(text)
    return "other", f"{type(err).__name__}: {text[:200]}"


def _hash_mismatch(text: str) -> str:
    """pooch's long hash message, reworded whole: what was expected, what arrived, what became of it."""
    import re

    expected = re.search(r"expected (?:\w+:)?([0-9a-fA-F]{64})", text)
    got = re.search(r"got (?:\w+:)?([0-9a-fA-F]{64})", text)
    return (f"the downloaded file's sha256 is {got[1] if got else 'different'}, not the "
            f"{expected[1] + ' ' if expected else ''}given as sha256=; the download was deleted")


def download_file(url: str, folder: Path, *, sha256: str | None, timeout: float, deadline: float,
              progress: bool) -> Path:
    import pooch

    pooch.get_logger().setLevel("WARNING")  # pooch logs every download at INFO; we report ourselves
    name = Path(urlparse(url).path).name or "download"
    bar = RichProgress(f"downloading {name}") if progress else None
    downloader = BoundedDownloader(timeout=timeout, deadline=deadline, progressbar=bar)
    try:
        known = f"sha256:{sha256.strip().lower()}" if sha256 else None
        return Path(pooch.retrieve(url, known_hash=known, fname=name, path=folder, downloader=downloader))
    finally:
        if bar:
            bar.close()
