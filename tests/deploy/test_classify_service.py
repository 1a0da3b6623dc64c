"""`forecastlab serve` on a saved classifier, as a real server process on loopback: a frost classifier
answers CSV and JSON records with what frost_outlook gives in-process, a cases classifier answers
{"cases": ...} with predict_proba's numbers, bad requests are precise 4xx, and the token is checked."""

from __future__ import annotations

import sys

import httpx
import numpy as np
import pandas as pd
import pytest
from serving import Server

from forecastlab.data import load_series
from forecastlab.tasks.classification import classify_cases, classify_frost, load_classifier
from run_helpers import TESTS

sys.path.insert(0, str(TESTS / "tasks"))
from test_classification import frost_csv, shapes_cases  # noqa: E402

TOKEN = "a-long-enough-test-token-123"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("classify-serve")
    series = load_series(frost_csv(root / "frost.csv"))
    classify_frost(series, model="fcn", model_params={"filters": 4}, epochs=1, max_steps=3, batch_size=64,
                   stride=6).classifier.save(root / "frost")  # default derived inputs: the server makes them
    classify_cases(shapes_cases(), model="fcn", model_params={"filters": 4}, epochs=3,
                   batch_size=8).classifier.save(root / "shapes")
    pd.read_csv(root / "frost.csv").tail(900).to_csv(root / "recent.csv", index=False)
    return root


@pytest.fixture(scope="module")
def frost_server(saved):
    srv = Server(saved / "frost", saved)
    yield srv
    _out, err = srv.stop()
    assert "Traceback" not in err, err


def test_frost_classifier_answers_csv_and_records_as_in_process(saved, frost_server):
    expected = load_classifier(saved / "frost").frost_outlook(load_series(saved / "recent.csv"))
    csv = (saved / "recent.csv").read_bytes()
    by_csv = httpx.post(frost_server.url + "/classify", content=csv, headers={"Content-Type": "text/csv"}).json()
    records = pd.read_csv(saved / "recent.csv").to_dict(orient="records")
    by_json = httpx.post(frost_server.url + "/classify", json={"records": records}, timeout=30).json()
    for answer in (by_csv, by_json):
        assert answer["origin"] == expected["origin"] and answer["predicted"] == expected["predicted"]
        for c, p in expected["probabilities"].items():
            assert answer["probabilities"][c] == pytest.approx(p, rel=1e-6)
    model = httpx.get(frost_server.url + "/model").json()
    assert model["classes"] == ["no frost", "frost"] and model["input"]["rows"] == 715
    assert "hour sin" not in model["input"]["columns"]  # derived inputs are made by the server, not sent
    assert set(model["metrics"]) == {"val", "test"} and "frost.csv" not in str(model)  # no training-file path


@pytest.mark.parametrize(("kwargs", "status", "needle"), [
    ({"content": b"{oops", "headers": {"Content-Type": "application/json"}}, 400, "not valid JSON"),
    ({"json": {"cases": [[1, 2]]}}, 400, 'exactly one key, "records"'),
    ({"content": b"x", "headers": {"Content-Type": "image/png"}}, 415, "is not accepted"),
    ({"content": b"Date Time,p (mbar)\n01.01.2009 00:10:00,996\n", "headers": {"Content-Type": "text/csv"}}, 422,
     ""),
])
def test_bad_frost_requests_get_a_precise_4xx(frost_server, kwargs, status, needle):
    answer = httpx.post(frost_server.url + "/classify", **kwargs)
    assert answer.status_code == status, answer.text
    assert needle in answer.json()["error"] and answer.json()["fix"]


def test_cases_classifier_answers_with_predict_proba_and_checks_shape_and_token(saved):
    cases = shapes_cases()
    expected = load_classifier(saved / "shapes").predict_proba(cases.test.x[:5])
    srv = Server(saved / "shapes", saved, "--token", TOKEN)
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        body = {"cases": cases.test.x[:5, :, 0].tolist()}
        assert httpx.post(srv.url + "/classify", json=body).status_code == 401
        answer = httpx.post(srv.url + "/classify", json=body, headers=auth).json()
        got = np.array([[p["probabilities"][c] for c in ("sine", "square")] for p in answer["predictions"]])
        np.testing.assert_allclose(got, expected, rtol=1e-6)
        short = httpx.post(srv.url + "/classify", json={"cases": [[1.0, 2.0]]}, headers=auth)
        assert short.status_code == 422 and "this classifier reads (cases, 48, 1)" in short.json()["error"]
        ragged = httpx.post(srv.url + "/classify", json={"cases": [[1.0], [1.0, 2.0]]}, headers=auth)
        assert ragged.status_code == 422 and "equal-length lists of numbers" in ragged.json()["error"]
        many = httpx.post(srv.url + "/classify", json={"cases": [[0.0]] * 1025}, headers=auth)
        assert many.status_code == 413
        assert httpx.get(srv.url + "/health").status_code == 200  # open without the token
        assert httpx.get(srv.url + "/model", headers=auth).json()["input"] == {"length": 48, "channels": 1}
    finally:
        _out, err = srv.stop()
    assert "Traceback" not in err, err


def test_report_of_a_classifier_holds_leaderboard_confusion_and_curves(saved, tmp_path):
    from typer.testing import CliRunner

    from forecastlab.cli import app

    done = CliRunner().invoke(app, ["report", str(saved / "frost"), "--out", str(tmp_path / "r.html"), "--json"])
    assert done.exit_code == 0, done.output
    html = (tmp_path / "r.html").read_text()
    for needle in ("frost in the past 24 h", "temperature now below t", "Test confusion matrix", "no frost",
                   "data:image/png;base64,", "Training curves"):
        assert needle in html, needle
    assert "http://" not in html and "https://" not in html  # one self-contained file
    done = CliRunner().invoke(app, ["report", str(saved / "frost"), "--out", str(tmp_path / "r.html")])
    assert done.exit_code != 0  # not overwritten unless asked


def test_an_event_detector_answers_10_minute_rows_as_events_run_does(tmp_path):
    """A front detector works on hourly rows: the service resamples 10-minute rows as `events --run` does
    (it read them as they came, so its 24-row window was 4 hours, and answered another probability)."""
    from forecastlab.data.synthetic import write_csv
    from forecastlab.tasks.events import detect_fronts
    from forecastlab.tasks.recipes import load_event_series

    csv = write_csv(tmp_path / "weather.csv", seed=4, start="01.01.2009 00:10:00", end="02.03.2009 00:00:00")
    result = detect_fronts(load_event_series(str(csv)), model_params={"units": 4}, epochs=1, max_steps=3, seed=0)
    folder = result.classifier.save(tmp_path / "fronts")
    recent = tmp_path / "recent.csv"
    pd.read_csv(csv).tail(6 * 24 * 4).to_csv(recent, index=False)  # four days of 10-minute rows
    expected = load_classifier(folder).frost_outlook(load_event_series(str(recent)))
    srv = Server(folder, tmp_path)
    try:
        got = httpx.post(srv.url + "/classify", content=recent.read_bytes(), headers={"Content-Type": "text/csv"},
                         timeout=60).json()
    finally:
        _out, err = srv.stop()
    assert "Traceback" not in err, err
    assert got["origin"] == expected["origin"], got
    for c, p in expected["probabilities"].items():
        assert got["probabilities"][c] == pytest.approx(p, rel=1e-6)
