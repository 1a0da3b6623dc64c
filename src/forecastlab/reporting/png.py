"""Writing a figure: rendered in memory, then written atomically, so a reader never sees half a PNG and a
full disk or a read-only folder is an OSError naming `path` (forecastlab.atomic), not a temp file."""

from __future__ import annotations

import io
from pathlib import Path

from forecastlab.atomic import atomic_write_bytes


def save_png(fig, path: str | Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path
