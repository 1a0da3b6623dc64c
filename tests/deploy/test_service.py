"""`forecastlab serve` as a real server process on loopback: the forecast equals `predict --json`, every bad
request is a 4xx with a precise message (never a 500), bodies and concurrent work are bounded (413, 503),
the token is checked on every request but /health, and a non-loopback address without a token is refused."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pandas as pd
import pytest
from serving import Server, free_port

from forecastlab.deploy.service import check_bind, is_loopback
from forecastlab.errors import ForecastlabError
from run_helpers import clean_error, cli

TOKEN = "a-long-enough-test-token-123"


@pytest.fixture(scope="module")
def recent(runs):
    return pd.read_csv(runs["csv"]).tail(200)


@pytest.fixture(scope="module")
def server(artifacts, runs):
    srv = Server(artifacts["lstm"], runs["root"], "--max-body-mb", "0.5")
    yield srv
    out, err = srv.stop()
    assert "Traceback" not in err, err


def test_forecast_from_csv_and_records_equals_predict_json(server, artifacts, runs, recent):
    csv = runs["root"] / "recent.csv"
    recent.to_csv(csv, index=False)
    done = cli("predict", artifacts["lstm"], "--input", csv, "--json", cwd=runs["root"])
    assert done.returncode == 0, done.stderr
    expected = json.loads(done.stdout)
    by_csv = httpx.post(server.url + "/forecast", content=csv.read_bytes(), headers={"Content-Type": "text/csv"})
    assert by_csv.status_code == 200, by_csv.text
    by_json = httpx.post(server.url + "/forecast", json={"records": recent.to_dict(orient="records")})
    assert by_json.status_code == 200, by_json.text
    for got in (by_csv.json(), by_json.json()):
        assert {k: v for k, v in got.items() if k != "input"} == {k: v for k, v in expected.items() if k != "input"}
    batch = httpx.post(server.url + "/forecast/batch",
                       json={"inputs": [{"records": recent.to_dict(orient="records")}] * 3})
    assert batch.status_code == 200 and [f["forecasts"] for f in batch.json()["forecasts"]] == \
        [expected["forecasts"]] * 3


def test_health_model_and_openapi(server):
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok" and health["model"] == "lstm"
    model = httpx.get(server.url + "/model").json()
    assert model["requirements"]["rows"] == 139 and model["unit"] == "degC" and model["test_mae"] > 0
    assert "path" not in model["data"]  # the training file's location is not given away
    schema = httpx.get(server.url + "/openapi.json").json()
    body = schema["paths"]["/forecast"]["post"]["requestBody"]["content"]
    assert {"text/csv", "application/json"} <= set(body)
    assert {"400", "413", "415", "422", "503"} <= set(schema["paths"]["/forecast"]["post"]["responses"])


@pytest.mark.parametrize(("kwargs", "status", "needle"), [
    ({"content": b"Date Time,p (mbar)\n01.01.2009 00:10:00,996\n", "headers": {"Content-Type": "text/csv"}}, 422,
     "lacks the column"),
    ({"content": b"{oops", "headers": {"Content-Type": "application/json"}}, 400, "not valid JSON"),
    ({"json": {"rows": []}}, 400, 'exactly one key, "records"'),
    ({"json": {"records": [{"a": [1]}]}}, 422, "not a number or text"),
    ({"content": b"x", "headers": {"Content-Type": "image/png"}}, 415, "is not accepted"),
    ({"content": b"", "headers": {"Content-Type": "text/csv"}}, 422, "empty"),
    ({"content": b"\xff\xfe\x00garbage\x00", "headers": {"Content-Type": "text/csv"}}, 422, ""),
    ({"json": {"inputs": [{"records": [{"a": 1}]}] * 300}}, 413, "more than the 64"),
])
def test_bad_requests_get_a_precise_4xx(server, kwargs, status, needle):
    url = server.url + ("/forecast/batch" if "inputs" in str(kwargs.get("json")) else "/forecast")
    answer = httpx.post(url, **kwargs)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert needle in body["error"] and body["fix"]


def test_too_large_a_body_is_413_without_reading_it(server):
    answer = httpx.post(server.url + "/forecast", content=b"a" * (600 << 10), headers={"Content-Type": "text/csv"})
    assert answer.status_code == 413 and "larger than 524,288 bytes" in answer.json()["error"]


def test_saturated_service_answers_503_and_recovers(artifacts, runs, recent):
    srv = Server(artifacts["lightgbm"], runs["root"], "--max-concurrency", "1")
    try:
        body = {"inputs": [{"records": recent.to_dict(orient="records")}] * 64}
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: httpx.post(srv.url + "/forecast/batch", json=body, timeout=60).status_code,
                                  range(8)))
        assert 503 in codes and 200 in codes and set(codes) <= {200, 503}, codes
        assert httpx.post(srv.url + "/forecast/batch", json=body, timeout=60).status_code == 200
    finally:
        srv.stop()


def test_token_is_required_on_every_request_but_health(artifacts, runs):
    srv = Server(artifacts["lstm"], runs["root"], env={"FORECASTLAB_API_TOKEN": TOKEN})
    try:
        assert httpx.get(srv.url + "/health").status_code == 200
        for path in ("/model", "/openapi.json", "/docs"):
            assert httpx.get(srv.url + path).status_code == 401
        assert httpx.post(srv.url + "/forecast", json={"records": [{"a": 1}]}).status_code == 401
        assert httpx.get(srv.url + "/model", headers={"Authorization": "Bearer wrong-token-wrong-token"}
                         ).status_code == 401
        assert httpx.get(srv.url + "/model", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert httpx.get(srv.url + "/model", headers={"X-API-Token": TOKEN}).status_code == 200
    finally:
        srv.stop()


def test_non_loopback_address_without_a_token_is_refused_before_binding(artifacts, runs):
    done = cli("serve", artifacts["lstm"], "--host", "0.0.0.0", "--port", free_port(), cwd=runs["root"],
               env={"FORECASTLAB_API_TOKEN": ""}, timeout=60)
    clean_error(done, "serving on '0.0.0.0'", "no API token is set", "--token")


def test_a_port_in_use_is_refused_with_a_clean_error(artifacts, runs):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("serve", artifacts["lstm"], "--port", port, cwd=runs["root"], timeout=60)
    clean_error(done, f"cannot listen on 127.0.0.1:{port}", "another forecastlab serve", "--port 0")


def test_records_in_any_key_order_get_the_same_forecast_over_http(server, recent):
    records = recent.to_dict(orient="records")
    want = httpx.post(server.url + "/forecast", json={"records": records})
    assert want.status_code == 200, want.text
    shuffled = [dict(reversed(list(r.items()))) for r in records]
    got = httpx.post(server.url + "/forecast", json={"records": shuffled})
    assert got.status_code == 200 and got.json()["forecasts"] == want.json()["forecasts"], got.text
    last = [dict(r) for r in records]
    last[-1]["rh (%)"] = None  # the origin is the last row: refused, not moved back a step
    bad = httpx.post(server.url + "/forecast", json={"records": last})
    assert bad.status_code == 422 and "last row at" in bad.text and "record 199" in bad.text, bad.text


def test_bind_rules():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.com")
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", TOKEN)
    with pytest.raises(ForecastlabError, match="no API token"):
        check_bind("::", None)
    with pytest.raises(ForecastlabError, match="shorter than 16"):
        check_bind("0.0.0.0", "short")


def test_serve_refuses_a_damaged_artifact_with_a_clean_error(artifacts, runs, tmp_path):
    import shutil

    root = shutil.copytree(artifacts["lstm"], tmp_path / "art")
    (root / "weights.safetensors").write_bytes(b"nope")
    done = cli("serve", root, "--port", free_port(), cwd=runs["root"], timeout=60)
    clean_error(done, "weights.safetensors is 4 bytes but the manifest records")


def test_anomalies_of_posted_rows_are_the_command_s_and_short_inputs_get_the_rules_alone(server, artifacts, runs):
    frame = pd.read_csv(runs["csv"])
    frame.loc[400:405, "T (degC)"] = -9999.0  # a sentinel run and a spike, as a sensor would send them
    frame.loc[900, "p (mbar)"] += 60
    csv = runs["root"] / "faulty.csv"
    frame.to_csv(csv, index=False)
    done = cli("anomalies", "--run", runs["lstm"], "--data", csv, "--json", cwd=runs["root"])  # the served run
    assert done.returncode == 0, done.stderr
    expected = json.loads(done.stdout)
    answer = httpx.post(server.url + "/anomalies", content=csv.read_bytes(), headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["residuals"] == "scored" and got["detectors"] == expected["detectors"]
    assert got["events"] == expected["events"] and got["counts"]["sentinel"] >= 1
    short = httpx.post(server.url + "/anomalies", json={"records": frame.head(50).to_dict(orient="records")})
    assert short.status_code == 200, short.text
    assert short.json()["detectors"] == ["rules"] and short.json()["residuals"].startswith("not scored: 50 rows")
    bad = httpx.post(server.url + "/anomalies", content=b"x", headers={"Content-Type": "image/png"})
    assert bad.status_code == 415 and bad.json()["fix"]
    big = httpx.post(server.url + "/anomalies", content=b"a" * (600 << 10), headers={"Content-Type": "text/csv"})
    assert big.status_code == 413 and "send fewer rows" in big.json()["fix"]
    lacking = httpx.post(server.url + "/anomalies", content=b"Date Time,p (mbar)\n01.01.2009 00:10:00,996\n",
                         headers={"Content-Type": "text/csv"})
    assert lacking.status_code == 422 and "lacks the column" in lacking.json()["error"]


def test_a_scan_reads_a_bounded_number_of_rows(runs):
    from forecastlab.deploy.fresh import MAX_SCAN_ROWS, FreshForecaster
    from forecastlab.training import load_run
    from run_helpers import write_jena_csv

    scanner = FreshForecaster(load_run(runs["lstm"]))
    long = write_jena_csv(runs["root"] / "long.csv", days=MAX_SCAN_ROWS // 144 + 2)
    with pytest.raises(ForecastlabError, match=f"more than the {MAX_SCAN_ROWS:,} one scan reads") as err:
        scanner.scan(long.read_bytes(), name="long.csv")
    assert "--data FILE" in err.value.fix
