"""`forecastlab report PATH`: one self-contained HTML page about a run directory or a reproduce (or bench)
directory, readable offline and mailable as one file.

    html = build_report("runs/lstm")                  # the page, as a string
    path = write_report("runs/reproduce-quick")       # PATH/report.html, never over an existing file
    write_report("runs/lstm", "lstm.html", overwrite=True, data="moved/jena.csv")

It holds the leaderboard (the book's numbers beside ours, the seed spread where there is one), the
training curves (code 10-11), the data plots (10-3, 10-4), the forecasts against the actual values over a
test week (with the calibrated interval band), the test error by horizon, hour of day and season beside
persistence, and the intervals' coverage. In a reproduce directory the per-run sections are about the
best model by validation (the leaderboard's ranking, never test), and the curves are drawn for every model.

Nothing in PATH is changed but the report file itself, written atomically. Everything read is bounded
(forecastlab.training.run_dir's readers, and at most MAX_IMAGE_BYTES per stored plot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from forecastlab.deploy.artifact import enclosing_artifact, is_artifact
from forecastlab.deploy.report_run import (
    MissingNote,
    RunFacts,
    coverage_section,
    curves_blocks,
    data_note,
    data_section,
    errors_section,
    forecast_section,
    read_run,
)
from forecastlab.errors import ForecastlabError
from forecastlab.reporting.html import PNG_MAGIC, Image, Note, Paragraph, Section, Table, render_html
from forecastlab.training import run_dir as rd

REPORT = "report.html"
LEADERBOARD, REPRODUCE = "leaderboard.json", "reproduce.json"
PLOTS = ("temperature_whole_record.png", "temperature_first_10_days.png")  # reporting.data_plots' names
MAX_IMAGE_BYTES = 32 << 20
TRAINED_KINDS = ("model", "estimator", "ensemble")


@dataclass
class Report:
    """A gathered report: what it is about, its sections, and why any is left out; html() renders it."""

    path: Path
    kind: str  # "run", "reproduce" or "classifier"
    title: str
    sections: list[Section]
    model: str | None = None  # the model the per-run sections are about
    run_dir: Path | None = None
    unavailable: dict[str, str] = field(default_factory=dict)  # section id -> why it holds only a note
    subtitle: str | None = None

    def html(self) -> str:
        from forecastlab import __version__

        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        return render_html(self.title, self.sections, subtitle=self.subtitle, footer=(
            f"Written by forecastlab {__version__} on {stamp} from `{self.path}`. One self-contained file: every "
            "image is embedded, and the page loads nothing from the network."))

    def write(self, out: str | Path | None = None, *, overwrite: bool = False) -> Path:
        """Write html() to `out` (default PATH/report.html) atomically, refusing an existing file unless
        overwrite=True."""
        from forecastlab.atomic import atomic_write_text

        target = report_path(self.path, out, overwrite=overwrite)
        return atomic_write_text(target, self.html())

    def summary(self) -> dict:
        return {"path": str(self.path), "kind": self.kind, "model": self.model,
                "run_dir": None if self.run_dir is None else str(self.run_dir),
                "sections": [s.id for s in self.sections], "unavailable": dict(self.unavailable)}


def build_report(path: str | Path, *, data: str | None = None) -> str:
    """The HTML page about the run or reproduce directory `path`; `data`: the data file (or name) to use
    instead of the one the run's recipe records (e.g. when that file has moved)."""
    return gather_report(path, data=data).html()


def write_report(path: str | Path, out: str | Path | None = None, *, overwrite: bool = False,
                 data: str | None = None) -> Path:
    """Write the report about `path` to `out` (default PATH/report.html) and return where. An existing
    file is refused unless overwrite=True, before anything slow is done."""
    detect(path)
    report_path(path, out, overwrite=overwrite)  # both cheap, before the slow part
    return gather_report(path, data=data).write(out, overwrite=overwrite)


