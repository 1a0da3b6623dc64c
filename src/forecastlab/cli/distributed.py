"""`forecastlab train --nproc N`: the same command run again as N data-parallel processes by torchrun
(torch.distributed.run), each joining one process group: gloo on CPU, NCCL on CUDA. The training engine
(forecastlab.training.engine) does the rest: DistributedDataParallel, a contiguous part of every batch per
rank, all-reduced epoch metrics, and only rank 0 writes the run directory.

Across machines, run torchrun yourself on each one with the same rendezvous (docs/distributed.md):

    FORECASTLAB_NPROC=2 torchrun --nnodes 2 --nproc-per-node 1 --node-rank K --rdzv-backend c10d \\
        --rdzv-endpoint HOST:29500 -m forecastlab train lstm --data ... --out /shared/runs/lstm
"""

from __future__ import annotations

import os
import subprocess
import sys

from forecastlab.errors import ForecastlabError

CHILD_ENV = "FORECASTLAB_NPROC"  # set in every torchrun worker: the world size the command asked for
ARGV: list[str] = []  # the command line as main() got it (set there)


def is_worker() -> bool:
    return bool(os.environ.get(CHILD_ENV)) and "WORLD_SIZE" in os.environ


def rank() -> int:
    return int(os.environ.get("RANK", "0")) if is_worker() else 0


def launch(nproc: int) -> int:
    """Run this command again under torchrun with `nproc` processes on this machine; its exit code."""
    args = _without_nproc(ARGV or sys.argv[1:])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "forecastlab", *args]
    env = dict(os.environ, **{CHILD_ENV: str(nproc)})
    env.setdefault("OMP_NUM_THREADS", "1")
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:  # torchrun passes the signal on to its workers and exits after them
        return 130


def join_group(device: str | None) -> None:
    """Join the torchrun job's process group (this changes the process: the CLI's to call)."""
    import torch
    import torch.distributed as tdist

    want, world = int(os.environ[CHILD_ENV]), int(os.environ["WORLD_SIZE"])
    if want != world:
        raise ForecastlabError(f"--nproc {want} was asked for, but torchrun started {world} processes",
                               where="--nproc", fix="give torchrun's total processes (nnodes x nproc-per-node)")
    cuda = (device or "auto").startswith("cuda") or ((device in (None, "auto")) and torch.cuda.is_available())
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    tdist.init_process_group("nccl" if cuda else "gloo")


def leave_group() -> None:
    import torch.distributed as tdist

    if tdist.is_available() and tdist.is_initialized():
        tdist.destroy_process_group()


def _without_nproc(args: list[str]) -> list[str]:
    out, skip = [], False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == "--nproc":
            skip = True
            if i + 1 >= len(args):
                raise ForecastlabError("--nproc needs a number", where="--nproc", fix="e.g. --nproc 2")
            continue
        if arg.startswith("--nproc="):
            continue
        out.append(arg)
    return out
