"""Smoke test of benchmarks/train_speed.py: one real timed step per model in a subprocess, no Keras."""

from __future__ import annotations

import json
import subprocess
import sys

from run_helpers import REPO

SCRIPT = REPO / "benchmarks" / "train_speed.py"


def test_benchmark_times_one_step_per_model_and_writes_the_json_shape(tmp_path):
    out = tmp_path / "speed.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--models", "dense,lstm_dropout", "--steps", "1", "--warmup", "1",
         "--threads", "1", "--rows", "20000", "--val", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| model | ours ms/step | Keras ms/step |" in proc.stdout and "load avg" in proc.stdout
    report = json.loads(out.read_text())
    assert set(report["models"]) == {"dense", "lstm_dropout"}
    for r in report["models"].values():
        assert r["ours_step_ms_median"] > 0 and r["ours_val_pass_s"] > 0
        assert r["keras_step_ms_median"] is None and r["ratio"] is None  # no --keras-python given
    assert report["machine"]["torch_threads"] == 1 and report["pipeline_ms_per_batch"] > 0
    assert report["book_projection"]["models"] == ["dense", "lstm_dropout"]


def test_benchmark_rejects_unknown_models():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--models", "nope", "--steps", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "unknown model" in proc.stderr
