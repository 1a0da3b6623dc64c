"""Hand-written backpropagation through time for the masked (recurrent-dropout) LSTM and GRU loops.

Autograd over a 120-step Python loop records ~20 nodes per step and replays them one by one; here the
forward runs without a graph into preallocated buffers and the backward is one loop of small tensor
ops per step, with the gate derivatives formed on that step's (B, u) slices while they are in cache.

Layouts, chosen so that no step of training copies a full-size tensor (docs/speed.md):
- the input projections `xp` and their gradient are (T, B, G, u): exactly the rows and columns of the
  one (T*B, F) x (F, G*u) input matmul, so neither direction needs a transpose copy;
- the masked states `hm` and the pre-activation gradients are (T, B, G, u) too, which makes the
  recurrent-weight gradient one batched matmul over the G gates, contracting all T*B rows at once;
- activations are (T, G, B, u), so every per-step gate slice is contiguous.
tanh is computed as 2*sigmoid(2x) - 1 inside the loops: the same function (within float rounding), but
torch's CPU tanh costs ~5x more per element than its sigmoid, and the loops call it at every step.
The per-timestep loops run as fused C++ (fused_rnn.cpp via fused.py: one call per sequence, each
sample's step done in registers and L1) when the extension builds and the tensors are float32/float64 on
the CPU; otherwise as the TorchScript functions below (FORECASTLAB_NO_CPP=1 forces them). The C++
backward also forms the recurrent-weight gradient (and the GRU's recurrent-bias gradient) per timestep,
so that path stores no `hm` and runs no `_weight_grad`; the other buffers and layouts are shared.
tests/test_fused_rnn.py checks the two paths against each other.

Both functions are checked against the plain autograd loops in `loops.py` (tests/test_layers.py).
"""

from __future__ import annotations

import warnings

import torch

from forecastlab.models.layers import fused


