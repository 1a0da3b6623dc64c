"""Download the Jena zip with pooch, trying mirrors in turn, and turn every failure into one message.

Everything happens in a hidden temp folder inside the cache (same file system, so the final move is
an atomic rename); the folder is deleted whatever happens, so nothing half-done is ever cached. A
process killed outright cannot delete it: the next fetch removes such leftovers (see cache.py).

Every download is bounded, so a hostile or broken server cannot hang it or fill the disk:
  - `timeout` seconds for the connection and for each read (no byte for that long: timed out);
  - DEADLINE_FACTOR x `timeout` seconds for the whole download (a server trickling one byte a second
    passes every per-read timeout): 600 s at the default 30 s, ~22 KB/s at least for the 13 MB zip;
  - MAX_DOWNLOAD_BYTES (100 MiB; the zip is ~13 MB), checked against Content-Length first and
    against the bytes received as they arrive (a never-ending chunked response);
  - the CSV inflated from it, jena.MAX_CSV_BYTES (64 MiB; the CSV is ~43 MB), checked against the
    size the zip declares before inflating, then as it inflates (a zip bomb).
"""

from __future__ import annotations

import gzip
import math
import shutil
import tempfile
import time
import zipfile
import zlib
from pathlib import Path
from urllib.parse import urlparse

from forecastlab.data.cache import temp_prefix
from forecastlab.errors import ForecastlabError

CHUNK = 1 << 16
DEADLINE_FACTOR = 20
MAX_DOWNLOAD_BYTES = 100 << 20


class DownloadLimit(Exception):
    """A download stopped by a bound: `kind` 'slow' (the overall deadline) or 'too-large'."""

    def __init__(self, kind: str, text: str):
        self.kind, self.text = kind, text
        super().__init__(text)


def check_timeout(timeout, name: str = "timeout", flag: str | None = "--timeout") -> float:
    """`timeout` as a float, refused unless a finite number of seconds above 0 (0 would fail every
    download and blame the mirrors). Messages name the CLI `flag` (if any) and the Python argument."""
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        named = f"{flag} (Python: {name}=)" if flag else f"{name}="
        raise ForecastlabError(f"{named} must be a number of seconds above 0, got {timeout!r}", where=named,
                               fix=f"pass {flag or name} with a positive number of seconds, e.g. 30")
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

    def __init__(self, label: str):
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        from forecastlab.console import console

        self.total = 0
        self._label = label
        self._task = None
        self._bar = Progress("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                             console=console)

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


def manual_fix(directory: Path) -> str:
    """How to install the file by hand: the fix part of every 'could not download' message."""
    from forecastlab.data.jena import JENA_CSV, JENA_ZIP, MIRRORS

    return (
        f"on a machine with internet access, download {MIRRORS[0]} (or {MIRRORS[1]}), then run "
        f"`forecastlab data fetch --file PATH` with that .zip or the .csv inside it, or copy it into "
        f"{directory} as {JENA_ZIP} or {JENA_CSV} (it is verified on first use); until then "
        "`--data synthetic` runs everything on built-in synthetic data"
    )


def extract_csv(path: Path, out_dir: Path) -> Path:
    """The CSV inside `path` (a zip, a gzip or a plain CSV), written to `out_dir`; not yet verified.
    At most jena.MAX_CSV_BYTES are written: more is not the Jena file (or is a zip bomb)."""
    from forecastlab.data.jena import JENA_CSV, check_csv_size

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / JENA_CSV
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
                check_csv_size(members[0].file_size, str(path), "the zip says its CSV inflates to")
                with zf.open(members[0]) as src, open(target, "wb") as dst:
                    _copy_bounded(src, dst, str(path))  # reading checks each block's CRC
        elif magic.startswith(b"\x1f\x8b"):
            with gzip.open(path, "rb") as src, open(target, "wb") as dst:
                _copy_bounded(src, dst, str(path))
        else:
            check_csv_size(path.stat().st_size, str(path), "the file is")
            shutil.copyfile(path, target)  # maybe a plain CSV: verification decides
    except (zipfile.BadZipFile, zlib.error, EOFError, gzip.BadGzipFile, NotImplementedError, RuntimeError) as err:
        raise ForecastlabError(f"the archive is truncated or corrupted ({str(err)[:200]})", where=str(path),
                               fix="download it again; a partial download cannot be repaired") from None
    return target


def _copy_bounded(src, dst, shown_as: str) -> None:
    from forecastlab.data.jena import check_csv_size

    written = 0
    while block := src.read(CHUNK):
        written += len(block)
        check_csv_size(written, shown_as, "it inflates to more than")
        dst.write(block)


def _reason(err: BaseException, timeout: float) -> tuple[str, str]:
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
            f"{expected[1] if expected else 'given'} given with --sha256; the download was deleted")


