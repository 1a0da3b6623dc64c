from __future__ import annotations

import json

from forecastlab.reporting.leaderboard import build_rows, to_markdown, write_leaderboard

BASE = {
    "persistence": {"val_mae": 2.5, "test_mae": 2.5},
    "seasonal_persistence": {"val_mae": 3.0, "test_mae": 3.1},
    "climatology": {"val_mae": 4.0, "test_mae": 4.2},
}
MODELS = {
    "lstm": {"val_mae": 2.2, "test_mae": 2.25, "params": 2001, "epochs": 10, "best_epoch": 7,
             "seconds_per_epoch": 12.5, "total_seconds": 130},
    "dense": {"val_mae": 2.6, "test_mae": 2.7, "params": 26913, "epochs": 10, "best_epoch": 3,
              "seconds_per_epoch": 3.0, "total_seconds": 31},
}


def test_rows_rank_models_on_validation_and_compute_gain_over_persistence():
    rows = build_rows(BASE, MODELS)
    assert [r.name for r in rows] == ["persistence", "seasonal_persistence", "climatology", "lstm", "dense"]
    lstm = rows[3]
    assert lstm.improvement_pct == 10.0  # (2.5 - 2.25) / 2.5
    assert rows[4].improvement_pct == -8.0
    assert lstm.book_test_mae == 2.55 and rows[0].book_val_mae == 2.44


def test_markdown_and_json_carry_the_same_numbers(tmp_path):
    rows = build_rows(BASE, MODELS)
    md = to_markdown(rows)
    assert "| lstm | model | 2.20 | 2.25 | +10.0% | 2,001 | 10 (7) | 12.5 | 130 | 2.39 | 2.55 |" in md
    files = write_leaderboard(rows, {"profile": "quick"}, tmp_path)
    data = json.loads(files["json"].read_text())
    assert data["profile"] == "quick"
    assert {r["name"]: r["test_mae"] for r in data["rows"]}["dense"] == 2.7
    assert files["plot"].stat().st_size > 5000


def test_markdown_opens_with_a_synthetic_warning_and_the_command(tmp_path):
    meta = {"data": {"source": "synthetic"}, "profile": "quick", "profile_description": "short",
            "command": "forecastlab reproduce --profile quick"}
    files = write_leaderboard(build_rows(BASE, MODELS), meta, tmp_path)
    head = files["markdown"].read_text().split("| model |")[0]
    assert head.startswith("**SYNTHETIC DATA**")
    assert "`forecastlab reproduce --profile quick`" in head and "Profile `quick`: short." in head
