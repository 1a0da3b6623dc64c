"""Process-wide torch settings that make CPU training fast and repeatable, applied only on request.

They change the whole process, so no library call applies them: the CLI's entry point does, for every
command that runs torch, and a script or notebook calls `configure_cpu()` once.

Every setting here was measured on the 2-core development machine (docs/speed.md has the numbers and
the commands): flushing denormals, one intra-op thread on machines with two cores or fewer, and
keeping freed activation buffers in the malloc heap instead of returning them to the kernel.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

import torch

_configured = False
_malloc_tuned = False

# glibc mallopt parameters (malloc.h): without them, buffers above the dynamic mmap threshold are
# mmap'ed fresh and page-faulted on every training step (lstm_dropout: ~1150 -> ~380 minor faults per
# step; the step-time gain is small and within this shared machine's noise, see docs/speed.md).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling on 64-bit
_TRIM_THRESHOLD = 1024 * 1024 * 1024


def default_threads(cpus: int | None = None) -> int:
    """The intra-op thread count configure_cpu uses when none is given.

    On two cores or fewer, one thread: torch's OpenMP workers spin-wait at every op's barrier, and when
    another process holds the other core a 2-thread step becomes 5-300x slower (measured: lstm 13 ms
    with 1 thread vs 108-5700 ms with 2 at load 4-5). Larger machines keep one core free for the input
    pipeline and the OS.
    `FORECASTLAB_THREADS` overrides.
    """
    env = os.environ.get("FORECASTLAB_THREADS")
    if env:
        return max(1, int(env))
    cpus = cpus or os.cpu_count() or 1
    return 1 if cpus <= 2 else min(torch.get_num_threads(), cpus - 1)


def tune_malloc() -> bool:
    """Keep large freed buffers in the heap (glibc only); True when applied.

    Training allocates the same multi-megabyte activation and workspace buffers every step. glibc
    serves blocks above its (adaptive) mmap threshold with fresh mmaps and trims the heap top on free,
    so each step pays page faults to zero that memory again. Fixing the thresholds removes that.
    """
    global _malloc_tuned
    if _malloc_tuned:
        return True
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1 and ok
    _malloc_tuned = ok
    return ok


def configure_cpu(threads: int | None = None) -> None:
    """Apply the CPU settings every training or benchmark process wants.

    Flushing denormals matters: RNN states and gradients decay into the denormal range after a few
    hundred steps, and x86 arithmetic on denormals is slow enough to halve LSTM training speed.
    `threads` sets torch's intra-op thread count (None: `default_threads()`). Also `tune_malloc()`.
    """
    global _configured
    torch.set_flush_denormal(True)
    torch.set_num_threads(int(threads) if threads is not None else default_threads())
    tune_malloc()
    _configured = True


def pick_device(name: str | None = None) -> torch.device:
    """The device to train on: `name` when given, else CUDA when present, else CPU."""
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