def _download(url: str, folder: Path, *, sha256: str | None, timeout: float, deadline: float,
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


def download_first_valid(
    urls: list[str], directory: Path, *, sha256: str | None, timeout: float, progress: bool,
    custom_url: bool = False, deadline: float | None = None,
) -> Path:
    """Try each URL in turn; install and return the first download that verifies as the Jena CSV.
    `custom_url`: the URL is the user's own (--url), so the advice is about it, not the mirrors.
    `deadline`: seconds for each whole download (default DEADLINE_FACTOR x `timeout`)."""
    import requests

    from forecastlab.data.jena import install_verified, sha256_file

    timeout = check_timeout(timeout)
    deadline = DEADLINE_FACTOR * timeout if deadline is None else check_timeout(deadline, "deadline", None)
    failures: list[tuple[str, str, str]] = []
    for url in urls:
        with tempfile.TemporaryDirectory(dir=directory, prefix=temp_prefix("download")) as tmp:
            try:
                got = _download(url, Path(tmp), sha256=sha256, timeout=timeout, deadline=deadline, progress=progress)
                csv = extract_csv(got, Path(tmp) / "unzipped")
                extra = {"download_sha256": sha256_file(got), "download_bytes": got.stat().st_size}
                return install_verified(csv, directory, source=url, extra=extra, shown_as=url)
            except ForecastlabError as err:
                failures.append((url, "content", err.what))
            except (requests.RequestException, ValueError, OSError, DownloadLimit) as err:
                failures.append((url, *_reason(err, timeout)))
    raise _failure(failures, directory, custom_url=custom_url)


def _failure(failures: list[tuple[str, str, str]], directory: Path, *, custom_url: bool = False) -> ForecastlabError:
    details = "; ".join(f"{url}: {text}" for url, _, text in failures)
    if custom_url:
        url, kind, text = failures[0]
        if kind == "hash":
            fix = ("check the --sha256 value against the one published for that file, or leave --sha256 out: "
                   "the file is verified by its content anyway")
        elif kind == "network":
            fix = ("check the URL and your connection, or leave --url out to try the standard mirrors; a file "
                   "you already have installs with `forecastlab data fetch --file PATH`")
        elif kind == "slow":
            fix = (f"on a slow connection raise --timeout (a whole download may take {DEADLINE_FACTOR} times it), "
                   "or download the file another way and install it with `forecastlab data fetch --file PATH`")
        else:
            fix = ("check that --url points at jena_climate_2009_2016.csv.zip (or the .csv), or leave --url out "
                   "to try the standard mirrors; a file you already have installs with --file PATH")
        return ForecastlabError(f"the download from --url {url} failed, so nothing was cached: {text}",
                                where=f"data cache {directory}", fix=fix)
    if all(kind == "network" for _, kind, _ in failures):
        what = f"cannot download the Jena climate file: no mirror could be reached ({details})"
    else:
        what = f"no mirror gave a valid Jena climate file, so nothing was cached ({details})"
    slow = any(kind == "slow" for _, kind, _ in failures)
    fix = (f"raise --timeout (a whole download may take {DEADLINE_FACTOR} times it), or " if slow else "")
    return ForecastlabError(what, where=f"data cache {directory}", fix=fix + manual_fix(directory))
