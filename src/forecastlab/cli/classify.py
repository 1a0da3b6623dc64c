"""`forecastlab classify`: a thin layer over forecastlab.tasks.recipes.run_task (training) and
forecastlab.tasks.classification (predicting with a saved classifier).

    forecastlab classify --data synthetic --out runs/frost      # frost within 24 h: train, leaderboard, save
    forecastlab classify --run runs/frost --data recent.csv     # P(frost) for the window ending at the last row
    forecastlab classify --data ucr:GunPoint                    # a UCR benchmark beside 1-NN and the majority class
    forecastlab classify --run runs/gunpoint --data ucr:GunPoint --predictions p.csv   # score a saved classifier
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import PATH_METAVAR, JsonOpt, path_parser, print_json, task_config
from forecastlab.errors import ForecastlabError

# What a task file (--config) may set: the training's options; --run, --predictions and the output's
# --overwrite/--resume/--json stay on the command line.
CONFIG_KEYS = ("data", "model", "params", "epochs", "batch_size", "lr", "optimizer", "max_steps", "stride",
               "balanced", "below", "feature_set", "target", "seed", "ucr_wheel", "out")
_FIT_FLAGS = ("model", "params", "epochs", "batch_size", "lr", "optimizer", "max_steps", "stride", "balanced",
              "below", "feature_set", "out", "overwrite", "resume")
# --optimizer's names, as forecastlab.training.optim.KERAS_DEFAULT_LR knows them (a test keeps them equal);
# a literal, so --help imports no torch.
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
OPTIMIZERS_HELP = "adam (default), adamw, rmsprop or sgd"


def classify_command(
    ctx: typer.Context,
    data: Annotated[str, typer.Option(
        "--data", help="'synthetic', 'jena', a CSV/Parquet path, or a public record (tmy3, elecdemand, ...: "
        "forecastlab bench --list): the frost task on its target; or ucr:NAME, a bundled UCR/UEA dataset "
        "(GunPoint, ArrowHead, ItalyPowerDemand, BasicMotions).")] = "synthetic",
    run_dir: Annotated[Path | None, typer.Option(
        "--run", help="A saved classifier (--out of an earlier classify): predict with it instead of training.",
        show_default=False, parser=path_parser("--run", "runs/frost"), metavar=PATH_METAVAR)] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="A registered torch model (forecastlab models), one logit per class. Default: frost "
        "gru_stacked (units=32), UCR fcn.",
        show_default=False)] = None,
    params: Annotated[list[str] | None, typer.Option(
        "--param", help="A model parameter KEY=VALUE (repeatable).", show_default=False)] = None,
    epochs: Annotated[int | None, typer.Option(
        "--epochs", min=1, help="Epochs (default: frost 3, UCR 2000, the published FCN protocol's budget; "
        "--epochs 300 is a quicker, weaker run).", show_default=False)] = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=2, help="Windows per batch (default: frost 256, UCR 16).", show_default=False)] = None,
    lr: Annotated[float | None, typer.Option("--lr", min=0.0, help="Learning rate (default 1e-3).",
                                             show_default=False)] = None,
    optimizer: Annotated[str | None, typer.Option("--optimizer", help=f"{OPTIMIZERS_HELP}.",
                                                  show_default=False)] = None,
    max_steps: Annotated[int | None, typer.Option(
        "--max-steps", min=1, help="Frost: at most this many batches per epoch (default 150).",
        show_default=False)] = None,
    stride: Annotated[int | None, typer.Option(
        "--stride", min=1, help="Frost: one training window every this many rows (default 3).",
        show_default=False)] = None,
    balanced: Annotated[bool, typer.Option("--balanced", help="Frost: weight the loss by inverse class frequency."
                                           )] = False,
    below: Annotated[float, typer.Option("--below", help="Frost: the threshold, in the target's units (a finite "
                                         "number).")] = 0.0,
    feature_set: Annotated[str | None, typer.Option(
        "--feature-set", help="Frost: derived inputs, auto (the default: wind vectors, hour-of-day and "
        "day-of-year terms, tendencies, found by column name), weather, or book (none).", show_default=False)] = None,
    target: Annotated[str | None, typer.Option("--target", help="Frost: the column labelled (default: the data's "
                                               "target, e.g. 'T (degC)').", show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", min=0,
                                      help="Seed of the model's initial weights and batch order.")] = 0,
    ucr_wheel: Annotated[Path | None, typer.Option(
        "--ucr-wheel", help="ucr:NAME: the pinned aeon wheel that holds the files (default: cached, else fetched "
        "from the package registry).", show_default=False,
        parser=path_parser("--ucr-wheel", "aeon-1.6.0-py3-none-any.whl"), metavar=PATH_METAVAR)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Save the trained classifier in this folder (classifier.json, weights.safetensors).",
        show_default=False, parser=path_parser("--out", "runs/frost"), metavar=PATH_METAVAR)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a classifier (or an interrupted "
                                            "training) already in --out.")] = False,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the training that was interrupted in --out (its training.pt, written after "
        "every epoch), with the same options; it ends with the weights an uninterrupted run reaches.")] = False,
    predictions: Annotated[Path | None, typer.Option(
        "--predictions", help="With --run and ucr:NAME: write each test case's class probabilities to this CSV.",
        show_default=False, parser=path_parser("--predictions", "p.csv"), metavar=PATH_METAVAR)] = None,
    config_file: Annotated[Path | None, typer.Option(
        "--config", help="A TOML task file: these options' names with underscores as keys (max_steps = 150), "
        "\\[params] for the model; the command line wins where both set one. The saved classifier records "
        "the options it was trained with.", show_default=False, parser=path_parser("--config", "frost.toml"),
        metavar=PATH_METAVAR)] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No epoch lines.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Classify windows: "frost (T < 0 degC) within the next 24 hours?" on a weather record, or a UCR/UEA
    benchmark. Trains a registered model with cross-entropy and prints its leaderboard beside rule and
    nearest-neighbour baselines (accuracy, macro F1); with --run, predicts class probabilities instead."""
    from forecastlab.cli.options import check_out_file as _check_out_file
    from forecastlab.cli.options import given_options

    given = given_options(ctx)
    if config_file is not None:
        loaded, given = read_task_config(config_file, run_dir, given, locals(), CONFIG_KEYS,
                                         "classify", "a classifier")
        (data, model, params, epochs, batch_size, lr, optimizer, max_steps, stride, balanced, below, feature_set,
         target, seed, ucr_wheel, out) = (loaded[k] for k in CONFIG_KEYS)
    ucr = data.lower().startswith("ucr:")
    if run_dir is not None:
        refuse_training_flags(given, _FIT_FLAGS, "a classifier")
        if predictions is not None:
            if not ucr:
                raise ForecastlabError("--predictions writes UCR test-case probabilities", arg="--predictions",
                                       fix="use it with --data ucr:NAME, or drop it")
            if predictions.suffix.lower() != ".csv":
                raise ForecastlabError("--predictions must end in .csv", where=str(predictions), arg="--predictions",
                                       fix="give e.g. --predictions probabilities.csv")
            _check_out_file(predictions, overwrite=False, flag="--predictions")
        _predict(run_dir, data, ucr, ucr_wheel, target, predictions, json_out)
        return
    if predictions is not None:
        raise ForecastlabError("--predictions needs --run (a saved classifier)", arg="--predictions",
                               fix="train with --out DIR first, then classify --run DIR --predictions FILE")
    _check_training_options(below, optimizer)  # before any data is read
    from forecastlab.tasks.recipes import run_task

    options = _options_of(locals(), given)
    result = run_task("classify", {k: v for k, v in options.items() if k != "out"}, out=out, overwrite=overwrite,
                      resume=resume, progress=not no_progress and not json_out)
    payload = result.to_dict() | {"out": str(out) if out else None, "resumed": resume}
    if json_out:
        print_json(payload)
        return
    _print_leaderboard(result)
    if out is not None:
        typer.echo(f"classifier saved to {out}; use it: forecastlab classify --run {out} --data ...")


