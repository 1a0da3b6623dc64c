"""benchmarks/peer_darts.py hands Darts exactly forecastlab's windows: what it exports, cut the way the
worker cuts it for Darts, gives back every window's inputs and target, and no other window.

Needs no Darts venv: the worker's cutting (`blocks`) is plain numpy; only its fitting imports Darts.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

from forecastlab.windows import WindowSpec

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


peer = _module("peer_darts")
worker = _module("peer_darts_worker")


class _Series:  # what export reads of a forecastlab Series
    def __init__(self, values):
        self.values, self.columns = values, [f"c{j}" for j in range(values.shape[1])]


@pytest.mark.parametrize("drop_every", [None, 7])
def test_exported_blocks_are_forecastlab_windows(tmp_path, drop_every):
    rng = np.random.default_rng(0)
    values = rng.standard_normal((2_000, 3)).astype(np.float32) * 5 + 10
    spec = WindowSpec(sequence_length=10, sampling_rate=3, horizon=4)
    sets = spec.make_datasets(values, values[:, 1], batch_size=32, shuffle_train=False, target_column=1)
    if drop_every:  # holes in the runs of windows, as dropped gap windows leave them: several blocks per phase
        keep = np.arange(sets.test.num_windows) % drop_every != 3
        sets = dataclasses.replace(sets, test=sets.test.subset(keep))
    args = Namespace(darts=["lstm"], epochs=1, steps=1, batch_size=32, eval_batch=64, seed=0, threads=1, no_val=False)
    task = peer.export(tmp_path, _Series(values), spec, sets, args)
    assert task == json.loads((tmp_path / "task.json").read_text())
    hourly = [np.load(tmp_path / f"hourly_{r}.npy", allow_pickle=False) for r in range(3)]
    for split in ("train", "val", "test"):
        ds = getattr(sets, split)
        ends = np.load(tmp_path / f"{split}_end_rows.npy", allow_pickle=False)
        x, y = (t.numpy() for t in ds.gather(ds.start_positions))
        by_end = {int(e): i for i, e in enumerate(ds.last_input_rows)}
        seen, L, h = [], spec.sequence_length, spec.horizon
        for first_row, block in worker.blocks(task, hourly, ends):
            for j in range(len(block) - L - h + 1):  # Darts' samples: input_chunk L, output_chunk h
                end = first_row + 3 * (j + L - 1)
                i = by_end[end]
                np.testing.assert_array_equal(block[j : j + L], x[i])
                target = block[j + L - 1 + h, 1] * task["target_std"] + task["target_mean"]
                assert target == pytest.approx(y[i], abs=1e-4)
                seen.append(end)
        assert sorted(seen) == sorted(by_end)  # every window once, and no other
    if drop_every:
        assert len(worker.blocks(task, hourly, np.load(tmp_path / "test_end_rows.npy"))) > 3


def test_ours_specs():
    assert peer.parse_ours(["lstm", "lstm:units=32,optimizer=adam,target_transform=standardize,as=lstm32"]) == [
        ("lstm", "lstm", {}, {}),
        ("lstm32", "lstm", {"units": 32}, {"optimizer": "adam", "target_transform": "standardize"}),
    ]
