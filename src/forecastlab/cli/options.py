"""Options shared by every command, so data and window options are spelled the same everywhere."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

DataOpt = Annotated[
    str,
    typer.Option(
        "--data",
        help="'jena' (real file, downloaded and cached), 'synthetic' (built-in Jena-format data), "
        "'auto' (real Jena if available, else synthetic, with a banner) or a CSV/Parquet path.",
    ),
]
TimeColOpt = Annotated[str | None, typer.Option("--time-col", help="Timestamp column (auto-detected).")]
TargetOpt = Annotated[str | None, typer.Option("--target", help="Column to forecast (Jena: 'T (degC)').")]
FeaturesOpt = Annotated[
    str | None, typer.Option("--features", help="Comma-separated input columns (default: all numeric).")
]
FreqOpt = Annotated[str | None, typer.Option("--freq", help="Resample to this regular grid, e.g. '10min', '1h'.")]
GapsOpt = Annotated[
    str,
    typer.Option("--gaps", help="Missing values: 'error', 'interpolate[:LIMIT]' (rows) or 'drop'."),
]
NoCleanOpt = Annotated[
    bool, typer.Option("--no-clean", help="Keep raw values: do not turn sentinels like -9999 into gaps.")
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Cache directory (default: per-user; env FORECASTLAB_DATA_DIR)."),
]
SequenceLengthOpt = Annotated[int, typer.Option("--sequence-length", help="Sampled steps per window.")]
SamplingRateOpt = Annotated[int, typer.Option("--sampling-rate", help="Keep one row in every N.")]
HorizonOpt = Annotated[int, typer.Option("--horizon", help="Forecast this many sampled steps ahead.")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", help="Windows per batch.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


@dataclass
class DataArgs:
    """The data options as the Python API takes them (forecastlab.data.load_series)."""

    data: str = "auto"
    time_col: str | None = None
    target: str | None = None
    features: str | None = None
    freq: str | None = None
    gaps: str = "interpolate"
    no_clean: bool = False
    data_dir: Path | None = None

    def load_kwargs(self) -> dict[str, Any]:
        return {
            "time_col": self.time_col,
            "target": self.target,
            "features": [f.strip() for f in self.features.split(",") if f.strip()] if self.features else None,
            "freq": self.freq,
            "gaps": self.gaps,
            "clean": not self.no_clean,
            "data_dir": self.data_dir,
        }


def print_json(obj: Any) -> None:
    """JSON on stdout, nothing else, so `--json | jq` always works."""
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
