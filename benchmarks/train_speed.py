"""Training speed of the book's models against Keras, side by side in one run.

    .venv/bin/python benchmarks/train_speed.py --keras-python /work/keras-venv/bin/python \
        [--models lstm,gru_stacked] [--steps 60] [--warmup 10] [--threads 1] [--json out.json]

Per model, ours: the median wall time of one training step — fetching the next shuffled batch of 256
windows from our WindowDataset over a 420,451 x 14 float32 array (sequence_length 120, sampling_rate 6,
the book's code 10-7), forward, MSE loss, backward, Keras RMSprop step and the running MAE, exactly as
the training engine does it — over `--steps` steps after `--warmup` untimed ones. The figure includes
our input pipeline, as Keras's includes its own; the input pipeline alone is reported as a column.
s/epoch is steps_per_epoch x median step (+ one measured validation pass with `--val`).

Keras: ../shared/bench/keras_reference.py run with `--keras-python` in a subprocess per model (it times
model.fit on the same data shape), alternating with ours model by model so that background load on a
shared machine hits both alike. ratio = Keras step / our step: the speed-up, 1.5 is the target.

Prints a Markdown table (with threads and load average); `--json PATH` writes
{"models": {NAME: {"ours_step_ms_median", "keras_step_ms_median", "ratio", ...}}, ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from forecastlab.evaluation.metrics import evaluate
from forecastlab.models import MODELS, build_model
from forecastlab.training.engine import train_step
from forecastlab.training.optim import make_optimizer
from forecastlab.training.runtime import configure_cpu
from forecastlab.windows import WindowSpec

BOOK_MODELS = ("dense", "conv1d", "lstm", "lstm_dropout", "gru_stacked", "bilstm")
ROWS, FEATURES, BATCH = 420_451, 14, 256
KERAS_SCRIPT = Path(__file__).resolve().parents[2] / "shared" / "bench" / "keras_reference.py"


def book_datasets(prefetch: bool, rows: int = ROWS):
    """The book's train/val/test windows over random data shaped like Jena (as keras_reference.py makes it)."""
    rng = np.random.default_rng(0)
    raw = rng.standard_normal((rows, FEATURES), dtype=np.float32) * 10 + 5
    return WindowSpec().make_datasets(raw, raw[:, 1].copy(), batch_size=BATCH, seed=1, prefetch=prefetch)


def _batches(dataset):
    """Endless batches: a new shuffled epoch when one ends."""
    while True:
        yield from dataset


def pipeline_ms(dataset, n: int) -> float:
    """Median ms to produce one batch with no model attached (the input pipeline alone)."""
    it = _batches(dataset)
    times = []
    t_prev = time.perf_counter()
    for _ in range(n):
        next(it)
        t = time.perf_counter()
        times.append((t - t_prev) * 1e3)
        t_prev = t
    return statistics.median(times)


def time_ours(name: str, datasets, steps: int, warmup: int, mode: str, val: bool) -> dict:
    """Median step time of our model on the book's batches (the engine's step, engine's order)."""
    torch.manual_seed(1)
    params = {"recurrent_dropout_mode": mode} if "recurrent_dropout_mode" in MODELS[name].hyperparameters() else {}
    model = build_model(name, FEATURES, datasets.spec.sequence_length, **params).train()
    opt = make_optimizer("rmsprop", model.parameters())
    loss_sum = torch.zeros((), dtype=torch.float64)
    abs_sum = torch.zeros((), dtype=torch.float64)
    times = []
    it = _batches(datasets.train)
    t_prev = time.perf_counter()
    for _ in range(warmup + steps):
        x, y = next(it)
        train_step(model, opt, x, y.reshape(-1), loss_sum, abs_sum)
        t = time.perf_counter()
        times.append((t - t_prev) * 1e3)
        t_prev = t
    timed = times[warmup:]
    out = {"step_ms_median": statistics.median(timed), "step_ms_mean": statistics.fmean(timed),
           "step_ms_min": min(timed), "finite": bool(torch.isfinite(loss_sum))}
    if val:
        t0 = time.perf_counter()
        evaluate(model, datasets.val)
        out["val_pass_s"] = time.perf_counter() - t0
    return out


def time_keras(python: str, script: Path, name: str, steps: int, warmup: int) -> dict:
    """keras_reference.py for one model in its own process; its JSON result for that model."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "keras.json"
        cmd = [python, str(script), "--models", name, "--steps", str(steps), "--warmup", str(warmup),
               "--json", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"keras_reference.py failed for {name}:\n{proc.stderr[-2000:]}")
        report = json.loads(out.read_text())
    r = report["models"][name]
    r["versions"] = {k: report.get(k) for k in ("tensorflow", "keras", "python")}
    return r


def keras_threads(python: str) -> str:
    """TensorFlow's intra/inter-op thread settings as keras_reference.py leaves them (0 = one per core)."""
    code = ("import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='2'; import tensorflow as tf; "
            "c=tf.config.threading; print(c.get_intra_op_parallelism_threads(), c.get_inter_op_parallelism_threads())")
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        return "unknown"
    intra, inter = proc.stdout.split()[-2:]
    return f"intra {intra}, inter {inter} (0 = TF default: one per core, {os.cpu_count()} here)"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def project_book(models: dict, steps_per_epoch: int) -> dict:
    """Hours for `reproduce --profile book`: sum of book_epochs x (steps x median step [+ val pass])."""
    ours = ours_train = keras = 0.0
    covered = []
    for name, r in models.items():
        if name not in BOOK_MODELS:
            continue
        epochs = MODELS[name].book_epochs
        train_s = steps_per_epoch * r["ours_step_ms_median"] / 1e3
        ours_train += epochs * train_s
        ours += epochs * (train_s + r.get("ours_val_pass_s", 0.0))
        if r.get("keras_step_ms_median") is not None:
            keras += epochs * steps_per_epoch * r["keras_step_ms_median"] / 1e3
        covered.append(name)
    return {"models": covered, "ours_hours": ours / 3600, "ours_train_only_hours": ours_train / 3600,
            "keras_train_only_hours": keras / 3600 if keras else None}


