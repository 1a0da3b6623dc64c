"""The report's sections about one finished run: its scores beside the baselines, its training curves, its
data, its forecasts over a test week, its errors by horizon, hour of day and season, and its intervals'
coverage.

What a run directory holds (config.json, metrics.json, history.csv) is always shown. What needs the data
(the data plots, the forecasts, the errors by time, persistence beside the model) is computed from the
run's own recipe, or from `data=`; when the data or the model cannot be loaded, those sections become a
note that says why and what to do, and the rest of the report is still written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forecastlab.errors import ForecastlabError
from forecastlab.reporting.html import Image, Note, Paragraph, Section, Table
from forecastlab.training import run_dir as rd

WEEK = np.timedelta64(7, "D")


class MissingNote(Note):
    """The note that stands where a part of the report needs the data or the model and cannot have them."""


@dataclass
class RunFacts:
    """One run, read back: its files, and, when they could be loaded, its model, data and test forecasts."""

    run_dir: Path
    label: str  # the model's name as the report shows it (a reproduce label like 'tcn+', or the model's name)
    config: dict
    metrics: dict
    history: list[dict] | None = None
    series: object | None = None  # forecastlab.data.Series
    test: object | None = None  # forecastlab.training.forecast.SplitForecasts
    baselines: dict | None = None  # forecastlab.evaluation.baselines.compute_baselines on the run's windows
    problems: dict[str, str] = field(default_factory=dict)  # "model" / "data" / "forecast": why it is missing
    warnings: list[str] = field(default_factory=list)

    @property
    def unit(self) -> str | None:
        return self.metrics.get("unit") or (self.config.get("data") or {}).get("target_unit")

    @property
    def steps(self) -> list[int]:
        window = self.config["window"]
        return list(window.get("horizons") or [window["horizon"]])

    def horizon_labels(self) -> list[str]:
        """'24h (24 steps)' when the row step is known, else '24 steps'."""
        step = _step_ns(self.config, self.series)
        rate = int(self.config["window"]["sampling_rate"])
        return [f"{_ahead(h * rate * step)} ({_count(h, 'step')})" if step else _count(h, "step") for h in self.steps]

    def missing(self) -> str | None:
        """Why the sections that need the data and the model are left out, or None when nothing is."""
        for key in ("model", "data", "forecast"):
            if key in self.problems:
                return self.problems[key]
        return None


def read_run(run_dir: Path, *, label: str | None = None, data: str | None = None) -> RunFacts:
    """Read a finished run, then try to load its model and its data and forecast its test split; a failure
    of the latter is recorded in `problems`, never raised. A directory that is not a finished run is."""
    run_dir = Path(run_dir)
    config = rd.read_config(run_dir)
    if not (run_dir / rd.METRICS).is_file():
        raise ForecastlabError(f"the run has no {rd.METRICS}, so it has not finished training", where=str(run_dir),
                               fix="wait for the training to finish (or resume it with forecastlab train --resume), "
                               "then make the report")
    metrics = rd.read_metrics(run_dir)
    history = rd.read_history(run_dir) if (run_dir / rd.HISTORY).is_file() else None
    facts = RunFacts(run_dir, label or config["model"]["name"], config, metrics, history)
    _load_data_and_forecasts(facts, data)
    return facts


def _load_data_and_forecasts(facts: RunFacts, data: str | None) -> None:
    from forecastlab.evaluation.baselines import compute_baselines
    from forecastlab.training import load_run
    from forecastlab.training.config import data_changed
    from forecastlab.training.forecast import run_datasets, split_forecasts

    try:
        facts.series = _load_series(facts.config, facts.run_dir, data)
    except (ForecastlabError, OSError) as err:
        facts.problems["data"] = f"The run's data could not be loaded: {_say(err)}"
        return
    why = data_changed(facts.config, facts.series)
    if why:
        facts.warnings.append(f"{why}. The numbers computed from the data below come from the changed file, "
                              "not from the data the run was trained on.")
    try:
        run = load_run(facts.run_dir)
    except (ForecastlabError, OSError) as err:
        facts.problems["model"] = f"The run's model could not be loaded: {_say(err)}"
        return
    try:
        datasets = run_datasets(run, facts.series)
        facts.test = split_forecasts(run, facts.series, "test", datasets)
        facts.baselines = compute_baselines(facts.series, datasets)
    except (ForecastlabError, OSError) as err:
        facts.problems["forecast"] = f"The run's test split could not be forecast: {_say(err)}"
        return
    saved, now = facts.metrics.get("test_mae"), float(facts.test.mae().mean())
    if saved is not None and not np.isclose(saved, now, rtol=1e-4, atol=1e-6):
        facts.warnings.append(f"The test MAE recomputed from the data, {now:.4f}, differs from metrics.json's "
                              f"{saved:.4f}: the data is not exactly what the run was scored on.")


def _load_series(config: dict, run_dir: Path, data: str | None):
    import dataclasses

    from forecastlab.training.recipe import DataRecipe, recipe_of

    recipe = recipe_of(config)
    if recipe is None and data is None:
        raise ForecastlabError("config.json does not say where this run's data came from (datasets made by hand)",
                               where=str(run_dir / rd.CONFIG), fix="pass the data file with data=")
    args = DataRecipe(data=data) if recipe is None else recipe.data
    return (dataclasses.replace(args, data=str(data)) if data is not None else args).load()


def _ahead(ns: int) -> str:
    """'24h', '36h', '10min', '7d': whole hours up to a week as hours, as the book says "24 hours ahead"."""
    from forecastlab.windows.horizons import duration_text

    hour = 3600 * 10**9
    return f"{ns // hour}h" if ns % hour == 0 and ns < 7 * 24 * hour else duration_text(ns)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _say(err: Exception) -> str:
    if isinstance(err, ForecastlabError):
        return err.paragraph()
    return f"{err.strerror or err}{f' ({err.filename})' if getattr(err, 'filename', None) else ''}."


def _step_ns(config: dict, series) -> int | None:
    """The data's row step in ns: the series' own, or estimated from config.json's first and last times."""
    if series is not None:
        if series.step_ns:
            return series.step_ns
    data = config.get("data") or {}
    try:
        first, last = np.datetime64(data["first_timestamp"]), np.datetime64(data["last_timestamp"])
        rows = int(data["rows"])
    except (KeyError, TypeError, ValueError):
        return None
    if rows < 2 or last <= first:
        return None
    seconds = (last - first) / np.timedelta64(1, "s") / (rows - 1)
    return int(round(seconds)) * 10**9 if seconds >= 1 else None  # a few missing rows: still the step


