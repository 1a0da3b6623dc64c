"""A saved classifier or event detector exported as an artifact (`forecastlab export FOLDER --out ART`):
it answers exactly as the folder did, in Python, through `classify --run`, `events --run` and a real
`serve` process; its manifest is checked first, so a changed, truncated or added file is refused by name
everywhere; the forecaster loader, ONNX and an in-artifact report are refused with what to do instead."""

from __future__ import annotations

import json
import shutil
import sys

import httpx
import numpy as np
import pandas as pd
import pytest
from serving import Server

from forecastlab.data import load_series
from forecastlab.deploy.artifact import (
    export,
    export_classifier,
    load_artifact,
    load_classifier_artifact,
    open_classifier,
    verify,
)
from forecastlab.deploy.report import write_report
from forecastlab.errors import ForecastlabError
from forecastlab.tasks.classification import classify_cases, classify_frost, load_classifier
from forecastlab.tasks.events import detect_fronts
from run_helpers import TESTS, clean_error, cli, strict_json

sys.path.insert(0, str(TESTS / "tasks"))
from test_classification import frost_csv, shapes_cases  # noqa: E402


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A frost classifier, a cases classifier and a front detector, saved, and the rows of a fresh window."""
    root = tmp_path_factory.mktemp("classifier-artifacts")
    series = load_series(frost_csv(root / "frost.csv"))
    classify_frost(series, model="fcn", model_params={"filters": 4}, epochs=1, max_steps=3, batch_size=64,
                   stride=6).classifier.save(root / "frost")
    classify_cases(shapes_cases(), model="fcn", model_params={"filters": 4}, epochs=2,
                   batch_size=8).classifier.save(root / "shapes")
    detect_fronts(load_series("synthetic", freq="1h"), model_params={"units": 4}, epochs=1, max_steps=3,
                  seed=0).classifier.save(root / "fronts")
    pd.read_csv(root / "frost.csv").tail(900).to_csv(root / "recent.csv", index=False)
    return root


def test_exported_classifiers_answer_exactly_as_their_folders(saved, tmp_path):
    for name in ("frost", "fronts"):
        recent = load_series(saved / "recent.csv", **({"freq": "1h"} if name == "fronts" else {}))
        art = export(saved / name, tmp_path / name)
        assert sorted(json.loads((art / "manifest.json").read_text())["files"]) == [
            "artifact.json", "classifier.json", "weights.safetensors"]
        assert open_classifier(art).frost_outlook(recent) == load_classifier(saved / name).frost_outlook(recent)
    cases = shapes_cases()
    art = export_classifier(saved / "shapes", tmp_path / "shapes")
    np.testing.assert_array_equal(load_classifier_artifact(art).predict_proba(cases.test.x),
                                  load_classifier(saved / "shapes").predict_proba(cases.test.x))
    meta = json.loads((art / "artifact.json").read_text())
    assert meta["kind"] == "classifier" and meta["summary"]["task"] == "ucr"
    assert meta["summary"]["input"] == {"length": cases.train.x.shape[1], "channels": 1}
    assert meta["summary"]["classes"] == cases.classes and "macro_f1" in meta["summary"]["test"]
    # the artifact stands alone: the folder it came from is gone
    moved = shutil.copytree(art, tmp_path / "elsewhere")
    shutil.rmtree(art)
    assert verify(moved)["files"] and load_classifier_artifact(moved).classes == cases.classes


@pytest.mark.parametrize(("damage", "needle"), [
    (lambda a: (a / "weights.safetensors").write_bytes((a / "weights.safetensors").read_bytes()[:-8]), "truncated"),
    (lambda a: (a / "classifier.json").write_text((a / "classifier.json").read_text().replace('"frost"', '"FROST"')),
     "does not match the sha256"),
    (lambda a: (a / "notes.txt").write_text("hi"), "which its manifest does not list"),
])
def test_a_damaged_classifier_artifact_is_refused_by_name_everywhere(saved, tmp_path, damage, needle):
    art = export(saved / "frost", tmp_path / "art")
    damage(art)
    for load in (open_classifier, load_classifier_artifact):
        with pytest.raises(ForecastlabError, match=needle):
            load(art)
    clean_error(cli("classify", "--run", art, "--data", saved / "recent.csv", cwd=tmp_path), needle)
    clean_error(cli("serve", art, "--port", 0, cwd=tmp_path, timeout=60), needle)


def test_classifier_artifacts_refuse_what_they_are_not(saved, tmp_path):
    art = export(saved / "frost", tmp_path / "art")
    with pytest.raises(ForecastlabError, match="holds a classifier or event detector, not a forecaster") as err:
        load_artifact(art)
    assert "forecastlab serve" in err.value.fix
    with pytest.raises(ForecastlabError, match="ONNX export is for forecasters"):
        export(saved / "frost", tmp_path / "onnx", onnx=True)
    assert not (tmp_path / "onnx").exists()
    with pytest.raises(ForecastlabError, match="already exists"):
        export(saved / "frost", art)
    with pytest.raises(ForecastlabError, match="is not a forecastlab artifact; it is never replaced"):
        export(saved / "frost", saved / "shapes", overwrite=True)
    assert load_classifier(saved / "shapes").classes != ["no frost", "frost"]  # untouched
    with pytest.raises(ForecastlabError, match="the report is not written into it"):
        write_report(art)
    report = write_report(art, out=tmp_path / "frost.html")
    assert "frost" in report.read_text() and verify(art)  # the artifact is unchanged by its report


def test_export_classify_events_and_serve_through_the_cli(saved, tmp_path):
    done = cli("export", saved / "frost", "--out", tmp_path / "frost-art", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = strict_json(done.stdout)
    assert result["kind"] == "classifier" and result["summary"]["input"]["rows"] == 715
    said = cli("export", saved / "fronts", "--out", tmp_path / "fronts-art", cwd=tmp_path)
    assert said.returncode == 0 and "forecastlab events --run" in said.stdout, said.stderr
    expected = load_classifier(saved / "frost").frost_outlook(load_series(saved / "recent.csv"))
    outlook = strict_json(cli("classify", "--run", tmp_path / "frost-art", "--data", saved / "recent.csv", "--json",
                              cwd=tmp_path).stdout)
    assert outlook["probabilities"] == expected["probabilities"]
    flagged = cli("events", "--run", tmp_path / "fronts-art", "--data", saved / "recent.csv", "--json", cwd=tmp_path)
    assert flagged.returncode == 0 and "probabilities" in strict_json(flagged.stdout), flagged.stderr
    srv = Server(tmp_path / "frost-art", tmp_path)
    try:
        answer = httpx.post(srv.url + "/classify", content=(saved / "recent.csv").read_bytes(),
                            headers={"Content-Type": "text/csv"}, timeout=30).json()
        assert answer["predicted"] == expected["predicted"]
        for c, p in expected["probabilities"].items():
            assert answer["probabilities"][c] == pytest.approx(p, rel=1e-6)
    finally:
        _out, err = srv.stop()
    assert "Traceback" not in err, err
