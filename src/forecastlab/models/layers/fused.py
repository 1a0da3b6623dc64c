"""The fused C++ loops of `fused_rnn.cpp`, JIT-compiled on first use and cached by torch.

`ops()` returns the `torch.ops.forecastlab_fused` namespace (lstm_forward, lstm_backward, gru_forward,
gru_backward: whole-sequence loops writing bptt.py's buffers), or None when the TorchScript loops must
run instead: FORECASTLAB_NO_CPP=1 is set, or the build failed (no compiler, no ninja). A failed build
warns once, with the reason, and is not retried in this process.

The build (~10 s with gcc 12) lands in `build_dir()` under torch's extensions folder
(TORCH_EXTENSIONS_DIR, default ~/.cache/torch_extensions) and is reused by later processes until the
source or flags change; a lock left by a killed build is removed after 10 minutes. `-march=native`
is safe there because the binary is built on the machine that runs it; `-ffast-math` is not used, so
the loops keep IEEE semantics (NaN propagates, no reassociation beyond the matmul order);
`-fno-trapping-math` only drops the promise to keep floating-point exception flags exact.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("fused_rnn.cpp")
# -fno-trapping-math only lets gcc assume that nobody reads the floating-point exception flags; the
# results are unchanged. Without it gcc 12 keeps the clamps of exp_approx as branches and leaves the
# activation loops scalar (the LSTM forward took 85 instead of 15 ms per batch here).
CFLAGS = ["-O3", "-march=native", "-fno-trapping-math"]
_state: dict = {}


def disabled() -> bool:
    """True when FORECASTLAB_NO_CPP asks for the TorchScript loops."""
    return os.environ.get("FORECASTLAB_NO_CPP", "").strip() not in ("", "0")


STALE_LOCK_S = 600


def _cpu_tag() -> str:
    """A short hash of the CPU's instruction-set flags: the build uses -march=native, so a cache folder
    shared between different CPUs (a network home directory) must never hand one CPU another's binary."""
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = next((line for line in text.splitlines() if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    return hashlib.sha256((platform.machine() + flags).encode()).hexdigest()[:8]


def build_dir() -> Path:
    """Where the build lives: one folder per Python version, torch version and CPU instruction set, so
    that neither an upgrade nor another CPU ever loads a binary built for something else."""
    from torch.utils.cpp_extension import get_default_build_root

    root = os.environ.get("TORCH_EXTENSIONS_DIR") or get_default_build_root()
    tag = f"py{sys.version_info.major}{sys.version_info.minor}_torch{torch.__version__}".replace("+", "_")
    return Path(root) / f"forecastlab_fused_{tag}_cpu{_cpu_tag()}"


def _build():
    from torch.utils import cpp_extension

    folder = build_dir()
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / "lock"
    # torch waits forever on the lock of a build that was killed; a real build takes ~10 s.
    if lock.exists() and time.time() - lock.stat().st_mtime > STALE_LOCK_S:
        lock.unlink(missing_ok=True)
    cpp_extension.load(name="forecastlab_fused", sources=[str(SOURCE)], extra_cflags=CFLAGS,
                       build_directory=str(folder), is_python_module=False, verbose=False)
    return torch.ops.forecastlab_fused


def ops():
    """The compiled ops, or None (fallback). Builds at most once per process."""
    if disabled():
        return None
    if "ops" not in _state:
        try:
            _state["ops"] = _build()
        except Exception as exc:  # noqa: BLE001 - any build failure means: use the TorchScript loops
            _state["ops"] = None
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            warnings.warn(f"forecastlab: the fused C++ RNN loops could not be built ({reason}); using the "
                          "slower TorchScript loops. Install a C++ compiler and `ninja`, or set "
                          "FORECASTLAB_NO_CPP=1 to silence this.", RuntimeWarning, stacklevel=2)
    return _state["ops"]


def usable(*tensors: torch.Tensor) -> bool:
    """Whether the fused loops apply to these tensors: CPU, float32/float64, and the ops built."""
    t = tensors[0]
    if t.device.type != "cpu" or t.dtype not in (torch.float32, torch.float64):
        return False
    return ops() is not None