# -- sections ---------------------------------------------------------------------------------------------


def data_note(facts: RunFacts, what: str) -> MissingNote:
    """The note that replaces a part of the report which needs the data or the model."""
    return MissingNote(f"{what} needs the run's data and model. {facts.missing()} To include it, restore the data file "
                "(or the run's files), or point the report at the data: `forecastlab report PATH --data FILE` "
                "(Python: `build_report(path, data=FILE)`).", kind="warning")


def curves_blocks(facts: RunFacts, *, baseline_mae: float | None = None) -> list:
    """The training curves of code 10-11, drawn from history.csv, with persistence's val MAE when known."""
    from forecastlab.reporting.curves import curves_figure

    if not facts.history:
        return [Note(f"{facts.label}: the run has no {rd.HISTORY}, so there are no curves to draw.", kind="warning")]
    estimator = facts.config["training"].get("optimizer") == "none"
    fig = curves_figure(facts.history, title=f"Training and validation MAE: {facts.label}",
                        best_epoch=facts.metrics.get("best_epoch"), baseline_mae=baseline_mae, unit=facts.unit,
                        xlabel="Boosting rounds" if estimator else "Epochs")
    best = facts.metrics.get("best_epoch")
    return [Image(fig, alt=f"training curves of {facts.label}",
                  caption=f"{facts.label}: {_count(len(facts.history), 'round' if estimator else 'epoch')}"
                  + (f", best {best} (lowest validation loss, the weights kept)" if best else "")
                  + ("; dashed: persistence on the validation split" if baseline_mae is not None else "") + ".")]


def data_section(facts: RunFacts, pngs: list[bytes] | None = None) -> Section:
    """The chapter's two data plots (codes 10-3, 10-4): given as PNGs (a reproduce directory's), or drawn."""
    section = Section("data", "The data (codes 10-3 and 10-4)")
    captions = ["The target over the whole record (code 10-3).", "The target over the first 10 days (code 10-4)."]
    if pngs:
        section.blocks += [Image(p, alt=c, caption=c) for p, c in zip(pngs, captions, strict=False)]
    elif facts.series is not None:
        from forecastlab.reporting.data_plots import temperature_figures

        section.blocks += [Image(f, alt=c, caption=c) for f, c in zip(temperature_figures(facts.series), captions,
                                                                      strict=True)]
    else:
        section.blocks.append(data_note(facts, "This section"))
    if facts.series is not None:
        p = facts.series.provenance
        section.blocks.append(Paragraph(f"Data: {p.source} `{p.path or p.variant or p.source}`, {len(facts.series):,} "
                                        f"rows, target `{facts.series.target}`, sha256 {str(p.sha256)[:12]}…"))
    return section


