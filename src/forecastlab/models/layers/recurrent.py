"""Keras-faithful LSTM, GRU and SimpleRNN layers on (batch, time, features) inputs.

What matches Keras 3 (keras/src/layers/rnn/{lstm,gru,simple_rnn,dropout_rnn_cell}.py):
- weights: glorot-uniform kernel, orthogonal recurrent kernel drawn over the whole (units, k*units)
  matrix, zero biases, LSTM forget-gate bias 1 (`unit_forget_bias`); LSTM and SimpleRNN have a single
  bias (so parameter counts equal Keras's), GRU (reset_after=True) has input and recurrent biases.
- `dropout`/`recurrent_dropout`: inverted dropout masks drawn once per batch, per sample and unit,
  reused at every timestep, only in training. With recurrent_dropout > 0 Keras switches the cell to
  implementation 1, which draws a separate mask per gate (4 for LSTM, 3 for GRU) for both inputs and
  h(t-1); with only `dropout`, one input mask is shared by all gates. SimpleRNN always uses one mask.
- any sequence length; `return_sequences` returns (batch, time, units), else (batch, units).

Storage is torch's layout (weight_ih (k*units, in), weight_hh (k*units, units); GRU gates r, z, n),
so the fused `torch.lstm`/`torch.gru` kernels run whenever no per-sample mask is active: always in
eval mode, and in training without recurrent dropout. `keras_weights()`/`set_keras_weights()`
convert to and from Keras's (kernel, recurrent_kernel, bias) layout and gate order.

`recurrent_dropout_mode="weight"` is an opt-in, non-Keras alternative: one DropConnect mask per batch
on the recurrent weight matrix (AWD-LSTM), so training also runs the fused kernel.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from forecastlab.errors import ForecastlabError
from forecastlab.models.initializers import glorot_uniform_, orthogonal
from forecastlab.models.layers import loops

MODES = ("exact", "weight")


def _check_rate(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ForecastlabError(f"{name} must be in [0, 1), got {value}", fix=f"pass a {name} such as 0.25")
    return value


def dropout_masks(count: int | None, batch: int, width: int, rate: float, like: torch.Tensor):
    """Keras-style inverted dropout masks: keep with probability 1-rate, scaled by 1/(1-rate).

    Returns (count, batch, width), or (batch, width) when count is None.
    """
    shape = (batch, width) if count is None else (count, batch, width)
    keep = torch.full(shape, 1.0 - rate, dtype=like.dtype, device=like.device)
    return torch.bernoulli(keep).div_(1.0 - rate)


class KerasRNN(nn.Module):
    """Shared machinery; subclasses set GATES, KERAS_ORDER and the cell-specific pieces."""

    GATES = 1
    KERAS_ORDER = (0,)  # keras gate block k is torch gate block KERAS_ORDER[k]
    TWO_BIASES = False

    def __init__(self, input_size: int, units: int, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, recurrent_dropout_mode: str = "exact"):
        super().__init__()
        if int(input_size) < 1 or int(units) < 1:
            raise ForecastlabError(f"{type(self).__name__} needs input_size >= 1 and units >= 1, "
                                   f"got {input_size} and {units}", fix="pass positive integers")
        if recurrent_dropout_mode not in MODES:
            raise ForecastlabError(f"unknown recurrent_dropout_mode {recurrent_dropout_mode!r}",
                                   fix=f"use one of: {', '.join(MODES)}")
        self.input_size, self.units = int(input_size), int(units)
        self.dropout = _check_rate("dropout", dropout)
        self.recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        self.return_sequences = bool(return_sequences)
        self.recurrent_dropout_mode = recurrent_dropout_mode
        width = self.GATES * self.units
        self.weight_ih = nn.Parameter(torch.empty(width, self.input_size))
        self.weight_hh = nn.Parameter(torch.empty(width, self.units))
        if self.TWO_BIASES:
            self.bias_ih = nn.Parameter(torch.zeros(width))
            self.bias_hh = nn.Parameter(torch.zeros(width))
        else:
            self.bias = nn.Parameter(torch.zeros(width))
            # The fused kernels want two biases; Keras has one, so the second is a constant zero.
            self.register_buffer("_zero_bias", torch.zeros(width), persistent=False)
        self.reset_parameters()

    # -- Keras initialization and layout -------------------------------------------------------
    def reset_parameters(self) -> None:
        """Draw weights the Keras way (in Keras layout, then permuted to torch's gate order)."""
        width = self.GATES * self.units
        kernel = torch.empty(self.input_size, width)
        glorot_uniform_(kernel, self.input_size, width)
        recurrent = orthogonal(self.units, width)
        bias = self._keras_initial_bias()
        self.set_keras_weights(kernel, recurrent, bias)

    def _keras_initial_bias(self):
        width = self.GATES * self.units
        return torch.zeros(2, width) if self.TWO_BIASES else torch.zeros(width)

    def _to_torch_cols(self, a: torch.Tensor) -> torch.Tensor:
        """Reorder gate blocks on the last axis from Keras order to torch order (an involution here)."""
        blocks = a.split(self.units, dim=-1)
        return torch.cat([blocks[k] for k in self.KERAS_ORDER], dim=-1)

    @torch.no_grad()
    def set_keras_weights(self, kernel, recurrent_kernel, bias) -> None:
        """Load Keras-layout weights: kernel (in, k*u), recurrent_kernel (u, k*u), bias (k*u,) or (2, k*u)."""
        p = self.weight_ih
        kernel, recurrent_kernel, bias = (torch.as_tensor(np.asarray(a), dtype=p.dtype, device=p.device)
                                          for a in (kernel, recurrent_kernel, bias))
        self.weight_ih.copy_(self._to_torch_cols(kernel).t())
        self.weight_hh.copy_(self._to_torch_cols(recurrent_kernel).t())
        if self.TWO_BIASES:
            self.bias_ih.copy_(self._to_torch_cols(bias[0]))
            self.bias_hh.copy_(self._to_torch_cols(bias[1]))
        else:
            self.bias.copy_(self._to_torch_cols(bias))

    @torch.no_grad()
    def keras_weights(self) -> dict[str, np.ndarray]:
        """This layer's weights in Keras layout and gate order, as float64 NumPy arrays."""
        def conv(t):
            return self._to_torch_cols(t.detach().double().cpu()).numpy()

        bias = (np.stack([conv(self.bias_ih), conv(self.bias_hh)]) if self.TWO_BIASES else conv(self.bias))
        return {"kernel": conv(self.weight_ih.t()), "recurrent_kernel": conv(self.weight_hh.t()), "bias": bias}

    # -- forward -------------------------------------------------------------------------------
    def _fused_params(self, weight_hh):
        if self.TWO_BIASES:
            return [self.weight_ih, weight_hh, self.bias_ih, self.bias_hh]
        return [self.weight_ih, weight_hh, self.bias, self._zero_bias]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (batch, time, features) -> (batch, units), or (batch, time, units) with return_sequences."""
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ForecastlabError(f"{type(self).__name__} expects (batch, time, {self.input_size}) input, "
                                   f"got shape {tuple(x.shape)}", fix="check n_features and the window shape")
        training = self.training and (self.dropout > 0 or self.recurrent_dropout > 0)
        if not training:
            return self._fused(x, self.weight_hh)
        if self.recurrent_dropout > 0 and self.recurrent_dropout_mode == "exact":
            return self._exact(x)
        if self.dropout > 0:
            # Keras implementation 2 (no recurrent dropout): one input mask, fixed over time.
            x = x * dropout_masks(None, x.shape[0], self.input_size, self.dropout, x).unsqueeze(1)
        weight_hh = self.weight_hh
        if self.recurrent_dropout > 0:  # weight mode: DropConnect on the recurrent matrix
            keep = torch.full_like(weight_hh, 1.0 - self.recurrent_dropout)
            weight_hh = weight_hh * torch.bernoulli(keep).div_(1.0 - self.recurrent_dropout)
        return self._fused(x, weight_hh)

    def _fused(self, x, weight_hh):
        h0 = x.new_zeros(1, x.shape[0], self.units)
        out, h_n = self._fused_call(x, h0, self._fused_params(weight_hh))
        return out if self.return_sequences else h_n[0]

    def _exact(self, x):
        B = x.shape[0]
        count = self.GATES if self.GATES > 1 else None
        rec = dropout_masks(count, B, self.units, self.recurrent_dropout, x)
        inp = dropout_masks(count, B, self.input_size, self.dropout, x) if self.dropout > 0 else None
        return self._loop(x.transpose(0, 1), rec, inp)

    # -- config --------------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"input_size": self.input_size, "units": self.units, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "return_sequences": self.return_sequences,
                "recurrent_dropout_mode": self.recurrent_dropout_mode}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.get_config().items())


class LSTM(KerasRNN):
    """Keras `LSTM(units, dropout, recurrent_dropout, return_sequences)`; gates i, f, c, o in both layouts."""

    GATES = 4
    KERAS_ORDER = (0, 1, 2, 3)

    def _keras_initial_bias(self):
        bias = torch.zeros(4 * self.units)
        bias[self.units:2 * self.units] = 1.0  # unit_forget_bias
        return bias

    def _fused_call(self, x, h0, params):
        out, h_n, _ = torch.lstm(x, (h0, torch.zeros_like(h0)), params, True, 1, 0.0, self.training,
                                 False, True)
        return out, h_n

    def _loop(self, xt, rec, inp):
        return loops.lstm_loop(xt, self.weight_ih, self.weight_hh, self.bias, rec, inp, self.return_sequences)


class GRU(KerasRNN):
    """Keras `GRU(units, ..., reset_after=True)` (Keras 3's default, and torch's GRU formulation).

    Keras orders gates z, r, h; torch r, z, n. Stored in torch order; `keras_weights()` converts.
    """

    GATES = 3
    KERAS_ORDER = (1, 0, 2)
    TWO_BIASES = True

    def __init__(self, input_size: int, units: int, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, recurrent_dropout_mode: str = "exact",
                 reset_after: bool = True):
        if not reset_after:
            raise ForecastlabError("GRU(reset_after=False) is not supported",
                                   fix="use reset_after=True, Keras 3's default and the book's")
        super().__init__(input_size, units, dropout, recurrent_dropout, return_sequences,
                         recurrent_dropout_mode)
        self.reset_after = True

    def _fused_call(self, x, h0, params):
        return torch.gru(x, h0, params, True, 1, 0.0, self.training, False, True)

    def _loop(self, xt, rec, inp):
        return loops.gru_loop(xt, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, rec, inp,
                              self.return_sequences)


class SimpleRNN(KerasRNN):
    """Keras `SimpleRNN(units)` with tanh: h(t) = tanh(x(t) W + h(t-1) U + b)."""

    def _fused_call(self, x, h0, params):
        return torch.rnn_tanh(x, h0, params, True, 1, 0.0, self.training, False, True)

    def _loop(self, xt, rec, inp):
        return loops.simple_rnn_loop(xt, self.weight_ih, self.weight_hh, self.bias, rec, inp,
                                     self.return_sequences)


class Bidirectional(nn.Module):
    """Keras `Bidirectional(layer, merge_mode="concat")`.

    The backward layer is a fresh copy of `layer` (its own Keras-initialized weights) reading the
    sequence reversed; with return_sequences its outputs are re-reversed to align in time, as Keras does.
    """

    MERGES = ("concat", "sum", "mul", "ave")

    def __init__(self, layer: KerasRNN, merge_mode: str = "concat"):
        super().__init__()
        if merge_mode not in self.MERGES:
            raise ForecastlabError(f"unknown merge_mode {merge_mode!r}", fix=f"use one of: {self.MERGES}")
        self.merge_mode = merge_mode
        self.forward_layer = layer
        self.backward_layer = copy.deepcopy(layer)
        self.backward_layer.reset_parameters()
        self.return_sequences = layer.return_sequences
        self.units = layer.units * (2 if merge_mode == "concat" else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y_fwd = self.forward_layer(x)
        y_bwd = self.backward_layer(x.flip(1))
        if self.return_sequences:
            y_bwd = y_bwd.flip(1)
        if self.merge_mode == "concat":
            return torch.cat([y_fwd, y_bwd], dim=-1)
        if self.merge_mode == "sum":
            return y_fwd + y_bwd
        if self.merge_mode == "mul":
            return y_fwd * y_bwd
        return (y_fwd + y_bwd) / 2
