"""What an interrupted train() says, from the state the real fit loop had when Ctrl-C or SIGTERM landed: the
epoch it was in, or what it was doing after its last epoch (never an epoch past the last), what was kept and how
to go on; and that the advice works."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import forecastlab.training.engine as engine
from forecastlab.training import Interrupted, train
from forecastlab.windows import WindowSpec
from run_helpers import TINY, cli, write_jena_csv

SPEC = WindowSpec(sequence_length=8, sampling_rate=2, horizon=2)


@pytest.fixture(scope="module")
def datasets():
    rng = np.random.default_rng(0)
    t = np.arange(600)
    values = np.stack([10 + 6 * np.sin(2 * np.pi * t / 72) + rng.normal(0, 0.3, 600), rng.normal(size=600)],
                      axis=1).astype(np.float32)
    return SPEC.make_datasets(values, values[:, 0], batch_size=32, seed=0)


def _stop_when(monkeypatch, name: str, when) -> None:
    """Raise KeyboardInterrupt (what the CLI turns SIGTERM into) from engine.<name> the first time `when(args,
    kwargs)` holds, as a signal landing there would."""
    real = getattr(engine, name)

    def stopping(*args, **kwargs):
        if when(args, kwargs):
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, name, stopping)


def _interrupted(datasets, **kwargs) -> str:
    with pytest.raises(Interrupted) as err:
        train("dense", datasets, progress=False, model_params={"units": 4}, max_steps_per_epoch=2, **kwargs)
    return err.value.message


@pytest.mark.parametrize("out", [True, False], ids=["run-dir", "in-memory"])
def test_a_signal_while_scoring_the_test_split_names_the_last_epoch_and_what_was_happening(
        datasets, tmp_path, monkeypatch, out):
    # Before: "training stopped during epoch 5 of 4", an epoch that never was.
    _stop_when(monkeypatch, "evaluate", lambda a, k: k.get("split") == "test")
    run = tmp_path / "run"
    said = _interrupted(datasets, epochs=4, out_dir=run if out else None)
    assert said.startswith("training stopped after the last epoch (4 of 4), while scoring the best weights on "
                           "the test split; "), said
    assert "epoch 5" not in said and "during epoch" not in said
    if not out:
        assert said.endswith("it had no run directory, so nothing was kept"), said
        return
    assert f"kept {run} with 4 completed epochs" in said and f"`forecastlab train --resume {run}`" in said, said
    assert "finish it (no more epochs" in said, said
    monkeypatch.undo()
    # The advice works: resuming trains no more epochs and writes the scores.
    result = train("dense", datasets, epochs=4, out_dir=run, resume=True, progress=False, model_params={"units": 4},
                   max_steps_per_epoch=2)
    assert len(result.history) == 4 and (run / "metrics.json").is_file()


def test_a_signal_while_writing_the_outputs_or_after_an_early_stop_says_so(datasets, tmp_path, monkeypatch):
    _stop_when(monkeypatch, "_write_outputs", lambda a, k: True)
    said = _interrupted(datasets, epochs=3, out_dir=tmp_path / "a")
    assert said.startswith("training stopped after the last epoch (3 of 3), while writing metrics.json and "
                           "curves.png; "), said
    monkeypatch.undo()
    # Stopped early by the caller at epoch 1 of 5, then interrupted while scoring: epoch 1, not "2 of 5". The
    # on_epoch stop is not in the checkpoint, so a resume trains on: "continue", not "finish".
    _stop_when(monkeypatch, "evaluate", lambda a, k: k.get("split") == "test")
    said = _interrupted(datasets, epochs=5, out_dir=tmp_path / "b", on_epoch=lambda row: True)
    assert said.startswith("training stopped after stopping early at epoch 1 of 5, while scoring the best weights "
                           "on the test split; kept "), said
    assert "with 1 completed epoch (best: epoch 1); continue it with" in said, said


def test_a_signal_inside_an_epoch_still_names_that_epoch(datasets, tmp_path, monkeypatch):
    calls = []
    _stop_when(monkeypatch, "_train_steps", lambda a, k: calls.append(1) or len(calls) == 3)
    said = _interrupted(datasets, epochs=4, out_dir=tmp_path / "run")
    assert said.startswith(f"training stopped during epoch 3 of 4; kept {tmp_path / 'run'} with 2 completed "
                           "epochs (best: epoch "), said
    assert said.endswith("(Python: train(..., out_dir=..., resume=True))") and "continue it with" in said


# A real `forecastlab train` process that sends itself SIGTERM when the test split is scored, after its last epoch.
_SELF_SIGTERM = """
import os, signal, sys
import forecastlab.training.engine as engine
real = engine.evaluate
def evaluate(*args, **kwargs):
    if kwargs.get("split") == "test":
        os.kill(os.getpid(), signal.SIGTERM)
    return real(*args, **kwargs)
engine.evaluate = evaluate
from forecastlab.cli import main
main(sys.argv[1:])
"""


def test_a_real_process_terminated_after_its_last_epoch_says_so_and_resume_finishes_it(tmp_path):
    csv = write_jena_csv(tmp_path / "mini.csv", days=20)
    out = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="250")
    done = subprocess.run([sys.executable, "-c", _SELF_SIGTERM, "train", "dense", "--data", str(csv), *TINY,
                           "--epochs", "2", "--out", str(out)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    line = " ".join(done.stderr.split())
    assert "interrupted: training stopped after the last epoch (2 of 2), while scoring the best weights on the " \
           "test split; kept" in line, done.stderr
    assert "epoch 3" not in line and not (out / "metrics.json").exists()
    done = cli("train", "--resume", out, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [r["epoch"] for r in json.loads(done.stdout)["history"]] == [1, 2] and (out / "metrics.json").is_file()
