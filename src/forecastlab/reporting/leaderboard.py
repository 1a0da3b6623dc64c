"""The chapter's results table: baselines and models side by side, with the book's numbers beside ours."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from forecastlab.atomic import atomic_write_json, atomic_write_text
from forecastlab.data.book import BOOK_REFERENCE


@dataclass
class Row:
    name: str
    kind: str  # "baseline", "model" (torch) or "estimator" (lightgbm, the persistence model)
    val_mae: float
    test_mae: float
    improvement_pct: float | None = None  # test MAE gain over persistence, in %
    params: int | None = None
    epochs: int | None = None
    best_epoch: int | None = None
    seconds_per_epoch: float | None = None
    total_seconds: float | None = None
    book_val_mae: float | None = None
    book_test_mae: float | None = None


def build_rows(baselines: dict[str, dict[str, float]], models: dict[str, dict]) -> list[Row]:
    """Baselines first (the bar to clear), then models from best to worst validation MAE.

    Models are ranked on validation, not test, so the table never selects on the test split.
    """
    reference = baselines["persistence"]["test_mae"]

    def gain(test_mae: float) -> float:
        return round(100.0 * (reference - test_mae) / reference, 2)

    rows = [
        Row(name, "baseline", m["val_mae"], m["test_mae"], gain(m["test_mae"]), params=0,
            book_val_mae=BOOK_REFERENCE.get(name, {}).get("val_mae"),
            book_test_mae=BOOK_REFERENCE.get(name, {}).get("test_mae"))
        for name, m in baselines.items()
    ]
    for name, m in sorted(models.items(), key=lambda kv: kv[1]["val_mae"]):
        book = BOOK_REFERENCE.get(name, {})
        shown = f"{name} (as a model)" if name in baselines else name  # the persistence model, beside the baseline
        rows.append(Row(
            shown, m.get("kind", "model"), m["val_mae"], m["test_mae"], gain(m["test_mae"]), params=m.get("params"),
            epochs=m.get("epochs"), best_epoch=m.get("best_epoch"),
            seconds_per_epoch=m.get("seconds_per_epoch"), total_seconds=m.get("total_seconds"),
            book_val_mae=book.get("val_mae"), book_test_mae=book.get("test_mae"),
        ))
    return rows


def _fmt(value, spec: str = ".2f") -> str:
    return "—" if value is None else format(value, spec)


def to_markdown(rows: list[Row], unit: str = "°C") -> str:
    header = (
        f"| model | kind | val MAE ({unit}) | test MAE ({unit}) | vs persistence (test) | params | epochs "
        f"(best) | s/epoch | total s | book val MAE | book test MAE |"
    )
    lines = [header, "|" + "---|" * 11]
    for r in rows:
        epochs = "—" if r.epochs is None else f"{r.epochs} ({r.best_epoch})"
        gain = "—" if r.name == "persistence" or r.improvement_pct is None else f"{r.improvement_pct:+.1f}%"
        lines.append(
            f"| {r.name} | {r.kind} | {_fmt(r.val_mae)} | {_fmt(r.test_mae)} | {gain} | "
            f"{_fmt(r.params, ',')} | {epochs} | {_fmt(r.seconds_per_epoch, '.1f')} | "
            f"{_fmt(r.total_seconds, '.0f')} | {_fmt(r.book_val_mae)} | {_fmt(r.book_test_mae)} |"
        )
    return "\n".join(lines) + "\n"


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
    ax.barh([i - 0.2 for i in y], [r.val_mae for r in rows], height=0.4, label="validation MAE")
    ax.barh([i + 0.2 for i in y], [r.test_mae for r in rows], height=0.4, label="test MAE")
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
    return lines


def write_leaderboard(rows: list[Row], meta: dict, out_dir: Path, unit: str = "°C") -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "leaderboard.md"
    notes = "".join(f"{line}\n\n" for line in context_lines(meta))
    atomic_write_text(md, notes + to_markdown(rows, unit))
    js = out_dir / "leaderboard.json"
    atomic_write_json(js, to_json(rows, meta))
    synthetic = (meta.get("data") or {}).get("source") == "synthetic"
    title = "Baselines and models" + (" (SYNTHETIC data)" if synthetic else "")
    png = plot_comparison(rows, out_dir / "leaderboard.png", title=title)
    return {"markdown": md, "json": js, "plot": png}
