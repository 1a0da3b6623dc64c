"""`forecastlab train`, `forecastlab predict`, `forecastlab evaluate`: thin layers over forecastlab.training."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import (
    DataArgs,
    JsonOpt,
    WindowArgs,
    print_json,
    with_data_options,
    with_window_options,
)
from forecastlab.console import console
from forecastlab.errors import ForecastlabError

ModelArg = Annotated[
    str | None,
    typer.Argument(help="Model name: dense, conv1d, lstm, lstm_dropout, gru_stacked, bilstm, simple_rnn "
                   "(omit with --resume)."),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", help="Model hyperparameter KEY=VALUE, repeatable: --param units=64 "
                 "--param recurrent_dropout=0.1 (unknown keys list the valid ones)."),
]
RunDirArg = Annotated[Path, typer.Argument(help="Run directory written by `forecastlab train`.")]


@with_window_options
@with_data_options
def train_command(
    data_args: DataArgs,
    window_args: WindowArgs,
    model: ModelArg = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Epochs (default: the book's for the model).")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate (default: Keras's, 1e-3).")] = None,
    optimizer: Annotated[str, typer.Option("--optimizer", help="rmsprop (the book's), adam or sgd.")] = "rmsprop",
    seed: Annotated[int, typer.Option("--seed", help="Seed for weights, dropout and shuffling.")] = 0,
    params: ParamOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Run directory (default: runs/MODEL-TIME).")] = None,
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue this run directory.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the results in --out.")] = False,
    early_stopping: Annotated[
        int | None, typer.Option("--early-stopping", help="Stop after N epochs without a better val loss.")
    ] = None,
    lr_schedule: Annotated[
        str | None, typer.Option("--lr-schedule", help="plateau, cosine or exponential[:key=value,...].")
    ] = None,
    max_steps_per_epoch: Annotated[
        int | None, typer.Option("--max-steps-per-epoch", help="Cap training batches per epoch.")
    ] = None,
    device: Annotated[str | None, typer.Option("--device", help="auto (default), cpu or cuda[:N].")] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar or epoch lines.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Train a model: MSE loss, MAE in the target's units, best checkpoint by val loss, test MAE at the end."""
    from forecastlab.training.run_dir import check_run_dir, read_config

    if resume is not None:
        setup = _resume_setup(read_config(resume), resume, epochs)
    else:
        setup = _new_setup(model, data_args, window_args, epochs, lr, optimizer, seed, params, out,
                           early_stopping, lr_schedule, max_steps_per_epoch)
    # Before the (slow) data loading, so a refused run directory fails at once.
    check_run_dir(setup["out"], resume=resume is not None, overwrite=overwrite)
    from forecastlab.training import describe_series, train

    series, datasets = _load_datasets(setup["data_args"], setup["window_args"], setup["seed"])
    extra = {"data": describe_series(series), "cli": {
        "data_args": _jsonable(dataclasses.asdict(setup["data_args"])),
        "window_args": dataclasses.asdict(setup["window_args"]),
        "model_params": setup["model_params"],
    }}
    result = train(
        setup["model"], datasets, epochs=setup["epochs"], optimizer=setup["optimizer"], lr=setup["lr"],
        seed=setup["seed"], out_dir=setup["out"], resume=resume is not None, overwrite=overwrite,
        device=device, early_stopping=setup["early_stopping"], lr_schedule=setup["lr_schedule"],
        progress=not no_progress, max_steps_per_epoch=setup["max_steps_per_epoch"],
        model_params=setup["model_params"], extra_config=extra,
    )
    metrics = result.metrics()
    if json_out:
        print_json(metrics | {"history": result.history})
        return
    unit = metrics["unit"] or ""
    typer.echo(
        f"{metrics['model']}: best epoch {result.best_epoch}/{len(result.history)}, "
        f"val MAE {result.val['mae']:.3f} {unit}, test MAE {result.test['mae']:.3f} {unit}, "
        f"{result.params:,} params, {result.seconds_per_epoch:.1f} s/epoch; run in {result.run_dir}"
    )


def _new_setup(model, data_args, window_args, epochs, lr, optimizer, seed, params, out, early_stopping,
               lr_schedule, max_steps_per_epoch) -> dict:
    if model is None:
        raise ForecastlabError("no model given", where="forecastlab train MODEL",
                               fix="name a model (e.g. `forecastlab train lstm`) or pass --resume RUN_DIR")
    model_params = parse_params(params)
    from forecastlab.models import get_model_class

    cls = get_model_class(model)
    return {
        "model": model, "model_params": model_params, "data_args": data_args,
        "window_args": window_args, "epochs": epochs or cls.book_epochs, "lr": lr, "optimizer": optimizer,
        "seed": seed, "out": out or Path("runs") / f"{model}-{datetime.now():%Y%m%d-%H%M%S}",
        "early_stopping": early_stopping, "lr_schedule": lr_schedule,
        "max_steps_per_epoch": max_steps_per_epoch,
    }