def forecast_section(facts: RunFacts) -> Section:
    """The forecasts for the first week of test targets at the longest horizon, beside the actual values."""
    from forecastlab.reporting.report_plots import forecast_figure

    section = Section("forecast", "Forecast against actual, one test week")
    t = facts.test
    if t is None:
        section.blocks.append(data_note(facts, "This section"))
        return section
    j = len(t.horizons) - 1
    times = t.target_time[:, j]
    keep = times < times[0] + WEEK if len(times) else np.zeros(0, dtype=bool)
    label = facts.horizon_labels()[j]
    fig = forecast_figure(times[keep], t.actual[keep, j], t.prediction[keep, j],
                          lower=None if t.lower is None else t.lower[keep, j],
                          upper=None if t.upper is None else t.upper[keep, j],
                          persistence=t.persistence[keep, j], level=t.level, unit=facts.unit,
                          label=facts.label, ylabel=facts.series.target,
                          title=f"{facts.label}, {label} ahead: the first week of the test split")
    err = np.abs(t.prediction[keep, j] - t.actual[keep, j]).mean() if keep.any() else float("nan")
    base = np.abs(t.persistence[keep, j] - t.actual[keep, j]).mean() if keep.any() else float("nan")
    span = "the first 7 days" if keep.sum() < len(times) else "all"
    section.blocks.append(Image(fig, alt=f"forecast against actual, {label} ahead", caption=(
        f"Each point is one test window's forecast {label} ahead, at the time it forecasts ({span} of the test "
        f"split's targets, {int(keep.sum()):,} windows): MAE {err:.3f} there, persistence {base:.3f}"
        + (f"; the band is the run's calibrated {t.level:.0%} interval." if t.lower is not None
           else "; the run has no calibrated intervals."))))
    return section


def errors_section(facts: RunFacts) -> Section:
    """The test MAE by horizon (from metrics.json when there is no data), by hour of day and by season."""
    from forecastlab.evaluation.breakdown import mae_by_time
    from forecastlab.reporting.report_plots import error_bars_figure

    section = Section("errors", "Errors by horizon, hour of day and season (test split)")
    labels = facts.horizon_labels()
    t = facts.test
    model = t.mae() if t is not None else np.asarray(facts.metrics.get("test_mae_by_horizon") or [], dtype=float)
    by_horizon = {facts.label: model} | ({"persistence": t.mae("persistence")} if t is not None else {})
    if len(model) == len(labels):
        section.blocks.append(Image(error_bars_figure(labels, by_horizon, title="Test MAE by horizon", xlabel="horizon",
                                                      unit=facts.unit), alt="test MAE by horizon"))
        section.blocks.append(Table([{"horizon": h} | {name: float(v[i]) for name, v in by_horizon.items()}
                                     for i, h in enumerate(labels)], caption=f"Test MAE ({facts.unit or 'units'})"))
    if t is None:
        section.blocks.append(data_note(facts, "The error by hour of day and by season (and persistence beside it)"))
        return section
    abs_errors = {facts.label: np.abs(t.prediction - t.actual), "persistence": np.abs(t.persistence - t.actual)}
    for by, title in (("hour", "hour of day of the target time"), ("season", "meteorological season of the target")):
        frame = mae_by_time(t.target_time, abs_errors, by)
        fig = error_bars_figure(list(frame[by]), {k: frame[k].to_numpy() for k in abs_errors},
                                title=f"Test MAE by {title}", xlabel=by, unit=facts.unit,
                                counts=frame["targets"].to_numpy() if by == "season" else None)
        section.blocks.append(Image(fig, alt=f"test MAE by {by}"))
        if by == "season":
            section.blocks.append(Table(frame, caption=f"Test MAE ({facts.unit or 'units'}) by season of the target "
                                        "time, all horizons (DJF: December to February, ...)"))
        else:
            worst = frame.loc[frame[facts.label].idxmax()]
            section.blocks.append(Paragraph(f"All horizons together; the worst hour for {facts.label} is "
                                            f"{worst['hour']} (MAE {worst[facts.label]:.3f}), the best "
                                            f"{frame.loc[frame[facts.label].idxmin(), 'hour']}."))
    return section


def coverage_section(facts: RunFacts) -> Section:
    """The intervals' nominal level against their empirical coverage on test, per horizon (metrics.json)."""
    from forecastlab.reporting.report_plots import coverage_figure

    section = Section("coverage", "Interval coverage (test split)")
    info = facts.metrics.get("intervals") or {}
    cover = info.get("test_coverage")
    if not cover or info.get("level") is None:
        section.blocks.append(Note(f"{facts.label} has no calibrated intervals (its metrics.json has none: a run "
                                   "made before intervals existed), so there is no coverage to show."))
        return section
    labels = facts.horizon_labels()
    labels = labels if len(labels) == len(cover) else [str(i + 1) for i in range(len(cover))]
    level = float(info["level"])
    widths = info.get("test_width") or [None] * len(cover)
    section.blocks.append(Image(coverage_figure(labels, cover, level), alt="interval coverage by horizon"))
    section.blocks.append(Table(
        [{"horizon": h, "nominal": f"{level:.0%}", "empirical coverage": f"{c:.1%}",
          f"mean width ({facts.unit or 'units'})": w} for h, c, w in zip(labels, cover, widths, strict=True)],
        caption=f"{info.get('method')} intervals calibrated on {info.get('n', 0):,} validation windows; overall "
        f"test coverage {info.get('test_coverage_all', float('nan')):.1%}"))
    return section
