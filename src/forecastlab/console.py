"""Where human-facing messages go: stderr, so stdout stays clean for --json output."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel

console = Console(stderr=True, highlight=False)


def banner(message: str, *, title: str = "NOTE", style: str = "bold yellow") -> None:
    """A loud, boxed message for things the user must not miss (e.g. synthetic data in use)."""
    console.print(Panel(message, title=title, style=style, expand=False))
