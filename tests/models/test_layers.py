"""Keras semantics of the recurrent/dense/conv layers: initializers, dropout masks, shapes, gradients."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from forecastlab.errors import ForecastlabError
from forecastlab.models.initializers import glorot_limit, orthogonal
from forecastlab.models.layers import GRU, LSTM, Bidirectional, Conv1D, Dense, SimpleRNN, loops
from forecastlab.models.layers.recurrent import dropout_masks

RNNS = [LSTM, GRU, SimpleRNN]


# -- initializers --------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", RNNS)
def test_rnn_initializers_are_keras(cls):
    torch.manual_seed(0)
    layer = cls(14, 32)
    w = layer.keras_weights()
    gates = w["kernel"].shape[1] // 32
    limit = glorot_limit(14, gates * 32)
    assert np.abs(w["kernel"]).max() <= limit
    assert np.abs(w["kernel"]).max() > 0.9 * limit  # uniform fills its range, unlike torch's default
    # Keras draws one orthogonal matrix over the whole (units, gates*units) recurrent kernel: rows orthonormal.
    rk = w["recurrent_kernel"]
    np.testing.assert_allclose(rk @ rk.T, np.eye(32), atol=1e-5)
    if cls is LSTM:
        np.testing.assert_array_equal(w["bias"], np.r_[np.zeros(32), np.ones(32), np.zeros(64)])
    else:
        assert not np.any(w["bias"])


def test_dense_and_conv_glorot_fans():
    torch.manual_seed(0)
    dense = Dense(1680, 16)
    assert dense.weight.abs().max() <= glorot_limit(1680, 16) and not dense.bias.any()
    conv = Conv1D(14, 8, 24)
    limit = glorot_limit(24 * 14, 24 * 8)  # Keras multiplies both fans by the kernel size
    assert conv.weight.abs().max() <= limit and conv.weight.abs().max() > 0.9 * limit
    assert not conv.bias.any()


def test_orthogonal_square_and_tall():
    torch.manual_seed(1)
    q = orthogonal(8, 8).double()
    torch.testing.assert_close(q @ q.T, torch.eye(8, dtype=torch.float64), atol=1e-6, rtol=0)
    tall = orthogonal(12, 4).double()
    torch.testing.assert_close(tall.T @ tall, torch.eye(4, dtype=torch.float64), atol=1e-6, rtol=0)


# -- shapes, lengths, stacking -------------------------------------------------------------------
@pytest.mark.parametrize("cls", RNNS)
@pytest.mark.parametrize("training", [False, True])
def test_any_length_and_return_sequences(cls, training):
    layer = cls(3, 5, recurrent_dropout=0.3, dropout=0.2).train(training)
    for T in (1, 7, 31):
        x = torch.randn(4, T, 3)
        assert layer(x).shape == (4, 5)
    layer.return_sequences = True
    assert layer(torch.randn(4, 9, 3)).shape == (4, 9, 5)


def test_bidirectional_concat_matches_two_layers():
    torch.manual_seed(0)
    bi = Bidirectional(LSTM(3, 4, return_sequences=True)).eval()
    x = torch.randn(2, 6, 3)
    y = bi(x)
    assert y.shape == (2, 6, 8)
    fwd = bi.forward_layer(x)
    bwd = bi.backward_layer(x.flip(1)).flip(1)  # Keras re-reverses the backward sequence
    torch.testing.assert_close(y, torch.cat([fwd, bwd], -1))
    assert not torch.equal(bi.forward_layer.weight_hh, bi.backward_layer.weight_hh)
    last = Bidirectional(LSTM(3, 4)).eval()
    assert last(x).shape == (2, 8)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ForecastlabError, match="recurrent_dropout"):
        LSTM(3, 4, recurrent_dropout=1.0)
    with pytest.raises(ForecastlabError, match="recurrent_dropout_mode"):
        GRU(3, 4, recurrent_dropout_mode="cudnn")
    with pytest.raises(ForecastlabError, match="expects"):
        LSTM(3, 4)(torch.randn(2, 5, 4))


# -- dropout semantics ---------------------------------------------------------------------------
def test_dropout_masks_inverted_scaling_and_expectation():
    torch.manual_seed(0)
    m = dropout_masks(4, 20000, 8, 0.25, torch.zeros(1))
    values = torch.unique(m).tolist()
    assert values[0] == 0.0 and values[1] == pytest.approx(1 / 0.75) and len(values) == 2
    assert (m == 0).double().mean().item() == pytest.approx(0.25, abs=0.01)
    assert m.double().mean().item() == pytest.approx(1.0, abs=0.01)  # expectation preserved


def test_recurrent_mask_is_fixed_over_time_per_sample():
    """SimpleRNN with W=0, U=I, bias b: h(t) = tanh(b + m*h(t-1)). A unit whose mask is 0 stays at
    tanh(b) forever; a kept unit follows the scaled iteration at every step — only if the mask is the
    same at every timestep."""
    torch.manual_seed(3)
    rate, units = 0.5, 6
    layer = SimpleRNN(1, units, recurrent_dropout=rate, return_sequences=True)
    b = torch.linspace(-0.8, 0.9, units)
    layer.set_keras_weights(np.zeros((1, units)), np.eye(units), b.numpy())
    y = layer.train()(torch.zeros(64, 12, 1)).detach().double()
    scale = 1 / (1 - rate)
    dropped = torch.tanh(b.double()).expand(12, units)
    kept = [torch.tanh(b.double())]
    for _ in range(11):
        kept.append(torch.tanh(b.double() + scale * kept[-1]))
    kept = torch.stack(kept)
    patterns = set()
    for sample in y:
        is_kept = torch.isclose(sample, kept, atol=1e-5).all(0)
        is_dropped = torch.isclose(sample, dropped, atol=1e-5).all(0)
        assert torch.all(is_kept | is_dropped), "a unit switched mask between timesteps"
        patterns.add(tuple(is_kept.tolist()))
    assert len(patterns) > 10  # masks differ between samples
    assert any(any(p) for p in patterns) and any(not all(p) for p in patterns)


@pytest.mark.parametrize("cls", RNNS)
def test_masks_differ_between_samples_exact_mode(cls):
    torch.manual_seed(0)
    layer = cls(3, 8, recurrent_dropout=0.5).train()
    x = torch.randn(1, 10, 3).expand(16, 10, 3)  # identical samples
    y = layer(x)
    assert (y - y[0]).abs().amax(1).gt(1e-6).sum() >= 14
    y_eval = layer.eval()(x)
    assert torch.allclose(y_eval, y_eval[0].expand_as(y_eval))


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_weight_mode_shares_one_mask_across_the_batch(cls):
    torch.manual_seed(0)
    layer = cls(3, 8, recurrent_dropout=0.5, recurrent_dropout_mode="weight").train()
    x = torch.randn(1, 10, 3).expand(16, 10, 3)
    y = layer(x)
    torch.testing.assert_close(y, y[0].expand_as(y))  # DropConnect: one mask per batch
    assert not torch.allclose(y, layer.eval()(x))


@pytest.mark.parametrize("cls", RNNS)
def test_eval_mode_is_the_fused_no_dropout_layer(cls):
    torch.manual_seed(0)
    noisy = cls(3, 8, dropout=0.3, recurrent_dropout=0.5, return_sequences=True)
    plain = cls(3, 8, return_sequences=True)
    plain.load_state_dict(noisy.state_dict())
    x = torch.randn(5, 11, 3)
    torch.testing.assert_close(noisy.eval()(x), plain.train()(x))  # plain trains on the fused kernel
    assert not torch.allclose(noisy.train()(x), plain(x))


def _keras_masked_lstm(x, w, rec_masks, in_masks):
    """Keras LSTMCell implementation 1, transcribed: per-gate masks on inputs and on h(t-1)."""
    k, rk, b = w["kernel"], w["recurrent_kernel"], w["bias"]
    u = rk.shape[0]
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    h = np.zeros((x.shape[0], u))
    c = np.zeros_like(h)
    for t in range(x.shape[1]):
        pre = [(x[:, t] * in_masks[g]) @ k[:, g * u:(g + 1) * u] + b[g * u:(g + 1) * u]
               + (h * rec_masks[g]) @ rk[:, g * u:(g + 1) * u] for g in range(4)]
        c = sig(pre[1]) * c + sig(pre[0]) * np.tanh(pre[2])
        h = sig(pre[3]) * np.tanh(c)
    return h


def test_lstm_training_forward_matches_keras_cell_with_same_masks():
    torch.manual_seed(0)
    layer = LSTM(3, 5, dropout=0.2, recurrent_dropout=0.4).double().train()
    x = torch.randn(6, 9, 3, dtype=torch.float64)
    torch.manual_seed(42)
    y = layer(x)
    torch.manual_seed(42)  # the layer draws recurrent masks first, then input masks
    rec = dropout_masks(4, 6, 5, 0.4, x).numpy()
    inp = dropout_masks(4, 6, 3, 0.2, x).numpy()
    expected = _keras_masked_lstm(x.numpy(), layer.keras_weights(), rec, inp)
    np.testing.assert_allclose(y.detach().numpy(), expected, atol=1e-12)


def test_gru_training_forward_matches_keras_cell_with_same_masks():
    torch.manual_seed(0)
    layer = GRU(3, 5, recurrent_dropout=0.4).double().train()
    with torch.no_grad():
        layer.bias_hh.normal_()
    x = torch.randn(6, 9, 3, dtype=torch.float64)
    torch.manual_seed(7)
    y = layer(x).detach().numpy()
    torch.manual_seed(7)
    m = dropout_masks(3, 6, 5, 0.4, x).numpy()
    km = [m[1], m[0], m[2]]  # torch r, z, n -> Keras z, r, h
    w = layer.keras_weights()
    k, rk, (bi, bh) = w["kernel"], w["recurrent_kernel"], w["bias"]
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    u, h = 5, np.zeros((6, 5))
    for t in range(9):
        xz, xr, xh = np.split(x.numpy()[:, t] @ k + bi, 3, -1)
        rz = (h * km[0]) @ rk[:, :u] + bh[:u]
        rr = (h * km[1]) @ rk[:, u:2 * u] + bh[u:2 * u]
        rh = (h * km[2]) @ rk[:, 2 * u:] + bh[2 * u:]
        z, r = sig(xz + rz), sig(xr + rr)
        h = z * h + (1 - z) * np.tanh(xh + r * rh)  # unmasked h(t-1) in the update, as Keras
    np.testing.assert_allclose(y, h, atol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_handwritten_bptt_matches_autograd(kind, return_sequences):
    torch.manual_seed(0)
    T, B, F, u = 8, 5, 3, 4
    G = 4 if kind == "lstm" else 3
    x = torch.randn(T, B, F, dtype=torch.float64)
    params = [torch.randn(G * u, F, dtype=torch.float64), 0.5 * torch.randn(G * u, u, dtype=torch.float64),
              torch.randn(G * u, dtype=torch.float64)]
    if kind == "gru":
        params.append(torch.randn(G * u, dtype=torch.float64))
    params = [p.requires_grad_() for p in params]
    rec = dropout_masks(G, B, u, 0.3, x)
    inp = dropout_masks(G, B, F, 0.2, x)
    fast, ref = ((loops.lstm_loop, loops.lstm_loop_reference) if kind == "lstm"
                 else (loops.gru_loop, loops.gru_loop_reference))
    ya = fast(x, *params, rec, inp, return_sequences)
    yb = ref(x, *params, rec, inp, return_sequences)
    torch.testing.assert_close(ya, yb, atol=1e-12, rtol=0)
    w = torch.randn_like(ya)
    ga = torch.autograd.grad((ya * w).sum(), params)
    gb = torch.autograd.grad((yb * w).sum(), params)
    for a, b in zip(ga, gb, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_stacked_exact_gru_trains_through_both_layers():
    torch.manual_seed(0)
    first = GRU(3, 4, recurrent_dropout=0.5, return_sequences=True)
    second = GRU(4, 4, recurrent_dropout=0.5)
    second(first(torch.randn(2, 6, 3))).sum().backward()
    for p in [*first.parameters(), *second.parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_keras_weights_round_trip():
    torch.manual_seed(0)
    a, b = GRU(3, 4), GRU(3, 4)
    w = a.keras_weights()
    assert w["kernel"].shape == (3, 12) and w["recurrent_kernel"].shape == (4, 12) and w["bias"].shape == (2, 12)
    b.set_keras_weights(**w)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    # torch stores r, z, n; Keras z, r, h: the first Keras block is torch's second.
    np.testing.assert_allclose(w["kernel"][:, :4], a.weight_ih.detach()[4:8].T.numpy())


def test_deepcopy_keeps_layer_usable():
    layer = LSTM(3, 4)
    clone = copy.deepcopy(layer)
    assert clone(torch.randn(2, 3, 3)).shape == (2, 4)
    assert math.isclose(float(clone.bias.detach()[4]), 1.0)


def test_configure_cpu_flushes_denormals():
    from forecastlab.training.runtime import configure_cpu, pick_device

    previous = torch.get_num_threads()
    try:
        configure_cpu(threads=1)
        assert torch.get_num_threads() == 1
        assert torch.tensor([1e-39], dtype=torch.float32).item() == 0.0  # denormal flushed to zero
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(previous)
    assert pick_device("cpu").type == "cpu" and pick_device().type in ("cpu", "cuda")
