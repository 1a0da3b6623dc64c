"""Timestep loops for training with Keras's per-sample dropout masks (the fused kernels cannot).

Shapes: x is time-major (T, B, F); masks are (G, B, n), one per gate in torch gate order, drawn once
per batch and reused at every step, as Keras's `DropoutRNNCell` does. The input projection for all
timesteps is one matmul, kept in its natural (T, B, G, u) layout (no transpose copy; see bptt.py).
`lstm_loop`/`gru_loop` run the hand-written BPTT of `bptt.py`; the
`*_reference` loops are plain autograd (walking `unbind` views, since `xp[t]` indexing makes autograd
zero a full-size gradient buffer at every step) and serve as the tests' ground truth.
"""

from __future__ import annotations

import torch

from forecastlab.models.layers.bptt import MaskedGRU, MaskedLSTM


def project_inputs(x, w_ih, bias, gates: int, in_masks=None):
    """x (T,B,F) -> input projections (T, B, G, u), with optional per-gate input masks (G, B, F)."""
    T, B, F = x.shape
    units = w_ih.shape[0] // gates
    if in_masks is None:
        xp = torch.addmm(bias, x.reshape(T * B, F), w_ih.t())  # (T*B, G*u)
        return xp.view(T, B, gates, units)
    w = w_ih.view(gates, units, F).transpose(1, 2)  # (G, F, u)
    xm = x.unsqueeze(1) * in_masks  # (T, G, B, F)
    return (torch.matmul(xm, w) + bias.view(gates, 1, units)).transpose(1, 2)


def _finish(hs, return_sequences):
    """(T, B, u) states -> (B, T, u) or the last state (B, u)."""
    return hs.transpose(0, 1) if return_sequences else hs[-1]


def lstm_loop(x, w_ih, w_hh, bias, rec_masks, in_masks=None, return_sequences=False):
    """Keras LSTMCell (implementation 1) over a sequence: h(t-1) masked separately for i, f, c, o."""
    xp = project_inputs(x, w_ih, bias, 4, in_masks)
    return _finish(MaskedLSTM.apply(xp, w_hh, rec_masks), return_sequences)


def gru_loop(x, w_ih, w_hh, b_ih, b_hh, rec_masks, in_masks=None, return_sequences=False):
    """Keras GRUCell with reset_after=True (torch gate order r, z, n); h(t-1) masked per gate.

    As in Keras, the masked h(t-1) only feeds the matmuls; the update z*h(t-1) uses the unmasked state.
    """
    xp = project_inputs(x, w_ih, b_ih, 3, in_masks)
    return _finish(MaskedGRU.apply(xp, w_hh, b_hh, rec_masks), return_sequences)


def lstm_loop_reference(x, w_ih, w_hh, bias, rec_masks, in_masks=None, return_sequences=False):
    """`lstm_loop` with plain autograd (slower; the ground truth for the hand-written backward)."""
    units = w_hh.shape[1]
    xp = project_inputs(x, w_ih, bias, 4, in_masks)
    rk = w_hh.view(4, units, units).transpose(1, 2)
    h = c = x.new_zeros(x.shape[1], units)
    outputs = []
    for xp_t in xp.transpose(1, 2).unbind(0):
        gates = torch.baddbmm(xp_t, h.unsqueeze(0) * rec_masks, rk)  # (4, B, u)
        i, f, _, o = torch.sigmoid(gates).unbind(0)
        c = torch.addcmul(f * c, i, torch.tanh(gates[2]))
        h = o * torch.tanh(c)
        outputs.append(h)
    return _finish(torch.stack(outputs), return_sequences)


def gru_loop_reference(x, w_ih, w_hh, b_ih, b_hh, rec_masks, in_masks=None, return_sequences=False):
    """`gru_loop` with plain autograd (the ground truth for the hand-written backward)."""
    units = w_hh.shape[1]
    xp = project_inputs(x, w_ih, b_ih, 3, in_masks)
    rk = w_hh.view(3, units, units).transpose(1, 2)
    rb = b_hh.view(3, 1, units)
    h = x.new_zeros(x.shape[1], units)
    outputs = []
    for xp_t in xp.transpose(1, 2).unbind(0):
        rec = torch.baddbmm(rb, h.unsqueeze(0) * rec_masks, rk)  # (3, B, u)
        r, z = torch.sigmoid(xp_t[:2] + rec[:2]).unbind(0)
        n = torch.tanh(torch.addcmul(xp_t[2], r, rec[2]))
        h = torch.addcmul(n, z, h - n)
        outputs.append(h)
    return _finish(torch.stack(outputs), return_sequences)


def simple_rnn_loop(x, w_ih, w_hh, bias, rec_mask, in_mask=None, return_sequences=False):
    """Keras SimpleRNNCell: one input mask and one recurrent mask (no per-gate masks)."""
    T, B, F = x.shape
    units = w_hh.shape[0]
    if in_mask is not None:
        x = x * in_mask
    xp = torch.addmm(bias, x.reshape(T * B, F), w_ih.t()).view(T, B, units)
    h = x.new_zeros(B, units)
    outputs = []
    for xp_t in xp.unbind(0):
        h = torch.tanh(torch.addmm(xp_t, h * rec_mask, w_hh.t()))
        outputs.append(h)
    return _finish(torch.stack(outputs), return_sequences)
