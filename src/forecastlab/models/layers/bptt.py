"""Hand-written backpropagation through time for the masked (recurrent-dropout) LSTM and GRU loops.

Autograd over a 120-step Python loop records ~20 nodes per step and replays them one by one; here the
forward runs without a graph into preallocated buffers and the backward needs ~7 tensor ops per step:
everything that does not depend on the incoming gradient (gate derivatives, their products) is
computed for all timesteps at once before the backward loop. Weight gradients are one batched matmul
over all timesteps after it. Layout is time-major: (T, G, B, u), so every per-step slice is contiguous.

Both functions are checked against the plain autograd loops in `loops.py` (tests/test_layers.py).
"""

from __future__ import annotations

import torch


def _weight_grad(dpre, hm):
    """d w_hh (G*u, u) = sum over t, b of dpre^T hm per gate, as one batched matmul with no copies."""
    T, G, B, u = dpre.shape
    per_step = torch.bmm(dpre.view(T * G, B, u).transpose(1, 2), hm.view(T * G, B, u))
    return per_step.view(T, G * u, u).sum(0)


class MaskedLSTM(torch.autograd.Function):
    """h(1..T) for an LSTM with fixed per-gate masks on h(t-1). Gates i, f, g, o (torch order)."""

    @staticmethod
    def forward(ctx, xp, w_hh, masks):
        # xp (T, 4, B, u): input projections incl. bias; w_hh (4u, u); masks (4, B, u)
        T, G, B, u = xp.shape
        w = w_hh.view(4, u, u)
        rk = w.transpose(1, 2)
        hm = xp.new_empty(T, G, B, u)  # masked h(t-1), per gate
        act = xp.new_empty(T, G, B, u)  # i, f, g, o after their activations
        c = xp.new_zeros(T + 1, B, u)  # c[t + 1] is c(t); c[0] = 0
        tc = xp.new_empty(T, B, u)  # tanh(c(t))
        hs = xp.new_empty(T, B, u)
        h = xp.new_zeros(B, u)
        for t in range(T):
            torch.mul(h, masks, out=hm[t])
            gates = torch.baddbmm(xp[t], hm[t], rk)
            a = act[t]
            torch.sigmoid(gates, out=a)
            torch.tanh(gates[2], out=a[2])
            torch.addcmul(a[1] * c[t], a[0], a[2], out=c[t + 1])
            torch.tanh(c[t + 1], out=tc[t])
            h = torch.mul(a[3], tc[t], out=hs[t])
        ctx.save_for_backward(w, masks, hm, act, c, tc)
        return hs

    @staticmethod
    def backward(ctx, dhs):
        w, masks, hm, act, c, tc = ctx.saved_tensors
        T, G, B, u = act.shape
        i, f, g, o = act.unbind(1)
        # d pre-activation = dc * P (gates i, f, g) or dh * Q (gate o); dc(t) gets dh(t) * K.
        P = torch.stack([g * i * (1 - i), c[:-1] * f * (1 - f), i * (1 - g * g)], 1)
        Q = tc * o * (1 - o)
        K = o * (1 - tc * tc)
        dpre = act.new_empty(T, G, B, u)
        dh_rec = act.new_zeros(B, u)
        dc_carry = act.new_zeros(B, u)
        for t in range(T - 1, -1, -1):
            dh = dhs[t] + dh_rec
            dc = torch.addcmul(dc_carry, dh, K[t])
            torch.mul(dc, P[t], out=dpre[t, :3])
            torch.mul(dh, Q[t], out=dpre[t, 3])
            dh_rec = (torch.bmm(dpre[t], w) * masks).sum(0)
            dc_carry = dc * f[t]
        return dpre, _weight_grad(dpre, hm), None


class MaskedGRU(torch.autograd.Function):
    """h(1..T) for a reset_after GRU with fixed per-gate masks on h(t-1). Gates r, z, n (torch order)."""

    @staticmethod
    def forward(ctx, xp, w_hh, b_hh, masks):
        # xp (T, 3, B, u) incl. input bias; w_hh (3u, u); b_hh (3u,); masks (3, B, u)
        T, G, B, u = xp.shape
        w = w_hh.view(3, u, u)
        rk = w.transpose(1, 2)
        rb = b_hh.view(3, 1, u)
        hm = xp.new_empty(T, G, B, u)
        act = xp.new_empty(T, G, B, u)  # r, z, n after activations
        rec_n = xp.new_empty(T, B, u)  # recurrent n-gate term before the reset gate multiplies it
        hs = xp.new_zeros(T + 1, B, u)  # hs[t + 1] is h(t); hs[0] = 0
        for t in range(T):
            torch.mul(hs[t], masks, out=hm[t])
            rec = torch.baddbmm(rb, hm[t], rk)
            a = act[t]
            torch.sigmoid(xp[t, :2] + rec[:2], out=a[:2])
            rec_n[t] = rec[2]
            torch.tanh(torch.addcmul(xp[t, 2], a[0], rec[2]), out=a[2])
            torch.addcmul(a[2], a[1], hs[t] - a[2], out=hs[t + 1])
        ctx.save_for_backward(w, masks, hm, act, rec_n, hs)
        return hs[1:]

    @staticmethod
    def backward(ctx, dhs):
        w, masks, hm, act, rec_n, hs = ctx.saved_tensors
        T, G, B, u = act.shape
        r, z, n = act.unbind(1)
        a_n = (1 - z) * (1 - n * n)
        a_r = a_n * rec_n * r * (1 - r)
        a_z = (hs[:-1] - n) * z * (1 - z)
        coef_x = torch.stack([a_r, a_z, a_n], 1)  # d xp = dh * coef_x
        coef_rec = torch.stack([a_r, a_z, a_n * r], 1)  # d (recurrent term) = dh * coef_rec
        dxp = act.new_empty(T, G, B, u)
        drec = act.new_empty(T, G, B, u)
        dh_rec = act.new_zeros(B, u)
        for t in range(T - 1, -1, -1):
            dh = dhs[t] + dh_rec
            torch.mul(dh, coef_x[t], out=dxp[t])
            torch.mul(dh, coef_rec[t], out=drec[t])
            dh_rec = torch.addcmul((torch.bmm(drec[t], w) * masks).sum(0), dh, z[t])
        return dxp, _weight_grad(drec, hm), drec.sum((0, 2)).view(G * u), None
