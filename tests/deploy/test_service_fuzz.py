"""The HTTP API fuzzed against its own OpenAPI schema with schemathesis, on a real server process on
loopback: no generated request may get a 5xx answer, and the server must not crash. Bounded: a number of
examples per operation (FORECASTLAB_FUZZ_EXAMPLES, default 60) and no per-example deadline; the counts
of cases tried and failures found go to FORECASTLAB_FUZZ_REPORT (a JSON file) when it is set, which is
how docs/reliability.md's figures are made."""

from __future__ import annotations

import collections
import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from serving import Server

EXAMPLES = int(os.environ.get("FORECASTLAB_FUZZ_EXAMPLES", "60"))
TALLY: collections.Counter = collections.Counter()


@pytest.fixture(scope="module")
def fuzzed_server(artifacts, runs):
    srv = Server(artifacts["lstm"], runs["root"], "--max-body-mb", "0.5")
    yield srv
    out, err = srv.stop()
    report = os.environ.get("FORECASTLAB_FUZZ_REPORT")
    if report:
        with open(report, "w") as handle:
            json.dump({"examples_per_operation": EXAMPLES, **{k: v for k, v in sorted(TALLY.items())}}, handle,
                      indent=2)
    assert srv.proc.returncode is not None
    assert "Traceback" not in err, err[-3000:]


def test_no_request_the_schema_allows_or_breaks_gets_a_server_error(fuzzed_server):
    # schemathesis's own pytest plugin does not run under this pytest; its strategies through hypothesis do
    schema = schemathesis.openapi.from_url(fuzzed_server.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/forecast", "/forecast/batch", "/anomalies", "/health", "/model"}
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):  # requests the schema allows, and breaks
            _fuzz(operation, mode, fuzzed_server, failures)
    assert TALLY["cases"] >= 2 * EXAMPLES
    assert not failures, failures[:5]


def _fuzz(operation, mode, server, failures: list[str]) -> None:
    name = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def one(case):
        response = case.call(timeout=30)
        TALLY["cases"] += 1
        TALLY[f"{mode.value} cases"] += 1
        TALLY[f"status {response.status_code // 100}xx"] += 1
        TALLY[name] += 1
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception as err:  # a 5xx: recorded, and the test fails at the end with the first few
            TALLY["failures"] += 1
            failures.append(f"{name} ({mode.value}): {str(err)[:500]}")
        assert server.proc.poll() is None, "the server died"

    try:
        one()
    except Unsatisfiable:  # nothing to break: an operation without parameters or body (GET /health)
        assert mode == GenerationMode.NEGATIVE, name
        TALLY["operations with no negative case"] += 1