def _resume_setup(config: dict, run_dir: Path, epochs: int | None) -> dict:
    """Everything a resumed run needs, from its config.json (command-line data options are ignored)."""
    cli = config.get("extra", {}).get("cli")
    if not cli:
        raise ForecastlabError(
            "this run was started from Python, so the CLI does not know how to rebuild its data",
            where=str(run_dir / "config.json"),
            fix="resume it from Python: train(model, datasets, ..., out_dir=RUN_DIR, resume=True)",
        )
    t = config["training"]
    data_args = DataArgs(**cli["data_args"])
    if data_args.data_dir is not None:
        data_args.data_dir = Path(data_args.data_dir)
    return {
        "model": config["model"]["name"], "model_params": cli["model_params"], "data_args": data_args,
        "window_args": WindowArgs(**cli["window_args"]), "epochs": epochs or t["epochs"], "lr": t["lr"],
        "optimizer": t["optimizer"], "seed": t["seed"], "out": run_dir, "early_stopping": t["early_stopping"],
        "lr_schedule": t["lr_schedule"], "max_steps_per_epoch": t["max_steps_per_epoch"],
    }


def parse_params(items: list[str] | None) -> dict:
    """['units=64', 'recurrent_dropout=0.1', 'mode=weight'] -> {'units': 64, ...}; values are JSON
    when they parse as JSON (numbers, true/false, lists), else strings."""
    params = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ForecastlabError(f"bad --param {item!r}", where="--param",
                                   fix="write KEY=VALUE, e.g. --param units=64")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def _load_datasets(data_args: DataArgs, window_args: WindowArgs, seed: int):
    from forecastlab.data import load_series
    from forecastlab.windows import make_datasets_from_series

    series = load_series(data_args.data, **data_args.load_kwargs())
    datasets = make_datasets_from_series(series, window_args.spec(), seed=seed, **window_args.dataset_kwargs())
    return series, datasets


def _jsonable(d: dict) -> dict:
    return {k: str(v) if isinstance(v, Path) else v for k, v in d.items()}


def _run_data_args(run, data_args: DataArgs) -> DataArgs:
    """The data options to use with a saved run: the user's, or the run's own when none were given."""
    saved = run.config.get("extra", {}).get("cli", {}).get("data_args")
    if data_args == DataArgs() and saved:
        console.print(f"using the run's data options: --data {saved['data']}")
        args = DataArgs(**saved)
        args.data_dir = Path(args.data_dir) if args.data_dir else None
        return args
    return data_args


@with_data_options
def predict_command(
    data_args: DataArgs,
    run_dir: RunDirArg,
    last: Annotated[int, typer.Option("--last", help="Predict from the last N windows.")] = 1,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the predictions to this CSV.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="cpu (default) or cuda.")] = "cpu",
    json_out: JsonOpt = False,
) -> None:
    """Forecast with a trained run from the latest window(s) of the data (default: the run's own data)."""
    from forecastlab.data import load_series
    from forecastlab.training import load_run
    from forecastlab.training.forecast import forecast_table

    run = load_run(run_dir, device=device)
    args = _run_data_args(run, data_args)
    series = load_series(args.data, **args.load_kwargs())
    table = forecast_table(run, series, last=last)
    if out is not None:
        table.to_csv(out, index=False)
    if json_out:
        print_json({"run_dir": str(run_dir), "target": series.target, "unit": series.target_unit,
                    "predictions": table.to_dict(orient="records")})
        return
    typer.echo(table.to_string(index=False))


@with_data_options
def evaluate_command(
    data_args: DataArgs,
    run_dir: RunDirArg,
    device: Annotated[str | None, typer.Option("--device", help="cpu (default) or cuda.")] = "cpu",
    json_out: JsonOpt = False,
) -> None:
    """Score a trained run's best model on the val and test splits of the data (default: the run's own)."""
    from forecastlab.data import load_series
    from forecastlab.training import load_run
    from forecastlab.training.forecast import evaluate_run

    run = load_run(run_dir, device=device)
    args = _run_data_args(run, data_args)
    series = load_series(args.data, **args.load_kwargs())
    scores = evaluate_run(run, series)
    if json_out:
        print_json({"run_dir": str(run_dir), "unit": series.target_unit} | scores)
        return
    unit = series.target_unit or ""
    for split, s in scores.items():
        typer.echo(f"{split:5s} MAE {s['mae']:.3f} {unit}  MSE {s['mse']:.3f}  ({s['n']:,} windows)")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("predict")(predict_command)
    app.command("evaluate")(evaluate_command)
