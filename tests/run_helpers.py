"""Helpers for tests that train tiny runs through the real CLI and then attack or reuse them."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from forecastlab.data.jena_schema import jena_columns

TESTS = Path(__file__).resolve().parent  # tests/ mirrors src/forecastlab/: tests/data, tests/windows, ...
FIXTURES = TESTS / "fixtures"
REPO = TESTS.parent

WINDOW = ["--sequence-length", "24", "--sampling-rate", "6", "--horizon", "6", "--batch-size", "64"]
TINY = [*WINDOW, "--max-steps-per-epoch", "3", "--param", "units=4", "--no-progress"]


def cli(*args, cwd, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m forecastlab ARGS` in `cwd`, one torch thread, wide stderr (no wrapped messages)."""
    full_env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="250") | (env or {})
    return subprocess.run([sys.executable, "-m", "forecastlab", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def popen(*args, cwd, env: dict | None = None) -> subprocess.Popen:
    full_env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="250") | (env or {})
    return subprocess.Popen([sys.executable, "-m", "forecastlab", *map(str, args)], cwd=cwd, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def write_jena_csv(path: Path, days: int = 20) -> Path:
    """`days` of 10-minute rows with the real file's 15 headers and smooth, plausible values."""
    rows = days * 144
    rng = np.random.default_rng(0)
    t = np.arange(rows)
    stamps = pd.date_range("2009-01-01 00:10", periods=rows, freq="10min")
    frame = pd.DataFrame({"Date Time": stamps.strftime("%d.%m.%Y %H:%M:%S")})
    for i, name in enumerate(jena_columns()[1:]):
        frame[name] = np.round(5 + i + 4 * np.sin(2 * np.pi * (t / 144 + i / 14)) + rng.normal(0, 0.3, rows), 2)
    frame.to_csv(path, index=False)
    return path


def clean_error(done: subprocess.CompletedProcess, *needles: str) -> str:
    """Assert a run ended in our one-paragraph error (exit 2, no traceback) containing each needle."""
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr
    text = " ".join(done.stderr.split())
    for needle in needles:
        assert needle in text, (needle, text)
    return text


def digests(directory: Path) -> dict[str, str]:
    """sha256 of every file directly in `directory`."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(directory).iterdir())
            if p.is_file()}


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity, as every strict JSON reader does."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def train_tiny(root: Path, csv: Path, name: str, model: str, params: dict | None = None, *,
               feature_set: str | None = None, loss: str = "mse", epochs: int = 1, horizons: str | None = None
               ) -> Path:
    """A finished tiny run (a 24-step window every 6 rows, 6 rows ahead, 3 steps an epoch) in root/name,
    trained through the real recipe API."""
    from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
    from forecastlab.training.runner import run_recipe

    recipe = Recipe(ModelRecipe(model, params or {}), DataRecipe(str(csv), feature_set=feature_set),
                    WindowRecipe(sequence_length=24, sampling_rate=6, horizon=None if horizons else 6, batch_size=64,
                                 horizons=horizons or "24h"),
                    TrainingRecipe(epochs=epochs, max_steps_per_epoch=3, seed=0, loss=loss))
    run_recipe(recipe, out_dir=Path(root) / name, progress=False)
    return Path(root) / name
