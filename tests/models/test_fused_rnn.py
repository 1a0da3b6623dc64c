"""The fused C++ loops (fused_rnn.cpp) against the TorchScript loops and plain autograd, both paths run.

The C++ path must give the same outputs and every gradient as the fallback: in float64 to ~1e-12 (same
formulas, std::exp), in float32 to float rounding (a polynomial exp and another matmul summation order).
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from forecastlab.models.layers import GRU, LSTM, fused, loops
from forecastlab.models.layers.recurrent import dropout_masks

pytestmark = pytest.mark.skipif(fused.ops() is None, reason="the C++ extension could not be built here")


@pytest.fixture
def path(monkeypatch):
    """Switch between the C++ loops ('cpp') and the TorchScript fallback ('script') inside one test."""
    def use(which):
        monkeypatch.setenv("FORECASTLAB_NO_CPP", "1" if which == "script" else "0")
    return use


def _grads(kind, dtype, T, B, F, u, in_dropout, seq, seed=0):
    """Output and gradients wrt x and every weight, for one random masked-loop problem."""
    g = torch.Generator().manual_seed(seed)
    G = 4 if kind == "lstm" else 3

    def rand(*shape, scale=1.0):
        # drawn in float64 and cast, so that both dtypes solve the same problem
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).to(dtype).requires_grad_()

    x = rand(T, B, F)
    w_ih, w_hh, b1, b2 = rand(G * u, F, scale=0.5), rand(G * u, u, scale=0.4), rand(G * u), rand(G * u)
    torch.manual_seed(seed)
    rec = dropout_masks(G, B, u, 0.4, x.double()).to(dtype)
    inp = dropout_masks(G, B, F, 0.3, x.double()).to(dtype) if in_dropout else None
    params = [x, w_ih, w_hh, b1] + ([b2] if kind == "gru" else [])
    if kind == "lstm":
        y = loops.lstm_loop(x, w_ih, w_hh, b1, rec, inp, seq)
    else:
        y = loops.gru_loop(x, w_ih, w_hh, b1, b2, rec, inp, seq)
    # a loss that weighs every output differently
    weights = torch.randn(y.shape, generator=g, dtype=torch.float64).to(dtype)
    grads = torch.autograd.grad((y * weights).sum(), params)
    return [y.detach(), *grads]


CASES = [  # (T, B, F, u): the book's units, odd units, batch 1, one step
    (7, 5, 3, 32), (6, 4, 3, 5), (5, 1, 2, 7), (1, 3, 4, 32), (4, 2, 3, 1), (3, 3, 2, 64)]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("shape", CASES)
def test_cpp_matches_fallback_float64(path, kind, shape):
    path("cpp")
    a = _grads(kind, torch.float64, *shape, in_dropout=shape[0] % 2 == 1, seq=True)
    path("script")
    b = _grads(kind, torch.float64, *shape, in_dropout=shape[0] % 2 == 1, seq=True)
    for got, want in zip(a, b, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("shape", [(30, 64, 14, 32), (9, 3, 4, 13)])
@pytest.mark.parametrize("seq", [True, False])
def test_cpp_float32_is_as_accurate_as_fallback(path, kind, shape, seq):
    """Over 30 steps float32 rounding grows with the recurrence, so both float32 paths are judged
    against the float64 result: the C++ loops may not be noticeably less accurate than the fallback."""
    path("cpp")
    exact = _grads(kind, torch.float64, *shape, in_dropout=False, seq=seq)
    cpp = _grads(kind, torch.float32, *shape, in_dropout=False, seq=seq)
    path("script")
    script = _grads(kind, torch.float32, *shape, in_dropout=False, seq=seq)
    for c, s, e in zip(cpp, script, exact, strict=True):
        scale = e.abs().max().item()
        err_cpp = (c.double() - e).abs().max().item() / scale
        err_script = (s.double() - e).abs().max().item() / scale
        assert err_cpp < 5e-5 and err_cpp <= 3 * err_script + 2e-6, (err_cpp, err_script)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_cpp_matches_plain_autograd(path, kind):
    path("cpp")
    T, B, F, u = 6, 3, 4, 32
    a = _grads(kind, torch.float64, T, B, F, u, in_dropout=True, seq=True)
    path("script")
    ref = loops.lstm_loop_reference if kind == "lstm" else loops.gru_loop_reference
    orig = loops.lstm_loop if kind == "lstm" else loops.gru_loop
    try:  # the same problem through the plain autograd loop
        setattr(loops, orig.__name__, ref)
        b = _grads(kind, torch.float64, T, B, F, u, in_dropout=True, seq=True)
    finally:
        setattr(loops, orig.__name__, orig)
    assert a[0].abs().max() > 0.05  # a real problem, not all-saturated zeros
    for got, want in zip(a, b, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_layer_uses_cpp_graph_and_trains(path, cls):
    """In training the layer goes through the fused ops (same autograd node) and gives finite grads."""
    path("cpp")
    torch.manual_seed(0)
    layer = cls(5, 32, recurrent_dropout=0.3)
    x = torch.randn(4, 9, 5)
    y = layer(x)
    assert type(y.grad_fn).__name__.startswith("SelectBackward") or "Masked" in type(y.grad_fn).__name__
    y.square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in layer.parameters())


def test_nan_propagates_through_cpp_loops(path):
    """No -ffast-math: a NaN input must come out as NaN, as it does in the fallback (so a diverged
    training run is detected, not silently hidden)."""
    path("cpp")
    x = torch.randn(3, 2, 4)
    x[1, 0, 2] = float("nan")
    w_ih, w_hh, b = torch.randn(128, 4), torch.randn(128, 32) * 0.3, torch.zeros(128)
    y = loops.lstm_loop(x, w_ih, w_hh, b, torch.ones(4, 2, 32), return_sequences=True)
    assert torch.isnan(y[0, 1:]).all() and torch.isfinite(y[1]).all() and torch.isfinite(y[0, 0]).all()


def test_extreme_preactivations_saturate(path):
    """The float32 polynomial exp is clamped: huge gate inputs saturate like sigmoid/tanh, no inf/NaN."""
    outs = []
    for which in ("cpp", "script"):
        path(which)
        x = torch.tensor([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4]).view(7, 1, 1)
        w_ih, w_hh = torch.ones(9, 1), torch.ones(9, 3)
        outs.append(loops.gru_loop(x, w_ih, w_hh, torch.zeros(9), torch.zeros(9), torch.ones(3, 1, 3),
                                   return_sequences=True))
    assert torch.isfinite(outs[0]).all()
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-6, atol=1e-6)


def test_no_cpp_env_forces_fallback_in_a_fresh_process():
    code = ("from forecastlab.models.layers import fused; import torch; "
            "print(fused.ops() is None, fused.usable(torch.zeros(1)))")
    env = {"FORECASTLAB_NO_CPP": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_build_failure_warns_once_and_falls_back(monkeypatch):
    """A missing toolchain is not an error: one RuntimeWarning naming the reason, then the fallback."""
    monkeypatch.setenv("FORECASTLAB_NO_CPP", "0")
    saved = dict(fused._state)
    fused._state.clear()

    def broken():
        raise RuntimeError("Ninja is required to load C++ extensions")

    monkeypatch.setattr(fused, "_build", broken)
    try:
        with pytest.warns(RuntimeWarning, match="Ninja is required"):
            assert fused.ops() is None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert fused.ops() is None  # no second warning
        x = torch.randn(3, 2, 4)
        y = loops.lstm_loop(x, torch.randn(8, 4), torch.randn(8, 2), torch.zeros(8), torch.ones(4, 2, 2))
        assert y.shape == (2, 2)
    finally:
        fused._state.clear()
        fused._state.update(saved)



def test_other_dtypes_use_the_fallback(path):
    """The C++ loops cover float32/float64 only; bfloat16 must still train, through TorchScript."""
    path("cpp")
    assert fused.usable(torch.zeros(1)) and not fused.usable(torch.zeros(1, dtype=torch.bfloat16))
    x = torch.randn(4, 2, 3, dtype=torch.bfloat16)
    w_hh = torch.randn(96, 32, dtype=torch.bfloat16, requires_grad=True)
    y = loops.gru_loop(x, torch.randn(96, 3, dtype=torch.bfloat16), w_hh, torch.zeros(96, dtype=torch.bfloat16),
                       torch.zeros(96, dtype=torch.bfloat16), torch.ones(3, 2, 32, dtype=torch.bfloat16))
    y.float().sum().backward()
    assert y.dtype == torch.bfloat16 and w_hh.grad is not None and torch.isfinite(w_hh.grad.float()).all()


def test_stale_build_lock_is_cleared(tmp_path):
    """A build killed mid-way leaves torch's lock file, on which a later load would wait forever.
    Run in a fresh process: one process can register the ops' namespace only once."""
    import os
    import time

    env = {**os.environ, "TORCH_EXTENSIONS_DIR": str(tmp_path), "FORECASTLAB_NO_CPP": "0"}
    where = subprocess.run([sys.executable, "-c", "from forecastlab.models.layers import fused; "
                            "print(fused.build_dir())"], env=env, capture_output=True, text=True, check=True)
    folder = Path(where.stdout.strip())
    assert folder.parent == tmp_path and torch.__version__.split("+")[0] in folder.name
    folder.mkdir(parents=True)
    lock = folder / "lock"
    lock.touch()
    old = time.time() - fused.STALE_LOCK_S - 5
    os.utime(lock, (old, old))
    code = "from forecastlab.models.layers import fused; print(fused.ops() is not None)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["True"], out.stderr[-2000:]  # a fresh build, not a hang
    assert not lock.exists() and (folder / "forecastlab_fused.so").exists()
