"""NumPy forward passes (the book's from-scratch RNNs) against our torch layers, same weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forecastlab.models import numpy_rnn
from forecastlab.models.layers import GRU, LSTM, SimpleRNN

CASES = [(SimpleRNN, numpy_rnn.simple_rnn), (LSTM, numpy_rnn.lstm), (GRU, numpy_rnn.gru)]


@pytest.mark.parametrize(("cls", "forward"), CASES)
@pytest.mark.parametrize("length", [1, 6, 40])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_numpy_matches_torch(cls, forward, length, return_sequences):
    torch.manual_seed(length)
    layer = cls(5, 7, return_sequences=return_sequences).eval()
    with torch.no_grad():  # non-trivial biases, so gate order and bias placement are exercised
        for p in layer.parameters():
            if p.dim() == 1:
                p.normal_(0, 0.5)
    x = torch.randn(3, length, 5)
    expected = layer(x).detach().numpy()
    got = forward(x.numpy(), **numpy_rnn.keras_weights(layer), return_sequences=return_sequences)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # float64 end to end agrees to rounding
    layer64 = layer.double()
    np.testing.assert_allclose(forward(x.double().numpy(), **numpy_rnn.keras_weights(layer64),
                                       return_sequences=return_sequences),
                               layer64(x.double()).detach().numpy(), atol=1e-12)


def test_unbatched_sequence_like_the_book():
    torch.manual_seed(0)
    layer = SimpleRNN(4, 3, return_sequences=True).eval()
    x = torch.randn(1, 9, 4)
    single = numpy_rnn.simple_rnn(x[0].numpy(), **layer.keras_weights(), return_sequences=True)
    np.testing.assert_allclose(single, layer(x)[0].detach().numpy(), atol=1e-5)


def test_book_listing_10_15_shapes_and_recurrence():
    inputs, outputs = numpy_rnn.book_simple_rnn(timesteps=100, input_features=32, output_features=64)
    assert inputs.shape == (100, 32) and outputs.shape == (100, 64)
    # Same computation through our Keras-layout forward: kernel = W.T, recurrent_kernel = U.T.
    rng = np.random.default_rng(0)
    rng.random((100, 32))
    W, U, b = rng.random((64, 32)), rng.random((64, 64)), rng.random(64)
    np.testing.assert_allclose(numpy_rnn.simple_rnn(inputs, W.T, U.T, b, return_sequences=True), outputs)
