"""Time one training step (forward + backward + Keras RMSprop step) per model at the book's shapes.

    .venv/bin/python benchmarks/layer_speed.py [--models lstm,gru_stacked] [--steps 30] [--threads 1,2]

Prints the median ms/step over `--steps` timed steps after `--warmup` untimed ones, with the torch
thread count and the machine load (other processes share these cores). Batches are random tensors
already in memory: this isolates the model from the input pipeline. `--threads 1,2` alternates the
thread counts model by model in one process (`--rounds` times), so background load hits each alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch

from forecastlab.models import MODELS, build_model, count_params
from forecastlab.training.optim import make_optimizer
from forecastlab.training.runtime import configure_cpu


def time_model(name: str, steps: int, warmup: int, batch: int, seq: int, features: int, **params) -> dict:
    torch.manual_seed(0)
    model = build_model(name, features, seq, **params).train()
    opt = make_optimizer("rmsprop", model.parameters())
    x = torch.randn(batch, seq, features)
    y = torch.randn(batch, 1)
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000)
    return {"step_ms_median": statistics.median(times), "step_ms_min": min(times),
            "params": count_params(model), "steps": steps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seq", type=int, default=120)
    ap.add_argument("--features", type=int, default=14)
    ap.add_argument("--threads", default=None, help="torch threads, or a comma list to compare")
    ap.add_argument("--rounds", type=int, default=1, help="alternations per model when comparing threads")
    ap.add_argument("--mode", default="exact", help="recurrent_dropout_mode for the dropout models")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    counts = [int(t) for t in args.threads.split(",")] if args.threads else [None]
    configure_cpu(counts[0])
    load = os.getloadavg()[0]
    print(f"torch {torch.__version__}, threads {args.threads or torch.get_num_threads()}, load avg (1 min) "
          f"{load:.2f}, batch {args.batch} x {args.seq} x {args.features}, median of {args.steps} steps")
    results = {}
    for name in args.models.split(","):
        params = {}
        if "recurrent_dropout_mode" in MODELS[name].hyperparameters():
            params["recurrent_dropout_mode"] = args.mode
        for rnd in range(args.rounds):
            for n in counts:
                if n is not None:
                    torch.set_num_threads(n)
                r = time_model(name, args.steps, args.warmup, args.batch, args.seq, args.features, **params)
                results.setdefault(name, {})[f"threads={torch.get_num_threads()},round={rnd}"] = r
                print(f"{name:14s} threads {torch.get_num_threads()}  {r['step_ms_median']:8.1f} ms/step "
                      f"(min {r['step_ms_min']:.1f})  params {r['params']}  load {os.getloadavg()[0]:.2f}",
                      flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "load": load, "models": results}, f, indent=1)


if __name__ == "__main__":
    main()
