"""`forecastlab data ...`: fetch, synth, inspect. A thin layer over forecastlab.data."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated

import typer

from forecastlab.cli.options import (
    PATH_METAVAR,
    DataArgs,
    DataDirOpt,
    JsonOpt,
    path_parser,
    print_json,
    with_data_options,
)
from forecastlab.console import console
from forecastlab.errors import ForecastlabError, from_os_error

app = typer.Typer(no_args_is_help=True)

DEFAULT_PLOTS = Path("forecastlab-inspect")
DEFAULT_START = "01.01.2009 00:10:00"  # = synthetic.DEFAULT_START; a literal so --help needs no import


@app.command()
def fetch(
    data_dir: DataDirOpt = None,
    url: Annotated[str | None, typer.Option("--url", help="Download from this URL instead of the mirrors.")] = None,
    sha256: Annotated[str | None, typer.Option("--sha256", help="Required sha256 of the downloaded file.")] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", help="Install a jena_climate_2009_2016.csv(.zip) you downloaded yourself (no network).",
        parser=path_parser("--file", "jena_climate_2009_2016.csv.zip"), metavar=PATH_METAVAR)] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even if a verified copy is cached.")] = False,
    timeout: Annotated[float, typer.Option(
        "--timeout", help="Seconds to wait per connect/read; the whole download may take at most 20 times that.")] = 30,
    json_out: JsonOpt = False,
) -> None:
    """Download the real Jena climate file (two mirrors in turn), verify it by content and cache it."""
    from forecastlab.data.jena import fetch_jena, import_jena_file, read_sidecar

    if file is not None and (url or sha256):
        raise ForecastlabError("--file cannot be combined with --url or --sha256", where="command line",
                               fix="use --file for a local copy, or --url [--sha256] to download")
    if file is not None:
        _check_jena_file(file)
    cache = _check_cache_dir(data_dir)  # before any download: a cache that cannot exist fails at once
    try:
        if file is not None:
            path = import_jena_file(file, data_dir)
        else:
            path = fetch_jena(data_dir, url=url, sha256=sha256, timeout=timeout, progress=not json_out, force=force)
    except OSError as err:
        if not _inside(err.filename, cache):
            raise
        # The temp folder the fetch works in means nothing to the user; the cache folder does.
        raise from_os_error(err, "cannot write to the data cache", path=cache) from None
    meta = (read_sidecar(data_dir) or {}) | {"path": str(path)}
    if json_out:
        print_json(meta)
        return
    typer.echo(f"Jena climate file ready: {path}")
    typer.echo(f"variant {meta.get('variant')}, {meta.get('rows', 0):,} rows, sha256 {meta.get('sha256')}")
    typer.echo(f"from {meta.get('source')} at {meta.get('fetched_at')}")


def _check_jena_file(file: Path) -> None:
    """--file must name the zip or CSV itself: a folder (say, where it was downloaded to) is refused by what it
    is, with the file in it to pass where there is one; so are a device or a pipe, and a missing file."""
    from forecastlab.data.jena import JENA_CSV, JENA_ZIP

    path = Path(file).expanduser()
    name = f"{JENA_ZIP} (or {JENA_CSV})"
    if path.is_dir():
        inside = next((path / n for n in (JENA_ZIP, JENA_CSV) if (path / n).is_file()), None)
        raise ForecastlabError("--file is a directory, not the Jena file", where=f"--file {path}",
                               fix=f"pass --file {inside}" if inside is not None else
                               f"pass the path of the {name} file itself, e.g. --file {path / JENA_ZIP}")
    if not path.exists():
        raise ForecastlabError("--file does not exist", where=f"--file {path}",
                               fix=f"check the path: give the {name} you downloaded")
    if not path.is_file():
        raise ForecastlabError("--file is not a regular file (a device, a pipe or a socket)", where=f"--file {path}",
                               fix=f"give the {name} you downloaded, saved as a file")


def _check_cache_dir(data_dir: Path | None) -> Path | None:
    """The cache folder given (--data-dir, else $FORECASTLAB_DATA_DIR; None for the per-user default),
    refused by name when a file stands where it or a folder above it belongs."""
    from forecastlab.data.cache import ENV_VAR

    if data_dir is not None:
        cache, option = Path(data_dir).expanduser(), "--data-dir"
    elif os.environ.get(ENV_VAR):
        cache, option = Path(os.environ[ENV_VAR]).expanduser(), f"${ENV_VAR}"
    else:
        return None
    for part in (cache, *cache.parents):
        if part.exists():
            if not part.is_dir():
                what = "is a file, not a folder" if part == cache else f"cannot be a folder: {part} is a file"
                raise ForecastlabError(
                    f"the data cache {cache} {what}", where=f"{option} {cache}",
                    fix=f"give {option} a folder (it is created if needed), or move the file away")
            break
    return cache


def _inside(filename, folder: Path | None) -> bool:
    if filename is None or folder is None:
        return False
    try:
        return Path(os.fsdecode(filename)).resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError, RuntimeError):
        return False


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.", parser=path_parser("--out", "synthetic.csv"),
                                      metavar=PATH_METAVAR)],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same numbers.")] = 0,
    start: Annotated[str, typer.Option("--start", help="First timestamp, dd.mm.yyyy HH:MM:SS.")] = DEFAULT_START,
    end: Annotated[str | None, typer.Option(
        "--end", help="Last timestamp (default: 420,451 rows). A span of more than 1,000,000 rows (about 19 years) "
        "is refused.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write synthetic weather in exactly the Jena file's CSV format (header, dates, 2 decimals)."""
    from forecastlab.data.jena import sha256_file
    from forecastlab.data.synthetic import write_csv

    path = write_csv(out, seed=seed, start=start, end=end, overwrite=overwrite)
    with open(path, "rb") as f:
        rows = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")) - 1
    result = {"path": str(path), "rows": rows, "seed": seed, "start": start, "end": end,
              "bytes": path.stat().st_size, "sha256": sha256_file(path), "synthetic": True}
    if json_out:
        print_json(result)
        return
    typer.echo(f"wrote {rows:,} rows of SYNTHETIC Jena-format data (seed {seed}) to {path}")


