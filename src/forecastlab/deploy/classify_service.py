"""The HTTP classification service: a FastAPI app over one saved classifier (forecastlab classify --out).

    GET  /health      status, no token needed
    GET  /model       the classes, the task, what an input must hold, the saved scores, the limits
    POST /classify    a series task (frost): recent observations in the training format, as CSV text
                      (Content-Type: text/csv) or JSON {"records": [{column: value}, ...]}, answered with
                      the class probabilities of the window that ends at the last row;
                      a cases task (UCR): JSON {"cases": [case, ...]}, each case a list of `length` numbers
                      (one channel) or of `length` lists of `channels` numbers, answered with one set of
                      probabilities per case (at most MAX_CASES cases)

The same bounds and answers as the forecast service (forecastlab.deploy.service): a body over
max_body_bytes is a 413, more than max_concurrency requests at once a 503, 400 for a body that is not what
its Content-Type says, 415 for another Content-Type, 422 for data the classifier cannot read, and with a
token every request but /health needs it. `serve` picks this app for a folder with a classifier.json.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations (Request) at definition.
import time

import numpy as np

from forecastlab.deploy.service import (
    _RESPONSES,
    MAX_BODY_BYTES,
    MAX_CONCURRENCY,
    _Busy,
    _content_type,
    _Gate,
    _parse,
    _records,
    _TokenGuard,
    _TooLarge,
    read_body,
)
from forecastlab.errors import ForecastlabError

MAX_CASES = 1024

_CLASSIFY_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string", "description": "series task: CSV in the training format"}},
        "application/json": {"schema": {"oneOf": [
            {"type": "object", "required": ["records"], "additionalProperties": False,
             "properties": {"records": {"type": "array", "minItems": 1, "items": {"type": "object"}}}},
            {"type": "object", "required": ["cases"], "additionalProperties": False,
             "properties": {"cases": {"type": "array", "minItems": 1, "maxItems": MAX_CASES}}},
        ]}},
    },
}


def create_classifier_app(classifier, *, token: str | None = None, max_body_bytes: int = MAX_BODY_BYTES,
                          max_concurrency: int = MAX_CONCURRENCY):
    """The FastAPI app serving `classifier` (forecastlab.tasks.classification.load_classifier)."""
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse

    from forecastlab import __version__

    if max_body_bytes < 1 or max_concurrency < 1:
        raise ForecastlabError("the body limit and the concurrency must be 1 or more",
                               arg="max_body_bytes" if max_body_bytes < 1 else "max_concurrency", fix="pass 1 or more")
    series_task = bool(classifier.window)
    info = {"kind": "classifier", "classes": classifier.classes, "task": classifier.task,
            "input": classifier.requirements(),
            # the saved split scores; not the leaderboard, the history or where the training data lives
            "metrics": {k: v for k, v in classifier.metrics.items() if k in ("val", "test")},
            "model": classifier.module.get_config()["name"],
            "forecastlab": __version__, "limits": {"max_body_bytes": max_body_bytes,
                                                   "max_concurrency": max_concurrency, "max_cases": MAX_CASES}}
    gate, started = _Gate(max_concurrency), time.monotonic()
    app = FastAPI(title="forecastlab classifier", version=__version__,
                  description=f"Class probabilities ({', '.join(classifier.classes)}) from a {info['model']!r} model.")
    if token is not None:
        app.add_middleware(_TokenGuard, token=token)

    def problem(status: int, what: str, where: str | None = None, fix: str | None = None, headers=None):
        return JSONResponse({"error": what, "where": where, "fix": fix}, status_code=status, headers=headers)

    def from_series(raw: bytes, name: str):
        from forecastlab.data.loader import load_bytes

        # An event detector works on hourly rows (forecastlab.tasks.recipes.load_event_series), as `events
        # --run` reads its input: 10-minute rows would make its 24-row window 4 hours, silently.
        hourly = {"freq": "1h"} if classifier.task.get("kind") == "events" else {}
        return classifier.frost_outlook(load_bytes(raw, name, **hourly))

    def from_json(raw: bytes):
        body = _parse(raw)
        if isinstance(body, str):
            return problem(400, body, where="the request's JSON", fix=_json_fix(series_task))
        if series_task:
            records = _records(raw)
            if isinstance(records, str):
                return problem(400, records, where="the request's JSON", fix=_json_fix(True))
            from forecastlab.deploy.fresh import records_csv

            return from_series(records_csv(records, "the request's records"), "the request's records")
        if not isinstance(body, dict) or set(body) != {"cases"} or not isinstance(body["cases"], list) \
                or not body["cases"]:
            return problem(400, 'the JSON body must be an object with exactly one key, "cases", a non-empty list',
                           where="the request's JSON", fix=_json_fix(False))
        if len(body["cases"]) > MAX_CASES:
            return problem(413, f"{len(body['cases']):,} cases are more than the {MAX_CASES:,} a request may hold",
                           where="the request's JSON", fix="send the cases in several requests")
        x = _cases_array(body["cases"], len(classifier.mean))
        p = classifier.predict_proba(x)
        return {"predictions": [{"probabilities": {c: float(v) for c, v in zip(classifier.classes, row, strict=True)},
                                 "predicted": classifier.classes[int(row.argmax())]} for row in p]}

    async def guarded(work, *args):
        try:
            with gate:
                return await run_in_threadpool(work, *args)
        except _Busy:
            return problem(503, f"all {max_concurrency} slots are busy", where="the server", fix="retry in a moment",
                           headers={"Retry-After": "1"})
        except ForecastlabError as err:
            return problem(422, err.what, where=err.where, fix=err.fix)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "model": info["model"], "uptime_seconds": round(time.monotonic() - started, 3)}

    @app.get("/model")
    def model() -> dict:
        return info

    @app.post("/classify", openapi_extra={"requestBody": _CLASSIFY_BODY}, responses=_RESPONSES)
    async def classify(request: Request):
        try:
            raw = await read_body(request, max_body_bytes)
        except _TooLarge:
            return problem(413, f"the request body is larger than {max_body_bytes:,} bytes",
                           where="the request body", fix="send fewer rows or cases")
        kind = _content_type(request)
        if kind in ("text/csv", "text/plain") and series_task:
            return await guarded(from_series, raw, "the request's CSV")
        if kind == "application/json":
            return await guarded(from_json, raw)
        return problem(415, f"Content-Type {kind or '(none)'!r} is not accepted", where="the Content-Type header",
                       fix="send text/csv or application/json with records" if series_task
                       else 'send application/json: {"cases": [...]}')

    return app


def _json_fix(series_task: bool) -> str:
    return ('send {"records": [{column: value, ...}, ...]}' if series_task
            else 'send {"cases": [[v1, v2, ...], ...]} (one channel) or {"cases": [[[c1, c2], ...], ...]}')


def _cases_array(cases: list, channels: int) -> np.ndarray:
    """The cases as a float array (N, T, C), or a ForecastlabError naming the first case that is not numbers
    of the right shape (the classifier then checks the length and the values)."""
    try:
        x = np.asarray(cases, dtype=np.float64)
    except (TypeError, ValueError):
        x = None
    if x is None or x.ndim not in (2, 3) or (x.ndim == 2 and channels != 1):
        want = "a list of numbers" if channels == 1 else f"a list of steps, each a list of {channels} numbers"
        bad = next((i for i, c in enumerate(cases) if not isinstance(c, list)), 0)
        raise ForecastlabError("the cases are not equal-length lists of numbers", where=f"the request's case {bad}",
                               fix=f"send each case as {want}, all of the same length")
    return x
