"""The chapter's results table: baselines and models side by side, with the book's numbers beside ours."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from forecastlab.atomic import atomic_write_json, atomic_write_text
from forecastlab.data.book import BOOK_REFERENCE


@dataclass
class Row:
    name: str
    # "baseline", "bound" (the oracle), "model" (torch), "estimator" (lightgbm, the persistence model), "ensemble"
    kind: str
    val_mae: float  # the mean over seeds
    test_mae: float
    improvement_pct: float | None = None  # test MAE gain over persistence, in %
    params: int | None = None
    epochs: int | None = None
    best_epoch: int | None = None
    seconds_per_epoch: float | None = None
    total_seconds: float | None = None
    book_val_mae: float | None = None
    book_test_mae: float | None = None
    seeds: int | None = None  # how many seeds the means are over
    val_mae_std: float | None = None  # the spread over seeds (std, ddof=1); None with one seed
    test_mae_std: float | None = None
    gap_closed_pct: float | None = None  # share of the test gap from persistence to the oracle this row closes
    clearly_better_than: list[str] | None = None  # rows whose test MAE is worse by more than both seed spreads


def build_rows(baselines: dict[str, dict[str, float]], models: dict[str, dict], *, book: bool = True) -> list[Row]:
    """Baselines first (the bar to clear; the oracle, when there is one, is the bound), then models from
    best to worst validation MAE (the mean over seeds).

    Models are ranked on validation, not test, so the table never selects on the test split. A model is
    marked clearly better than another only when its mean test MAE is lower by more than both models'
    seed spreads (forecastlab.evaluation.seeds.clearly_better); with one seed nothing is. `book`: show the
    book's Jena numbers beside ours (only for the Jena task: the real file or its synthetic stand-in).
    """
    reference_numbers = BOOK_REFERENCE if book else {}
    from forecastlab.evaluation.oracle import gap_closed
    from forecastlab.evaluation.seeds import clearly_better

    reference = baselines["persistence"]["test_mae"]
    oracle = baselines.get("oracle", {}).get("test_mae")

    def gain(test_mae: float) -> float:
        return round(100.0 * (reference - test_mae) / reference, 2)

    def gap(test_mae: float) -> float | None:
        return None if oracle is None else round(100.0 * gap_closed(test_mae, reference, oracle), 1)

    rows = [
        Row(name, "bound" if name == "oracle" else "baseline", m["val_mae"], m["test_mae"], gain(m["test_mae"]),
            params=0, book_val_mae=reference_numbers.get(name, {}).get("val_mae"),
            book_test_mae=reference_numbers.get(name, {}).get("test_mae"))
        for name, m in baselines.items()
    ]
    ranked = sorted(models.items(), key=lambda kv: kv[1]["val_mae"])
    spreads = {name: {"mean": m["test_mae"], "std": m.get("test_mae_std")} for name, m in ranked}
    for name, m in ranked:
        book = reference_numbers.get(name, {})
        shown = f"{name} (as a model)" if name in baselines else name  # the persistence model, beside the baseline
        beaten = [other for other in spreads if other != name and clearly_better(spreads[name], spreads[other])]
        rows.append(Row(
            shown, m.get("kind", "model"), m["val_mae"], m["test_mae"], gain(m["test_mae"]), params=m.get("params"),
            epochs=m.get("epochs"), best_epoch=m.get("best_epoch"),
            seconds_per_epoch=m.get("seconds_per_epoch"), total_seconds=m.get("total_seconds"),
            book_val_mae=book.get("val_mae"), book_test_mae=book.get("test_mae"),
            seeds=m.get("seeds", 1), val_mae_std=m.get("val_mae_std"), test_mae_std=m.get("test_mae_std"),
            gap_closed_pct=gap(m["test_mae"]), clearly_better_than=beaten if m.get("seeds", 1) > 1 else None,
        ))
    return rows


def _fmt(value, spec: str = ".2f") -> str:
    return "—" if value is None else format(value, spec)


def _mean_sd(mean: float | None, sd: float | None) -> str:
    return _fmt(mean) if sd is None else f"{_fmt(mean)} ± {sd:.3f}"


def to_markdown(rows: list[Row], unit: str = "°C") -> str:
    columns, cells = table_cells(rows, unit)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def table_cells(rows: list[Row], unit: str = "°C") -> tuple[list[str], list[list[str]]]:
    """The leaderboard as text cells: the column names, then one list of cells per row (as to_markdown
    and the HTML report print them). The seed and oracle columns appear only when there are seeds or an
    oracle."""
    seeds = max((r.seeds or 1 for r in rows), default=1)
    oracle = any(r.kind == "bound" for r in rows)
    spread = f" (mean ± sd, {seeds} seeds)" if seeds > 1 else ""
    columns = [("model", None), ("kind", None), (f"val MAE ({unit}){spread}", None),
               (f"test MAE ({unit}){spread}", None), ("vs persistence (test)", None)]
    if oracle:
        columns.append(("gap to oracle closed", None))
    if seeds > 1:
        columns.append(("clearly better than (test, beyond both spreads)", None))
    columns += [("params", None), ("epochs (best)", None), ("s/epoch", None), ("total s", None),
                ("book val MAE", None), ("book test MAE", None)]
    lines = []
    for r in rows:
        epochs = "—" if r.epochs is None else f"{r.epochs} ({r.best_epoch})"
        gain = "—" if r.name == "persistence" or r.improvement_pct is None else f"{r.improvement_pct:+.1f}%"
        cells = [r.name, r.kind, _mean_sd(r.val_mae, r.val_mae_std), _mean_sd(r.test_mae, r.test_mae_std), gain]
        if oracle:
            cells.append("—" if r.gap_closed_pct is None else f"{r.gap_closed_pct:.1f}%")
        if seeds > 1:
            cells.append("—" if r.clearly_better_than is None else (", ".join(r.clearly_better_than) or "none"))
        cells += [_fmt(r.params, ","), epochs, _fmt(r.seconds_per_epoch, ".1f"), _fmt(r.total_seconds, ".0f"),
                  _fmt(r.book_val_mae), _fmt(r.book_test_mae)]
        lines.append(cells)
    return [c for c, _ in columns], lines


def to_json(rows: list[Row], meta: dict) -> dict:
    return {**meta, "rows": [asdict(r) for r in rows]}


def plot_comparison(rows: list[Row], path: Path, title: str = "Baselines and models") -> Path:
    """Horizontal bars of val and test MAE, persistence drawn as the line to beat."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.name for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 2.0))
    y = range(len(rows))
    # error bars: the spread over seeds, where there is one
    val_err = [r.val_mae_std or 0.0 for r in rows]
    test_err = [r.test_mae_std or 0.0 for r in rows]
    ax.barh([i - 0.2 for i in y], [r.val_mae for r in rows], height=0.4, label="validation MAE",
            xerr=val_err if any(val_err) else None)
    ax.barh([i + 0.2 for i in y], [r.test_mae for r in rows], height=0.4, label="test MAE",
            xerr=test_err if any(test_err) else None)
    persistence = next((r for r in rows if r.name == "persistence"), None)
    if persistence:
        ax.axvline(persistence.test_mae, color="k", linestyle="--", linewidth=1, label="persistence (test)")
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    ax.set_xlabel("MAE")
    ax.set_title(title)
    # Below the axes: inside, it covered the longest bars.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def context_lines(meta: dict) -> list[str]:
    """What a reader must know before comparing numbers: which data, which profile, which command."""
    lines = []
    data = meta.get("data") or {}
    if data.get("source") == "synthetic":
        lines.append("**SYNTHETIC DATA**: forecastlab's built-in Jena-format generator, not the real record; "
                     "the book's columns are the real record's numbers, for reference only.")
    elif data:
        lines.append(f"Data: {data.get('source')} ({data.get('path')}, sha256 {str(data.get('sha256'))[:12]}..., "
                     f"{data.get('rows')} rows).")
    if meta.get("profile"):
        lines.append(f"Profile `{meta['profile']}`: {meta.get('profile_description', '')}.")
    if meta.get("command"):
        lines.append(f"Command: `{meta['command']}`.")
    if meta.get("total_seconds") is not None:
        machine = meta.get("machine") or {}
        lines.append(f"Took {meta['total_seconds'] / 60:.1f} min on {machine.get('cpus', '?')} CPU cores "
                     f"({machine.get('platform', 'this machine')}, Python {machine.get('python', '?')}).")
    if meta.get("reused_runs"):  # reproduce(resume=True): their times are their own, not this call's
        lines.append(f"Resumed: {len(meta['reused_runs'])} finished run(s) read back, not trained again: "
                     + ", ".join(f"`{r}`" for r in meta["reused_runs"]) + ".")
    for again in meta.get("retrained_runs") or []:
        lines.append(f"Trained again on resume: `{again['run_dir']}`, since {again['why']}.")
    return lines


