"""forecastlab.training.loading: predict normalizes ready windows in torch, bit for bit as NumPy does."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from forecastlab.training.loading import _batch_normalizer
from forecastlab.windows import Normalizer

# Every float32, the specials and subnormals included: the two paths must agree on all of them.
FLOATS = st.floats(width=32, allow_nan=True, allow_infinity=True, allow_subnormal=True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    train=hnp.arrays(np.float64, st.tuples(st.integers(2, 30), st.integers(1, 6)),
                     elements=st.floats(-1e12, 1e12, allow_nan=False)),
    data=st.data(),
)
def test_torch_normalization_of_a_batch_is_bit_identical_to_numpys(train, data):
    norm = Normalizer()
    norm.fit(train)
    batch = data.draw(hnp.arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 7),
                                                       st.just(train.shape[1])), elements=FLOATS))
    normalize = _batch_normalizer(norm)
    want = norm.transform(batch)
    for view in (batch, batch[:, ::-1], batch[::2]):
        got = normalize(view)
        assert got.dtype == torch.float32
        np.testing.assert_array_equal(got.numpy().view(np.int32), norm.transform(view).view(np.int32))
    np.testing.assert_array_equal(normalize(batch).numpy().view(np.int32), want.view(np.int32))


def test_the_batch_normalizer_never_writes_the_callers_array_and_takes_a_read_only_one():
    rng = np.random.default_rng(0)
    norm = Normalizer()
    norm.fit(rng.normal(size=(100, 3)) * [1, 10, 100] + [0, 5, -50])
    batch = (rng.normal(size=(8, 4, 3)) * 30).astype(np.float32)
    before = batch.copy()
    batch.flags.writeable = False
    got = _batch_normalizer(norm)(batch)
    np.testing.assert_array_equal(batch, before)
    np.testing.assert_array_equal(got.numpy(), norm.transform(before))
    threads = torch.get_num_threads()
    try:  # the intra-op threads split the batch; they never change a number
        torch.set_num_threads(1)
        one = _batch_normalizer(norm)(batch).numpy()
        torch.set_num_threads(2)
        two = _batch_normalizer(norm)(batch).numpy()
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(one.view(np.int32), two.view(np.int32))


def test_no_normalizer_means_no_normalization_step():
    assert _batch_normalizer(None) is None
