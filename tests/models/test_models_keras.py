"""Optional: our models against real Keras with identical weights (set FORECASTLAB_KERAS_PYTHON to a
Python that has keras + tensorflow, e.g. /work/keras-venv/bin/python). Keras is never a dependency."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from forecastlab.data.book import BOOK_MODELS
from forecastlab.models import build_model, count_params
from forecastlab.models.keras_io import keras_weight_list
from run_helpers import REPO

KERAS_PYTHON = os.environ.get("FORECASTLAB_KERAS_PYTHON")
pytestmark = pytest.mark.skipif(not KERAS_PYTHON, reason="set FORECASTLAB_KERAS_PYTHON to cross-check Keras")

# Builds each model exactly as the book does, via the shared Keras reference script.
SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np
    sys.path.insert(0, sys.argv[2])
    import keras_reference as kr
    data = np.load(sys.argv[1], allow_pickle=True)
    x = data["x"]
    for name in data["names"]:
        model = kr.build(str(name), x.shape[-1])
        model.set_weights([a for a in data["w_" + str(name)]])
        np.save(sys.argv[1] + "." + str(name) + ".npy", model.predict(x, verbose=0))
        print(name, model.count_params())
""")


def test_forward_outputs_match_keras(tmp_path):
    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((8, 120, 14)).astype(np.float32)
    # Keras has the book's seven models; the others (linear, lightgbm, persistence) have no Keras twin.
    ours, arrays = {}, {"x": x, "names": np.array(list(BOOK_MODELS))}
    for name in BOOK_MODELS:
        model = build_model(name, 14, 120).eval()
        ours[name] = (model(torch.from_numpy(x)).detach().numpy(), count_params(model))
        weights = np.empty(len(keras_weight_list(model)), dtype=object)
        weights[:] = [w.astype(np.float32) for w in keras_weight_list(model)]
        arrays["w_" + name] = weights
    path = tmp_path / "weights.npz"
    np.savez(path, **arrays)
    # The book's Keras models are built by the shared reference script (shared/ sits beside the checkout).
    bench = os.path.join(REPO, "..", "shared", "bench")
    bench = os.environ.get("FORECASTLAB_KERAS_BENCH", bench)
    if not os.path.isfile(os.path.join(bench, "keras_reference.py")):
        pytest.skip(f"keras_reference.py not found in {os.path.abspath(bench)}; set FORECASTLAB_KERAS_BENCH")
    run = subprocess.run([KERAS_PYTHON, "-c", SCRIPT, str(path), bench], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    counts = dict(line.split() for line in run.stdout.splitlines() if line.split()[0] in BOOK_MODELS)
    for name, (y, n_params) in ours.items():
        assert int(counts[name]) == n_params, name
        np.testing.assert_allclose(np.load(f"{path}.{name}.npy"), y, atol=2e-5, err_msg=name)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