def verdict(rows: list[Row], headline: str | None = None) -> str | None:
    """Our best model by validation (or the `headline` recipe, fixed before the run, when it is in the
    table) against the book's best by validation, on test, and whether the difference exceeds both seed
    spreads; with a headline, one sentence for each."""
    said = _verdict(rows, None)
    if headline and said and any(r.name == headline for r in rows):
        again = _verdict(rows, headline)
        if again and f"**{headline}**" not in said.split(";")[0]:  # the headline is not also the best by val
            return f"{again}\n\n{said}"
        return again
    return said


def _verdict(rows: list[Row], headline: str | None) -> str | None:
    from forecastlab.data.book import BOOK_MODELS
    from forecastlab.evaluation.seeds import clearly_better

    trained = [r for r in rows if r.kind in ("model", "estimator", "ensemble") and not r.name.endswith("(as a model)")]
    book = [r for r in trained if r.name in BOOK_MODELS]
    ours = [r for r in trained if r.name not in BOOK_MODELS]
    if not book or not ours:
        return None
    a = next((r for r in ours if r.name == headline), None) or min(ours, key=lambda r: r.val_mae)
    b = min(book, key=lambda r: r.val_mae)
    better = clearly_better({"mean": a.test_mae, "std": a.test_mae_std}, {"mean": b.test_mae, "std": b.test_mae_std})
    seeds = a.seeds or 1
    said = ("clearly better: the difference exceeds both seed spreads" if better else
            "not clearly better: the difference does not exceed both seed spreads" if seeds > 1 else
            "one seed only, so no claim either way")
    which = "Our headline recipe" if a.name == headline else "Best by validation: ours"
    return (f"{which} **{a.name}**, test MAE {_mean_sd(a.test_mae, a.test_mae_std)} "
            f"({a.improvement_pct:+.1f}% vs persistence); the book's best by validation **{b.name}**, test MAE "
            f"{_mean_sd(b.test_mae, b.test_mae_std)} ({b.improvement_pct:+.1f}%): {said}.")


def write_leaderboard(rows: list[Row], meta: dict, out_dir: Path, unit: str = "°C",
                      headline: str | None = None) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "leaderboard.md"
    notes = "".join(f"{line}\n\n" for line in context_lines(meta))
    said = verdict(rows, headline)
    atomic_write_text(md, notes + to_markdown(rows, unit) + (f"\n{said}\n" if said else ""))
    js = out_dir / "leaderboard.json"
    atomic_write_json(js, to_json(rows, meta))
    synthetic = (meta.get("data") or {}).get("source") == "synthetic"
    title = "Baselines and models" + (" (SYNTHETIC data)" if synthetic else "")
    png = plot_comparison(rows, out_dir / "leaderboard.png", title=title)
    return {"markdown": md, "json": js, "plot": png}
