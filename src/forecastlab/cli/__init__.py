"""The `forecastlab` command line: a thin layer over the Python API.

Every command that prints results takes --json; every ForecastlabError becomes one
paragraph on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from forecastlab.errors import ForecastlabError

app = typer.Typer(
    name="forecastlab",
    help="Forecast multivariate time series with deep learning (Deep Learning with Python, ch. 10).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    # Imported here so each command group stays in its own module.
    from forecastlab.cli import data, experiment, train

    app.add_typer(data.app, name="data", help="Fetch, synthesize and inspect data.")
    train.register(app)
    experiment.register(app)


def main(argv: list[str] | None = None) -> None:
    _register()
    try:
        app(args=argv, standalone_mode=True)
    except ForecastlabError as err:
        from forecastlab.console import console

        console.print(f"[bold red]error:[/] {err.paragraph()}", soft_wrap=True)
        sys.exit(err.exit_code)
