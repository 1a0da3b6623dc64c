"""`forecastlab report RUN_OR_REPRODUCE_DIR`: one self-contained HTML page (forecastlab.deploy.report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import FLAGS, PATH_METAVAR, JsonOpt, path_parser, print_json
from forecastlab.errors import ForecastlabError, cli_spelling

# write_report's argument names, as this command spells them (beside the CLI's own table, options.FLAGS).
_FLAGS = {"out": "--out", "overwrite=True": "--overwrite", "data": "--data", "path": "PATH"}


def report_command(
    path: Annotated[Path, typer.Argument(
        metavar="PATH", help="A run directory (forecastlab train --out), a reproduce or bench directory (its --out), "
        "or a classifier (forecastlab classify / events --out).",
        show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", help="The HTML file to write (default: PATH/report.html).", show_default=False,
        parser=path_parser("--out", "report.html"), metavar=PATH_METAVAR)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing report file.")] = False,
    data: Annotated[str | None, typer.Option(
        "--data", help="Default: the run's own data, as config.json records it. Or a CSV/Parquet path (e.g. where "
        "the file has moved), 'jena', 'synthetic' or 'auto'.", show_default=False)] = None,
    json_out: JsonOpt = False,
) -> None:
    """Write one self-contained HTML report: leaderboard, curves, data, forecasts, errors, interval coverage."""
    from forecastlab.console import warn
    from forecastlab.deploy.report import detect, gather_report, report_path

    try:
        detect(path)
        report_path(path, out, overwrite=overwrite)  # both refused before the slow part
        report = gather_report(path, data=data)
        written = report.write(out, overwrite=overwrite)
    except ForecastlabError as err:  # the library's argument names, as this command's flags
        raise ForecastlabError(cli_spelling(err.what, _FLAGS), where=cli_spelling(err.where, _FLAGS),
                               fix=cli_spelling(err.fix, _FLAGS), arg=_FLAGS.get(err.arg, err.arg)) from None
    summary = report.summary()
    if json_out:
        print_json({"report": str(written), "sections": summary["sections"], "model": summary["model"],
                    "kind": summary["kind"], "run_dir": summary["run_dir"], "unavailable": summary["unavailable"]})
        return
    reasons: dict[str, list[str]] = {}
    for section, why in summary["unavailable"].items():
        reasons.setdefault(why, []).append(section)
    for why, sections in reasons.items():
        warn(f"in the report's {', '.join(sections)}, a note stands for what needs the data: "
             f"{cli_spelling(why, FLAGS | _FLAGS)}")
    about = f"; per-run sections: {summary['model']} ({summary['run_dir']})" if summary["kind"] == "reproduce" else ""
    typer.echo(f"report written to {written} (sections: {', '.join(summary['sections'])}{about})")


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
