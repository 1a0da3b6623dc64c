"""Benchmark: one shuffled pass over the book's training windows, ours against Keras's own function.

The data is what code 10-7 feeds Keras on Jena: 420,451 rows x 14 float32 columns (random here), the
temperature column as targets, delay 858, sequence_length 120, sampling_rate 6, batch 256, shuffled,
rows 0..210,224: 209,511 windows in 819 batches of 256 x 120 x 14.

Every engine runs in a fresh subprocess so peak-RSS numbers never mix: the worker loads the data, resets
the kernel's high-water mark (/proc/self/clear_refs), then builds the dataset and iterates it. "extra" is
that peak minus the RSS just before building, i.e. what the windows cost on top of the raw array.
Keras runs in the interpreter given by --keras-python (a venv with keras 3 + tensorflow); neither is a
dependency of forecastlab.

The "+dense step" rows answer issue 5's question (is the gather off the training critical path?): the
same pass with a training step of the book's cheapest model (Flatten, Dense(16), Dense(1), RMSprop) on
each batch, with and without background prefetch.

    python benchmarks/windows.py                                   # ours only
    python benchmarks/windows.py --keras-python /work/keras-venv/bin/python --json windows.json
    python benchmarks/windows.py --batches 2                       # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROWS, COLUMNS, TARGET_COLUMN = 420_451, 14, 1
SEQUENCE_LENGTH, SAMPLING_RATE, HORIZON, BATCH_SIZE = 120, 6, 24, 256
DELAY = SAMPLING_RATE * (SEQUENCE_LENGTH + HORIZON - 1)  # 858
NUM_TRAIN = int(0.5 * ROWS)  # 210,225
MIB = 1024 * 1024

ENGINES = {
    "ours": {"prefetch": False, "step": False},
    "ours+prefetch": {"prefetch": True, "step": False},
    "ours+dense step": {"prefetch": False, "step": True},
    "ours+prefetch+dense step": {"prefetch": True, "step": True},
    "plain torch index_select": {},  # not our engine: the "plain torch gather" reference
}


# -- worker side (runs in a fresh interpreter) ---------------------------------------------------------


def _proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS


def _data():
    import numpy as np

    data = np.random.default_rng(0).standard_normal((ROWS, COLUMNS), dtype=np.float32)
    return data, data[:, TARGET_COLUMN]


def _book_kwargs(prefetch: bool | None = None) -> dict:
    kw = dict(
        sampling_rate=SAMPLING_RATE,
        sequence_length=SEQUENCE_LENGTH,
        shuffle=True,
        batch_size=BATCH_SIZE,
        seed=0,
        start_index=0,
        end_index=NUM_TRAIN,
    )
    return kw if prefetch is None else kw | {"prefetch": prefetch}


def _measure(build, iterate) -> dict:
    """Build and iterate with the peak-RSS mark reset just before; the caller has already loaded the data."""
    _reset_peak()
    rss_before = _proc_status_kib("VmRSS")
    t0 = time.perf_counter()
    ds = build()
    t1 = time.perf_counter()
    batches, windows = iterate(ds)
    t2 = time.perf_counter()
    peak = _proc_status_kib("VmHWM")
    return {
        "build_s": t1 - t0,
        "pass_s": t2 - t1,
        "batches": batches,
        "windows": windows,
        "rss_before_mib": rss_before / 1024,
        "peak_mib": peak / 1024,
        "extra_mib": (peak - rss_before) / 1024,
    }


def _dense_step():
    """One training step of the book's densely connected baseline model (code 10-9), in torch."""
    import torch

    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(SEQUENCE_LENGTH * COLUMNS, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)
    )
    opt = torch.optim.RMSprop(model.parameters())

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x).squeeze(-1), y)
        loss.backward()
        opt.step()

    return step


def worker_ours(engine: str, max_batches: int | None) -> dict:
    import torch

    from forecastlab.windows import timeseries_dataset_from_array

    opts = ENGINES[engine]
    step = _dense_step() if opts["step"] else None
    data, temperature = _data()

    def build():
        return timeseries_dataset_from_array(
            data[:-DELAY], targets=temperature[DELAY:], **_book_kwargs(opts["prefetch"])
        )

    def iterate(ds):
        batches = windows = 0
        for x, y in ds:
            if step is not None:
                step(x, y)
            batches += 1
            windows += len(x)
            if batches == max_batches:
                break
        return batches, windows

    result = _measure(build, iterate)
    result["threads"] = torch.get_num_threads()
    result["version"] = f"torch {torch.__version__}"
    return result


def worker_plain_torch(max_batches: int | None) -> dict:
    """The same windows with a bare torch.index_select loop, for reference."""
    import numpy as np
    import torch

    data, temperature = _data()
    num_windows = NUM_TRAIN - (SEQUENCE_LENGTH - 1) * SAMPLING_RATE

    def build():
        x, y = torch.from_numpy(data[:-DELAY]), torch.from_numpy(temperature[DELAY:])
        order = torch.from_numpy(np.random.default_rng(0).permutation(num_windows))
        return x, y, order

    def iterate(ds):
        x, y, order = ds
        offsets = torch.arange(SEQUENCE_LENGTH) * SAMPLING_RATE
        batches = windows = 0
        for i in range(0, num_windows, BATCH_SIZE):
            p = order[i : i + BATCH_SIZE]
            xb = x.index_select(0, (p[:, None] + offsets).reshape(-1)).view(len(p), SEQUENCE_LENGTH, COLUMNS)
            y.index_select(0, p)
            batches += 1
            windows += len(xb)
            if batches == max_batches:
                break
        return batches, windows

    result = _measure(build, iterate)
    result["threads"] = torch.get_num_threads()
    result["version"] = f"torch {torch.__version__}"
    return result


