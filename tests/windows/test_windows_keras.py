"""Parity with Keras itself: the same calls, run through keras.utils.timeseries_dataset_from_array.

Keras and TensorFlow are never dependencies of forecastlab. This test runs only when
FORECASTLAB_KERAS_PYTHON names a python that has Keras 3 and TensorFlow installed
(e.g. FORECASTLAB_KERAS_PYTHON=/work/keras-venv/bin/python); it runs Keras in that interpreter in a
subprocess and compares every window and target, batch by batch, with ours.
"""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

from forecastlab.windows import timeseries_dataset_from_array

KERAS_PYTHON = os.environ.get("FORECASTLAB_KERAS_PYTHON")
pytestmark = pytest.mark.skipif(
    not KERAS_PYTHON,
    reason="Keras parity needs FORECASTLAB_KERAS_PYTHON=<python with keras 3 + tensorflow>",
)

# Runs inside the Keras interpreter: data[i] == (i, -i), targets[i] == 10*i, so windows read back rows.
KERAS_SIDE = r"""
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras

def rows(batch, has_targets):
    x, y = batch if has_targets else (batch, None)
    x = np.asarray(x)[..., 0].astype(np.int64).tolist()
    return [x, None if y is None else (np.asarray(y) // 10).tolist()]

results = []
for case in json.load(sys.stdin):
    n = case["n"]
    data = np.stack([np.arange(n), -np.arange(n)], axis=1).astype("float32")
    targets = None if case["targets"] is None else np.arange(case["targets"], dtype="int64") * 10
    try:
        ds = keras.utils.timeseries_dataset_from_array(data, targets, **case["kw"])
        results.append({"batches": [rows(b, targets is not None) for b in ds]})
    except ValueError as e:
        results.append({"error": "ValueError", "message": str(e)})
    except Exception as e:  # TF failing while iterating
        results.append({"error": type(e).__name__, "message": str(e)[:300]})
print(json.dumps({"keras": keras.__version__, "results": results}))
"""


def case(n, targets, **kw):
    return {"n": n, "targets": targets, "kw": kw}


CASES = [
    case(99, None, sequence_length=10, sampling_rate=2, sequence_stride=3),
    case(100, 100, sequence_length=10, batch_size=16),
    case(50, 50, sequence_length=5, sampling_rate=3, sequence_stride=2, start_index=4, end_index=40, batch_size=7),
    case(50, 20, sequence_length=4),
    case(50, 60, sequence_length=4, sequence_stride=7, batch_size=3),
    case(30, 30, sequence_length=3, end_index=0),
    case(30, 30, sequence_length=31),
    case(40, 40, sequence_length=6, sampling_rate=2, batch_size=None),
    case(40, None, sequence_length=6, sampling_rate=2, batch_size=None),
    case(40, 40, sequence_length=3, start_index=0, end_index=25, batch_size=4),
    case(200, 200, sequence_length=7, sampling_rate=3, sequence_stride=2, batch_size=16, shuffle=True, seed=3),
    case(120, 120, sequence_length=5, batch_size=None, shuffle=True, seed=11),
    # the book's code 10-7, scaled down: sampling_rate 6, delay 6*(12+4-1)=90, three splits
    case(1910, 2000 - 90, sequence_length=12, sampling_rate=6, batch_size=32, start_index=0, end_index=1000),
    case(1910, 2000 - 90, sequence_length=12, sampling_rate=6, batch_size=32, start_index=1000, end_index=1500),
    case(1910, 2000 - 90, sequence_length=12, sampling_rate=6, batch_size=32, start_index=1500),
    # every validation error Keras raises
    case(20, 20, sequence_length=3, start_index=-1),
    case(20, 20, sequence_length=3, start_index=20),
    case(20, 20, sequence_length=3, start_index=5, end_index=5),
    case(20, 20, sequence_length=3, end_index=20),
    case(20, 20, sequence_length=3, end_index=-2),
    case(20, 20, sequence_length=3, sampling_rate=0),
    case(20, 20, sequence_length=3, sampling_rate=20),
    case(20, 20, sequence_length=3, sequence_stride=0),
    case(20, 20, sequence_length=3, sequence_stride=25),
    # Keras accepts this, then TF fails while iterating (target index out of range); we refuse it up front
    case(30, 8, sequence_length=2, start_index=5),
]


def ours(c):
    n = c["n"]
    data = np.stack([np.arange(n), -np.arange(n)], axis=1).astype("float32")
    targets = None if c["targets"] is None else np.arange(c["targets"], dtype="int64") * 10
    try:
        ds = timeseries_dataset_from_array(data, targets, **c["kw"])
    except ValueError as e:
        return {"error": "ValueError", "message": str(e)}
    out = []
    for b in ds:
        x, y = b if targets is not None else (b, None)
        out.append([x[..., 0].long().tolist(), None if y is None else (y // 10).tolist()])
    return {"batches": out}


@pytest.fixture(scope="module")
def keras_results():
    proc = subprocess.run(
        [KERAS_PYTHON, "-c", KERAS_SIDE],
        input=json.dumps(CASES),
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | {"CUDA_VISIBLE_DEVICES": ""},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _flat(batches):
    """(window rows, target row) pairs over all batches; single windows are batches of one."""
    pairs = []
    for x, y in batches:
        if x and not isinstance(x[0], list):  # batch_size=None: one window, one target
            x, y = [x], [y]
        pairs += [(tuple(w), None if y is None else t) for w, t in zip(x, y or [None] * len(x), strict=True)]
    return pairs


@pytest.mark.parametrize("index", range(len(CASES)))
def test_same_windows_as_keras(keras_results, index):
    c, theirs, mine = CASES[index], keras_results["results"][index], ours(CASES[index])
    if "error" in theirs:
        # Keras's ValueErrors are ours; TF's iteration-time failures are ValueErrors here, at construction.
        assert mine.get("error") == "ValueError", (theirs, mine)
        return
    assert "error" not in mine, mine
    if not c["kw"].get("shuffle"):
        assert mine["batches"] == theirs["batches"]
        return
    # Keras shuffles once with RandomState plus a local tf shuffle buffer; we draw a full permutation per
    # epoch (documented). The batches hold the same windows, with the same targets, in the same sizes.
    assert [len(x) if isinstance(x[0], list) else 1 for x, _ in mine["batches"]] == [
        len(x) if isinstance(x[0], list) else 1 for x, _ in theirs["batches"]
    ]
    assert sorted(_flat(mine["batches"])) == sorted(_flat(theirs["batches"]))
