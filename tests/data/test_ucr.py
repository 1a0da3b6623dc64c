"""UCR/UEA series from the pinned aeon wheel: a small wheel-shaped zip built here (its sha256 pinned in
the test, as the real one is in forecastlab.data.ucr), the .ts parser's refusals, the download over a
loopback server, and, when the real wheel is at hand (FORECASTLAB_AEON_WHEEL; scripts/test.sh sets it
from .whl/), the four bundled datasets' published shapes."""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from forecastlab.data import ucr
from forecastlab.errors import ForecastlabError
from loopback_server import LoopbackServer

TRAIN = """# a comment
@problemName GunPoint
@univariate true
@classLabel true 1 2
@data
0.5,1.0,1.5:1
2.0,2.5,3.0:2
1.0,1.0,1.0:1
"""
TEST = """@problemName GunPoint
@classLabel true 1 2
@data
0.0,0.5,1.0:2
1.0,2.0,3.0:1
"""
MOTIONS = """@classLabel true Standing Running
@data
1,2:3,4:Running
5,6:7,8:Standing
"""
ANOMALY_TRAIN = "timestamp,value,is_anomaly\n" + "".join(f"{i},{i * 0.5},0\n" for i in range(4))
ANOMALY_TEST = ANOMALY_TRAIN + "4,9.0,1\n5,9.5,1\n6,3.0,0\n7,3.5,0\n"


def make_wheel(path: Path, members: dict[str, str]) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def wheel(tmp_path, monkeypatch):
    base = "aeon/datasets/data/"
    path = tmp_path / "aeon-1.6.0-py3-none-any.whl"
    sha = make_wheel(path, {
        base + "GunPoint/GunPoint_TRAIN.ts": TRAIN, base + "GunPoint/GunPoint_TEST.ts": TEST,
        base + "BasicMotions/BasicMotions_TRAIN.ts": MOTIONS, base + "BasicMotions/BasicMotions_TEST.ts": MOTIONS,
        base + "KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16_TRAIN.csv": ANOMALY_TRAIN,
        base + "KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16_TEST.csv": ANOMALY_TEST,
    })
    monkeypatch.setitem(ucr.AEON_WHEEL, "sha256", sha)
    return path


def test_load_ucr_reads_cases_labels_and_provenance(wheel):
    cases = ucr.load_ucr("gunpoint", wheel=wheel)  # any capitalization
    assert cases.name == "GunPoint" and cases.classes == ["1", "2"]
    assert cases.train.x.shape == (3, 3, 1) and cases.train.x.dtype == np.float32
    np.testing.assert_array_equal(cases.train.x[:, :, 0], [[0.5, 1.0, 1.5], [2.0, 2.5, 3.0], [1.0, 1.0, 1.0]])
    assert cases.train.y.tolist() == [0, 1, 0] and cases.test.y.tolist() == [1, 0]
    assert cases.summary()["n_test"] == 2 and cases.provenance["sha256"] == ucr.AEON_WHEEL["sha256"]
    assert "BSD-3-Clause" in cases.provenance["license"]


def test_multivariate_cases_put_channels_last(wheel):
    cases = ucr.load_ucr("BasicMotions", wheel=wheel)
    assert cases.train.x.shape == (2, 2, 2) and cases.channels == 2 and cases.length == 2
    np.testing.assert_array_equal(cases.train.x[0], [[1, 3], [2, 4]])  # channel 0 is 1,2; channel 1 is 3,4
    assert [cases.classes[i] for i in cases.train.y] == ["Running", "Standing"]


def test_a_wheel_that_is_not_the_pinned_one_is_never_read(wheel, monkeypatch):
    monkeypatch.setitem(ucr.AEON_WHEEL, "sha256", "0" * 64)
    with pytest.raises(ForecastlabError, match="not the pinned one") as err:
        ucr.load_ucr("GunPoint", wheel=wheel)
    assert str(wheel) in str(err.value)