def _check_training_options(below: float, optimizer: str | None) -> None:
    """--below a finite number, --optimizer one of OPTIMIZERS, refused before the data is loaded."""
    from forecastlab.tasks.classification import check_below

    check_below(below)
    if optimizer is not None and optimizer.lower() not in OPTIMIZERS:
        raise ForecastlabError(f"unknown optimizer {optimizer!r}", arg="optimizer",
                               fix=f"use one of: {', '.join(OPTIMIZERS)}")


def _options_of(values: dict, given: set[str], keys: tuple[str, ...] = CONFIG_KEYS) -> dict:
    """The options a training was asked for (command line and --config), as a task file writes them: a saved
    classifier's task.options, which `--config` takes back (with [params] as a table)."""
    from forecastlab.cli.options import parse_params

    out = {k: str(values[k]) if isinstance(values[k], Path) else values[k]
           for k in keys if k in given and k != "params"}
    if values.get("params"):
        out["params"] = parse_params(values["params"])
    return out


def read_task_config(path: Path, run_dir: Path | None, given: set[str], here: dict,
                     keys: tuple[str, ...], name: str, what: str) -> tuple[dict, set[str]]:
    """--config's options for a task command (cli.options.task_config) over the command's own values in
    `here`; with --run it is refused, since a task file trains `what`."""
    if run_dir is not None:
        raise ForecastlabError(f"--config trains {what}; --run predicts with a saved one",
                               arg="--config", fix="drop --config, or drop --run to train")
    return task_config(path, given, {k: here[k] for k in keys}, keys=keys, name=name)


def refuse_training_flags(given: set[str], flags: tuple[str, ...], what: str) -> None:
    """With --run, options that only training reads are refused, never silently ignored."""
    extra = sorted(f"--{k.replace('_', '-')}" for k in given if k in flags)
    if extra:
        raise ForecastlabError(f"{', '.join(extra)} train {what}; --run predicts with a saved one",
                               arg="--run", fix="drop those options, or drop --run to train")


