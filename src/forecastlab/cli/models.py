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
        if row["kind"] == "estimator":
            origin = f"estimator, fits in one pass{', book ' + row['book_code'] if row['book_code'] else ''}"
        else:
            origin = (f"book {row['book_code']}, " if row["book_code"] else "torch, ") + f"{row['book_epochs']} epochs"
        typer.echo(f"{row['name']}  ({origin}, target {row['target_transform']}): {row['summary']}")
        for key, p in row["parameters"].items():
            setting = f"{key}={p['default']!r}"
            typer.echo(f"    --param {setting:<34} {p['valid']}")


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)
