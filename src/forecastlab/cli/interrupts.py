"""Ctrl-C and SIGTERM end a command the same clean way: the stack unwinds (and cleans up), one line says
what was kept, and the exit code is 128 + the signal (130 Ctrl-C, 143 TERM)."""

from __future__ import annotations

import signal
import sys


class Interrupt(KeyboardInterrupt):
    """Ctrl-C (SIGINT), raised where the program is, as Python's own handler does, but as a subclass.

    CPython remembers a KeyboardInterrupt of exactly the built-in type that leaves code run by `exec` or
    `eval` of a string (a library's generated code, say), even when a caller catches it, and then at
    exit turns any exit code into a kill by SIGINT (the parent sees -2, not 130). A subclass is never
    remembered, so `exit_interrupted`'s 130 is what the parent sees."""

    signum = signal.SIGINT


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it unwinds (and cleans up) exactly like Ctrl-C."""

    signum = signal.SIGTERM


def on_sigint(signum, frame) -> None:
    raise Interrupt()


def on_sigterm(signum, frame) -> None:
    raise Terminated()


def install() -> None:
    """Ctrl-C and SIGTERM raise Interrupt and Terminated (the CLI's entry point calls this; it changes the
    process, so library code never does). A SIGINT that the parent set to be ignored stays ignored."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, on_sigint)
    signal.signal(signal.SIGTERM, on_sigterm)


def exit_interrupted(interrupt: KeyboardInterrupt) -> None:
    """Say in one line what an interrupted command kept, then exit 128 + the signal (130 Ctrl-C, 143 TERM).
    A data-parallel worker other than rank 0 (train --nproc) exits with the same code and says nothing: rank 0,
    which writes the run, says what was kept; another rank has no run directory of its own to speak of."""
    from forecastlab.cli import distributed

    if distributed.rank() == 0:
        from forecastlab.console import warn

        warn(getattr(interrupt, "message", None) or "interrupted", label="interrupted:")
    sys.exit(128 + int(getattr(interrupt, "signum", signal.SIGINT)))
