"""The forecast service's latency and throughput over loopback, and batch predict against Keras (issue 11).

    .venv/bin/python benchmarks/serve.py [--run RUN_OR_ARTIFACT] [--concurrency 1,4] [--batch 16] \
        [--requests 400] [--seconds 20] [--windows 8192] [--batch-sizes 32,256,512,1024,4096,8192] \
        [--keras-python .keras-venv/bin/python] [--profile] [--profile-server] [--json serve.json]

1. The model: without --run, `forecastlab train lstm --data synthetic --param units=32 --epochs 1
   --max-steps-per-epoch 20` (the book's window: 120 hourly steps of 14 columns, T 24 h ahead; a short
   training, since speed and not accuracy is measured), exported with forecastlab.deploy.export_run. --run
   takes a finished run directory (exported here) or an artifact.
2. The service: `forecastlab serve ARTIFACT --host 127.0.0.1 --port FREE --max-concurrency C` as a real
   process (its own CPU settings, uvicorn, its access log at --log-level, written to a file), ready when
   GET /health answers. Per concurrency level C, C client threads (http.client, one keep-alive connection
   each) send, back to back, POST /forecast with the last rows_needed rows (GET /model's requirements) as
   text/csv, cycling over up to 16 different windows, then POST /forecast/batch with --batch inputs as JSON
   records. Each (endpoint, C) stops at --requests requests or --seconds, whichever comes first, after
   --warmup untimed ones. Latency is per request, from sending it to reading the whole answer; throughput is
   the answered requests (and forecasts) over the wall time. The clients share the machine's cores with
   the server. Every answer's values are checked against forecast_fresh run in this process ("wrong values").
3. In-process, with the server idle: the same forecasts through forecast_fresh (+ to_dict + json.dumps),
   through the service's FastAPI app (httpx's ASGI transport: no sockets, no uvicorn), its input parsing
   alone (load_input), and the model alone (predict on one ready window), to show where the HTTP latency
   goes; --profile adds cProfile's top functions of forecast_fresh, --profile-server runs
   the server under cProfile (`python -m cProfile -o ... -m forecastlab serve`) and reports the functions
   called once per request or more. cProfile sees only the server's main thread, the event loop (body
   reading, JSON decoding, uvicorn, the middleware), not the thread pool where forecast_fresh runs; its
   HTTP numbers are slowed by the profiler and are not the service's.
4. Batch predict: forecastlab.training.loading.predict on --windows raw windows (120, 14), per batch size,
   the best of --repeats passes, before and after Keras's model.predict on the same architecture
   (LSTM(units) + Dense(1), random weights) in --keras-python, run by benchmarks/serve_keras_worker.py.

This process applies forecastlab.training.runtime.configure_cpu (as the CLI does, so 1 torch thread on
<= 2 cores; --threads overrides); TensorFlow keeps its default threads. Targets (issue 11): p99 under 20 ms
for a single forecast; predict at least 10x Keras's samples/s (the issue measured Keras at about 8,600;
the report also gives our best against the Keras measured beside us at model.predict's default
batch_size of 32, which is about that figure here, and the stricter ratio at the same batch size).
Prints Markdown tables (with the machine and its load average); `--json PATH` writes the whole report.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import http.client
import io
import json
import os
import platform
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

P99_TARGET_MS = 20.0
RATIO_TARGET = 10.0
KERAS_ISSUE_SPS = 8_600
KERAS_DEFAULT_BATCH = 32  # keras.Model.predict(x) without batch_size, as the book calls it
WORKER = Path(__file__).resolve().with_name("serve_keras_worker.py")
CSV_HEADERS = {"content-type": "text/csv"}
POOL = 16  # distinct windows the single-forecast requests cycle over


# -- model and data ------------------------------------------------------------------------------------------


def train_model(args, work: Path) -> Path:
    """A finished run of the book's lstm, trained by the CLI in its own process."""
    out = work / "run"
    cmd = [sys.executable, "-m", "forecastlab", "train", "lstm", "--data", args.data, "--param", f"units={args.units}",
           "--epochs", str(args.epochs), "--max-steps-per-epoch", str(args.max_steps), "--seed", "0",
           "--out", str(out), "--no-progress", "--overwrite"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.train_timeout)
    if proc.returncode != 0:
        raise SystemExit(f"training failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    print(f"trained {out} in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return out


def artifact_of(args, work: Path) -> Path:
    from forecastlab.deploy.artifact import export_run, is_artifact

    run = Path(args.run) if args.run else train_model(args, work)
    if is_artifact(run):
        return run
    return export_run(run, work / "artifact")


def csv_windows(run, path: Path, count: int) -> tuple[str, list[list[str]], list[list[float]]]:
    """(header line, [the data lines of each window], [forecast_fresh's values for each]): up to `count`
    windows of rows_needed rows that end at the file's last rows (one row apart) and that forecast_fresh
    accepts (no hole, no missing value)."""
    from forecastlab.deploy.fresh import forecast_fresh, requirements

    rows = requirements(run)["rows"]
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\r\n")
        tail = collections.deque((line.rstrip("\r\n") for line in fh if line.strip()), maxlen=rows + 4 * count)
    tail = list(tail)
    good, values = [], []
    for shift in range(len(tail) - rows + 1):
        end = len(tail) - shift
        lines = tail[end - rows:end]
        try:
            answer = forecast_fresh(run, csv_body(header, lines), name="window").to_dict()
        except Exception:  # noqa: BLE001 (a window with a hole: skip it)
            continue
        good.append(lines)
        values.append(forecast_values(answer))
        if len(good) == count:
            break
    if not good:
        raise SystemExit(f"no {rows} consecutive complete rows near the end of {path}; pass --input CSV")
    return header, good, values


def forecast_values(answer: dict) -> list[float]:
    """The forecast values of one answer of POST /forecast (or of each of /forecast/batch's), in order."""
    if "forecasts" in answer and answer["forecasts"] and "forecasts" in answer["forecasts"][0]:
        return [v for one in answer["forecasts"] for v in forecast_values(one)]
    return [row["value"] for row in answer["forecasts"]]


def same(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all(abs(g - w) <= 1e-4 * max(1.0, abs(w)) for g, w in zip(got, want, strict=True))


def csv_body(header: str, lines: list[str]) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode("utf-8")


def records_of(header: str, lines: list[str]) -> list[dict]:
    """The JSON records of CSV lines: text for the time column (the first that is not a number), else numbers."""
    import csv

    names = next(csv.reader([header]))
    out = []
    for row in csv.reader(lines):
        rec = {}
        for name, cell in zip(names, row, strict=True):
            try:
                rec[name] = float(cell)
            except ValueError:
                rec[name] = cell
        out.append(rec)
    return out


# -- the server ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`forecastlab serve` in its own process on 127.0.0.1 (optionally under cProfile), its log in a file."""

    def __init__(self, artifact: Path, work: Path, *, max_concurrency: int, log_level: str,
                 profile_to: Path | None, timeout: float):
        self.port = free_port()
        self.log = work / "serve.log"
        prefix = [sys.executable] + (["-m", "cProfile", "-o", str(profile_to)] if profile_to else [])
        cmd = prefix + ["-m", "forecastlab", "serve", str(artifact), "--host", "127.0.0.1", "--port", str(self.port),
                        "--max-concurrency", str(max_concurrency), "--log-level", log_level]
        env = {k: v for k, v in os.environ.items() if k != "FORECASTLAB_API_TOKEN"}
        self._log_fh = open(self.log, "wb")  # a file, never a pipe: the access log must not fill a buffer
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=self._log_fh, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"forecastlab serve exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                status, _ = Client(self.port, timeout=2).request("GET", "/health")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"forecastlab serve did not answer /health within {timeout:.0f} s")
            time.sleep(0.1)
        self.startup_s = time.perf_counter() - t0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown (and cProfile writes its file)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_fh.close()


class Client:
    """One keep-alive HTTP/1.1 connection (reopened once if the server closed it)."""

    def __init__(self, port: int, timeout: float = 60):
        self.port, self.timeout, self.conn = port, timeout, None

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        headers = {"Content-Type": content_type} if content_type else {}
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                self.conn.connect()
                self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, ConnectionError, http.client.CannotSendRequest):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def load(port: int, path: str, bodies: list[bytes], expected: list[list[float]], content_type: str, *,
         concurrency: int, requests: int, seconds: float, warmup: int, per_request: int) -> dict:
    """`concurrency` closed-loop clients sending `bodies` (cycling) until `requests` or `seconds`; every
    answer's values are compared (after timing) with `expected`, forecast_fresh's in this process."""
    clients = [Client(port) for _ in range(concurrency)]
    for i in range(warmup):
        clients[i % concurrency].request("POST", path, bodies[i % len(bodies)], content_type)
    lock, issued = threading.Lock(), [0]
    latencies, statuses, wrong = [], collections.Counter(), [0]
    start = time.perf_counter()
    stop_at = start + seconds
    last_done = [start]

    def worker(client: Client) -> None:
        while True:
            with lock:
                if issued[0] >= requests or time.perf_counter() >= stop_at:
                    return
                ticket = issued[0]
                issued[0] += 1
            t0 = time.perf_counter()
            try:
                status, raw = client.request("POST", path, bodies[ticket % len(bodies)], content_type)
            except OSError as err:
                status, raw = type(err).__name__, b""
            t1 = time.perf_counter()
            bad = status == 200 and not same(forecast_values(json.loads(raw)), expected[ticket % len(bodies)])
            with lock:
                wrong[0] += bad
                statuses[status] += 1
                if status == 200:
                    latencies.append((t1 - t0) * 1e3)
                last_done[0] = max(last_done[0], t1)

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    wall = last_done[0] - start
    ok = len(latencies)
    return {"concurrency": concurrency, "requests": sum(statuses.values()), "ok": ok,
            "errors": {str(k): v for k, v in statuses.items() if k != 200}, "wrong_values": wrong[0], "wall_s": wall,
            "requests_per_s": ok / wall if wall > 0 else None,
            "forecasts_per_s": ok * per_request / wall if wall > 0 else None, **percentiles(latencies)}


def percentiles(ms: list[float]) -> dict:
    if not ms:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    a = np.asarray(ms)
    return {"n": len(ms), "p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)),
            "mean_ms": float(a.mean()), "min_ms": float(a.min()), "max_ms": float(a.max())}


# -- in process ----------------------------------------------------------------------------------------------


def timed(fn, reps: int, seconds: float) -> dict:
    ms, stop_at = [], time.perf_counter() + seconds
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
        if time.perf_counter() >= stop_at:
            break
    return percentiles(ms)


def in_process(run, bodies: list[bytes], reps: int, seconds: float, profile: bool) -> dict:
    """The same work as POST /forecast without HTTP, stage by stage."""
    from forecastlab.deploy.fresh import forecast_fresh, load_input
    from forecastlab.training.loading import predict

    count = [0]

    def body():
        count[0] += 1
        return bodies[count[0] % len(bodies)]

    def whole():
        json.dumps(forecast_fresh(run, body(), name="the request's CSV").to_dict(), allow_nan=False)

    series = load_input(run, bodies[0], name="x")
    window = np.ascontiguousarray(series.values[-run.span_rows:][::run.sampling_rate][None], dtype=np.float32)
    whole()
    out = {"forecast_fresh_json": timed(whole, reps, seconds),
           "load_input": timed(lambda: load_input(run, body(), name="x"), reps, seconds),
           "predict_one_window": timed(lambda: predict(run, window), reps, seconds),
           "asgi_app": asgi_timed(run, bodies, reps, seconds)}
    if profile:
        prof = cProfile.Profile()
        n = min(reps, 50)
        prof.enable()
        for _ in range(n):
            whole()
        prof.disable()
        out["profile"] = {"calls": n, "top_cumulative": top_functions(pstats.Stats(prof), n, 18)}
    return out


def asgi_timed(run, bodies: list[bytes], reps: int, seconds: float) -> dict:
    """POST /forecast through the service's FastAPI app in this process (httpx's ASGI transport: the
    middleware, body reading, thread pool and JSON answer, without sockets, uvicorn or another process)."""
    import asyncio

    try:
        import httpx
    except ImportError:
        return percentiles([]) | {"skipped": "httpx is not installed"}
    from forecastlab.deploy.service import create_app

    app = create_app(run)

    async def go() -> list[float]:
        ms, stop_at = [], time.perf_counter() + seconds
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://in-process") as client:
            for i in range(reps + 1):
                t0 = time.perf_counter()
                r = await client.post("/forecast", content=bodies[i % len(bodies)], headers=CSV_HEADERS)
                if r.status_code != 200:
                    raise SystemExit(f"the app answered {r.status_code}: {r.text[:500]}")
                if i:  # the first is a warm-up
                    ms.append((time.perf_counter() - t0) * 1e3)
                if time.perf_counter() >= stop_at:
                    break
        return ms

    return percentiles(asyncio.run(go()))


def top_functions(stats: pstats.Stats, calls: int, limit: int, min_calls: int = 1) -> list[dict]:
    """The functions with the most cumulative time per forecast, among those called at least min_calls times."""
    rows = []
    for (file, line, name), (_primitive, nc, tt, ct, _) in stats.stats.items():
        if nc < min_calls:
            continue
        where = file if file == "~" else "/".join(Path(file).parts[-2:])
        rows.append({"function": f"{where}:{line}({name})" if file != "~" else name, "calls": nc,
                     "cum_ms_per_forecast": ct * 1e3 / calls, "self_ms_per_forecast": tt * 1e3 / calls})
    rows.sort(key=lambda r: -r["cum_ms_per_forecast"])
    return rows[:limit]


def server_profile(path: Path, served: int) -> dict:
    if not path.is_file():
        return {"error": "the server wrote no profile"}
    stats = pstats.Stats(str(path), stream=io.StringIO())
    return {"requests": served, "note": "functions called at least once per request; ms per request",
            "top_cumulative": [r | {"cum_ms_per_request": r.pop("cum_ms_per_forecast"),
                                    "self_ms_per_request": r.pop("self_ms_per_forecast")}
                               for r in top_functions(stats, served, 25, min_calls=served)]}


# -- batch predict -------------------------------------------------------------------------------------------


def predict_throughput(run, windows: np.ndarray, batch_sizes: list[int], repeats: int) -> dict:
    from forecastlab.training.loading import predict

    out = {}
    for bs in batch_sizes:
        predict(run, windows[: min(len(windows), bs)], batch_size=bs)  # warm up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            pred = predict(run, windows, batch_size=bs)
            times.append(time.perf_counter() - t0)
        assert pred.shape[0] == len(windows) and np.isfinite(pred).all()
        out[str(bs)] = {"best_s": min(times), "times_s": times, "samples_per_s": len(windows) / min(times)}
    return out


def keras_throughput(python: str, args, batch_sizes: list[int], work: Path) -> dict:
    out = work / "keras.json"
    cmd = [python, str(WORKER), "--windows", str(args.windows), "--units", str(args.units),
           "--batch-sizes", ",".join(map(str, batch_sizes)), "--repeats", str(args.repeats), "--json", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.keras_timeout)
    if proc.returncode != 0:
        raise SystemExit(f"the Keras worker failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    report = json.loads(out.read_text())
    report["process_s"] = time.perf_counter() - t0
    return report


def merge_best(a: dict, b: dict, windows: int) -> dict:
    """Per batch size, the faster of two rounds (before and after Keras), keeping both rounds' times."""
    out = {}
    for bs in a:
        times = a[bs]["times_s"] + b[bs]["times_s"]
        out[bs] = {"best_s": min(times), "times_s": times, "samples_per_s": windows / min(times)}
    return out


# -- report --------------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fmt(v, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def tables(report: dict) -> str:
    m, s = report["machine"], report["model"]
    lines = [f"{s['model']} (units {s['units']}, {s['params']:,} params) from {s['rows_needed']} rows x "
             f"{s['input_columns']} columns; {m['nproc']} cores ({m['cpu']}), torch {m['torch']} with "
             f"{m['torch_threads']} thread(s); load avg before {m['load_before']}, after {m['load_after']}",
             "",
             "| endpoint | concurrency | requests | errors | wrong values | requests/s | forecasts/s | p50 ms | "
             "p99 ms | max ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, label in (("forecast", "POST /forecast (csv)"), ("batch", f"POST /forecast/batch (B={report['batch']})")):
        for r in report["http"][key]:
            lines.append(f"| {label} | {r['concurrency']} | {r['ok']} | {sum(r['errors'].values())} | "
                         f"{r['wrong_values']} | "
                         f"{fmt(r['requests_per_s'], '.1f')} | {fmt(r['forecasts_per_s'], '.1f')} | "
                         f"{fmt(r['p50_ms'], '.1f')} | {fmt(r['p99_ms'], '.1f')} | {fmt(r['max_ms'], '.1f')} |")
    ip = report["in_process"]
    lines += ["", "| in process (no HTTP) | n | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
    for key, label in (("forecast_fresh_json", "forecast_fresh + to_dict + json.dumps"),
                       ("asgi_app", "the FastAPI app in process (ASGI, no sockets)"),
                       ("load_input", "load_input (CSV parsing, checks)"),
                       ("predict_one_window", "predict, one ready window (the model)")):
        r = ip[key]
        lines.append(f"| {label} | {r['n']} | {fmt(r['p50_ms'], '.2f')} | {fmt(r['p99_ms'], '.2f')} |")
    p = report["predict"]
    lines += ["", f"batch predict of {p['windows']:,} windows ({s['sequence_length']}, {s['features']}), samples/s "
              f"(best of {p['repeats']} passes{', each side' if p['keras'] else ''}):", "",
              "| batch size | forecastlab predict | Keras model.predict | ratio |", "|---:|---:|---:|---:|"]
    for bs, r in p["ours"].items():
        k = (p["keras"] or {}).get("batch_sizes", {}).get(bs)
        lines.append(f"| {bs} | {r['samples_per_s']:,.0f} | {fmt(k and k['samples_per_s'], ',.0f')} | "
                     f"{fmt(k and r['samples_per_s'] / k['samples_per_s'], '.1f')} |")
    t = report["targets"]
    lines += ["", f"single forecast p99 at concurrency 1: {fmt(t['single_p99_ms'], '.1f')} ms (target < "
              f"{P99_TARGET_MS:.0f} ms): {'met' if t['single_p99_met'] else 'NOT met'}",
              f"predict at its best batch ({t['ours_best_batch']}) vs the issue's {KERAS_ISSUE_SPS:,} samples/s "
              f"of Keras: {t['ratio_vs_issue_keras']:.1f}x (target >= {RATIO_TARGET:.0f}x): "
              + ("met" if t["ratio_vs_issue_met"] else "NOT met"),
              f"vs Keras's model.predict at its default batch_size ({KERAS_DEFAULT_BATCH}) beside us: "
              f"{fmt(t['ratio_vs_keras_default'], '.1f')}x ("
              + ("not measured" if t["ratio_vs_keras_default"] is None else f"target >= {RATIO_TARGET:.0f}x: "
                 + ("met" if t["ratio_vs_keras_default"] >= RATIO_TARGET else "NOT met")) + ")",
              f"side by side with Keras on this machine: {fmt(t['ratio_same_batch'], '.1f')}x at batch "
              f"{p['compare_batch']}, {fmt(t['ratio_best'], '.1f')}x best batch against best batch ("
              + ("not measured" if t["ratio_met"] is None else f">= {RATIO_TARGET:.0f}x at batch "
                 f"{p['compare_batch']}: " + ("met" if t["ratio_met"] else "NOT met")) + ")"]
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default=None, help="a finished run directory or an artifact (default: train one)")
    ap.add_argument("--data", default="synthetic", help="training data when training (forecastlab train --data)")
    ap.add_argument("--units", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=20, help="training batches per epoch")
    ap.add_argument("--input", default=None, help="CSV the request windows come from (default: the run's data file)")
    ap.add_argument("--concurrency", default="1,4", help="client threads, one level after another")
    ap.add_argument("--max-concurrency", type=int, default=None, help="serve --max-concurrency (default: the "
                    "largest --concurrency, so that no request meets a 503)")
    ap.add_argument("--batch", type=int, default=16, help="inputs per POST /forecast/batch")
    ap.add_argument("--requests", type=int, default=400, help="timed requests per endpoint and level, at most")
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds per endpoint and level, at most")
    ap.add_argument("--warmup", type=int, default=5, help="untimed requests before each endpoint and level")
    ap.add_argument("--log-level", default="info", help="serve's --log-level (info, its default, logs each request)")
    ap.add_argument("--inproc-reps", type=int, default=200, help="in-process repetitions per stage, at most")
    ap.add_argument("--profile", action="store_true", help="cProfile forecast_fresh in process")
    ap.add_argument("--profile-server", action="store_true", help="run the server under cProfile")
    ap.add_argument("--windows", type=int, default=8192, help="windows for the batch predict comparison")
    ap.add_argument("--batch-sizes", default="32,256,512,1024,4096,8192", help="predict batch sizes (both sides)")
    ap.add_argument("--compare-batch", type=int, default=256, help="the batch size of the like-for-like ratio")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes per batch size (the best counts)")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads here (default: the CLI's)")
    ap.add_argument("--keras-python", default=None, help="a python with keras + tensorflow (optional)")
    ap.add_argument("--work", default=None, help="keep the run, artifact and server log here (default: a temp dir)")
    ap.add_argument("--train-timeout", type=float, default=900)
    ap.add_argument("--keras-timeout", type=float, default=600)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",") if c]
    batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b]
    if args.compare_batch not in batch_sizes:
        batch_sizes.insert(0, args.compare_batch)
    if not levels or min(levels) < 1 or args.batch < 1 or args.requests < 1:
        ap.error("--concurrency levels, --batch and --requests must be 1 or more")

    import torch

    from forecastlab.deploy.artifact import load_model, summary
    from forecastlab.deploy.fresh import requirements
    from forecastlab.errors import SyntheticDataWarning
    from forecastlab.training.runtime import configure_cpu

    warnings.simplefilter("ignore", SyntheticDataWarning)
    configure_cpu(args.threads)  # an entry point: the CLI's process settings
    load_before = loadavg()
    tmp = None
    if args.work:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tmp := tempfile.mkdtemp(prefix="serve-bench-"))
    try:
        artifact = artifact_of(args, work)
        run = load_model(artifact)
        info = summary(run)
        data_path = Path(args.input or (run.config.get("data") or {}).get("provenance", {}).get("path") or "")
        if not data_path.is_file():
            raise SystemExit("the run's data file is not here; pass --input CSV in its training format")
        header, pool, values = csv_windows(run, data_path, POOL)
        csv_bodies = [csv_body(header, lines) for lines in pool]
        batch_body = json.dumps({"inputs": [{"records": records_of(header, pool[i % len(pool)])}
                                            for i in range(args.batch)]}).encode("utf-8")
        batch_values = [v for i in range(args.batch) for v in values[i % len(pool)]]
        print(f"{len(pool)} request windows of {requirements(run)['rows']} rows from {data_path}; batch body "
              f"{len(batch_body):,} bytes", file=sys.stderr, flush=True)

        inproc = in_process(run, csv_bodies, args.inproc_reps, args.seconds, args.profile)
        prof_path = work / "serve.prof" if args.profile_server else None
        server = Server(artifact, work, max_concurrency=args.max_concurrency or max(levels), log_level=args.log_level,
                        profile_to=prof_path, timeout=120)
        http_results = {"forecast": [], "batch": []}
        try:
            status, raw = Client(server.port).request("GET", "/model")
            model_info = json.loads(raw)
            assert status == 200 and model_info["requirements"]["rows"] == len(pool[0]), model_info
            status, raw = Client(server.port).request("POST", "/forecast", csv_bodies[0], "text/csv")
            if status != 200 or not same(forecast_values(json.loads(raw)), values[0]):
                raise SystemExit(f"POST /forecast answered {status} {raw[:500]!r}; in process: {values[0]}")
            for c in levels:
                for key, path, bodies, expected, kind, per in (
                        ("forecast", "/forecast", csv_bodies, values, "text/csv", 1),
                        ("batch", "/forecast/batch", [batch_body], [batch_values], "application/json", args.batch)):
                    r = load(server.port, path, bodies, expected, kind, concurrency=c, requests=args.requests,
                             seconds=args.seconds, warmup=args.warmup, per_request=per)
                    http_results[key].append(r)
                    print(f"{path} c={c}: {r['ok']} ok, p50 {fmt(r['p50_ms'], '.1f')} ms, p99 "
                          f"{fmt(r['p99_ms'], '.1f')} ms, {fmt(r['requests_per_s'], '.1f')} req/s",
                          file=sys.stderr, flush=True)
        finally:
            server.stop()
        served = sum(r["requests"] for rs in http_results.values() for r in rs)

        rng = np.random.default_rng(0)
        mean, std = run.normalizer.mean_, run.normalizer.std_
        windows = (rng.standard_normal((args.windows, run.sequence_length, len(mean))) * std + mean).astype(np.float32)
        ours = predict_throughput(run, windows, batch_sizes, args.repeats)
        keras = None
        if args.keras_python:
            keras = keras_throughput(args.keras_python, args, batch_sizes, work)
            ours = merge_best(ours, predict_throughput(run, windows, batch_sizes, args.repeats), args.windows)

        n_params = sum(p.numel() for p in run.model.parameters())
        report = {
            "model": {"model": info["model"], "units": run.config["model"]["config"].get("units"), "params": n_params,
                      "rows_needed": info["rows_needed"], "sequence_length": run.sequence_length,
                      "sampling_rate": run.sampling_rate, "features": len(mean),
                      "input_columns": len(info["input_columns"] or []), "artifact": str(artifact),
                      "trained_here": not args.run, "data": str(data_path)},
            "batch": args.batch, "requests_cap": args.requests, "seconds_cap": args.seconds,
            "server": {"startup_s": server.startup_s, "log_level": args.log_level,
                       "max_concurrency": args.max_concurrency or max(levels), "profiled": args.profile_server},
            "http": http_results, "in_process": inproc,
            "predict": {"windows": args.windows, "repeats": args.repeats, "compare_batch": args.compare_batch,
                        "ours": ours, "keras": keras},
        }
        if prof_path:
            report["server_profile"] = server_profile(prof_path, served)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    single = next((r for r in http_results["forecast"] if r["concurrency"] == 1), http_results["forecast"][0])
    best_bs = max(ours, key=lambda b: ours[b]["samples_per_s"])
    k_sps = keras and {bs: r["samples_per_s"] for bs, r in keras["batch_sizes"].items()}
    cmp = str(args.compare_batch)
    report["targets"] = {
        "single_p99_target_ms": P99_TARGET_MS, "single_p99_ms": single["p99_ms"],
        "single_p99_met": single["p99_ms"] is not None and single["p99_ms"] < P99_TARGET_MS,
        "ours_best_batch": int(best_bs), "ours_best_samples_per_s": ours[best_bs]["samples_per_s"],
        "ratio_target": RATIO_TARGET,
        "ratio_same_batch": ours[cmp]["samples_per_s"] / k_sps[cmp] if k_sps else None,
        "ratio_best": ours[best_bs]["samples_per_s"] / max(k_sps.values()) if k_sps else None,
        "ratio_vs_issue_keras": ours[best_bs]["samples_per_s"] / KERAS_ISSUE_SPS,
        # The issue's goal, read literally: 10x its 8,600 samples/s. ratio_met is the stricter reading: 10x
        # the Keras measured beside us, at the like-for-like batch size.
        "ratio_vs_issue_met": ours[best_bs]["samples_per_s"] / KERAS_ISSUE_SPS >= RATIO_TARGET,
        # Keras's own default call, model.predict(x), batches by 32: the issue's 8,600 is about that here.
        "keras_default_batch": KERAS_DEFAULT_BATCH,
        "ratio_vs_keras_default": (ours[best_bs]["samples_per_s"] / k_sps[str(KERAS_DEFAULT_BATCH)]
                                   if k_sps and str(KERAS_DEFAULT_BATCH) in k_sps else None),
        "ratio_met": (ours[cmp]["samples_per_s"] / k_sps[cmp] >= RATIO_TARGET) if k_sps else None,
    }
    report["machine"] = {
        "nproc": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(), "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(), "load_before": load_before, "load_after": loadavg(),
        "keras": keras and {k: keras[k] for k in ("keras", "tensorflow", "tf_threads")},
    }
    print(tables(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
