"""Recurrent layers from scratch in NumPy (the book's listings 10-13 to 10-21), in Keras's weight layout.

Weights are Keras's: kernel (input, k*units), recurrent_kernel (units, k*units), bias (k*units,) —
for GRU (reset_after) bias is (2, 3*units): input bias and recurrent bias. Gate order is Keras's:
LSTM i, f, c, o; GRU z, r, h. `keras_weights(layer)` extracts them from our torch layers, so these
forward passes double as an independent check of the torch implementation (tests/test_numpy_rnn.py).

    >>> outputs = simple_rnn(inputs, **keras_weights(torch_layer), return_sequences=True)
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simple_rnn_step(input_t, state_t, kernel, recurrent_kernel, bias):
    """The book's step function: output_t = tanh(input_t W + state_t U + b) (listing 10-15)."""
    return np.tanh(input_t @ kernel + state_t @ recurrent_kernel + bias)


def lstm_step(input_t, state_t, carry_t, kernel, recurrent_kernel, bias):
    """One LSTM step (listings 10-20/10-21, in Keras's formulation). Returns (output_t, carry_t)."""
    z = input_t @ kernel + state_t @ recurrent_kernel + bias
    i, f, c_candidate, o = np.split(z, 4, axis=-1)
    carry_t = sigmoid(f) * carry_t + sigmoid(i) * np.tanh(c_candidate)
    return sigmoid(o) * np.tanh(carry_t), carry_t


def gru_step(input_t, state_t, kernel, recurrent_kernel, bias):
    """One GRU step with reset_after=True (Keras 3's default): the reset gate scales U_h h + b_h."""
    input_bias, recurrent_bias = bias
    x_z, x_r, x_h = np.split(input_t @ kernel + input_bias, 3, axis=-1)
    h_z, h_r, h_h = np.split(state_t @ recurrent_kernel + recurrent_bias, 3, axis=-1)
    z = sigmoid(x_z + h_z)
    r = sigmoid(x_r + h_r)
    candidate = np.tanh(x_h + r * h_h)
    return z * state_t + (1 - z) * candidate


def _run(step, inputs, units, n_states, return_sequences):
    """Loop `step` over time for (time, features) or (batch, time, features) inputs."""
    inputs = np.asarray(inputs, dtype=np.float64)
    batched = inputs.ndim == 3
    seq = inputs if batched else inputs[None]
    states = [np.zeros((seq.shape[0], units)) for _ in range(n_states)]
    successive_outputs = []
    for t in range(seq.shape[1]):
        states = step(seq[:, t], *states)
        states = states if isinstance(states, tuple) else (states,)
        successive_outputs.append(states[0])
    outputs = np.stack(successive_outputs, axis=1) if return_sequences else successive_outputs[-1]
    return outputs if batched else outputs[0]


def simple_rnn(inputs, kernel, recurrent_kernel, bias, return_sequences=False):
    """Keras SimpleRNN forward: inputs (time, features) or (batch, time, features)."""
    def step(x, h):
        return simple_rnn_step(x, h, kernel, recurrent_kernel, bias)
    return _run(step, inputs, recurrent_kernel.shape[0], 1, return_sequences)


def lstm(inputs, kernel, recurrent_kernel, bias, return_sequences=False):
    """Keras LSTM forward (no dropout: the inference-time computation)."""
    def step(x, h, c):
        return lstm_step(x, h, c, kernel, recurrent_kernel, bias)
    return _run(step, inputs, recurrent_kernel.shape[0], 2, return_sequences)


def gru(inputs, kernel, recurrent_kernel, bias, return_sequences=False):
    """Keras GRU (reset_after=True) forward."""
    def step(x, h):
        return gru_step(x, h, kernel, recurrent_kernel, bias)
    return _run(step, inputs, recurrent_kernel.shape[0], 1, return_sequences)


def book_simple_rnn(timesteps: int = 100, input_features: int = 32, output_features: int = 64, seed: int = 0):
    """Listing 10-15 verbatim in spirit: a random SimpleRNN over one random sequence.

    Returns (inputs, final_output_sequence) with shapes (timesteps, input_features) and
    (timesteps, output_features). The book writes dot(W, input_t) with W (out, in); Keras and the
    functions above use input_t @ kernel with kernel (in, out) — the same map, transposed.
    """
    rng = np.random.default_rng(seed)
    inputs = rng.random((timesteps, input_features))
    state_t = np.zeros((output_features,))
    W = rng.random((output_features, input_features))
    U = rng.random((output_features, output_features))
    b = rng.random((output_features,))
    successive_outputs = []
    for input_t in inputs:
        output_t = np.tanh(np.dot(W, input_t) + np.dot(U, state_t) + b)
        successive_outputs.append(output_t)
        state_t = output_t
    return inputs, np.stack(successive_outputs, axis=0)


def keras_weights(layer) -> dict[str, np.ndarray]:
    """{kernel, recurrent_kernel, bias} of a forecastlab LSTM/GRU/SimpleRNN layer, Keras layout, float64."""
    return layer.keras_weights()