@app.command("inspect")
@with_data_options
def inspect_cmd(
    data_args: DataArgs,
    path: Annotated[str | None, typer.Argument(help="A CSV/Parquet file: shorthand for --data PATH.")] = None,
    plots: Annotated[Path, typer.Option(
        "--plots", help="Folder for the two temperature PNGs (created if needed). Their two files, "
        "temperature_whole_record.png and temperature_first_10_days.png, are replaced on every run without "
        "asking; nothing else in the folder is touched.", parser=path_parser("--plots", DEFAULT_PLOTS.name),
        metavar=PATH_METAVAR)] = DEFAULT_PLOTS,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNGs.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Report rows, time span, frequency, gaps, duplicates, NaN/sentinel counts and statistics,
    and draw the chapter's two temperature plots (10-3 and 10-4)."""
    from forecastlab.data.inspect import format_report, inspect_series
    from forecastlab.reporting.data_plots import plot_temperature

    data = data_args.data
    if path is not None:
        if data not in ("auto", path):
            raise ForecastlabError(f"two data sources given: {path!r} and --data {data!r}", where="command line",
                                   fix="give the file either as PATH or as --data PATH, not both")
        data = path
    series = dataclasses.replace(data_args, data=data).load()
    report = inspect_series(series)
    report["plots"] = [] if no_plots else [str(p) for p in plot_temperature(series, plots)]
    if json_out:
        print_json(report)
        return
    typer.echo(format_report(report))
    if report["plots"]:
        console.print(f"plots: {', '.join(report['plots'])}")
