"""`forecastlab data ...`: fetch, synth, inspect. (Owned by the data-layer work.)"""

import typer

app = typer.Typer(no_args_is_help=True)