def _predict(run_dir, data, ucr, ucr_wheel, target, predictions, json_out) -> None:
    from forecastlab.deploy.artifact import open_classifier

    classifier = open_classifier(run_dir)
    kind = classifier.task.get("kind")
    if kind not in ("frost", "ucr"):  # an event detector reads its own (hourly) series and threshold
        raise ForecastlabError(f"{run_dir} is not a classifier (it is an {kind} detector)", where=str(run_dir),
                               arg="--run", fix=f"use forecastlab {kind} --run for it" if kind == "events"
                               else "give a folder saved by forecastlab classify --out")
    if ucr != (kind == "ucr"):
        what = f"UCR dataset {classifier.task.get('dataset')}" if kind == "ucr" else "frost windows of a series"
        raise ForecastlabError(f"{run_dir} classifies {what}; --data {data!r} is not that kind of data",
                               where=str(run_dir), arg="--data",
                               fix=f"pass --data ucr:{classifier.task.get('dataset')}" if kind == "ucr"
                               else "pass a weather series (a CSV in the training format, 'synthetic', 'jena')")
    if ucr:
        _predict_cases(classifier, data.split(":", 1)[1], ucr_wheel, predictions, json_out)
        return
    from forecastlab.data import load_series

    series = load_series(data, **({"target": target} if target else {}))
    outlook = classifier.frost_outlook(series)
    if json_out:
        print_json(outlook | {"classifier": str(run_dir)})
        return
    p = outlook["probabilities"]
    typer.echo(f"at {outlook['origin']}: P({classifier.classes[1]} within {outlook['horizon_hours']} h) = "
               f"{p[classifier.classes[1]]:.3f} -> {outlook['predicted']}")


def _predict_cases(classifier, name, ucr_wheel, predictions, json_out) -> None:
    import pandas as pd

    from forecastlab.atomic import atomic_write_text
    from forecastlab.data.ucr import load_ucr
    from forecastlab.evaluation.classification import classification_scores

    cases = load_ucr(name, wheel=ucr_wheel)
    if cases.classes != classifier.classes:
        raise ForecastlabError(f"the classifier's classes {classifier.classes} are not {cases.name}'s "
                               f"{cases.classes}", arg="--data", fix="pass the dataset the classifier was trained on")
    proba = classifier.predict_proba(cases.test.x)
    scores = classification_scores(cases.test.y, proba, classes=cases.classes)
    if predictions is not None:
        frame = pd.DataFrame(proba, columns=[f"p_{c}" for c in cases.classes])
        frame.insert(0, "predicted", [cases.classes[i] for i in proba.argmax(1)])
        frame.insert(0, "true", [cases.classes[i] for i in cases.test.y])
        frame.insert(0, "case", range(len(frame)))
        atomic_write_text(predictions, frame.to_csv(index=False))
    if json_out:
        print_json({"dataset": cases.name, "test": scores, "predictions": str(predictions) if predictions else None})
        return
    typer.echo(f"{cases.name} test ({len(cases.test.y)} cases): accuracy {scores['accuracy']:.3f}, "
               f"macro F1 {scores['macro_f1']:.3f}")
    if predictions is not None:
        typer.echo(f"probabilities written to {predictions}")


def _print_leaderboard(result) -> None:
    from rich.table import Table

    from forecastlab.console import results_console

    console = results_console()  # the result on stdout; messages stay on stderr
    board = result.leaderboard()
    has_val = board["val_accuracy"].notna().any()
    title = (f"{result.task}: {result.data.get('dataset') or result.data.get('source')}"
             + (f" (best epoch {result.best_epoch}, chosen by validation macro F1)" if has_val else
                f" (fixed {len(result.history)} epochs, the last weights)"))
    columns = ["method", "kind"] + (["val accuracy", "val macro F1"] if has_val else []) + [
        "test accuracy", "test macro F1", "seconds"]
    table = Table(*columns, title=title)
    for _, row in board.iterrows():
        cells = [row["method"], row["kind"]]
        for split in (("val", "test") if has_val else ("test",)):
            cells += [f"{row[f'{split}_accuracy']:.3f}", f"{row[f'{split}_macro_f1']:.3f}"]
        cells.append("" if row["seconds"] != row["seconds"] else f"{row['seconds']:.1f}")
        table.add_row(*cells)
    console.print(table)
    model_row = result.rows[-1]
    confusion = model_row["test"]["confusion"]
    classes = result.classifier.classes
    table = Table("true \\ predicted", *classes, title=f"{model_row['name']}: test confusion matrix")
    for name, counts in zip(classes, confusion, strict=True):
        table.add_row(name, *(str(c) for c in counts))
    console.print(table)
    if result.data.get("frost_share"):
        shares = ", ".join(f"{k} {v:.1%}" for k, v in result.data["frost_share"].items())
        console.print(f"share of windows with frost ahead: {shares}")


def register(app: typer.Typer) -> None:
    app.command("classify")(classify_command)
