"""Smoke test of benchmarks/windows.py: a real subprocess run over two batches of the book's train split."""

from __future__ import annotations

import json
import subprocess
import sys

from run_helpers import REPO

SCRIPT = REPO / "benchmarks" / "windows.py"


def test_benchmark_runs_two_batches_and_reports_bounded_memory(tmp_path):
    out = tmp_path / "windows.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--batches", "2", "--engines", "ours", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| ours |" in proc.stdout and "extra memory for our windows" in proc.stdout
    report = json.loads(out.read_text())
    ours = report["results"]["ours"]
    assert (ours["batches"], ours["windows"]) == (2, 512)
    assert 0 <= ours["extra_mib"] < 64 and report["checks"]["memory_ok"] is True
    assert report["machine"]["nproc"] >= 1
