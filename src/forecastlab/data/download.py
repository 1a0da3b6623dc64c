"""Download the Jena zip with pooch, trying mirrors in turn, and turn every failure into one message.

Everything happens in a hidden temp folder inside the cache (same file system, so the final move is
an atomic rename); the folder is deleted whatever happens, so nothing half-done is ever cached.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path
from urllib.parse import urlparse

from forecastlab.errors import ForecastlabError

CHUNK = 1 << 16


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
    """The CSV inside `path` (a zip, a gzip or a plain CSV), written to `out_dir`; not yet verified."""
    from forecastlab.data.jena import JENA_CSV

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
                    names = [m.filename for m in zf.infolist()]
                    raise ForecastlabError(f"the zip should hold exactly one .csv file; it holds {names}",
                                           where=str(path), fix="use the original jena_climate_2009_2016.csv.zip")
                with zf.open(members[0]) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)  # reading checks each block's CRC
        elif magic.startswith(b"\x1f\x8b"):
            with gzip.open(path, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
        else:
            shutil.copyfile(path, target)  # maybe a plain CSV: verification decides
    except (zipfile.BadZipFile, zlib.error, EOFError, gzip.BadGzipFile) as err:
        raise ForecastlabError(f"the archive is truncated or corrupted ({err})", where=str(path),
                               fix="download it again; a partial download cannot be repaired") from None
    return target


def _reason(err: BaseException, timeout: float) -> tuple[str, str]:
    """(kind, short text) for a failed download; kind 'network' means the mirror was never reached."""
    import requests

    text = str(err)
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


def _download(url: str, folder: Path, *, sha256: str | None, timeout: float, progress: bool) -> Path:
    import pooch

    pooch.get_logger().setLevel("WARNING")  # pooch logs every download at INFO; we report ourselves
    name = Path(urlparse(url).path).name or "download"
    bar = RichProgress(f"downloading {name}") if progress else False
    downloader = pooch.HTTPDownloader(progressbar=bar, chunk_size=CHUNK, timeout=timeout)
    try:
        known = f"sha256:{sha256.strip().lower()}" if sha256 else None
        return Path(pooch.retrieve(url, known_hash=known, fname=name, path=folder, downloader=downloader))
    finally:
        if bar:
            bar.close()


def download_first_valid(
    urls: list[str], directory: Path, *, sha256: str | None, timeout: float, progress: bool,
    custom_url: bool = False,
) -> Path:
    """Try each URL in turn; install and return the first download that verifies as the Jena CSV.
    `custom_url`: the URL is the user's own (--url), so the advice is about it, not the mirrors."""
    import requests

    from forecastlab.data.jena import install_verified, sha256_file

    failures: list[tuple[str, str, str]] = []
    for url in urls:
        with tempfile.TemporaryDirectory(dir=directory, prefix=".jena-download-") as tmp:
            try:
                got = _download(url, Path(tmp), sha256=sha256, timeout=timeout, progress=progress)
                csv = extract_csv(got, Path(tmp) / "unzipped")
                extra = {"download_sha256": sha256_file(got), "download_bytes": got.stat().st_size}
                return install_verified(csv, directory, source=url, extra=extra, shown_as=url)
            except ForecastlabError as err:
                failures.append((url, "content", err.what))
            except (requests.RequestException, ValueError, OSError) as err:
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
        else:
            fix = ("check that --url points at jena_climate_2009_2016.csv.zip (or the .csv), or leave --url out "
                   "to try the standard mirrors; a file you already have installs with --file PATH")
        return ForecastlabError(f"the download from --url {url} failed, so nothing was cached: {text}",
                                where=f"data cache {directory}", fix=fix)
    if all(kind == "network" for _, kind, _ in failures):
        what = f"cannot download the Jena climate file: no mirror could be reached ({details})"
    else:
        what = f"no mirror gave a valid Jena climate file, so nothing was cached ({details})"
    return ForecastlabError(what, where=f"data cache {directory}", fix=manual_fix(directory))
