"""Tiny finished runs of each kind (torch, lightgbm, an ensemble of both) on one small Jena-format CSV, made
once per test module through the real training API, and their exported artifacts."""

from __future__ import annotations

import pytest

from forecastlab.deploy.artifact import export_run
from forecastlab.training.ensemble import make_ensemble
from run_helpers import train_tiny as train
from run_helpers import write_jena_csv


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{'csv', 'lstm', 'lightgbm', 'ensemble'}: paths of the data and of three finished runs."""
    root = tmp_path_factory.mktemp("deploy-runs")
    csv = write_jena_csv(root / "mini.csv", days=20)
    out = {"root": root, "csv": csv,
           "lstm": train(root, csv, "lstm", "lstm", {"units": 4}),
           "lightgbm": train(root, csv, "lightgbm", "lightgbm", {"n_estimators": 5, "num_leaves": 4})}
    make_ensemble([out["lstm"], out["lightgbm"]], root / "ensemble")
    out["ensemble"] = root / "ensemble"
    return out


@pytest.fixture(scope="module")
def artifacts(runs):
    """{'lstm', 'lightgbm', 'ensemble'}: each run exported (the lstm one with ONNX)."""
    root = runs["root"] / "artifacts"
    return {name: export_run(runs[name], root / name, onnx=name == "lstm") for name in ("lstm", "lightgbm", "ensemble")}
