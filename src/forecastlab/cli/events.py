"""`forecastlab events`: a thin layer over forecastlab.tasks.recipes.run_task and forecastlab.tasks.events
(front passages in a weather stream).

    forecastlab events --data synthetic --out runs/fronts     # label, train, leaderboard, save
    forecastlab events --run runs/fronts --data recent.csv    # P(front within 6 h) at the last row
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import PATH_METAVAR, JsonOpt, path_parser, print_json
from forecastlab.errors import ForecastlabError

CONFIG_KEYS = ("data", "model", "params", "epochs", "max_steps", "warn_hours", "tolerance_hours", "lookback_hours",
               "drop", "turn", "seed", "out")  # what a task file (--config) may set
_FIT_FLAGS = ("model", "params", "epochs", "max_steps", "warn_hours", "tolerance_hours", "lookback_hours", "drop",
              "turn", "out", "overwrite", "seed", "events_out", "resume")


def events_command(
    ctx: typer.Context,
    data: Annotated[str, typer.Option(
        "--data", help="'synthetic', 'jena', a CSV/Parquet weather record (resampled to 1h), or 'tmy3' (hourly).")
    ] = "synthetic",
    run_dir: Annotated[Path | None, typer.Option(
        "--run", help="A saved detector (--out of an earlier events): P(front ahead) at the last row of --data.",
        show_default=False, parser=path_parser("--run", "runs/fronts"), metavar=PATH_METAVAR)] = None,
    model: Annotated[str | None, typer.Option("--model", help="A registered torch model (default gru_stacked).",
                                              show_default=False)] = None,
    params: Annotated[list[str] | None, typer.Option("--param", help="A model parameter KEY=VALUE (repeatable).",
                                                     show_default=False)] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Epochs (default 8).", show_default=False)
                      ] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, help="Batches per epoch (default 300).",
                                                  show_default=False)] = None,
    warn_hours: Annotated[int, typer.Option("--warn-hours", min=0,
                                            help="Flag a front up to this far ahead (at most 168 h).")] = 6,
    tolerance_hours: Annotated[int, typer.Option(
        "--tolerance-hours", min=0, help="A flag this close to a front's zone still finds it (at most 24 h: wider, "
        "and flagging every hour scores near 1).")] = 3,
    lookback_hours: Annotated[int, typer.Option(
        "--lookback-hours", min=2, help="History the head reads (at most 720 h, and what each split holds).")] = 24,
    drop: Annotated[float, typer.Option("--drop", min=0.0, help="Rule: pressure fall (mbar) over 6 h.")] = 3.0,
    turn: Annotated[float, typer.Option("--turn", min=0.0, max=180.0,
                                        help="Rule: wind turn (degrees) from the 3 h before to the 3 h after.")] = 60.0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the initial weights and batch order.")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="Save the detector in this folder.", show_default=False,
                                             parser=path_parser("--out", "runs/fronts"), metavar=PATH_METAVAR)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a detector (or an interrupted training) "
                                            "already in --out.")] = False,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the training interrupted in --out (its training.pt), with the same options.")
    ] = False,
    events_out: Annotated[Path | None, typer.Option(
        "--events", help="Write the labelled fronts of the whole record (start, end) to this CSV.",
        show_default=False, parser=path_parser("--events", "fronts.csv"), metavar=PATH_METAVAR)] = None,
    config_file: Annotated[Path | None, typer.Option(
        "--config", help="A TOML task file: these options' names with underscores as keys (warn_hours = 6), "
        "\\[params] for the model; the command line wins where both set one.", show_default=False,
        parser=path_parser("--config", "fronts.toml"), metavar=PATH_METAVAR)] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No epoch lines.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Detect events in a stream: front passages (a pressure drop with a wind shift, labelled by a documented
    rule), flagged by a per-timestep head that sees only the past; event precision and recall within a
    tolerance, and how far ahead fronts are flagged, beside a pressure rule and trivial detectors."""
    from forecastlab.cli.classify import _options_of, read_task_config, refuse_training_flags
    from forecastlab.cli.options import check_out_file as _check_out_file
    from forecastlab.cli.options import given_options
    from forecastlab.tasks.events import check_event_options
    from forecastlab.tasks.recipes import load_event_series, run_task

    given = given_options(ctx)
    if config_file is not None:
        loaded, given = read_task_config(config_file, run_dir, given, locals(), CONFIG_KEYS,
                                         "events", "a detector")
        (data, model, params, epochs, max_steps, warn_hours, tolerance_hours, lookback_hours, drop, turn, seed,
         out) = (loaded[k] for k in CONFIG_KEYS)
    if run_dir is None:  # before any data is read (a refusal names the flags: cli.options.FLAGS spells them)
        check_event_options(warn_hours=warn_hours, tolerance_hours=tolerance_hours, lookback_hours=lookback_hours)
    if run_dir is not None:
        refuse_training_flags(given, _FIT_FLAGS, "a detector")
        series = load_event_series(data)
        from forecastlab.deploy.artifact import open_classifier

        detector = open_classifier(run_dir)
        if detector.task.get("kind") != "events":
            raise ForecastlabError(f"{run_dir} is not an event detector (it is a {detector.task.get('kind')} "
                                   "classifier)", where=str(run_dir), fix="use forecastlab classify --run for it")
        outlook = detector.frost_outlook(series)
        if json_out:
            print_json(outlook | {"detector": str(run_dir), "threshold": detector.task.get("threshold")})
            return
        p = outlook["probabilities"][detector.classes[1]]
        flag = p >= detector.task.get("threshold", 0.5)
        typer.echo(f"at {outlook['origin']}: P(front within {detector.task.get('warn_hours')} h) = {p:.3f} "
                   f"(threshold {detector.task.get('threshold')}): {'FLAG' if flag else 'no flag'}")
        return
    if events_out is not None:
        _check_out_file(events_out, overwrite, "--events")
    options = _options_of(locals(), given, CONFIG_KEYS)
    result = run_task("events", {k: v for k, v in options.items() if k != "out"}, out=out, overwrite=overwrite,
                      resume=resume, progress=not no_progress and not json_out)
    if events_out is not None:
        import pandas as pd

        from forecastlab.atomic import atomic_write_text

        series, fronts = result.series, result.fronts  # the series it trained on, not a second reading
        frame = pd.DataFrame({"start": [str(series.timestamps[a]) for a, _ in fronts],
                              "end": [str(series.timestamps[b]) for _, b in fronts],
                              "start_row": [a for a, _ in fronts], "end_row": [b for _, b in fronts]})
        atomic_write_text(events_out, frame.to_csv(index=False))
    if json_out:
        print_json(result.to_dict() | {"out": str(out) if out else None, "resumed": resume})
        return
    _print(result)
    if out is not None:
        typer.echo(f"detector saved to {out}; use it: forecastlab events --run {out} --data recent.csv")


