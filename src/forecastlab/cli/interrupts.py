"""Ctrl-C and SIGTERM end a command the same clean way: the stack unwinds (and cleans up), one line says
what was kept, and the exit code is 128 + the signal (130 Ctrl-C, 143 TERM)."""

from __future__ import annotations

import signal
import sys


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it unwinds (and cleans up) exactly like Ctrl-C."""

    signum = signal.SIGTERM


def on_sigterm(signum, frame) -> None:
    raise Terminated()


def exit_interrupted(interrupt: KeyboardInterrupt) -> None:
    """Say in one line what an interrupted command kept, then exit 128 + the signal (130 Ctrl-C, 143 TERM)."""
    from forecastlab.console import warn

    warn(getattr(interrupt, "message", None) or "interrupted", label="interrupted:")
    sys.exit(128 + int(getattr(interrupt, "signum", signal.SIGINT)))
