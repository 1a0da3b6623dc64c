"""The HTTP forecast service: a FastAPI app over one loaded model (an artifact or a run directory).

    GET  /health           status, no token needed (for load balancers and probes)
    GET  /model            what the model forecasts, from what input, and its scores
    POST /forecast         recent observations, as CSV text in the training format (Content-Type: text/csv)
                           or JSON {"records": [{column: value}, ...]}; answers what `predict --json` prints
    POST /forecast/batch   JSON {"inputs": [{"records": [...]}, ...]}: one forecast per input
    GET  /openapi.json     the OpenAPI schema (and /docs)

Every request is bounded: a body over max_body_bytes is a 413 (read no further), more than
max_concurrency forecasts at once a 503 with Retry-After, a batch over MAX_BATCH inputs a 413. Bad
input is a 4xx whose JSON says what was wrong, where and what to do (the input checks of
forecastlab.deploy.fresh): 400 for a body that is not what its Content-Type says, 415 for another
Content-Type, 422 for data the model cannot forecast from. With a token, every request but /health
needs `Authorization: Bearer TOKEN` (or `X-API-Token: TOKEN`), else 401. Binding to a non-loopback
address without a token is refused by `serve` (check_bind).
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations (Request) at definition.
import hmac
import ipaddress
import json
import threading
import time

from forecastlab.errors import ForecastlabError

MAX_BODY_BYTES = 16 << 20  # 16 MiB: a batch of 64 book windows as JSON records (about 165 kB each)
MAX_CONCURRENCY = 4
MAX_BATCH = 64
TOKEN_ENV = "FORECASTLAB_API_TOKEN"
OPEN_PATHS = {"/health"}

_FORECAST_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string", "description": "CSV in the training format: the header line, "
                                                                  "then the most recent rows, oldest first"}},
        "application/json": {"schema": {
            "type": "object", "required": ["records"], "additionalProperties": False,
            "properties": {"records": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": {"anyOf": [{"type": "number"}, {"type": "string"},
                                                                     {"type": "null"}]}}}}}},
    },
}
_BATCH_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["inputs"], "additionalProperties": False,
        "properties": {"inputs": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH,
                                  "items": _FORECAST_BODY["content"]["application/json"]["schema"]}}}}},
}
_ERROR = {"description": "what was wrong, where, and what to do", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"error": {"type": "string"}, "where": {"type": "string"},
                                     "fix": {"type": "string"}}}}}}
_RESPONSES = {code: _ERROR for code in (400, 401, 413, 415, 422, 503)}


def is_loopback(host: str) -> bool:
    """Whether `host` only reaches this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve on an address other machines reach without an API token."""
    if not is_loopback(host) and not token:
        raise ForecastlabError(
            f"serving on {host!r} would let any machine that reaches it use the model, and no API token is set",
            arg="host", fix=f"keep --host 127.0.0.1 (the default), or set a token with --token or {TOKEN_ENV}")
    if token is not None and len(token) < 16:
        raise ForecastlabError("the API token is shorter than 16 characters", arg="token",
                               fix="use a long random token, e.g. from "
                               "python -c 'import secrets; print(secrets.token_urlsafe())'")


def check_port(host: str, port: int) -> None:
    """Refuse at once, with the system's reason, an address this process cannot listen on (a port in use,
    an address of no interface here), rather than letting the server start and stop on it."""
    import errno
    import socket

    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise ForecastlabError(f"the host {host!r} cannot be resolved ({err.strerror})", arg="host",
                               fix="give an address such as 127.0.0.1 (the default), ::1 or 0.0.0.0") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        if hasattr(socket, "SO_REUSEADDR"):  # as uvicorn binds: a port in TIME_WAIT is free to it
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            busy = err.errno == errno.EADDRINUSE
            raise ForecastlabError(
                f"cannot listen on {host}:{port}: {err.strerror or err}" + (
                    " (another program, or another forecastlab serve, is listening there)" if busy else ""),
                arg="port", fix="choose another port=, or port=0 for any free one" if busy else
                "give an address of this machine, such as 127.0.0.1 (the default)") from None


class _Gate:
    """At most `limit` forecasts at once; a request that finds none free is refused at once (503)."""

    def __init__(self, limit: int):
        self._free = threading.BoundedSemaphore(limit)

    def __enter__(self):
        if not self._free.acquire(blocking=False):
            raise _Busy
        return self

    def __exit__(self, *exc) -> None:
        self._free.release()


class _Busy(Exception):
    pass


class _TooLarge(Exception):
    pass


def create_app(run, *, token: str | None = None, max_body_bytes: int = MAX_BODY_BYTES,
               max_concurrency: int = MAX_CONCURRENCY):
    """The FastAPI app serving `run` (a forecastlab.training.LoadedRun, from load_model)."""
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse

    from forecastlab import __version__
    from forecastlab.deploy.artifact import summary
    from forecastlab.deploy.fresh import FreshForecaster

    if max_body_bytes < 1 or max_concurrency < 1:
        raise ForecastlabError("the body limit and the concurrency must be 1 or more",
                               arg="max_body_bytes" if max_body_bytes < 1 else "max_concurrency", fix="pass 1 or more")
    forecaster = FreshForecaster(run)  # what an input must hold, worked out once
    info = summary(run) | {"requirements": forecaster.need, "forecastlab": __version__,
                           "limits": {"max_body_bytes": max_body_bytes, "max_concurrency": max_concurrency,
                                      "max_batch": MAX_BATCH}}
    info["data"] = {k: v for k, v in (info.get("data") or {}).items() if k in ("source", "sha256", "rows", "variant")}
    gate, started = _Gate(max_concurrency), time.monotonic()
    app = FastAPI(title="forecastlab", version=__version__,
                  description=f"Forecasts of {info['target']!r} by the {info['model']!r} model.")

    def problem(status: int, what: str, where: str | None = None, fix: str | None = None, headers=None):
        return JSONResponse({"error": what, "where": where, "fix": fix}, status_code=status, headers=headers)

    if token is not None:
        app.add_middleware(_TokenGuard, token=token)

    async def body_of(request: Request) -> bytes:
        return await read_body(request, max_body_bytes)

    def too_large(batch: bool = False, fix: str | None = None):
        fix = fix or ("send fewer inputs per batch, or start the service with a larger --max-body-mb" if batch
                      else f"send only the {forecaster.need['rows']} rows the forecast needs")
        return problem(413, f"the request body is larger than {max_body_bytes:,} bytes", where="the request body",
                       fix=fix)

    def unaccepted(kind: str, fix: str):
        return problem(415, f"Content-Type {kind or '(none)'!r} is not accepted", where="the Content-Type header",
                       fix=fix)

    def busy():
        return problem(503, f"all {max_concurrency} forecast slots are busy", where="the server",
                       fix="retry in a moment", headers={"Retry-After": "1"})

    def refused(err: ForecastlabError):
        return problem(422, err.what, where=err.where, fix=err.fix)

    def one_from_json(raw: bytes):
        records = _records(raw)  # decoded here, in the thread pool: a large body never stalls the event loop
        if isinstance(records, str):
            return problem(400, records, where="the request's JSON",
                           fix='send {"records": [{column: value, ...}, ...]}')
        return forecaster.forecast(records, name="the request's records").to_dict()

    def many_from_json(raw: bytes):
        inputs = _inputs(raw)
        if isinstance(inputs, str):
            return problem(413 if "more than" in inputs else 400, inputs, where="the request's JSON",
                           fix=f'send {{"inputs": [{{"records": [...]}}, ...]}} with 1 to {MAX_BATCH} inputs')
        names = [f"input {i}" for i in range(len(inputs))]
        return {"forecasts": [f.to_dict() for f in forecaster.forecast_many(inputs, names=names)]}

    async def guarded(work, *args):
        try:
            with gate:
                return await run_in_threadpool(work, *args)
        except _Busy:
            return busy()
        except ForecastlabError as err:
            return refused(err)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "model": info["model"], "uptime_seconds": round(time.monotonic() - started, 3)}

    @app.get("/model")
    def model() -> dict:
        return info

    @app.post("/forecast", openapi_extra={"requestBody": _FORECAST_BODY},
              responses=_RESPONSES)
    async def forecast(request: Request):
        try:
            raw = await body_of(request)
        except _TooLarge:
            return too_large()
        kind = _content_type(request)
        if kind in ("text/csv", "text/plain"):
            return await guarded(lambda: forecaster.forecast(raw, name="the request's CSV").to_dict())
        if kind == "application/json":
            return await guarded(one_from_json, raw)
        return unaccepted(kind, "send text/csv (the training file's format) or application/json with records")

    def scan_from_json(raw: bytes):
        records = _records(raw)
        if isinstance(records, str):
            return problem(400, records, where="the request's JSON",
                           fix='send {"records": [{column: value, ...}, ...]}')
        return forecaster.scan(records, name="the request's records")

    @app.post("/anomalies", openapi_extra={"requestBody": _FORECAST_BODY}, responses=_RESPONSES)
    async def anomalies(request: Request):
        """Anomalies in the posted observations (the training format, oldest first, any number of rows up
        to the body limit): the sensor-fault rules, and this model's forecast residuals when the input is
        long enough; the answer is `forecastlab anomalies --json`'s events."""
        try:
            raw = await body_of(request)
        except _TooLarge:
            return too_large(fix="send fewer rows, or start the service with a larger --max-body-mb")
        kind = _content_type(request)
        if kind in ("text/csv", "text/plain"):
            return await guarded(lambda: forecaster.scan(raw, name="the request's CSV"))
        if kind == "application/json":
            return await guarded(scan_from_json, raw)
        return unaccepted(kind, "send text/csv (the training file's format) or application/json with records")

    @app.post("/forecast/batch", openapi_extra={"requestBody": _BATCH_BODY},
              responses=_RESPONSES)
    async def forecast_batch(request: Request):
        try:
            raw = await body_of(request)
        except _TooLarge:
            return too_large(batch=True)
        kind = _content_type(request)
        if kind != "application/json":
            return unaccepted(kind, 'send application/json: {"inputs": [{"records": [...]}, ...]}')
        return await guarded(many_from_json, raw)

    return app