def _print(result) -> None:
    from rich.table import Table

    from forecastlab.console import results_console

    console = results_console()  # the result on stdout; messages stay on stderr
    d = result.data
    rule = d["rule"]
    console.print(f"{d['events']} front passages in {d['rows']:,} hourly rows of {d['source']} (rule: pressure "
                  f"fell {rule['drop']:g} mbar in {rule['fall_hours']} h and the wind turned {rule['turn']:g} deg "
                  f"within +-{rule['turn_hours']} h); per split: "
                  + ", ".join(f"{k} {v}" for k, v in d["events_per_split"].items()))
    task = result.classifier.task
    table = Table("method", "kind", "val F1", "test precision", "test recall", "test F1", "false alarms / 30 d",
                  "median lead h", title=f"front passages: flags up to {task['warn_hours']} h ahead, tolerance "
                  f"{task['tolerance_hours']} h (threshold {result.threshold:g}, tuned on validation)")
    for r in result.rows:
        t = r["test"]
        lead = t.get("median_lead_hours")
        table.add_row(r["name"], r["kind"], f"{r['val']['event_f1']:.3f}", f"{t['event_precision']:.3f}",
                      f"{t['event_recall']:.3f}", f"{t['event_f1']:.3f}", f"{t['false_alarms_per_30d']:.1f}",
                      "" if lead is None or lead != lead else f"{lead:g}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("events")(events_command)
