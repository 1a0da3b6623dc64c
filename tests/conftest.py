"""Shared fixtures. Every test gets its own data cache, so no test touches the user's real cache."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path_factory, monkeypatch):
    """Point FORECASTLAB_DATA_DIR at a per-session temp dir shared by all tests (the synthetic cache is
    expensive to rebuild, so it is made once per session)."""
    path = tmp_path_factory.getbasetemp() / "forecastlab-cache"
    path.mkdir(exist_ok=True)
    monkeypatch.setenv("FORECASTLAB_DATA_DIR", str(path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return path


def pytest_configure(config):
    # Two cores shared by the test process and the CLI subprocesses it starts: one intra-op thread
    # per process avoids OpenMP threads fighting over them (steps were seen to get 3-10x slower).
    import torch

    torch.set_num_threads(1)