async def read_body(request, limit: int) -> bytes:
    """The request's body, or _TooLarge as soon as its Content-Length or its stream passes `limit` bytes
    (the rest is never read)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _content_type(request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class _TokenGuard:
    """Plain ASGI middleware: every HTTP request but OPEN_PATHS needs the token, else 401."""

    def __init__(self, app, token: str):
        self.app, self.token = app, token.encode("utf-8")

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS and not self._authorized(scope):
            from fastapi.responses import JSONResponse

            answer = JSONResponse({"error": "a valid API token is required", "where": "the Authorization header",
                                   "fix": "send 'Authorization: Bearer TOKEN' (or 'X-API-Token: TOKEN')"},
                                  status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope) -> bool:
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-api-token")
        auth = headers.get(b"authorization", b"")
        if given is None and auth[:7].lower() == b"bearer ":
            given = auth[7:].strip()
        return given is not None and hmac.compare_digest(given, self.token)


def _parse(raw: bytes):
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as err:
        return f"the body is not valid JSON ({str(err)[:200]})"
    except RecursionError:
        return "the body's JSON nests too deeply"


def _records(raw: bytes):
    """The records of {"records": [...]}, or the reason the body is not that (a str)."""
    body = _parse(raw)
    if isinstance(body, str):
        return body
    if not isinstance(body, dict) or set(body) != {"records"}:
        return 'the JSON body must be an object with exactly one key, "records"'
    if not isinstance(body["records"], list) or not body["records"]:
        return '"records" must be a non-empty list of rows'
    return body["records"]


def _inputs(raw: bytes):
    body = _parse(raw)
    if isinstance(body, str):
        return body
    if not isinstance(body, dict) or set(body) != {"inputs"} or not isinstance(body["inputs"], list) \
            or not body["inputs"]:
        return 'the JSON body must be {"inputs": [{"records": [...]}, ...]} with at least one input'
    if len(body["inputs"]) > MAX_BATCH:
        return f"{len(body['inputs'])} inputs are more than the {MAX_BATCH} a batch may hold"
    out = []
    for i, item in enumerate(body["inputs"]):
        if not isinstance(item, dict) or set(item) != {"records"} or not isinstance(item["records"], list) \
                or not item["records"]:
            return f'input {i} must be {{"records": [...]}} with at least one row'
        out.append(item["records"])
    return out


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")
