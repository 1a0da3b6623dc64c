"""`forecastlab models`: the model registry, each model with its parameters, defaults and valid values;
`forecastlab tasks`: the tasks those models are trained for (forecastlab.tasks.declared)."""

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


def tasks_command(json_out: JsonOpt = False) -> None:
    """List the tasks (the recipe's \\[task] kind): each one's target builder, head, loss, metrics, baselines,
    and the commands that train, serve and report it (forecastlab.tasks.declared)."""
    from forecastlab.tasks.declared import TASKS

    if json_out:
        print_json({"tasks": [t.to_dict() for t in TASKS.values()]})
        return
    for t in TASKS.values():
        typer.echo(f"{t.kind}  ({t.command}): {t.what}")
        for label, value in (("targets", t.targets), ("head", t.head), ("loss", t.loss),
                             ("metrics", ", ".join(t.metrics)), ("baselines", ", ".join(t.baselines)),
                             ("Python", t.train), ("saved as", t.saved), ("served by", t.serve),
                             ("report", t.report)):
            typer.echo(f"    {label:<10} {value}")


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)
    app.command("tasks")(tasks_command)
