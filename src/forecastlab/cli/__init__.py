"""The `forecastlab` command line: a thin layer over the Python API.

Every command that prints results takes --json; every ForecastlabError, and every OSError (a full disk,
a read-only folder, a file where a folder belongs), becomes one paragraph on stderr and exit code 2,
never a traceback. This entry point is the one place that changes the process: it turns SIGTERM into
the same clean interruption as Ctrl-C and prints Python warnings as one line each.
"""

from __future__ import annotations

import signal
import sys
import warnings

import typer

from forecastlab.errors import ForecastlabError, from_os_error

app = typer.Typer(
    name="forecastlab",
    help="Forecast multivariate time series with deep learning (Deep Learning with Python, ch. 10).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it unwinds (and cleans up) exactly like Ctrl-C."""

    signum = signal.SIGTERM


def _register() -> None:
    # Imported here so each command group stays in its own module.
    from forecastlab.cli import data, experiment, train

    app.add_typer(data.app, name="data", help="Fetch, synthesize and inspect data.")
    train.register(app)
    experiment.register(app)


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # One line, our format, without the library's source path (warnings.showwarning prints both).
    from forecastlab.console import warn

    warn(str(message))


def main(argv: list[str] | None = None) -> None:
    from forecastlab.console import error

    _register()
    signal.signal(signal.SIGTERM, _on_sigterm)
    warnings.showwarning = _show_warning
    try:
        # Ctrl-C and SIGTERM: typer exits 130 quietly; `train` first says what it kept (see exit_interrupted).
        app(args=argv, standalone_mode=True)
    except ForecastlabError as err:
        error(err.paragraph())
        sys.exit(err.exit_code)
    except OSError as err:  # typer has already handled EPIPE (`forecastlab ... | head`)
        err = from_os_error(err)
        error(err.paragraph())
        sys.exit(err.exit_code)


def exit_interrupted(interrupt: KeyboardInterrupt) -> None:
    """Say in one line what an interrupted command kept, then exit 128 + the signal (130 Ctrl-C, 143 TERM)."""
    from forecastlab.console import warn

    warn(getattr(interrupt, "message", None) or "interrupted", label="interrupted:")
    sys.exit(128 + int(getattr(interrupt, "signum", signal.SIGINT)))