def test_missing_members_and_unknown_names_are_clear(wheel):
    with pytest.raises(ForecastlabError, match="no aeon/datasets/data/ArrowHead/ArrowHead_TRAIN.ts"):
        ucr.load_ucr("ArrowHead", wheel=wheel)
    with pytest.raises(ForecastlabError, match="not a bundled UCR classification dataset") as err:
        ucr.load_ucr("Mnist", wheel=wheel)
    assert "GunPoint" in err.value.fix
    with pytest.raises(ForecastlabError, match="cannot read the aeon wheel"):
        ucr.load_ucr("GunPoint", wheel=wheel.with_name("absent.whl"))


def test_without_download_and_without_a_cached_wheel_it_says_how(tmp_path):
    with pytest.raises(ForecastlabError, match="not in") as err:
        ucr.load_ucr("GunPoint", data_dir=tmp_path, download=False)
    assert "--ucr-wheel" in err.value.fix or "wheel=" in err.value.fix


@pytest.mark.parametrize(("text", "needle"), [
    ("@classLabel true a b\n@data\n1,?,3:a\n", "not a number"),
    ("@classLabel false\n@data\n1,2,3\n", "no class labels"),
    ("@classLabel true a b\n@data\n1,2,3:a\n1,2:b\n", "case 2 has 1 channel(s) of length 2"),
    ("@classLabel true a b\n@data\n1,2,3:c\n", "label 'c'"),
    ("@classLabel true a b\n", "no @data"),
    ("oops\n@data\n", "line 1"),
    ("@classLabel true a b\n@data\n1,nan,3:a\n", "NaN"),
])
def test_read_ts_refuses_what_it_cannot_read(text, needle):
    with pytest.raises(ForecastlabError, match=re.escape(needle)):
        ucr.read_ts(text, "x.ts")


def test_the_anomaly_series_has_a_clock_truth_and_training_part(wheel):
    series, truth, train_rows = ucr.load_ucr_anomaly("InternalBleeding16", wheel=wheel)
    assert series.columns == ["value"] and len(series) == 8 and train_rows == 4
    assert truth == [(4, 5)]
    assert (np.diff(series.timestamps) == np.timedelta64(1, "h")).all()
    assert series.quality["public"]["labelled"] == [(4, 5)]


def test_the_wheel_is_downloaded_once_over_http_and_checked(wheel, tmp_path):
    body = wheel.read_bytes()
    with LoopbackServer() as srv:
        url = srv.add("/aeon.whl", body)
        got = ucr.fetch_aeon_wheel(data_dir=tmp_path / "cache", url=url, timeout=10)
        assert got.read_bytes() == body and got.name == ucr.AEON_WHEEL["name"]
        assert ucr.load_ucr("GunPoint", data_dir=tmp_path / "cache", download=False).train.x.shape == (3, 3, 1)
        ucr.fetch_aeon_wheel(data_dir=tmp_path / "cache", url=url, timeout=10)  # cached: no second request
        assert srv.requests["/aeon.whl"] == 1
        bad = srv.add("/bad.whl", body + b"tampered")
        with pytest.raises(ForecastlabError, match="cannot download the aeon wheel"):
            ucr.fetch_aeon_wheel(data_dir=tmp_path / "other", url=bad, timeout=10)
        assert not (tmp_path / "other" / "public" / ucr.AEON_WHEEL["name"]).exists()


REAL = os.environ.get("FORECASTLAB_AEON_WHEEL")


@pytest.mark.skipif(not REAL or not Path(REAL).is_file(),
                    reason="the real aeon wheel is not at hand (set FORECASTLAB_AEON_WHEEL; scripts/test.sh "
                    "downloads it into .whl/)")
@pytest.mark.parametrize(("name", "shape"), [
    ("GunPoint", (50, 150, 150, 1, 2)), ("ArrowHead", (36, 175, 251, 1, 3)),
    ("ItalyPowerDemand", (67, 1029, 24, 1, 2)), ("BasicMotions", (40, 40, 100, 6, 4)),
])
def test_the_real_wheel_holds_the_published_datasets(name, shape):
    cases = ucr.load_ucr(name, wheel=REAL)
    assert (len(cases.train.y), len(cases.test.y), cases.length, cases.channels, len(cases.classes)) == shape
    assert set(np.unique(cases.test.y)) == set(range(len(cases.classes)))