def report_path(path: str | Path, out: str | Path | None = None, *, overwrite: bool = False) -> Path:
    """Where the report goes (`out`, or PATH/report.html), checked: not a folder, not an existing file
    unless overwrite=True, in a folder that exists."""
    if out is None and is_artifact(path):
        raise ForecastlabError("an artifact holds exactly the files its manifest lists; the report is not written "
                               "into it", where=str(path), arg="out",
                               fix="choose where it goes, e.g. out='report.html'")
    target = Path(out) if out is not None else Path(path) / REPORT
    if target.is_dir():
        raise ForecastlabError("the report's path is a folder", where=str(target), arg="out",
                               fix="give a file name, e.g. out='report.html'")
    inside = Path(path).resolve()
    if target.exists() and inside in target.resolve().parents and target.suffix.lower() not in (".html", ".htm"):
        # Reading PATH never changes it: only a report (an .html file) there may be replaced, never its data.
        raise ForecastlabError(f"{target.name} is one of the files the report reads, not a report; it is never "
                               "replaced", where=str(target), arg="out",
                               fix="choose another out=, e.g. out='report.html'")
    if enclosing_artifact(target) is not None:
        raise ForecastlabError("the report's path is inside an artifact, which holds exactly the files its "
                               "manifest lists", where=str(target), arg="out",
                               fix="choose where it goes, e.g. out='report.html'")
    if target.exists() and not overwrite:
        raise ForecastlabError("the report file already exists; refusing to overwrite it", where=str(target),
                               fix="pass overwrite=True to replace it, or choose another out=")
    if not target.parent.is_dir():
        raise ForecastlabError("the folder for the report does not exist", where=str(target.parent), arg="out",
                               fix="create it first, or choose another out=")
    return target


def detect(path: str | Path) -> str:
    """'run' (config.json), 'reproduce' (leaderboard.json and models/) or 'classifier' (classifier.json, from
    forecastlab classify / events --out); anything else is an error."""
    path = Path(path)
    where = _where(path)
    if not path.is_dir():
        raise ForecastlabError("the path does not exist" if not path.exists() else "the path is a file, not a folder",
                               where=where, fix="pass a run directory (forecastlab train --out) or a reproduce "
                               "directory (forecastlab reproduce / bench --out)")
    if (path / rd.CONFIG).is_file():
        return "run"
    if (path / "classifier.json").is_file():
        return "classifier"
    if (path / LEADERBOARD).is_file() and (path / "models").is_dir():
        return "reproduce"
    seeds = sorted(p.name for p in path.glob("seed-*") if (p / rd.CONFIG).is_file())
    raise ForecastlabError(
        f"this folder is neither a run directory (it has no {rd.CONFIG}) nor a reproduce directory (no "
        f"{LEADERBOARD} beside a models/ folder)", where=where,
        fix=f"pass one of its runs, e.g. {path / seeds[0]}" if seeds else "pass a run directory (forecastlab train "
        "--out DIR) or the --out of forecastlab reproduce or bench")


def _where(path: Path) -> str:
    """The path as given, but never a bare name: the CLI would read `seeds` or `data` as its flag's name."""
    text = str(path)
    return text if "/" in text or text in (".", "..") else f"./{text}"


def gather_report(path: str | Path, *, data: str | None = None) -> Report:
    """Read `path` (a run or a reproduce directory) and build the report's sections."""
    path = Path(path)
    kind = detect(path)
    if kind == "classifier":
        from forecastlab.deploy.artifact import verify
        from forecastlab.deploy.report_classifier import classifier_meta, classifier_sections

        if is_artifact(path):  # an exported classifier: its files are checked against the manifest first
            verify(path)
        meta = classifier_meta(path)
        title, subtitle, sections = classifier_sections(meta)
        named = meta.get("model")  # the registered model's name, as classifier.json records it; the folder is the run
        model = named.get("name") if isinstance(named, dict) and isinstance(named.get("name"), str) else None
        return Report(path, "classifier", title, sections, model, path, subtitle=subtitle)
    return _run_report(path, data) if kind == "run" else _reproduce_report(path, data)


# -- a run directory ----------------------------------------------------------------------------------------


def _run_report(path: Path, data: str | None) -> Report:
    facts = read_run(path, data=data)
    persistence = (facts.baselines or {}).get("persistence", {})
    sections = [_run_leaderboard(facts), Section("curves", "Training curves (code 10-11)",
                                                 curves_blocks(facts, baseline_mae=persistence.get("val_mae"))),
                data_section(facts), forecast_section(facts), errors_section(facts), coverage_section(facts)]
    report = Report(path, "run", f"forecastlab report: {facts.label} ({path.name or path})", sections, facts.label,
                    path, subtitle=_run_subtitle(facts))
    return _finish(report, facts)


