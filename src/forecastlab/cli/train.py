"""`forecastlab train MODEL`. (Owned by the training-engine work.)"""

import typer


def register(app: typer.Typer) -> None:
    pass
