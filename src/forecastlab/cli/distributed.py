"""`forecastlab train --nproc N`: the same command run again as N data-parallel processes by torchrun
(torch.distributed.run), each joining one process group: gloo on CPU, NCCL on CUDA. The training engine
(forecastlab.training.engine) does the rest: DistributedDataParallel, a contiguous part of every batch per
rank, all-reduced epoch metrics, and only rank 0 writes the run directory.

Across machines, run torchrun yourself on each one with the same rendezvous (docs/distributed.md):

    FORECASTLAB_NPROC=2 torchrun --nnodes 2 --nproc-per-node 1 --node-rank K --rdzv-backend c10d \\
        --rdzv-endpoint HOST:29500 -m forecastlab train lstm --data ... --out /shared/runs/lstm

Stopping: torchrun starts every worker in a session of its own, so neither Ctrl-C at the terminal nor a
kill of the command's process group reaches them. So each process dies with its parent (Linux:
prctl PR_SET_PDEATHSIG): a killed command takes torchrun with it, and a killed torchrun its workers; no
orphan goes on writing the run directory that a later `train --resume` would then share. Ctrl-C and
SIGTERM stop the run cleanly: the command sends the signal once to torchrun (in its own process group,
so a terminal's Ctrl-C reaches it only that way), torchrun sends it on to every worker and waits for
them, and the command exits 128 + the signal after it (a second Ctrl-C, or STOP_GRACE_S, kills at once).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

from forecastlab.errors import ForecastlabError

CHILD_ENV = "FORECASTLAB_NPROC"  # set in every torchrun worker: the world size the command asked for
ARGV: list[str] = []  # the command line as main() got it (set there)


def is_worker() -> bool:
    return bool(os.environ.get(CHILD_ENV)) and "WORLD_SIZE" in os.environ


def rank() -> int:
    return int(os.environ.get("RANK", "0")) if is_worker() else 0


PARENT_ENV = "FORECASTLAB_PARENT_PID"  # the pid that started this process: it dies with that one
STOP_GRACE_S = 75.0  # after Ctrl-C or SIGTERM: torchrun's own grace (30 s), then its kill of them, and more

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

# torchrun as launch() starts it: it dies with the command (and its workers with it: join_group), and
# it tells its workers its pid. Only the standard library and torchrun: no second import of the CLI.
_AGENT = f"""\
import ctypes, os, signal, sys
if sys.platform.startswith("linux"):
    try:
        ctypes.CDLL(None, use_errno=True).prctl({_PR_SET_PDEATHSIG}, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass
if str(os.getppid()) != os.environ.get("{PARENT_ENV}"):
    sys.exit(1)  # the command is gone already
os.environ["{PARENT_ENV}"] = str(os.getpid())
try:
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.run import main
except KeyboardInterrupt:  # Ctrl-C while torch is still being imported: no worker yet, no traceback
    sys.exit(130)
try:
    main(sys.argv[1:])
except SignalException as stop:  # Ctrl-C or SIGTERM, passed on to the workers, who have stopped: no traceback
    sys.exit(128 + int(stop.sigval))
except KeyboardInterrupt:  # before the workers were started (torchrun's handlers not yet installed)
    sys.exit(130)
"""


def launch(nproc: int) -> int:
    """Run this command again under torchrun with `nproc` processes on this machine; its exit code."""
    args = _without_nproc(ARGV or sys.argv[1:])
    cmd = [sys.executable, "-c", _AGENT, "--standalone", f"--nproc-per-node={nproc}", "-m", "forecastlab", *args]
    env = dict(os.environ, **{CHILD_ENV: str(nproc), PARENT_ENV: str(os.getpid())})
    env.setdefault("OMP_NUM_THREADS", "1")
    # Its own process group: a terminal's Ctrl-C reaches torchrun once, from here, not twice.
    agent = subprocess.Popen(cmd, env=env, **({"process_group": 0} if os.name == "posix" else {}))
    try:
        return agent.wait()
    except KeyboardInterrupt as interrupt:  # Ctrl-C or SIGTERM (interrupts.install)
        signum = int(getattr(interrupt, "signum", signal.SIGINT))
        _stop(agent, signum)
        return 128 + signum


def _stop(agent: subprocess.Popen, signum: int) -> None:
    """Pass the signal on to torchrun (which passes it on to the workers and waits for them), wait for it,
    and kill it after STOP_GRACE_S or a second interrupt: its workers die with it."""
    try:
        agent.send_signal(signum)
        agent.wait(timeout=STOP_GRACE_S)
    except (KeyboardInterrupt, subprocess.TimeoutExpired):
        pass
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Have the kernel send `sig` to this process when its parent ends (Linux; elsewhere False, nothing done).

    If the parent is already gone (this process's PARENT_ENV names another pid), end now. This changes the
    process: a worker's CLI calls it (join_group), never library code."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    parent = os.environ.get(PARENT_ENV)
    if parent and str(os.getppid()) != parent:  # it ended before prctl: the kernel will not tell us now
        os.kill(os.getpid(), sig)
    return True


def join_group(device: str | None) -> None:
    """Join the torchrun job's process group (this changes the process: the CLI's to call). The worker
    also dies with torchrun (die_with_parent): torchrun starts it in a session of its own."""
    die_with_parent()
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