def _run_subtitle(facts: RunFacts) -> str:
    config, data = facts.config, facts.config.get("data") or {}
    provenance = data.get("provenance") or {}
    window = config["window"]
    return (f"Model `{facts.label}` trained on {provenance.get('source', 'unknown data')} "
            f"`{provenance.get('path') or provenance.get('variant') or ''}`, target `{data.get('target')}`; windows "
            f"of {window['sequence_length']} steps x {window['sampling_rate']} rows, horizons "
            f"{', '.join(facts.horizon_labels())}; created {config.get('created')}.")


def _book_task(facts: RunFacts) -> bool:
    """The book's Jena task (the real file or its synthetic stand-in, 120 x 6 rows, 24 steps ahead), where the
    book's numbers mean something beside ours."""
    source = ((facts.config.get("data") or {}).get("provenance") or {}).get("source")
    window = facts.config["window"]
    return source in ("jena", "synthetic") and (window["sequence_length"], window["sampling_rate"]) == (120, 6) \
        and facts.steps == [24]


def _run_leaderboard(facts: RunFacts) -> Section:
    from forecastlab.data.book import BOOK_REFERENCE
    from forecastlab.reporting.leaderboard import build_rows, table_cells

    m, unit = facts.metrics, facts.unit or "units"
    estimator = facts.config["training"].get("optimizer") == "none"
    kind = "ensemble" if facts.config["model"]["name"] == "ensemble" else "estimator" if estimator else "model"
    # An estimator fits in one pass: its boosting rounds are not epochs (as in reproduce's leaderboard).
    per_epoch = {} if estimator else {"epochs": m.get("epochs_run"), "best_epoch": m.get("best_epoch"),
                                      "seconds_per_epoch": m.get("seconds_per_epoch")}
    entry = {"val_mae": m["val_mae"], "test_mae": m["test_mae"], "params": m.get("params"), "kind": kind,
             "total_seconds": m.get("total_seconds")} | per_epoch
    section = Section("leaderboard", "Leaderboard")
    if facts.baselines is not None:
        rows = build_rows(facts.baselines, {facts.label: entry}, book=_book_task(facts))
        columns, cells = table_cells(rows, unit)
        section.blocks.append(Table([dict(zip(columns, c, strict=True)) for c in cells], highlight=(len(cells) - 1,),
                                    caption=f"The run beside the baselines, on the same validation and test windows "
                                    f"(MAE in {unit})"))
    else:
        book = BOOK_REFERENCE.get(facts.config["model"]["name"], {}) if _book_task(facts) else {}
        section.blocks.append(Table([{"model": facts.label, "kind": kind, f"val MAE ({unit})": m["val_mae"],
                                      f"test MAE ({unit})": m["test_mae"], "params": m.get("params"),
                                      "book val MAE": book.get("val_mae"), "book test MAE": book.get("test_mae")}],
                                    caption=f"The run's scores from {rd.METRICS} (MAE in {unit})"))
        section.blocks.append(data_note(facts, "Persistence and the other baselines beside the run"))
    if not _book_task(facts):
        section.blocks.append(Paragraph("The book's numbers are for its own task (the Jena record, 5 days of hourly "
                                        "steps, 24 hours ahead), so none are shown beside this run."))
    return section


# -- a reproduce (or bench) directory ---------------------------------------------------------------------


