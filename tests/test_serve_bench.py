"""Smoke test of benchmarks/serve.py: a tiny lstm trained, exported and served for real, a few requests, no Keras."""

from __future__ import annotations

import json
import subprocess
import sys

from run_helpers import REPO, write_jena_csv

SCRIPT = REPO / "benchmarks" / "serve.py"


def test_benchmark_serves_a_few_requests_and_writes_the_json_shape(tmp_path):
    csv = write_jena_csv(tmp_path / "mini.csv", days=48)  # enough rows for the book's window in every split
    out = tmp_path / "serve.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(csv), "--units", "4", "--max-steps", "2", "--concurrency", "1",
         "--batch", "2", "--requests", "3", "--seconds", "5", "--warmup", "1", "--inproc-reps", "3",
         "--windows", "64", "--batch-sizes", "32,64", "--compare-batch", "32", "--repeats", "1", "--threads", "1",
         "--work", str(tmp_path / "work"), "--json", str(out)],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| endpoint | concurrency |" in proc.stdout and "load avg" in proc.stdout
    report = json.loads(out.read_text())
    assert report["model"]["model"] == "lstm" and report["model"]["rows_needed"] == 715
    assert report["model"]["trained_here"] and report["model"]["sequence_length"] == 120
    for key, per in (("forecast", 1), ("batch", 2)):
        (r,) = report["http"][key]
        assert r["concurrency"] == 1 and r["ok"] == 3 and r["errors"] == {} and r["wrong_values"] == 0
        assert 0 < r["p50_ms"] <= r["p99_ms"] and r["requests_per_s"] > 0
        assert abs(r["forecasts_per_s"] - per * r["requests_per_s"]) < 1e-9
    for stage in ("forecast_fresh_json", "asgi_app", "load_input", "predict_one_window"):
        assert report["in_process"][stage]["n"] >= 1 and report["in_process"][stage]["p50_ms"] > 0
    p = report["predict"]
    assert set(p["ours"]) == {"32", "64"} and all(r["samples_per_s"] > 0 for r in p["ours"].values())
    assert p["keras"] is None  # no --keras-python given
    t = report["targets"]
    assert t["single_p99_ms"] == report["http"]["forecast"][0]["p99_ms"] and isinstance(t["single_p99_met"], bool)
    assert t["ratio_same_batch"] is None and t["ratio_met"] is None and t["ours_best_batch"] in (32, 64)
    best = p["ours"][str(t["ours_best_batch"])]["samples_per_s"]
    assert t["ratio_vs_issue_met"] is (best / 8_600 >= 10) and t["ratio_vs_issue_keras"] == best / 8_600
    assert t["keras_default_batch"] == 32 and t["ratio_vs_keras_default"] is None
    assert report["machine"]["torch_threads"] == 1 and report["server"]["startup_s"] > 0
    assert (tmp_path / "work" / "artifact" / "manifest.json").is_file()  # the exported artifact that was served
