"""Options shared by every command, so data and window options are spelled the same everywhere."""

from __future__ import annotations

import functools
import inspect
import sys
import typing
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
DropGapWindowsOpt = Annotated[
    bool | None,
    typer.Option(
        "--drop-gap-windows/--keep-gap-windows",
        help="Drop, or keep, the windows whose span crosses a hole in the time grid. Default: drop them, "
        "except on Jena-format data used row for row, where they are kept as the book does.",
        show_default=False,
    ),
]
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
    from forecastlab.atomic import json_text

    sys.stdout.write(json_text(obj) + "\n")


_DATA_OPTIONS: dict[str, tuple[Any, Any]] = {
    # parameter name -> (annotation, default); names match DataArgs' fields.
    "data": (DataOpt, "auto"),
    "time_col": (TimeColOpt, None),
    "target": (TargetOpt, None),
    "features": (FeaturesOpt, None),
    "freq": (FreqOpt, None),
    "gaps": (GapsOpt, "interpolate"),
    "no_clean": (NoCleanOpt, False),
    "data_dir": (DataDirOpt, None),
}
_WINDOW_OPTIONS: dict[str, tuple[Any, Any]] = {
    "sequence_length": (SequenceLengthOpt, 120),
    "sampling_rate": (SamplingRateOpt, 6),
    "horizon": (HorizonOpt, 24),
    "batch_size": (BatchSizeOpt, 256),
    "drop_gap_windows": (DropGapWindowsOpt, None),
}


@dataclass
class WindowArgs:
    """The window options; `spec()` gives the forecastlab.windows.WindowSpec."""

    sequence_length: int = 120
    sampling_rate: int = 6
    horizon: int = 24
    batch_size: int = 256
    drop_gap_windows: bool | None = None  # None: auto (see forecastlab.windows.make_datasets_from_series)

    def spec(self):
        from forecastlab.windows import WindowSpec

        return WindowSpec(self.sequence_length, self.sampling_rate, self.horizon)

    def dataset_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for forecastlab.windows.make_datasets_from_series."""
        return {"batch_size": self.batch_size, "drop_gap_windows": self.drop_gap_windows}


def _inject(options: dict[str, tuple[Any, Any]], arg_name: str, factory):
    """Decorator factory: append `options` to a typer command's signature and hand them to the
    command bundled as one object, so every command declares (and spells) them identically."""

    def decorator(func):
        sig = inspect.signature(func)
        # Resolve string annotations (PEP 563) here: typer reads the signature we build, not func's.
        hints = {k: v for k, v in typing.get_type_hints(func, include_extras=True).items() if k != arg_name}
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in sig.parameters.values() if p.name != arg_name]
        extra = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
            for name, (annotation, default) in options.items()
        ]

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bundled = factory(**{name: kwargs.pop(name) for name in options})
            return func(*args, **{arg_name: bundled}, **kwargs)

        wrapper.__signature__ = sig.replace(parameters=own + extra)
        wrapper.__annotations__ = hints | {name: ann for name, (ann, _) in options.items()}
        return wrapper

    return decorator


with_data_options = _inject(_DATA_OPTIONS, "data_args", DataArgs)
with_window_options = _inject(_WINDOW_OPTIONS, "window_args", WindowArgs)