def _reproduce_report(path: Path, data: str | None) -> Report:
    from forecastlab.reporting.leaderboard import Row

    board = _read_object(path / LEADERBOARD)
    rows = _rows(board, path / LEADERBOARD)
    runs = (_read_object(path / REPRODUCE) if (path / REPRODUCE).is_file() else {}).get("models")
    runs = runs if isinstance(runs, dict) else {}
    trained = [r for r in rows if r.kind in TRAINED_KINDS]
    if not trained:
        raise ForecastlabError(f"{LEADERBOARD} lists no trained model", where=str(path / LEADERBOARD),
                               fix="rerun forecastlab reproduce with at least one model")
    best: Row = min(trained, key=lambda r: r.val_mae)
    seeds = board.get("seeds") if isinstance(board.get("seeds"), list) else []
    seeds = [s for s in seeds if isinstance(s, int) and not isinstance(s, bool)]
    facts, why = _best_run(path, best, seeds, data)
    baseline = next((r.val_mae for r in rows if r.name == "persistence"), None)
    unit = facts.unit if facts is not None else None
    sections = [_reproduce_leaderboard(path, board, rows, runs, best, unit),
                _all_curves(path, trained, seeds, best, facts, why, baseline)]
    plots = [_read_png(path / "plots" / name) for name in PLOTS if (path / "plots" / name).is_file()]
    if facts is not None:
        sections += [data_section(facts, plots), forecast_section(facts), errors_section(facts),
                     coverage_section(facts)]
    else:  # the leaderboard, and the data plots the directory holds; nothing about the run
        if plots:
            sections.append(Section("data", "The data (codes 10-3 and 10-4)", [Image(p, alt=n) for p, n in
                                                                                zip(plots, PLOTS, strict=False)]))
        sections.append(Section("runs", "The best model's run", [Note(why, kind="warning")]))
    profile = board.get("profile")
    report = Report(path, "reproduce", f"forecastlab report: {'profile ' + str(profile) if profile else 'reproduce'} "
                    f"on {_data_name(board.get('data'))} ({path.name or path})", sections, _label(best),
                    facts.run_dir if facts is not None else None, subtitle=(
                        f"{len(trained)} models and {len(rows) - len(trained)} baselines; the sections after the "
                        f"leaderboard are about **{_label(best)}**, the best model by validation MAE"
                        + (f" (its seed-{seeds[0]} run of {len(seeds)} seeds)" if len(seeds) > 1 else "") + "."))
    if facts is None:
        report.unavailable["runs"] = why
    return _finish(report, facts)


def _data_name(data) -> str:
    """'synthetic data', 'tmy3', 'jena.csv': the data of a reproduce directory, in a word."""
    data = data if isinstance(data, dict) else {}
    if data.get("source") == "synthetic":
        return "synthetic data"
    if data.get("source") == "file" and data.get("path"):
        return Path(str(data["path"])).name
    return str(data.get("variant") or data.get("source") or "its data")


def _label(row) -> str:
    """The reproduce label (models/LABEL) of a leaderboard row: 'persistence (as a model)' is 'persistence'."""
    return row.name.removesuffix(" (as a model)")


def _run_dir_of(path: Path, label: str, seeds: list[int]) -> Path | None:
    if not label or label in (".", "..") or "/" in label or "\\" in label or "\0" in label:
        return None  # a leaderboard row never names a path outside models/
    where = path / "models" / label
    return where / f"seed-{seeds[0]}" if len(seeds) > 1 else where


def _best_run(path: Path, best, seeds: list[int], data: str | None) -> tuple[RunFacts | None, str | None]:
    where = _run_dir_of(path, _label(best), seeds)
    if where is None or not (where / rd.CONFIG).is_file():
        return None, (f"The best model by validation, {best.name}, has no run directory at "
                      f"{where if where is not None else 'models/'}: the per-run sections are left out. Fix: keep the "
                      "reproduce directory whole (its models/ folder), or make a report of one run directory.")
    try:
        return read_run(where, label=_label(best), data=data), None
    except ForecastlabError as err:
        return None, f"The best model's run ({where}) could not be read: {err.paragraph()}"


def _reproduce_leaderboard(path: Path, board: dict, rows: list, runs: dict, best, unit: str | None) -> Section:
    from forecastlab.reporting.leaderboard import context_lines, table_cells, verdict
    from forecastlab.reproduce import HEADLINE

    unit = unit or "units"
    columns, cells = table_cells(rows, unit)
    meta = {k: v for k, v in board.items() if k not in ("data", "machine") or isinstance(v, dict)}
    blocks: list = [Paragraph(line) for line in context_lines(meta)]
    index = rows.index(best)
    blocks.append(Table([dict(zip(columns, c, strict=True)) for c in cells], highlight=(index,), caption=(
        f"Baselines first, then models from best to worst validation MAE (highlighted: {best.name}); MAE in {unit}")))
    said = verdict(rows, HEADLINE)
    if said:
        blocks += [Paragraph(part) for part in said.split("\n\n")]
    spread = [{"model": name, "seeds": len(m.get("test_mae_seeds") or []),
               "val MAE per seed": ", ".join(f"{v:.3f}" for v in m.get("val_mae_seeds") or []),
               "test MAE per seed": ", ".join(f"{v:.3f}" for v in m.get("test_mae_seeds") or [])}
              for name, m in runs.items() if isinstance(m, dict) and len(m.get("test_mae_seeds") or []) > 1]
    if spread:
        blocks.append(Table(spread, caption="The seed spread: each seed's own MAE"))
    if (path / "leaderboard.png").is_file():
        blocks.append(Image(_read_png(path / "leaderboard.png"), alt="leaderboard bars",
                            caption="Validation and test MAE; the line is persistence on test."))
    return Section("leaderboard", "Leaderboard", blocks)


