"""Where human-facing messages go: stderr, so stdout stays clean for --json output.

The console never parses rich markup (`markup=False`): messages carry user text (file paths, column
names, targets) in which `[red]` or `[/]` is ordinary text, so styles are given as Text spans instead.
"""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

console = Console(stderr=True, highlight=False, markup=False)


def results_console() -> Console:
    """A console on stdout, for a command's result tables (`forecastlab classify ... > board.txt` keeps them;
    messages stay on stderr); never reading markup. Redirected to a file or a pipe it is 200 columns wide (or
    $COLUMNS), not rich's 80, so that a saved table keeps its rows whole."""
    import os
    import sys

    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
    return Console(highlight=False, markup=False, emoji=False, width=width)


def styled(label: str, style: str, message: str) -> Text:
    """`label` in `style`, then `message` verbatim (never read as markup)."""
    return Text.assemble((label, style), " ", message)


def warn(message: str, *, label: str = "warning:") -> None:
    """One yellow-labelled line on stderr, `message` printed exactly as given."""
    console.print(styled(label, "bold yellow", message), soft_wrap=True)


def error(message: str) -> None:
    """The CLI's one error paragraph on stderr."""
    console.print(styled("error:", "bold red", message), soft_wrap=True)


def banner(message: str, *, title: str = "NOTE", style: str = "bold yellow") -> None:
    """A loud, boxed message for things the user must not miss (e.g. synthetic data in use)."""
    console.print(Panel(Text(message), title=Text(title), style=style, expand=False))
