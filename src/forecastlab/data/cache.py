"""Where downloaded and generated data lives: a per-user cache, overridable per call or by env."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_VAR = "FORECASTLAB_DATA_DIR"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The cache directory: `override` (--data-dir), else $FORECASTLAB_DATA_DIR, else the per-user cache.

    It is created on first use, so callers can write into it straight away.
    """
    if override is not None:
        path = Path(override)
    elif os.environ.get(ENV_VAR):
        path = Path(os.environ[ENV_VAR])
    else:
        path = Path(platformdirs.user_cache_dir("forecastlab", appauthor=False))
    path = path.expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
