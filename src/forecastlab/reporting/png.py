"""Writing a figure: rendered in memory, then written atomically, so a reader never sees half a PNG and a
full disk or a read-only folder is an OSError naming `path` (forecastlab.atomic), not a temp file."""

from __future__ import annotations

import io
from pathlib import Path

from forecastlab.atomic import atomic_write_bytes


def png_bytes(fig) -> bytes:
    """A matplotlib figure rendered as PNG, in memory (for a file, or a data URI in the HTML report)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def save_png(fig, path: str | Path) -> Path:
    path = Path(path)
    atomic_write_bytes(path, png_bytes(fig))
    return path
