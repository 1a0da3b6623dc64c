"""The exported artifact: self-contained (the run directory can go), the same forecasts as the run for every
kind of model, no pickle, every tampered, truncated, added, missing or newer-format file refused by name,
nothing imported from it, and the optional ONNX graph equal to torch through onnxruntime."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys

import numpy as np
import pytest

from forecastlab.deploy.artifact import (
    MANIFEST,
    META,
    WEIGHTS,
    export_run,
    is_artifact,
    load_artifact,
    load_model,
    verify,
)
from forecastlab.errors import ForecastlabError
from forecastlab.training import load_run
from forecastlab.training.loading import predict


def _windows(run, count=9, seed=3):
    rng = np.random.default_rng(seed)
    mean, std = run.normalizer.mean_, run.normalizer.std_
    return (mean + std * rng.standard_normal((count, run.sequence_length, len(mean)))).astype(np.float32)


def _copy(artifact, tmp_path, name="copy"):
    return shutil.copytree(artifact, tmp_path / name)


def _rewrite_manifest(root):
    """What an attacker who edits files can also do: make the manifest match again."""
    manifest = json.loads((root / MANIFEST).read_text())
    for rel, entry in manifest["files"].items():
        data = (root / rel).read_bytes()
        entry |= {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (root / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize("kind", ["lstm", "lightgbm", "ensemble"])
def test_artifact_forecasts_exactly_as_the_run_and_stands_alone(runs, artifacts, kind, tmp_path):
    run = load_run(runs[kind])
    alone = shutil.copytree(artifacts[kind], tmp_path / "moved")  # elsewhere, without the run directory
    art = load_artifact(alone)
    windows = _windows(run)
    ends = np.datetime64("2009-02-01T00:00", "ns") + np.arange(len(windows)) * np.timedelta64(7, "h")
    np.testing.assert_array_equal(predict(art, windows, end_times=ends), predict(run, windows, end_times=ends))
    assert art.config == run.config and art.metrics["test_mae"] == run.metrics["test_mae"]
    assert art.calibration.to_dict() == run.calibration.to_dict()
    assert is_artifact(alone) and not is_artifact(runs[kind])
    assert load_model(alone).config == load_model(runs[kind]).config


def test_artifact_holds_no_pickle_and_describes_itself(artifacts):
    files = verify(artifacts["lstm"])["files"]
    assert set(files) == {MANIFEST.replace(MANIFEST, META), WEIGHTS, "model.onnx"}
    assert (artifacts["lstm"] / WEIGHTS).read_bytes()[8:9] == b"{"  # safetensors: a length, then a JSON header
    meta = json.loads((artifacts["lstm"] / META).read_text())
    assert meta["kind"] == "torch" and meta["summary"]["target"] == "T (degC)"
    assert meta["summary"]["rows_needed"] == 139 and meta["summary"]["ahead"] == ["6h"]
    assert meta["config"]["normalizer"]["mean"] and meta["config"]["head"]["horizons"] == 1
    assert meta["metrics"]["intervals"]["level"] == 0.8 and meta["source"]["config_sha256"]
    lgbm = verify(artifacts["lightgbm"])["files"]
    boosters = [rel for rel in lgbm if rel.startswith("model/booster")]
    assert boosters and all((artifacts["lightgbm"] / rel).read_text().startswith("tree") for rel in boosters)
    ens = verify(artifacts["ensemble"])["files"]
    assert {"model/members/00/weights.safetensors", "model/members/01/manifest.json"} <= set(ens)
    everything = [p for name in artifacts for p in artifacts[name].rglob("*") if p.is_file()]
    assert not [p for p in everything if p.suffix in (".pt", ".pkl", ".pickle")]


@pytest.mark.parametrize(("damage", "needle"), [
    ("flip", "does not match the sha256"),
    ("truncate", "truncated"),
    ("extra", "which its manifest does not list"),
    ("missing", "which its manifest lists"),
])
def test_damaged_artifact_refused_naming_the_file(artifacts, tmp_path, damage, needle):
    root = _copy(artifacts["lstm"], tmp_path)
    weights = root / WEIGHTS
    data = bytearray(weights.read_bytes())
    if damage == "flip":
        data[-1] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "truncate":
        weights.write_bytes(bytes(data[:-10]))
    elif damage == "extra":
        (root / "notes.txt").write_text("hello")
    else:
        weights.unlink()
    with pytest.raises(ForecastlabError) as err:
        load_artifact(root)
    assert needle in err.value.what
    assert err.value.where == str(root / ("notes.txt" if damage == "extra" else WEIGHTS))


def test_damaged_member_of_an_ensemble_refused(artifacts, tmp_path):
    root = _copy(artifacts["ensemble"], tmp_path)
    target = root / "model/members/01/artifact.json"
    target.write_text(target.read_text().replace('"lightgbm"', '"lightgbm" ', 1))
    with pytest.raises(ForecastlabError, match="manifest records|does not match"):
        load_artifact(root)


def test_newer_format_and_foreign_manifest_refused(artifacts, tmp_path):
    root = _copy(artifacts["lstm"], tmp_path)
    manifest = json.loads((root / MANIFEST).read_text())
    (root / MANIFEST).write_text(json.dumps(manifest | {"format_version": 99}))
    with pytest.raises(ForecastlabError, match="format 99") as err:
        load_artifact(root)
    assert "upgrade forecastlab" in err.value.fix
    (root / MANIFEST).write_text(json.dumps(manifest | {"format": "something-else"}))
    with pytest.raises(ForecastlabError, match="not a forecastlab artifact"):
        load_artifact(root)
    (root / MANIFEST).write_text("{not json")
    with pytest.raises(ForecastlabError, match="not valid JSON"):
        load_artifact(root)


def test_a_link_in_the_artifact_refused(artifacts, tmp_path):
    root = _copy(artifacts["lstm"], tmp_path)
    (root / "link").symlink_to(root / WEIGHTS)
    with pytest.raises(ForecastlabError, match="symbolic link"):
        load_artifact(root)


def test_nothing_is_imported_from_an_artifact_even_with_a_matching_manifest(artifacts, tmp_path):
    root = _copy(artifacts["lstm"], tmp_path)
    marker = tmp_path / "ran"
    (root / "evil_module.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    meta = json.loads((root / META).read_text())
    meta["config"]["model"]["class"] = "evil_module:Model"
    (root / META).write_text(json.dumps(meta))
    manifest = json.loads((root / MANIFEST).read_text())
    manifest["files"]["evil_module.py"] = {"sha256": "", "bytes": 0}
    (root / MANIFEST).write_text(json.dumps(manifest))
    _rewrite_manifest(root)
    sys.path.insert(0, str(root))
    try:
        with pytest.raises(ForecastlabError, match="classes are never imported"):
            load_artifact(root)
        meta["config"]["model"] |= {"name": "evil_module", "class": None}
        meta["config"]["model"]["config"]["name"] = "evil_module"
        meta["config"]["extra"]["recipe"]["model"]["name"] = "evil_module"
        (root / META).write_text(json.dumps(meta))
        _rewrite_manifest(root)
        with pytest.raises(ForecastlabError, match="not a registered forecastlab model"):
            load_artifact(root)
    finally:
        sys.path.remove(str(root))
    assert not marker.exists() and "evil_module" not in sys.modules


def test_export_refuses_to_replace_what_it_did_not_write(runs, artifacts, tmp_path):
    with pytest.raises(ForecastlabError, match="already exists"):
        export_run(runs["lstm"], artifacts["lstm"])
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    with pytest.raises(ForecastlabError, match="is not a forecastlab artifact; it is never replaced"):
        export_run(runs["lstm"], other, overwrite=True)
    assert (other / "thesis.tex").read_text() == "precious"
    again = export_run(runs["lightgbm"], _copy(artifacts["lstm"], tmp_path, "art"), overwrite=True)
    assert json.loads((again / META).read_text())["kind"] == "estimator" and not (again / WEIGHTS).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_export_refuses_an_unfinished_run(runs, tmp_path):
    run = shutil.copytree(runs["lstm"], tmp_path / "run")
    (run / "metrics.json").unlink()
    with pytest.raises(ForecastlabError, match="has not finished"):
        export_run(run, tmp_path / "art")
    assert not (tmp_path / "art").exists()


def test_onnx_graph_matches_torch_through_onnxruntime(runs, artifacts):
    ort = pytest.importorskip("onnxruntime")
    meta = json.loads((artifacts["lstm"] / META).read_text())["onnx"]
    assert meta["check"]["checked"] and meta["check"]["max_abs_diff"] <= 1e-4
    session = ort.InferenceSession(str(artifacts["lstm"] / "model.onnx"), providers=["CPUExecutionProvider"])
    run = load_run(runs["lstm"])
    for count in (1, 5, 33):  # batch sizes other than the traced one
        windows = _windows(run, count=count, seed=count)
        got = session.run(["forecasts"], {"windows": windows})[0]
        np.testing.assert_allclose(got, predict(run, windows), atol=1e-4, rtol=0)


def test_onnx_refused_for_a_model_that_is_not_torch(runs, tmp_path):
    with pytest.raises(ForecastlabError, match="not a torch model"):
        export_run(runs["lightgbm"], tmp_path / "art", onnx=True)
    assert not (tmp_path / "art").exists()
