"""forecastlab.tasks.declared: every task's declaration names code that exists, metrics its scoring
functions really return, commands the CLI registers and endpoints the services serve; `forecastlab tasks`."""

from __future__ import annotations

import importlib
import inspect
import json
import re

import numpy as np
from typer.testing import CliRunner

from forecastlab.cli import app
from forecastlab.tasks.declared import TASKS
from forecastlab.training.recipe import TASK_COMMANDS
from run_helpers import strict_json, write_jena_csv


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise AssertionError(f"{dotted} names nothing")


def test_every_name_in_the_table_is_real_code():
    assert set(TASKS) == set(TASK_COMMANDS)  # one declaration per recipe kind
    for task in TASKS.values():
        text = " ".join([task.targets, task.head, task.loss, task.train, task.saved])
        names = re.findall(r"forecastlab(?:\.\w+)+", text)
        assert names, task.kind
        for dotted in names:
            assert _resolve(dotted) is not None, (task.kind, dotted)
        # the short names after a comma in `train` belong to the module named before them
        for module, rest in re.findall(r"(forecastlab(?:\.\w+)+)\.\w+((?:, \w+)+)", task.train):
            for name in rest.strip(", ").split(", "):
                assert hasattr(importlib.import_module(module), name), (task.kind, module, name)


def test_the_commands_and_endpoints_exist():
    commands = {c.name for c in app.registered_commands}
    from forecastlab.deploy import classify_service, service

    sources = inspect.getsource(service) + inspect.getsource(classify_service)
    for task in TASKS.values():
        assert task.command.split()[1] in commands, task.command
        for endpoint in re.findall(r"POST (/[\w/]+)", task.serve):
            assert f'@app.post("{endpoint}"' in sources, (task.kind, endpoint)


def test_the_declared_metrics_are_what_the_scoring_functions_return(tmp_path):
    from forecastlab.evaluation.anomaly import event_metrics
    from forecastlab.evaluation.classification import classification_scores
    from forecastlab.tasks.events import score_flags
    from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
    from forecastlab.training.runner import run_recipe

    y = np.array([0, 1, 1, 0])
    scores = {
        "classify": classification_scores(y, np.eye(2)[y] * 0.8 + 0.1, classes=["a", "b"]),
        "events": score_flags(np.array([0, 1, 1, 0, 0, 0], dtype=bool), [(2, 3)], tolerance=1, warn_hours=1),
        "anomalies": event_metrics([(2, 3)], [(2, 2)], n=10),
    }
    data = write_jena_csv(tmp_path / "mini.csv")
    run = run_recipe(Recipe(ModelRecipe("dense", {"units": 4}), DataRecipe(str(data)),
                            WindowRecipe(sequence_length=24, sampling_rate=6, horizon=1, batch_size=64),
                            TrainingRecipe(epochs=1, max_steps_per_epoch=2)), tmp_path / "run", progress=False)
    scores["forecast"] = run.test
    for kind, got in scores.items():
        assert set(TASKS[kind].metrics) <= set(got), (kind, sorted(got))


def test_forecastlab_tasks_prints_the_table():
    done = CliRunner().invoke(app, ["tasks", "--json"])
    assert done.exit_code == 0, done.output
    listed = strict_json(done.stdout)["tasks"]
    assert [t["kind"] for t in listed] == list(TASKS) and json.dumps(listed)
    text = CliRunner().invoke(app, ["tasks"]).output
    assert "events  (forecastlab events)" in text and "targets    forecastlab.tasks.events.front_labels" in text
