"""The `forecastlab` command line: a thin layer over the Python API.

Every command that prints results takes --json; every ForecastlabError, and every OSError (a full disk,
a read-only folder, a file where a folder belongs), becomes one paragraph on stderr and exit code 2,
never a traceback, with the library's argument names turned into this CLI's flags (options.FLAGS).
This entry point is the one place that changes the process: it turns SIGTERM into the same clean
interruption as Ctrl-C, applies the CPU tuning (forecastlab.training.runtime) for commands that run
torch, and shows the library's warnings: one line each, every time, a SyntheticDataWarning as a banner.
"""

from __future__ import annotations

import sys
import warnings
from typing import Annotated

import typer

from forecastlab.errors import ForecastlabError, from_os_error

app = typer.Typer(
    name="forecastlab",
    help="Forecast multivariate time series with deep learning (Deep Learning with Python, ch. 10).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from forecastlab import __version__

        typer.echo(f"forecastlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print forecastlab's version and exit.")] = False,
) -> None:
    """Forecast multivariate time series with deep learning (Deep Learning with Python, ch. 10)."""


def _register() -> None:
    # Each command group stays in its own module; they are registered once, when this package is imported.
    from forecastlab.cli import (
        anomalies,
        backtest,
        classify,
        data,
        deploy,
        ensemble,
        events,
        experiment,
        models,
        report,
        runs,
        sweep,
        train,
    )

    app.add_typer(data.app, name="data", help="Fetch, synthesize and inspect data.")
    train.register(app)
    backtest.register(app)
    ensemble.register(app)
    deploy.register(app)
    experiment.register(app)
    models.register(app)
    report.register(app)
    runs.register(app)
    sweep.register(app)
    anomalies.register(app)
    classify.register(app)
    events.register(app)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # One line, our format, without the library's source path (warnings.showwarning prints both); the
    # library's argument names become flags, as in error messages.
    from forecastlab.cli.options import FLAGS
    from forecastlab.console import banner, warn
    from forecastlab.errors import SyntheticDataWarning, cli_spelling

    text = cli_spelling(str(message), FLAGS)
    if issubclass(category, SyntheticDataWarning):
        banner(text, title=category.label)
    else:
        warn(text, label=getattr(category, "label", "warning:"))


def _tune_cpu(args: list[str]) -> None:
    """The process-wide CPU settings that make training fast (forecastlab.training.runtime), for every
    command that runs torch models; `data ...` and --help run none, and skip importing torch."""
    command = next((a for a in args if not a.startswith("-")), None)
    if command not in (None, "data"):
        from forecastlab.training.runtime import configure_cpu

        configure_cpu()


def main(argv: list[str] | None = None) -> None:
    from forecastlab.cli import interrupts
    from forecastlab.cli.options import FLAGS
    from forecastlab.console import error
    from forecastlab.errors import ForecastlabWarning

    interrupts.install()
    warnings.showwarning = _show_warning
    # Every time, not once per source line: a long run (reproduce) meets the same warning for each model.
    warnings.simplefilter("always", ForecastlabWarning)
    from forecastlab.cli import distributed

    distributed.ARGV[:] = sys.argv[1:] if argv is None else list(argv)
    _tune_cpu(distributed.ARGV)
    try:
        # Ctrl-C and SIGTERM: typer exits 130 quietly; `train` first says what it kept (interrupts.exit_interrupted).
        app(args=argv, standalone_mode=True)
    except ForecastlabError as err:
        error(err.paragraph(FLAGS))
        sys.exit(err.exit_code)
    except OSError as err:  # typer has already handled EPIPE (`forecastlab ... | head`)
        err = from_os_error(err)
        error(err.paragraph(FLAGS))
        sys.exit(err.exit_code)


_register()
