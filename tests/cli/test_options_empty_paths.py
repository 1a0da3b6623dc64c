"""An empty path option (`--out ""`, an unset shell variable) is refused with the flag named (options.path_parser),
never taken as Path(""), the current folder: every command's path options that read or write, and a task file's
path keys. In-process (typer's CliRunner) in an empty folder, which must stay empty."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from forecastlab.cli import app
from forecastlab.errors import ForecastlabError

# (the command line before the flag, the flag): each with "" after it.
CASES = [
    (["anomalies", "--data", "synthetic"], "--out"),
    (["anomalies", "--data", "synthetic"], "--plot"),
    (["anomalies", "--data", "synthetic"], "--report"),
    (["anomalies", "--data", "synthetic"], "--run"),
    (["anomalies"], "--config"),
    (["classify", "--data", "synthetic"], "--out"),
    (["classify"], "--run"),
    (["classify", "--data", "ucr:GunPoint"], "--predictions"),
    (["classify", "--data", "ucr:GunPoint"], "--ucr-wheel"),
    (["classify"], "--config"),
    (["events"], "--out"),
    (["events"], "--run"),
    (["events"], "--events"),
    (["events"], "--config"),
    (["ensemble", "a", "b"], "--out"),
    (["reproduce", "--profile", "smoke"], "--out"),
    (["bench", "synthetic"], "--out"),
    (["train"], "--resume"),
    (["train", "dense"], "--config"),
    (["predict", "run"], "--input"),
    (["predict", "run"], "--plot"),
    (["baseline", "--data", "jena"], "--data-dir"),
]


@pytest.mark.parametrize(("before", "flag"), CASES, ids=[f"{c[0][0]} {f}" for c, f in CASES])
def test_an_empty_path_option_is_refused_by_its_flag_and_nothing_is_written(tmp_path, monkeypatch, before, flag):
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, [*before, flag, ""])
    assert isinstance(done.exception, ForecastlabError), (done.exit_code, done.output)
    assert done.exception.what == f"{flag} is empty (an empty path would mean the current folder)"
    assert done.exception.where == flag and done.exception.fix.startswith(f"give {flag} a path, e.g. {flag} ")
    assert list(tmp_path.iterdir()) == []


def test_a_blank_path_is_refused_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["events", "--out", "  "])
    assert isinstance(done.exception, ForecastlabError) and "--out is empty" in done.exception.what
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["classify", "events", "anomalies"])
def test_an_empty_path_in_a_task_file_is_refused_by_its_key(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "task.toml").write_text('out = ""\n')
    done = CliRunner().invoke(app, [command, "--config", "task.toml"])
    assert isinstance(done.exception, ForecastlabError), (done.exit_code, done.output)
    assert done.exception.what == "out is empty (an empty path would mean the current folder)"
    assert done.exception.where == "task.toml, key out"
    assert [p.name for p in tmp_path.iterdir()] == ["task.toml"]


def test_path_parser_is_shared_from_the_options_module():
    """One definition, in cli/options.py; train (and the rest) use that one."""
    from forecastlab.cli import options, train

    assert train.path_parser is options.path_parser and train.PATH_METAVAR is options.PATH_METAVAR
