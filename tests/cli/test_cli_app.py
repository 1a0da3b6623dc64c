"""The command line as a whole: version, the model listing, choices, and help that reads at 80 columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from forecastlab import __version__
from forecastlab.models import MODELS


def run(*args, columns: int = 200):
    env = dict(os.environ, COLUMNS=str(columns), TERM="dumb")
    return subprocess.run([sys.executable, "-m", "forecastlab", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_version():
    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"forecastlab {__version__}"


def test_models_lists_the_registry_with_parameters_defaults_and_ranges():
    done = run("models", "--json")
    assert done.returncode == 0, done.stderr
    listed = {m["name"]: m for m in json.loads(done.stdout)["models"]}
    assert list(listed) == list(MODELS)
    assert listed["lstm"]["parameters"]["units"] == {"default": 16, "valid": "an integer from 1 to 65,536"}
    text = run("models").stdout
    assert "--param units=16" in text and "gru_stacked" in text


def test_train_help_groups_its_options_and_fits_80_columns():
    done = run("train", "--help", columns=80)
    assert done.returncode == 0, done.stderr
    for panel in ("Model", "Training", "Output", "Data", "Window"):
        assert f"─ {panel} " in done.stdout, panel
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    for flag in ("--lookback", "--horizons", "--loss", "--interval-level", "--sequence-length"):
        assert flag in done.stdout


@pytest.mark.parametrize(("args", "needle"), [
    (["train", "dense", "--optimizer", "nadam"], "'rmsprop', 'adam', 'adamw', 'sgd'"),
    (["train", "dense", "--target-transform", "log"], "'none', 'standardize'"),
    (["reproduce", "--profile", "fast"], "'smoke', 'quick', 'book'"),
])
def test_choices_are_checked_and_listed(args, needle):
    done = run(*args)
    assert done.returncode == 2 and needle in " ".join(done.stderr.split()) and "Traceback" not in done.stderr


def test_no_help_text_holds_a_bracketed_word_that_rich_would_swallow():
    """Rich reads [word] in a help text as markup and drops it ("[params] for the model" printed as " for
    the model"); a literal bracket must be written \\[word]."""
    import inspect
    import re
    import typing

    from forecastlab.cli import app

    swallowed = re.compile(r"(?<!\\)\[[a-z_.]+\]")
    groups = [app] + [g.typer_instance for g in app.registered_groups]
    found = []
    for group in groups:
        for command in group.registered_commands:
            texts = [command.help or "", inspect.getdoc(command.callback) or ""]
            for hint in typing.get_type_hints(command.callback, include_extras=True).values():
                texts += [getattr(m, "help", None) or "" for m in getattr(hint, "__metadata__", ())]
            found += [f"{command.name or command.callback.__name__}: {m}" for t in texts for m in swallowed.findall(t)]
    assert found == []