def _all_curves(path: Path, trained: list, seeds: list[int], best, facts: RunFacts | None, why: str | None,
                baseline: float | None) -> Section:
    """The best model's curves first, then every other model's (its first seed's run)."""
    section = Section("curves", "Training curves (code 10-11)")
    section.blocks += curves_blocks(facts, baseline_mae=baseline) if facts is not None else [Note(why, kind="warning")]
    for row in trained:
        where = _run_dir_of(path, _label(row), seeds)
        if row is best or where is None or not (where / rd.CONFIG).is_file():
            continue
        try:
            other = RunFacts(where, _label(row), rd.read_config(where), rd.read_metrics(where) if
                             (where / rd.METRICS).is_file() else {},
                             rd.read_history(where) if (where / rd.HISTORY).is_file() else None)
        except ForecastlabError as err:
            section.blocks.append(Note(f"{row.name}: {err.paragraph()}", kind="warning"))
            continue
        section.blocks += curves_blocks(other, baseline_mae=baseline)
    return section


def _rows(board: dict, where: Path) -> list:
    from dataclasses import fields

    from forecastlab.reporting.leaderboard import Row

    known = {f.name for f in fields(Row)}
    fix = "restore the file, or rerun forecastlab reproduce --resume in that directory to write it again"
    raw = board.get("rows")
    if not isinstance(raw, list):
        raise ForecastlabError(f"{LEADERBOARD} has no list of rows", where=f"{where}, key rows", fix=fix)
    rows = []
    for i, r in enumerate(raw):
        ok = isinstance(r, dict) and isinstance(r.get("name"), str) and all(
            isinstance(r.get(k), int | float) and not isinstance(r.get(k), bool) for k in ("val_mae", "test_mae"))
        if not ok:
            raise ForecastlabError(f"{LEADERBOARD}'s row {i} has no name, val_mae and test_mae",
                                   where=f"{where}, key rows[{i}]", fix=fix)
        rows.append(Row(**{k: v for k, v in r.items() if k in known}))
    return rows


def _read_object(path: Path) -> dict:
    data = rd.read_json_file(path, what="a reproduce directory's summary", fix="restore the file, or rerun "
                             "forecastlab reproduce --resume in that directory to write it again")
    if not isinstance(data, dict):
        raise ForecastlabError(f"{path.name} holds a JSON {type(data).__name__}, not an object", where=str(path),
                               fix="restore the file, or rerun forecastlab reproduce --resume")
    return data


def _read_png(path: Path) -> bytes:
    """A stored plot, bounded in size, and only if it is a PNG."""
    fix = "remove it, or rerun forecastlab reproduce --resume to draw it again"
    if not path.is_file():
        raise ForecastlabError(f"{path.name} is not a regular file", where=str(path), fix=fix)
    with open(path, "rb") as fh:
        png = fh.read(MAX_IMAGE_BYTES + 1)
    if len(png) > MAX_IMAGE_BYTES or not png.startswith(PNG_MAGIC):
        raise ForecastlabError(f"{path.name} is not a PNG of at most {MAX_IMAGE_BYTES:,} bytes", where=str(path),
                               fix=fix)
    return png


# -- both -------------------------------------------------------------------------------------------------


def _finish(report: Report, facts: RunFacts | None) -> Report:
    """Warnings (synthetic data, a changed data file) at the top; which sections hold only a note."""
    if facts is None:
        return report
    notes = []
    provenance = (facts.config.get("data") or {}).get("provenance") or {}
    if provenance.get("source") == "synthetic" and report.kind == "run":  # a leaderboard's own notes say it
        notes.append(Note("**SYNTHETIC DATA**: forecastlab's built-in Jena-format generator, not the real record; "
                          "the book's numbers are the real record's, for reference only.", kind="warning"))
    notes += [Note(w, kind="warning") for w in facts.warnings]
    if notes:
        report.sections[0].blocks[:0] = notes
    for section in report.sections:
        if any(isinstance(b, MissingNote) for b in section.blocks):
            report.unavailable[section.id] = facts.missing()
    return report
