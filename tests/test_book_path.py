"""The book's path stays number for number what it was: `reproduce --profile smoke` (all seven book
models, 1 epoch of 5 batches, seed 0) against numbers pinned before the general-core redesign.

The pin (tests/fixtures/book_path_pin.json) was made with the code of commit 697e392. On the CPU model,
instruction set and torch version it was made with, every MAE must be bit-identical; elsewhere the fused
C++ loops are compiled for another instruction set (-march=native) and oneDNN picks other convolution
kernels, so they may round differently in the last bits, and there the check is to 1e-6 relative. ("AMD
EPYC" alone names several generations: on one without AVX-512 conv1d's val MAE differs in the 9th digit,
so the instruction set is part of the fingerprint.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from forecastlab.data.synthetic import write_csv
from forecastlab.reproduce import BOOK_MODELS, reproduce

PIN = Path(__file__).parent / "fixtures" / "book_path_pin.json"


def _cpu() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")


def _isa() -> str:
    """The vector extensions that change which kernels run: 'avx512' or 'avx2' (or 'other')."""
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        return "unknown"
    return "avx512" if "avx512f" in flags.split() else "avx2" if "avx2" in flags.split() else "other"


def test_reproduce_smoke_gives_the_pinned_book_numbers(tmp_path):
    pin = json.loads(PIN.read_text())
    csv = write_csv(tmp_path / "jena60.csv", seed=4, start="01.01.2009 00:10:00", end="02.03.2009 00:00:00")
    result = reproduce("smoke", data=str(csv), out_dir=tmp_path / "rep", progress=False)
    made = pin["made_on"]
    exact = (made["cpu"], made["torch"], made.get("isa")) == (_cpu(), torch.__version__, _isa())
    assert set(result.models) == set(pin["models"]) == set(BOOK_MODELS)
    for name, want in pin["baselines"].items():  # NumPy only: the same everywhere
        assert {k: result.baselines[name][k] for k in want} == want, name
    for name, want in pin["models"].items():
        got = result.models[name]
        assert got["params"] == want["params"], name
        for key in ("val_mae", "test_mae"):
            if exact:
                assert got[key] == want[key], (name, key, got[key], want[key])
            else:
                assert got[key] == pytest.approx(want[key], rel=1e-6), (name, key)
