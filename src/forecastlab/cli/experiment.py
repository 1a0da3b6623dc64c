"""`forecastlab baseline` and `forecastlab reproduce`."""

import typer


def register(app: typer.Typer) -> None:
    pass
