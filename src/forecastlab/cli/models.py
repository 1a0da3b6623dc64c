"""`forecastlab models`: the model registry, each model with its parameters, defaults and valid values."""

from __future__ import annotations

import typer

from forecastlab.cli.options import JsonOpt, print_json


def models_command(json_out: JsonOpt = False) -> None:
    """List the registered models with each parameter's default and valid values (set them with --param)."""
    from forecastlab.models import MODELS, describe

    rows = [describe(name) for name in MODELS]
    if json_out:
        print_json({"models": rows})
        return
    for row in rows:
        typer.echo(f"{row['name']}  (book {row['book_code']}, {row['book_epochs']} epochs): {row['summary']}")
        for key, p in row["parameters"].items():
            setting = f"{key}={p['default']!r}"
            typer.echo(f"    --param {setting:<34} {p['valid']}")


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)
