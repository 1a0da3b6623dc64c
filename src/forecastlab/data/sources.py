"""Turn `--data` ('jena', 'synthetic', 'auto' or a path) into a file to read and its provenance."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from forecastlab.data.cache import data_dir as cache_dir
from forecastlab.data.readers import require_file
from forecastlab.data.series import Provenance
from forecastlab.errors import ForecastlabError, SyntheticDataWarning

# 'auto' must not keep a user waiting on a dead network before falling back to synthetic data.
AUTO_TIMEOUT = 10.0


@dataclass(frozen=True)
class Source:
    path: Path
    provenance: Provenance


def resolve_source(data: str | os.PathLike, *, data_dir=None, download: bool = True) -> Source:
    """Where the numbers for `data` live; downloads or generates them when that is what `data` asks."""
    key = str(data).strip()
    if key.lower() == "jena":
        return _jena(data_dir, download)
    if key.lower() == "synthetic":
        return synthetic_source(data_dir)
    if key.lower() == "auto":
        return _auto(data_dir, download)
    path = Path(key).expanduser()
    require_file(path, "the data file", missing_fix="check the path; data= also takes 'jena', 'synthetic' or 'auto'",
                 dir_fix="give the CSV or Parquet file itself (a path inside that folder); data= also takes 'jena', "
                 "'synthetic' or 'auto'")
    return Source(path, Provenance(source="file", path=str(path)))


def _jena_source(path: Path, data_dir) -> Source:
    from forecastlab.data.jena import read_sidecar

    meta = read_sidecar(data_dir) or {}
    return Source(path, Provenance(source="jena", path=str(path), sha256=meta.get("sha256"),
                                   variant=meta.get("variant"), note=meta.get("source")))


def _jena(data_dir, download: bool) -> Source:
    from forecastlab.data.jena import cached_jena, fetch_jena, manual_fix

    found = cached_jena(data_dir)
    if found is None and not download:
        directory = cache_dir(data_dir)
        raise ForecastlabError("the real Jena file is not in the data cache, and downloading is off",
                               where=f"data cache {directory}", fix=manual_fix(directory))
    return _jena_source(found or fetch_jena(data_dir), data_dir)


def _auto(data_dir, download: bool) -> Source:
    from forecastlab.data.jena import cached_jena, fetch_jena

    found = cached_jena(data_dir)
    if found is not None:
        return _jena_source(found, data_dir)
    why = "it is not in the data cache and downloading is off"
    if download:
        try:
            return _jena_source(fetch_jena(data_dir, timeout=AUTO_TIMEOUT), data_dir)
        except ForecastlabError as err:
            why = err.what
    return synthetic_source(data_dir, why=why)


def synthetic_source(data_dir=None, why: str | None = None) -> Source:
    """The built-in synthetic Jena-format file (generated into the cache on first use), announced loudly:
    a SyntheticDataWarning, which the CLI shows as a boxed banner."""
    from forecastlab.data.synthetic import SYNTHETIC_NOTE, embedded_default

    message = SYNTHETIC_NOTE + (f"\n\nThe real Jena file was not used: {why}." if why else "")
    warnings.warn(message, SyntheticDataWarning, stacklevel=2)
    path = embedded_default(data_dir)
    return Source(path, Provenance(source="synthetic", path=str(path), variant=path.stem, note=SYNTHETIC_NOTE))
