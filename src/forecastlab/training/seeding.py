"""Seeds and random-number-generator state, so the same seed gives the same numbers and a resumed run
continues exactly where the interrupted one stopped (same dropout masks, same shuffles).

Training seeds torch's own generators, in a forked state (`seeded_torch`), and leaves the caller's
generators as they were. Python's `random` and NumPy's global generator are not used by training (the
train split's shuffle has its own generator, forecastlab.windows), so they are neither seeded nor saved.
"""

from __future__ import annotations

import contextlib
import functools
import inspect

import torch


@contextlib.contextmanager
def own_torch_rng(seed: int):
    """Inside: torch's generators (CPU and every GPU) seeded with `seed`. After: the caller's state back."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def seeded_torch(func):
    """Decorator: run `func` inside own_torch_rng(its `seed` argument), so each call starts from its own
    seed and leaves the caller's torch RNG state unchanged."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        with own_torch_rng(bound.arguments["seed"]):
            return func(*args, **kwargs)

    return wrapper


def rng_state() -> dict:
    """torch's generator states, as tensors (loadable with torch.load(weights_only=True))."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what rng_state() captured. The Python and NumPy states that older checkpoints also hold
    are ignored: training never drew from those generators."""
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