def table(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"torch {m['torch']} threads {m['torch_threads']} (interop {m['torch_interop_threads']}), "
        f"TF threads: {m['keras_threads']}; {m['nproc']} cores ({m['cpu']}); "
        f"load avg before {m['load_before']}, after {m['load_after']}; "
        f"median of {report['steps']} steps after {report['warmup']} warm-up; prefetch {report['prefetch']}; "
        f"recurrent_dropout_mode {report['mode']}",
        "",
        "| model | ours ms/step | Keras ms/step | ratio (Keras/ours) | ours s/epoch | Keras s/epoch | "
        "ours val pass s | input pipeline ms/batch |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def f(v, fmt):
        return "—" if v is None else format(v, fmt)

    for name, r in report["models"].items():
        lines.append(
            f"| {name} | {r['ours_step_ms_median']:.1f} | {f(r.get('keras_step_ms_median'), '.1f')} | "
            f"{f(r.get('ratio'), '.2f')} | {r['ours_epoch_s']:.1f} | {f(r.get('keras_epoch_s'), '.1f')} | "
            f"{f(r.get('ours_val_pass_s'), '.1f')} | {report['pipeline_ms_per_batch']:.2f} |")
    p = report.get("book_projection")
    if p and p["models"]:
        lines += ["", f"book profile projection over {', '.join(p['models'])}: ours {p['ours_hours']:.2f} h "
                  f"(training only {p['ours_train_only_hours']:.2f} h), Keras training only "
                  f"{f(p['keras_train_only_hours'], '.2f')} h"]
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(BOOK_MODELS))
    ap.add_argument("--steps", type=int, default=60, help="timed steps per model (the median is over these)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps before timing")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--mode", default="exact", choices=("exact", "weight"), help="recurrent_dropout_mode")
    ap.add_argument("--prefetch", action="store_true", help="gather the next batch in a background thread")
    ap.add_argument("--val", action="store_true", help="also time one validation pass per model")
    ap.add_argument("--rows", type=int, default=ROWS, help=argparse.SUPPRESS)  # smoke tests only
    ap.add_argument("--keras-python", default=None, help="a python with keras + tensorflow (optional)")
    ap.add_argument("--keras-script", default=str(KERAS_SCRIPT))
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    names = [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; choose from {', '.join(MODELS)}")

    configure_cpu(args.threads)
    datasets = book_datasets(args.prefetch, args.rows)
    steps_per_epoch = len(datasets.train)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report = {"steps": args.steps, "warmup": args.warmup, "prefetch": args.prefetch, "mode": args.mode,
              "steps_per_epoch": steps_per_epoch, "models": {}}
    report["pipeline_ms_per_batch"] = pipeline_ms(datasets.train, max(args.steps, 1))
    kthreads = keras_threads(args.keras_python) if args.keras_python else None
    versions = None
    for name in names:
        ours = time_ours(name, datasets, args.steps, args.warmup, args.mode, args.val)
        r = {"ours_step_ms_median": ours["step_ms_median"], "ours_step_ms_mean": ours["step_ms_mean"],
             "ours_step_ms_min": ours["step_ms_min"], "ours_epoch_s": steps_per_epoch * ours["step_ms_median"] / 1e3}
        if "val_pass_s" in ours:
            r["ours_val_pass_s"] = ours["val_pass_s"]
            r["ours_epoch_s_with_val"] = r["ours_epoch_s"] + ours["val_pass_s"]
        r["keras_step_ms_median"] = r["ratio"] = None
        if args.keras_python and name in BOOK_MODELS + ("simple_rnn",):
            k = time_keras(args.keras_python, Path(args.keras_script), name, args.steps, args.warmup)
            versions = k.pop("versions")
            r.update(keras_step_ms_median=k["step_ms_median"], keras_step_ms_mean=k["step_ms_mean"],
                     keras_epoch_s=steps_per_epoch * k["step_ms_median"] / 1e3,
                     ratio=k["step_ms_median"] / ours["step_ms_median"])
        report["models"][name] = r
        print(f"{name}: ours {r['ours_step_ms_median']:.1f} ms, Keras {r['keras_step_ms_median']} ms",
              file=sys.stderr, flush=True)
    report["machine"] = {
        "nproc": os.cpu_count(), "cpu": cpu_model(), "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(),
        "keras_threads": kthreads, "keras_versions": versions, "python": platform.python_version(),
        "load_before": load_before, "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    report["book_projection"] = project_book(report["models"], steps_per_epoch)
    print(table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
