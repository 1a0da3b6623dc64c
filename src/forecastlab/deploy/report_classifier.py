"""The report of a saved classifier or event detector (forecastlab classify / events --out): what it
classifies, its leaderboard beside the baselines, the model's test confusion matrix, and its training
curves, from classifier.json alone (read bounded; nothing is imported or unpickled)."""

from __future__ import annotations

import math
from pathlib import Path

from forecastlab.reporting.html import Image, Note, Paragraph, Section, Table

SCORES = {"frost": ("accuracy", "macro_f1", "log_loss"), "ucr": ("accuracy", "macro_f1", "log_loss"),
          "events": ("event_precision", "event_recall", "event_f1", "false_alarms_per_30d", "median_lead_hours")}


def classifier_sections(meta: dict) -> tuple[str, str, list[Section]]:
    """(title, subtitle, sections) of the report about the classifier described by `meta` (classifier.json)."""
    task, metrics = meta.get("task") or {}, meta.get("metrics") or {}
    kind = task.get("kind", "?")
    model = (meta.get("model") or {}).get("name", "?")
    what = task_summary(task)
    title = f"forecastlab report: {model} classifier ({what})"
    source = (metrics.get("data") or {}).get("source") or (metrics.get("data") or {}).get("dataset")
    subtitle = f"classes: {', '.join(meta.get('classes') or [])}; data: {source or 'not recorded'}"
    sections = [_about(meta, task), _leaderboard(metrics, kind), _confusion(metrics, meta.get("classes") or []),
                _curves(metrics)]
    return title, subtitle, sections


def task_summary(task: dict) -> str:
    """What a saved classifier classifies, in a few words: 'frost (below 0) within 24 h', 'UCR/UEA GunPoint'."""
    kind = task.get("kind", "?")
    return {"frost": f"frost (below {task.get('below', 0):g}) within {task.get('hours', 24)} h",
            "ucr": f"UCR/UEA {task.get('dataset')}",
            "events": f"front passages up to {task.get('warn_hours')} h ahead"}.get(kind, str(kind))


def _about(meta: dict, task: dict) -> Section:
    window = meta.get("window") or {}
    rows = [{"setting": k, "value": str(v)} for k, v in task.items() if k not in ("derived", "options", "recipe")]
    for table, values in (task.get("recipe") or {}).items():  # the recipe it was trained with, key by key
        for key, value in (values.items() if isinstance(values, dict) else ()):
            if isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items())
            rows.append({"setting": f"recipe: {table}.{key}", "value": str(value)})
    if window:
        rows.append({"setting": "window", "value": f"{window.get('sequence_length')} steps, one every "
                     f"{window.get('sampling_rate')} rows"})
    rows.append({"setting": "model", "value": str(meta.get("model"))})
    return Section("classifier", "The classifier", [Table(rows, caption="Task, recipe and model, as saved")])


def _leaderboard(metrics: dict, kind: str) -> Section:
    board = metrics.get("leaderboard")
    if not board:
        return Section("leaderboard", "Leaderboard", [Note("this classifier was saved without its leaderboard "
                                                           "(an older forecastlab); train it again to see one",
                                                           "warning")])
    keys = SCORES.get(kind, ("accuracy", "macro_f1"))
    rows = []
    for r in board:
        row = {"method": r.get("name"), "kind": r.get("kind")}
        for split in ("val", "test"):
            scores = r.get(split) or {}
            for k in keys:
                if split in r:
                    row[f"{split} {k}"] = _number(scores.get(k))
        rows.append(row)
    highlight = tuple(i for i, r in enumerate(board) if r.get("kind") == "model")
    return Section("leaderboard", "Leaderboard: the model beside its baselines", [
        Paragraph("Every method is scored on the same windows. The model's recipe and, for events, its flag "
                  "threshold were chosen on validation; test is reported."),
        Table(rows, highlight=highlight, caption="Scores by split")])


def _confusion(metrics: dict, classes: list[str]) -> Section:
    model = next((r for r in (metrics.get("leaderboard") or []) if r.get("kind") == "model"), None)
    confusion = None
    if model is not None:
        confusion = ((model.get("test") or {}).get("confusion")
                     or ((model.get("test") or {}).get("window_scores") or {}).get("confusion"))
    if not confusion:
        return Section("confusion", "Confusion matrix", [Note("no confusion matrix was saved", "warning")])
    rows = [{"true \\ predicted": c, **{p: int(v) for p, v in zip(classes, counts, strict=False)}}
            for c, counts in zip(classes, confusion, strict=False)]
    return Section("confusion", "Test confusion matrix", [Table(rows, caption=f"{model.get('name')}, test split "
                                                                  "(rows: true class; columns: predicted)")])


def _curves(metrics: dict) -> Section:
    history = metrics.get("history") or []
    if not history:
        return Section("curves", "Training curves", [Note("no training history was saved", "warning")])
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    epochs = [h.get("epoch") for h in history]
    fig = Figure(figsize=(7, 3.2))
    ax = fig.add_subplot(1, 2, 1)
    ax.plot(epochs, [h.get("loss") for h in history], label="training loss")
    ax.set_xlabel("epoch")
    ax.set_title("cross-entropy")
    ax.legend()
    ax = fig.add_subplot(1, 2, 2)
    ax.plot(epochs, [h.get("accuracy") for h in history], label="training accuracy")
    if any("val_macro_f1" in h for h in history):
        ax.plot(epochs, [h.get("val_macro_f1") for h in history], label="validation macro F1")
    ax.set_xlabel("epoch")
    ax.legend()
    fig.tight_layout()
    return Section("curves", "Training curves",
                   [Image(fig, "training loss, accuracy and validation macro F1 by epoch")])


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def classifier_meta(path: Path) -> dict:
    from forecastlab.models.contract import read_json_object
    from forecastlab.tasks.classification import META

    return read_json_object(path / META)
