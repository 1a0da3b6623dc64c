"""Anomaly detection scored against a labelled public series: `ucr:NAME` read through load_series from a
wheel-shaped zip in the data cache (its sha256 pinned in the test), the benchmark's metrics, the archive's
top-1 score, the CLI's --json; and, with the real aeon wheel at hand, InternalBleeding16 itself."""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from forecastlab.cli import app
from forecastlab.data import load_series, ucr
from forecastlab.errors import ForecastlabError
from forecastlab.tasks.anomaly import detect_anomalies, labelled_benchmark, labelled_truth
from run_helpers import strict_json

INSIDE = "aeon/datasets/data/KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16"


def series_csv(rows: int, anomaly: tuple[int, int], start: int = 0) -> str:
    t = np.arange(rows)
    value = np.sin(2 * np.pi * t / 24) + 0.01 * np.random.default_rng(0).normal(size=rows)
    value[anomaly[0]:anomaly[1] + 1] += 6.0  # a burst far off the cycle
    flag = ((t >= anomaly[0]) & (t <= anomaly[1])).astype(int)
    return "timestamp,value,is_anomaly\n" + "".join(f"{i},{value[i]:.5f},{flag[i]}\n" for i in range(start, rows))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A data cache holding a wheel-shaped zip with a 600-row labelled series (anomaly at rows 400-405)."""
    monkeypatch.setenv("FORECASTLAB_DATA_DIR", str(tmp_path))
    path = tmp_path / "public" / ucr.AEON_WHEEL["name"]
    path.parent.mkdir(parents=True)
    test = series_csv(600, (400, 405))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{INSIDE}_TEST.csv", test)
        zf.writestr(f"{INSIDE}_TRAIN.csv", "".join(test.splitlines(keepends=True)[:201]))
    monkeypatch.setitem(ucr.AEON_WHEEL, "sha256", hashlib.sha256(path.read_bytes()).hexdigest())
    return tmp_path


def test_load_series_reads_a_labelled_series_by_name(cache):
    series = load_series("ucr:InternalBleeding16")
    assert series.columns == ["value"] and len(series) == 600 and series.target == "value"
    truth = labelled_truth(series)
    assert [(e.start, e.end, e.channel) for e in truth] == [(400, 405, "value")]
    assert labelled_truth(load_series("synthetic")) is None
    with pytest.raises(ForecastlabError, match="has one column"):
        load_series("ucr:InternalBleeding16", target="T (degC)")
    with pytest.raises(ForecastlabError, match="not a bundled UCR anomaly series"):
        load_series("ucr:Nope")


def test_the_benchmark_scores_detectors_beside_trivial_ones(cache):
    series = load_series("ucr:InternalBleeding16")
    bench = labelled_benchmark(series, autoencoder=True, autoencoder_steps=150, tolerance_hours=10)
    assert bench["tolerance_rows"] == 10 and bench["labelled"]
    m = bench["metrics"]
    assert {"rules", "autoencoder", "all", "trivial"} <= set(m)
    assert m["autoencoder"]["event_recall"] == 1.0  # the burst is 6 standard deviations off the cycle
    assert set(m["trivial"]) == {"random", "always"}
    top = bench["top1"]["autoencoder"]
    assert top["hit"] and 390 <= top["row"] <= 415
    assert bench["recall_by_kind"] == {"labelled": 1.0}


def test_no_labels_no_labelled_benchmark():
    with pytest.raises(ForecastlabError, match="no labelled anomalies"):
        labelled_benchmark(load_series("synthetic"))


def test_cli_scores_a_labelled_series_by_default(cache):
    done = CliRunner().invoke(app, ["anomalies", "--data", "ucr:InternalBleeding16", "--json",
                                    "--tolerance-hours", "10"])
    assert done.exit_code == 0, done.output
    out = strict_json(done.stdout)
    assert out["benchmark"]["labelled"] and out["benchmark"]["tolerance_rows"] == 10
    assert out["benchmark"]["truth"][0]["start_row"] == 400


REAL = os.environ.get("FORECASTLAB_AEON_WHEEL")


@pytest.mark.skipif(not REAL or not Path(REAL).is_file(),
                    reason="the real aeon wheel is not at hand (set FORECASTLAB_AEON_WHEEL)")
def test_internal_bleeding_16_the_autoencoder_finds_the_labelled_anomaly(tmp_path, monkeypatch):
    monkeypatch.setenv("FORECASTLAB_DATA_DIR", str(tmp_path))
    (tmp_path / "public").mkdir()
    shutil.copy(REAL, tmp_path / "public" / ucr.AEON_WHEEL["name"])
    series = load_series("ucr:InternalBleeding16")
    assert len(series) == 7501 and labelled_truth(series)[0].start == 4187
    bench = labelled_benchmark(series, autoencoder=True, seed=0)
    assert bench["top1"]["autoencoder"]["hit"], bench["top1"]
    assert bench["metrics"]["autoencoder"]["event_recall"] == 1.0
    rules_only = detect_anomalies(series)
    assert rules_only.reconstruction_z is None
