"""Labelled public series from the UCR archives, read from inside the pinned `aeon` wheel: `load_ucr`,
`load_ucr_anomaly`.

| name               | task           | cases (train/test) | length | channels | classes |
|--------------------|----------------|--------------------|--------|----------|---------|
| `GunPoint`         | classification | 50 / 150           | 150    | 1        | 2       |
| `ArrowHead`        | classification | 36 / 175           | 251    | 1        | 3       |
| `ItalyPowerDemand` | classification | 67 / 1,029         | 24     | 1        | 2       |
| `BasicMotions`     | classification | 40 / 40            | 100    | 6        | 4       |
| `InternalBleeding16` | anomaly      | 1,200 / 7,501 rows | -      | 1        | 1 event |

`load_series("ucr:InternalBleeding16")` gives the anomaly series as a Series, so `train`, `anomalies` and
every other command read it like any record.

aeon 1.6.0 ships these files in its package data (`aeon/datasets/data/...`). forecastlab never installs
or imports aeon: the wheel is fetched once from the package registry with pooch (`fetch_aeon_wheel`, its
sha256 pinned here as AEON_WHEEL["sha256"]), cached in forecastlab's data directory, checked again on
every read, and the files are read from inside the zip. `.ts` is a plain-text format (sktime/aeon's), read
here with a bounded parser; nothing is unpickled or executed.

Licenses and caveats (AEON_WHEEL["license"], UCR_DATASETS[name]["caveats"]): aeon is BSD-3-Clause; the UCR
and UEA archives ask users to cite them (Dau et al. 2019; Bagnall et al. 2018) and are free for research.
The splits are the archives' fixed train/test splits. The anomaly series comes from the UCR anomaly archive
(Wu and Keogh 2021), whose file name carries the train length and the labelled range; the archive's own
caveat is that one labelled anomaly per series is a judgement, and a detector may find real anomalies
elsewhere.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from forecastlab.errors import ForecastlabError

AEON_WHEEL = {
    "name": "aeon-1.6.0-py3-none-any.whl",
    "url": "https://files.pythonhosted.org/packages/7d/49/034d8d142106e035fce019d8ee6f04d3ac8842490cd33f811d4df8e15da3/"
           "aeon-1.6.0-py3-none-any.whl",
    "sha256": "d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
    "package": "aeon==1.6.0",
    "license": "aeon: BSD-3-Clause. UCR/UEA archives: free for research, cite Dau et al. (2019) and Bagnall "
               "et al. (2018); the anomaly archive: cite Wu and Keogh (2021).",
}
MAX_WHEEL_BYTES = 64 << 20  # the wheel is 6.4 MB
MAX_MEMBER_BYTES = 16 << 20  # the largest file read is under 0.5 MB
MAX_CASES = 100_000
MAX_VALUES = 20_000_000  # cases x channels x length

UCR_DATASETS: dict[str, dict] = {
    "GunPoint": {"file": "aeon/datasets/data/GunPoint/GunPoint", "published_minirocket": 0.992,
                 "caveats": "tiny training set (50 cases); one hand-position channel"},
    "ArrowHead": {"file": "aeon/datasets/data/ArrowHead/ArrowHead", "published_minirocket": 0.881,
                  "caveats": "tiny training set (36 cases) with 175 test cases; outlines of arrowheads as series"},
    "ItalyPowerDemand": {"file": "aeon/datasets/data/ItalyPowerDemand/ItalyPowerDemand",
                         "published_minirocket": 0.960,
                         "caveats": "24 hourly values per day; classes are October-March vs April-September"},
    "BasicMotions": {"file": "aeon/datasets/data/BasicMotions/BasicMotions", "published_minirocket": None,
                     "caveats": "UEA multivariate (6 channels: accelerometer and gyroscope), 40/40 cases"},
}
UCR_ANOMALY = {
    "InternalBleeding16": {
        "file": "aeon/datasets/data/KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16",
        "caveats": "one labelled anomaly (rows 4187-4198 of 7,501) in a physiological signal with no stated "
                   "sampling rate; the first 1,200 rows are the anomaly-free training part. Each row is "
                   "given a 1-hour step here (an arbitrary clock), so a tolerance or window of N hours is N rows.",
    },
}


@dataclass
class ClassificationSplit:
    """One labelled set of equal-length series: `x` float32 (cases, length, channels), `y` int64 class ids."""

    x: np.ndarray
    y: np.ndarray


@dataclass
class LabelledCases:
    """A classification dataset: fixed train and test splits, the class names (y indexes them), provenance."""

    name: str
    train: ClassificationSplit
    test: ClassificationSplit
    classes: list[str]
    provenance: dict = field(default_factory=dict)

    @property
    def length(self) -> int:
        return self.train.x.shape[1]

    @property
    def channels(self) -> int:
        return self.train.x.shape[2]

    def summary(self) -> dict:
        return {"dataset": self.name, "n_train": len(self.train.y), "n_test": len(self.test.y), "length": self.length,
                "channels": self.channels, "classes": self.classes} | self.provenance


def ucr_names() -> tuple[str, ...]:
    return tuple(UCR_DATASETS)


def fetch_aeon_wheel(*, data_dir: str | Path | None = None, url: str | None = None, timeout: float = 30.0,
                     progress: bool = False) -> Path:
    """The pinned aeon wheel in forecastlab's data directory: checked if already there, else downloaded
    with pooch from the registry (or `url`, e.g. a mirror) and checked against AEON_WHEEL['sha256']."""
    from forecastlab.data.cache import data_dir as cache_dir
    from forecastlab.data.download import DEADLINE_FACTOR, check_timeout, download_file, failure_reason

    folder = cache_dir(data_dir) / "public"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / AEON_WHEEL["name"]
    if path.is_file():
        _check_wheel(path)
        return path
    seconds = check_timeout(timeout)
    try:
        got = download_file(url or AEON_WHEEL["url"], folder, sha256=AEON_WHEEL["sha256"], timeout=seconds,
                            deadline=seconds * DEADLINE_FACTOR, progress=progress)
    except Exception as err:  # every failure becomes one message: what, where, what to do
        _kind, reason = failure_reason(err, seconds)
        raise ForecastlabError(f"cannot download the aeon wheel that holds the UCR files: {reason}",
                               where=url or AEON_WHEEL["url"],
                               fix=f"check the network, or download it yourself (pip download {AEON_WHEEL['package']} "
                               f"--no-deps) and pass its path as wheel= (--ucr-wheel)") from None
    if got != path:
        got.replace(path)
    return path


def _check_wheel(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ForecastlabError(f"cannot read the aeon wheel: {err.strerror or err}", where=str(path),
                               fix=f"pass the path of {AEON_WHEEL['name']} (pip download {AEON_WHEEL['package']} "
                               "--no-deps)") from None
    if size > MAX_WHEEL_BYTES:
        raise ForecastlabError(f"the file is {size:,} bytes, far more than the {AEON_WHEEL['name']} it should be",
                               where=str(path), fix=f"pass the pinned wheel: pip download {AEON_WHEEL['package']} "
                               "--no-deps")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if sha != AEON_WHEEL["sha256"]:
        raise ForecastlabError(f"the aeon wheel is not the pinned one: its sha256 is {sha}, forecastlab pins "
                               f"{AEON_WHEEL['sha256']}; it is not read", where=str(path),
                               fix=f"delete it and let forecastlab fetch it, or pip download {AEON_WHEEL['package']} "
                               "--no-deps")


def _member(wheel: Path, inside: str) -> bytes:
    try:
        with zipfile.ZipFile(wheel) as zf:
            info = zf.getinfo(inside)
            if info.file_size > MAX_MEMBER_BYTES:
                raise ForecastlabError(f"{inside} declares {info.file_size:,} bytes, over the {MAX_MEMBER_BYTES:,} "
                                       "read", where=str(wheel), fix="pass the pinned aeon wheel")
            with zf.open(info) as fh:
                return fh.read(MAX_MEMBER_BYTES + 1)[:MAX_MEMBER_BYTES]
    except KeyError:
        raise ForecastlabError(f"the wheel has no {inside}", where=str(wheel),
                               fix=f"pass the pinned wheel ({AEON_WHEEL['package']})") from None
    except zipfile.BadZipFile as err:
        raise ForecastlabError(f"not a readable wheel (zip): {err}", where=str(wheel),
                               fix=f"pass the pinned wheel ({AEON_WHEEL['package']})") from None


def _wheel(wheel, *, data_dir=None, download: bool = True) -> Path:
    if wheel is not None:
        path = Path(wheel).expanduser()
        _check_wheel(path)
        return path
    from forecastlab.data.cache import data_dir as cache_dir

    cached = cache_dir(data_dir) / "public" / AEON_WHEEL["name"]
    if cached.is_file() or download:
        return fetch_aeon_wheel(data_dir=data_dir)
    raise ForecastlabError(f"the UCR files come from the aeon wheel, which is not in {cached.parent}",
                           where=str(cached), fix="allow the download, or pass wheel= (--ucr-wheel)")


def _bundled(name, table: dict, what: str) -> str:
    """`name` as spelled in `table` (any capitalization), or an error listing the names there are."""
    key = {k.lower(): k for k in table}.get(str(name).strip().lower())
    if key is None:
        raise ForecastlabError(f"{name!r} is not a bundled {what}", arg="data",
                               fix=f"choose one of: {', '.join(table)}")
    return key


def read_ts(text: str, where: str) -> tuple[np.ndarray, list[str], list[str]]:
    """A `.ts` file (sktime/aeon's text format) of equal-length series: (x (cases, length, channels)
    float32, the label of each case, the declared class names). Missing values ('?') are refused."""
    header: dict[str, str] = {}
    rows: list[str] = []
    in_data = False
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise ForecastlabError(f"line {number} is neither a comment, a @tag nor after @data", where=where,
                                       fix="pass a .ts file in sktime/aeon's format")
            key, _, value = line[1:].partition(" ")
            key = key.lower()
            if key == "data":
                in_data = True
            else:
                header[key] = value.strip()
            continue
        rows.append(line)
        if len(rows) > MAX_CASES:
            raise ForecastlabError(f"more than {MAX_CASES:,} cases", where=where, fix="pass a smaller file")
    if not in_data or not rows:
        raise ForecastlabError("no @data section with cases", where=where, fix="pass a .ts file with data")
    label_tag = header.get("classlabel", "").split()
    if not label_tag or label_tag[0].lower() != "true":
        raise ForecastlabError("the file declares no class labels (@classLabel true ...)", where=where,
                               fix="pass a classification .ts file")
    classes = label_tag[1:]
    cases, labels, shape = [], [], None
    for i, row in enumerate(rows):
        *dims, label = row.split(":")
        try:
            series = [np.array(d.split(","), dtype=np.float64) for d in dims]
        except ValueError:
            raise ForecastlabError(f"case {i + 1} holds a value that is not a number (missing values, '?', are not "
                                   "supported)", where=f"{where}, case {i + 1}", fix="pass complete series") from None
        this = (len(series), len(series[0]) if series else 0)
        if not all(len(s) == this[1] for s in series) or (shape is not None and this != shape) or not this[1]:
            raise ForecastlabError(f"case {i + 1} has {this[0]} channel(s) of length {this[1]}, unlike case 1's "
                                   f"{shape}", where=f"{where}, case {i + 1}",
                                   fix="pass equal-length series with the same channels")
        shape = this
        if len(rows) * this[0] * this[1] > MAX_VALUES:
            raise ForecastlabError(f"{len(rows):,} cases of {this[0]} x {this[1]} values are over the "
                                   f"{MAX_VALUES:,} read", where=where, fix="pass a smaller file")
        if label.strip() not in classes:
            raise ForecastlabError(f"case {i + 1} has label {label.strip()!r}, not one of the declared "
                                   f"{classes}", where=f"{where}, case {i + 1}", fix="fix @classLabel or the label")
        cases.append(np.stack(series, axis=1))
        labels.append(label.strip())
    x = np.stack(cases).astype(np.float32)
    if not np.isfinite(x).all():
        raise ForecastlabError("the series hold NaN or infinite values", where=where, fix="pass complete series")
    return x, labels, classes


def load_ucr(name: str, *, wheel: str | Path | None = None, data_dir: str | Path | None = None,
             download: bool = True) -> LabelledCases:
    """UCR/UEA classification dataset `name` (one of UCR_DATASETS) with its fixed train and test splits,
    read from the pinned aeon wheel (`wheel=`, else the cached one, fetched if missing and download=True)."""
    key = _bundled(name, UCR_DATASETS, "UCR classification dataset")
    path = _wheel(wheel, data_dir=data_dir, download=download)
    inside = UCR_DATASETS[key]["file"]
    parts = {}
    for split in ("TRAIN", "TEST"):
        member = f"{inside}_{split}.ts"
        text = _member(path, member).decode("utf-8", errors="replace")
        parts[split] = read_ts(text, f"{path}!{member}")
    classes = parts["TRAIN"][2]
    if parts["TEST"][2] != classes or parts["TEST"][0].shape[1:] != parts["TRAIN"][0].shape[1:]:
        raise ForecastlabError("the train and test files disagree on classes or shape", where=str(path),
                               fix="pass the pinned aeon wheel")
    index = {c: i for i, c in enumerate(classes)}

    def split(s: str) -> ClassificationSplit:
        return ClassificationSplit(parts[s][0], np.array([index[c] for c in parts[s][1]], dtype=np.int64))

    provenance = {"source": f"UCR/UEA archive via {AEON_WHEEL['package']} ({inside}_TRAIN.ts, _TEST.ts)",
                  "sha256": AEON_WHEEL["sha256"], "license": AEON_WHEEL["license"],
                  "caveats": UCR_DATASETS[key]["caveats"]}
    return LabelledCases(key, split("TRAIN"), split("TEST"), list(classes), provenance)


def load_ucr_anomaly(name: str = "InternalBleeding16", *, wheel: str | Path | None = None,
                     data_dir: str | Path | None = None, download: bool = True):
    """The UCR anomaly series `name` as a forecastlab Series (one column 'value', a 1-hour clock), the
    labelled anomaly ranges (start_row, end_row) inclusive, and the rows of its anomaly-free training part."""
    from forecastlab.data.quality import cell_counts, detect_step, time_report
    from forecastlab.data.series import Provenance, Series

    key = _bundled(name, UCR_ANOMALY, "UCR anomaly series")
    path = _wheel(wheel, data_dir=data_dir, download=download)
    inside = UCR_ANOMALY[key]["file"]
    frames = {}
    for split in ("TRAIN", "TEST"):
        member = f"{inside}_{split}.csv"
        frame = pd.read_csv(io.BytesIO(_member(path, member)))
        if list(frame.columns) != ["timestamp", "value", "is_anomaly"] or frame.isna().any().any():
            raise ForecastlabError(f"{member} is not (timestamp, value, is_anomaly) without gaps", where=str(path),
                                   fix="pass the pinned aeon wheel")
        frames[split] = frame
    test, train = frames["TEST"], frames["TRAIN"]
    train_rows = len(train)
    if not np.array_equal(test["value"].to_numpy()[:train_rows], train["value"].to_numpy()):
        raise ForecastlabError("the TEST series does not begin with the TRAIN series", where=str(path),
                               fix="pass the pinned aeon wheel")
    from forecastlab.data.faults import runs_of

    truth = [(int(a), int(b)) for a, b in runs_of(test["is_anomaly"].to_numpy() == 1)]
    values = test[["value"]].to_numpy(np.float64)
    stamps = (np.datetime64("2000-01-01T00:00:00", "ns") + test["timestamp"].to_numpy().astype("timedelta64[h]"))
    stamps = stamps.astype("datetime64[ns]")
    step = detect_step(stamps)
    quality = {"format": {"kind": "public", "dataset": key, "package": AEON_WHEEL["package"], "jena_format": False,
                          "book_faithful": False, "rows_read": len(test), "time_column": None,
                          "time_index": "built: one row per hour (the archive gives no sampling rate)"},
               "time": time_report(stamps, step), "cells": cell_counts(values, ["value"]), "breaks": 0,
               "public": {"caveats": UCR_ANOMALY[key]["caveats"], "license": AEON_WHEEL["license"],
                          "train_rows": train_rows, "labelled": truth}}
    provenance = Provenance(source="public", path=f"{path}!{inside}_TEST.csv", sha256=AEON_WHEEL["sha256"],
                            rows=len(test), variant=key,
                            note=f"UCR anomaly archive via {AEON_WHEEL['package']}. {UCR_ANOMALY[key]['caveats']}")
    series = Series(timestamps=stamps, values=values.astype(np.float32), columns=["value"], target="value",
                    provenance=provenance, quality=quality, breaks=np.zeros(0, dtype=np.int64))
    return series, truth, train_rows
