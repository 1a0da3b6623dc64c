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


SEEDED = {
    # ranked by validation: a first, b second; on test b is lower, but within a's spread
    "a": {"val_mae": 2.00, "test_mae": 2.10, "val_mae_std": 0.01, "test_mae_std": 0.05, "seeds": 3, "params": 1},
    "b": {"val_mae": 2.05, "test_mae": 2.08, "val_mae_std": 0.01, "test_mae_std": 0.01, "seeds": 3, "params": 1},
    "gru_stacked": {"val_mae": 2.30, "test_mae": 2.30, "val_mae_std": 0.02, "test_mae_std": 0.03, "seeds": 3,
                    "params": 1},
}


def test_seeded_rows_mark_better_only_beyond_both_spreads_and_rank_on_validation():
    oracle = {"oracle": {"val_mae": 0.5, "test_mae": 0.5}}
    rows = {r.name: r for r in build_rows(BASE | oracle, SEEDED)}
    assert list(rows)[-3:] == ["a", "b", "gru_stacked"]  # validation order, not test order
    assert rows["a"].clearly_better_than == ["gru_stacked"]  # b is lower on test, but within a's spread
    assert rows["b"].clearly_better_than == ["gru_stacked"]  # 0.02 above b's spread but not a's 0.05
    assert rows["gru_stacked"].clearly_better_than == []
    # the gap from persistence (2.5) to the oracle (0.5): a closes (2.5 - 2.1) / 2.0
    assert rows["a"].gap_closed_pct == 20.0 and rows["oracle"].kind == "bound"
    md = to_markdown(list(rows.values()))
    assert "2.10 ± 0.050" in md and "gap to oracle closed" in md and "3 seeds" in md


def test_the_verdict_compares_our_best_by_validation_with_the_books(tmp_path):
    from forecastlab.reporting.leaderboard import verdict

    rows = build_rows(BASE, SEEDED)
    said = verdict(rows)
    assert "ours **a**" in said and "the book's best by validation **gru_stacked**" in said
    assert "clearly better" in said and "not clearly" not in said
    # a headline recipe fixed in advance gets its own sentence, before the one by validation
    both = verdict(build_rows(BASE, SEEDED | {"b": SEEDED["b"] | {"val_mae": 2.01}}), headline="b")
    assert both.startswith("Our headline recipe **b**") and "ours **a**" in both
    close = SEEDED | {"a": SEEDED["a"] | {"test_mae": 2.28}}
    assert "not clearly better" in verdict(build_rows(BASE, close))
    one_seed = {k: {"val_mae": v["val_mae"], "test_mae": v["test_mae"]} for k, v in SEEDED.items()}
    assert "one seed only" in verdict(build_rows(BASE, one_seed))
    # on another record the book's Jena numbers are not shown
    assert all(r.book_test_mae is None for r in build_rows(BASE, SEEDED, book=False))