def _script(fn):
    """torch.jit.script, quietly: 2.13 marks it deprecated, but it still runs these loops faster than
    Python does (and torch.compile would need a C++ toolchain and a compile per sequence length)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.script(fn)


@_script
def _lstm_forward_loop(xp, rk, masks, hm, act, c, tc, hs):
    """The LSTM recurrence into preallocated buffers. TorchScript: the loop runs ~10 small ops per
    timestep, and the interpreter's per-op cost is lower than Python's (measured in docs/speed.md)."""
    h = torch.zeros_like(hs[0])
    for t in range(xp.shape[0]):
        hm_t = hm[t].transpose(0, 1)
        torch.mul(h, masks, out=hm_t)
        gates = torch.baddbmm(xp[t].transpose(0, 1), hm_t, rk)
        gates[2].mul_(2.0)  # g = tanh(x) = 2*sigmoid(2x) - 1, all four gates in one sigmoid
        a = act[t]
        torch.sigmoid(gates, out=a)
        a[2].mul_(2.0).sub_(1.0)
        torch.addcmul(a[1] * c[t], a[0], a[2], out=c[t + 1])
        tc_t = tc[t]
        torch.mul(c[t + 1], 2.0, out=tc_t)
        tc_t.sigmoid_().mul_(2.0).sub_(1.0)  # tanh(c)
        h = torch.mul(a[3], tc_t, out=hs[t])


@_script
def _lstm_backward_loop(dhs, w, masks, act, c, tc, dpre):
    """dpre (T, B, 4, u) from dh(t); dc flows through the forget gate, dh through the masked matmul.
    Gate derivatives are formed per step on cache-sized slices, not as whole-sequence arrays: that
    saves ~20 passes over 15 MB buffers per training step."""
    dh_rec = torch.zeros_like(dhs[0])
    dc_carry = torch.zeros_like(dhs[0])
    for t in range(dhs.shape[0] - 1, -1, -1):
        a = act[t]
        i, f, g, o = a[0], a[1], a[2], a[3]
        tc_t = tc[t]
        dh = dhs[t] + dh_rec
        dc = torch.addcmul(dc_carry, dh * o, 1 - tc_t * tc_t)
        d = dpre[t].transpose(0, 1)  # (4, B, u) view
        torch.mul(dc * g, i - i * i, out=d[0])
        torch.mul(dc * c[t], f - f * f, out=d[1])
        torch.mul(dc * i, 1 - g * g, out=d[2])
        torch.mul(dh * tc_t, o - o * o, out=d[3])
        dh_rec = (torch.bmm(d, w) * masks).sum(0)
        dc_carry = dc * f


@_script
def _gru_forward_loop(xp, rk, rb, masks, hm, act, rec_n, hs):
    for t in range(xp.shape[0]):
        hm_t = hm[t].transpose(0, 1)
        torch.mul(hs[t], masks, out=hm_t)
        rec = torch.baddbmm(rb, hm_t, rk)
        a = act[t]
        x_t = xp[t].transpose(0, 1)
        torch.sigmoid(torch.add(x_t[:2], rec[:2], out=a[:2]), out=a[:2])
        rec_n[t] = rec[2]
        n = torch.addcmul(x_t[2], a[0], rec[2], out=a[2])
        n.mul_(2.0).sigmoid_().mul_(2.0).sub_(1.0)  # tanh
        torch.addcmul(n, a[1], hs[t] - n, out=hs[t + 1])


@_script
def _gru_backward_loop(dhs, w, masks, act, rec_n, hs, dxp, drec):
    """dxp and drec (T, B, 3, u) from dh(t), gate derivatives formed per step (see the LSTM's)."""
    dh_rec = torch.zeros_like(dhs[0])
    for t in range(dhs.shape[0] - 1, -1, -1):
        a = act[t]
        r, z, n = a[0], a[1], a[2]
        dh = dhs[t] + dh_rec
        x = dxp[t].transpose(0, 1)  # d input projection, (3, B, u) view
        d = drec[t].transpose(0, 1)  # d recurrent term
        torch.mul(dh * (1 - z), 1 - n * n, out=x[2])
        torch.mul(x[2], r, out=d[2])
        torch.mul(x[2] * rec_n[t], r - r * r, out=d[0])
        torch.mul(dh * (hs[t] - n), z - z * z, out=d[1])
        x[:2].copy_(d[:2])
        dh_rec = torch.addcmul((torch.bmm(d, w) * masks).sum(0), dh, z)


def _weight_grad(dpre, hm):
    """d w_hh (G*u, u): for each gate, sum over t and b of dpre^T hm, as one batched matmul."""
    T, B, G, u = dpre.shape
    d = dpre.view(T * B, G, u).transpose(0, 1)  # (G, T*B, u), strided: no copy
    h = hm.view(T * B, G, u).transpose(0, 1)
    return torch.bmm(d.transpose(1, 2), h).reshape(G * u, u)


class MaskedLSTM(torch.autograd.Function):
    """h(1..T) for an LSTM with fixed per-gate masks on h(t-1). Gates i, f, g, o (torch order)."""

    @staticmethod
    def forward(ctx, xp, w_hh, masks):
        # xp (T, B, 4, u): input projections incl. bias; w_hh (4u, u); masks (4, B, u)
        T, B, G, u = xp.shape
        w = w_hh.view(4, u, u)
        rk = w.transpose(1, 2)
        act = xp.new_empty(T, G, B, u)  # i, f, g, o after their activations
        c = xp.new_zeros(T + 1, B, u)  # c[t + 1] is c(t); c[0] = 0
        tc = xp.new_empty(T, B, u)  # tanh(c(t))
        hs = xp.new_empty(T, B, u)
        ctx.fused = fused.usable(xp)
        if ctx.fused:  # the C++ backward forms the weight gradient per step: no masked states stored
            masks = masks.contiguous()
            fused.ops().lstm_forward(xp, rk.contiguous(), masks, act, c, tc, hs)
            ctx.save_for_backward(w, masks, act, c, tc, hs)
            return hs
        hm = xp.new_empty(T, B, G, u)  # masked h(t-1), per gate
        _lstm_forward_loop(xp, rk, masks, hm, act, c, tc, hs)
        ctx.save_for_backward(w, masks, hm, act, c, tc)
        return hs

    @staticmethod
    def backward(ctx, dhs):
        T, B, u = dhs.shape
        dpre = dhs.new_empty(T, B, 4, u)
        if ctx.fused:
            w, masks, act, c, tc, hs = ctx.saved_tensors
            dw = torch.zeros(4 * u, u, dtype=torch.float64)
            fused.ops().lstm_backward(dhs.contiguous(), w, masks, act, c, tc, hs, dpre, dw)
            return dpre, dw.to(dpre.dtype), None
        w, masks, hm, act, c, tc = ctx.saved_tensors
        _lstm_backward_loop(dhs, w, masks, act, c, tc, dpre)
        return dpre, _weight_grad(dpre, hm), None


class MaskedGRU(torch.autograd.Function):
    """h(1..T) for a reset_after GRU with fixed per-gate masks on h(t-1). Gates r, z, n (torch order)."""

    @staticmethod
    def forward(ctx, xp, w_hh, b_hh, masks):
        # xp (T, B, 3, u) incl. input bias; w_hh (3u, u); b_hh (3u,); masks (3, B, u)
        T, B, G, u = xp.shape
        w = w_hh.view(3, u, u)
        rk = w.transpose(1, 2)
        rb = b_hh.view(3, 1, u)
        act = xp.new_empty(T, G, B, u)  # r, z, n after activations
        rec_n = xp.new_empty(T, B, u)  # recurrent n-gate term before the reset gate multiplies it
        hs = xp.new_zeros(T + 1, B, u)  # hs[t + 1] is h(t); hs[0] = 0
        ctx.fused = fused.usable(xp)
        if ctx.fused:
            masks = masks.contiguous()
            fused.ops().gru_forward(xp, rk.contiguous(), rb.contiguous(), masks, act, rec_n, hs)
            ctx.save_for_backward(w, masks, act, rec_n, hs)
            return hs[1:]
        hm = xp.new_empty(T, B, G, u)
        _gru_forward_loop(xp, rk, rb, masks, hm, act, rec_n, hs)
        ctx.save_for_backward(w, masks, hm, act, rec_n, hs)
        return hs[1:]

    @staticmethod
    def backward(ctx, dhs):
        T, B, u = dhs.shape
        dxp = dhs.new_empty(T, B, 3, u)
        if ctx.fused:  # the C++ loop also sums the recurrent bias and weight gradients
            w, masks, act, rec_n, hs = ctx.saved_tensors
            db = torch.zeros(3 * u, dtype=torch.float64)
            dw = torch.zeros(3 * u, u, dtype=torch.float64)
            fused.ops().gru_backward(dhs.contiguous(), w, masks, act, rec_n, hs, dxp, db, dw)
            return dxp, dw.to(dxp.dtype), db.to(dxp.dtype), None
        w, masks, hm, act, rec_n, hs = ctx.saved_tensors
        drec = dhs.new_empty(T, B, 3, u)
        _gru_backward_loop(dhs, w, masks, act, rec_n, hs, dxp, drec)
        return dxp, _weight_grad(drec, hm), drec.sum((0, 1)).view(3 * u), None