def worker_keras(max_batches: int | None) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    data, temperature = _data()

    def build():
        ds = keras.utils.timeseries_dataset_from_array(data[:-DELAY], targets=temperature[DELAY:], **_book_kwargs())
        return ds.take(max_batches) if max_batches else ds

    def iterate(ds):
        batches = windows = 0
        for x, _ in ds:
            batches += 1
            windows += int(x.shape[0])
        return batches, windows

    result = _measure(build, iterate)
    result["version"] = f"keras {keras.__version__}, tensorflow {tf.__version__}"
    return result


# -- driver side -----------------------------------------------------------------------------------------


def run_worker(python: str, engine: str, max_batches: int | None, torch_threads: int | None = None) -> dict:
    cmd = [python, __file__, "--worker", engine]
    if max_batches:
        cmd += ["--batches", str(max_batches)]
    if torch_threads:
        cmd += ["--torch-threads", str(torch_threads)]
    env = os.environ | {"CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "loadavg": os.getloadavg()}


def markdown(results: dict[str, dict], raw_mib: float) -> str:
    lines = [
        "| engine | build (s) | pass (s) | batches | windows | ms/batch "
        "| RSS before (MiB) | peak (MiB) | extra (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['build_s']:.3f} | {r['pass_s']:.3f} | {r['batches']} | {r['windows']:,} | "
            f"{1000 * r['pass_s'] / max(r['batches'], 1):.3f} | {r['rss_before_mib']:.0f} | {r['peak_mib']:.0f} | "
            f"{r['extra_mib']:.1f} |"
        )
    lines.append(f"\nraw array: {ROWS:,} x {COLUMNS} float32 = {raw_mib:.1f} MiB")
    return "\n".join(lines)


def checks(results: dict[str, dict]) -> dict:
    ours = results["ours"]
    out = {"memory_extra_mib": ours["extra_mib"], "memory_ok": ours["extra_mib"] < 64}
    if "keras" in results:
        keras = results["keras"]
        out["speedup_vs_keras"] = (keras["build_s"] + keras["pass_s"]) / (ours["build_s"] + ours["pass_s"])
        out["speedup_ok"] = out["speedup_vs_keras"] >= 30
    if "ours+dense step" in results:
        step = results["ours+dense step"]
        gather_ms = 1000 * ours["pass_s"] / ours["batches"]
        with_step_ms = 1000 * step["pass_s"] / step["batches"]
        out["gather_ms_per_batch"] = gather_ms
        out["dense_step_pass_ms_per_batch"] = with_step_ms
        out["gather_share_of_dense_step_pass"] = gather_ms / with_step_ms
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=None, help="stop after N batches (smoke test)")
    parser.add_argument("--keras-python", help="python of a venv with keras 3 + tensorflow, to time Keras too")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of our engines")
    parser.add_argument("--torch-threads", type=int, help="torch.set_num_threads in our workers (default: torch's)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        if args.torch_threads:
            import torch

            torch.set_num_threads(args.torch_threads)
        if args.worker == "keras":
            result = worker_keras(args.batches)
        elif args.worker == "plain torch index_select":
            result = worker_plain_torch(args.batches)
        else:
            result = worker_ours(args.worker, args.batches)
        print(json.dumps(result))
        return

    info = machine()
    results = {
        name: run_worker(sys.executable, name, args.batches, args.torch_threads) for name in args.engines.split(",")
    }
    if args.keras_python:
        results["keras"] = run_worker(args.keras_python, "keras", args.batches)
    info["loadavg_after"] = os.getloadavg()
    raw_mib = ROWS * COLUMNS * 4 / MIB
    verdict = checks(results)

    print(f"machine: {info['nproc']} cores, {info['cpu']}, python {info['python']}")
    print(f"load average (1, 5, 15 min): before {info['loadavg']}, after {info['loadavg_after']}")
    print("versions: " + "; ".join(f"{k}: {v['version']}" for k, v in results.items() if k in ("ours", "keras")))
    print(f"torch threads: {results[next(iter(results))].get('threads')}\n")
    print(markdown(results, raw_mib))
    if "speedup_vs_keras" in verdict:
        print(f"\nspeed-up over Keras (build + pass): {verdict['speedup_vs_keras']:.1f}x (target >= 30x)")
    print(f"extra memory for our windows: {verdict['memory_extra_mib']:.1f} MiB (target < 64 MiB over the raw array)")
    if "gather_share_of_dense_step_pass" in verdict:
        print(
            f"gather alone: {verdict['gather_ms_per_batch']:.3f} ms/batch; with the dense model's step: "
            f"{verdict['dense_step_pass_ms_per_batch']:.3f} ms/batch "
            f"(gather = {100 * verdict['gather_share_of_dense_step_pass']:.0f}% of it)"
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results, "checks": verdict}, indent=2))


if __name__ == "__main__":
    main()
