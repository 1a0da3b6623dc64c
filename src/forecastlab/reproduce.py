"""`reproduce`: the whole of chapter 10 in one call: data, plots, baselines, every model, leaderboard."""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from rich.text import Text

from forecastlab.atomic import atomic_write_json
from forecastlab.console import console, styled
from forecastlab.data.book import BOOK_MODELS
from forecastlab.errors import ForecastlabError


@dataclass(frozen=True)
class Profile:
    """How much of the book's training budget to spend. The data, windows and models never change."""

    name: str
    description: str
    epochs: int | None  # None: each model's own book epochs (10 or 50)
    max_steps_per_epoch: int | None  # None: every batch of the train split
    batch_size: int = 256


PROFILES = {
    "book": Profile("book", "the book's exact epochs, batch 256, every training batch", None, None),
    # Sized so all seven models plus baselines finish in under 10 minutes on 2 CPU cores; validation
    # and test are still scored on every window, so the numbers are honest, only under-trained.
    "quick": Profile(
        "quick",
        "3 epochs of at most 300 batches per model (the book: 10 or 50 epochs of 819), so the models are "
        "under-trained; validation and test still use every window",
        3, 300,
    ),
    # Seconds, not minutes: a first look at the whole pipeline, and the short book path that
    # tests/test_book_path.py pins number for number.
    "smoke": Profile("smoke", "1 epoch of 5 batches per model: checks the pipeline end to end, trains nothing "
                     "worth reading; validation and test still use every window", 1, 5),
}


@dataclass
class ReproduceResult:
    out_dir: Path
    profile: str
    data: dict
    baselines: dict[str, dict[str, float]]
    models: dict[str, dict] = field(default_factory=dict)
    total_seconds: float = 0.0
    files: dict[str, str] = field(default_factory=dict)
    leaderboard: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "leaderboard": self.leaderboard,
            "out_dir": str(self.out_dir),
            "profile": self.profile,
            "data": self.data,
            "baselines": self.baselines,
            "models": self.models,
            "total_seconds": round(self.total_seconds, 1),
            "files": self.files,
        }


def default_out_dir(profile: str) -> Path:
    # Timestamped, so rerunning the README's first command never overwrites an earlier run.
    return Path("runs") / f"reproduce-{profile}-{datetime.now():%Y%m%d-%H%M%S}"


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise ForecastlabError(
            f"output directory {out_dir} already holds files",
            where=str(out_dir),
            fix="choose another out_dir=, or pass overwrite=True to replace its results",
        )
    out_dir.mkdir(parents=True, exist_ok=True)


def _select_models(models) -> list[str]:
    from forecastlab.models import MODELS

    names = list(BOOK_MODELS) if not models else list(models)
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        raise ForecastlabError(
            f"unknown model(s): {', '.join(unknown)}",
            arg="models",
            fix=f"choose from: {', '.join(MODELS)}",
        )
    return names


def reproduce(
    profile: str = "quick",
    *,
    models: list[str] | None = None,
    data: str = "auto",
    out_dir: str | Path | None = None,
    seed: int = 0,
    progress: bool = True,
    overwrite: bool = False,
    drop_gap_windows: bool | None = None,
    spec=None,
    batch_size: int | None = None,
    data_kwargs: dict | None = None,
    command: str | None = None,
) -> ReproduceResult:
    """Run chapter 10 end to end and write plots, per-model run directories and the leaderboard.

    progress: training progress bars and one line per step (baselines, each model, done) on stderr;
    False runs silently, apart from warnings.

    >>> result = reproduce("quick", models=["lstm"])      # doctest: +SKIP
    >>> print((result.out_dir / "leaderboard.md").read_text())  # doctest: +SKIP
    """
    from forecastlab.data import load_series
    from forecastlab.evaluation.baselines import compute_baselines
    from forecastlab.reporting.data_plots import plot_temperature
    from forecastlab.reporting.leaderboard import build_rows, write_leaderboard
    from forecastlab.training import describe_series, train
    from forecastlab.windows import WindowSpec, make_datasets_from_series

    if profile not in PROFILES:
        raise ForecastlabError(f"unknown profile {profile!r}", arg="profile",
                               fix=f"choose from: {', '.join(PROFILES)}")
    prof = PROFILES[profile]
    names = _select_models(models)
    out = Path(out_dir) if out_dir is not None else default_out_dir(profile)
    _prepare_out_dir(out, overwrite)
    started = time.perf_counter()

    series = load_series(data, **(data_kwargs or {}))
    plots = plot_temperature(series, out / "plots")
    # The book's 120 x 6 rows, 24 hours ahead; a callable (the CLI's window options) is resolved on the data.
    spec = spec(series) if callable(spec) else (spec or WindowSpec())
    batch_size = batch_size or prof.batch_size
    datasets = make_datasets_from_series(series, spec, batch_size=batch_size, seed=seed,
                                         drop_gap_windows=drop_gap_windows)
    baselines = compute_baselines(series, datasets)
    if progress:
        console.print(styled(
            "baselines", "bold", f"persistence val {baselines['persistence']['val_mae']:.2f}, "
            f"test {baselines['persistence']['test_mae']:.2f} ({series.target_unit or 'target units'})"
        ))
    result = ReproduceResult(out, profile, series.provenance.to_dict(), baselines)

    for i, name in enumerate(names, 1):
        if progress:
            console.rule(Text(f"{i}/{len(names)} {name}", style="bold"))
        run = train(
            name, datasets, epochs=_epochs(name, prof), seed=seed,
            out_dir=out / "models" / name, progress=progress, max_steps_per_epoch=prof.max_steps_per_epoch,
            overwrite=overwrite, extra_config={"data": describe_series(series)},
        )
        estimator = getattr(run.model, "kind", "torch") == "estimator"
        result.models[name] = {
            "val_mae": run.val["mae"], "test_mae": run.test["mae"], "params": run.params,
            # An estimator fits in one pass: its boosting rounds are not epochs (they are in its history.csv).
            "epochs": None if estimator else len(run.history), "best_epoch": None if estimator else run.best_epoch,
            "seconds_per_epoch": None if estimator else run.seconds_per_epoch, "total_seconds": run.total_seconds,
            "run_dir": str(run.run_dir), "kind": "estimator" if estimator else "model",
        }

    result.total_seconds = time.perf_counter() - started
    rows = build_rows(baselines, result.models)
    meta = {
        "profile": profile, "profile_description": prof.description, "data": result.data,
        "window": {"sequence_length": spec.sequence_length, "sampling_rate": spec.sampling_rate,
                   "horizon": spec.horizon, "delay": spec.delay, "batch_size": batch_size},
        "seed": seed, "total_seconds": round(result.total_seconds, 1), "command": command,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    files = write_leaderboard(rows, meta, out, unit=series.target_unit or "")
    result.leaderboard = [asdict(r) for r in rows]
    result.files = {k: str(v) for k, v in files.items()} | {f"plot_{p.stem}": str(p) for p in plots}
    atomic_write_json(out / "reproduce.json", result.to_dict())
    if progress:
        console.print(styled("done", "bold green",
                             f"in {result.total_seconds:.0f} s: leaderboard at {files['markdown']}"))
    return result


def _epochs(name: str, profile: Profile) -> int:
    """The profile's epochs, or the model's book epochs; an estimator (lightgbm, persistence) fits in one
    pass, its training windows still capped by the profile's max_steps_per_epoch x batch_size."""
    from forecastlab.models import MODELS
    from forecastlab.models.contract import Estimator

    if issubclass(MODELS[name], Estimator):
        return 1
    return profile.epochs or MODELS[name].book_epochs
