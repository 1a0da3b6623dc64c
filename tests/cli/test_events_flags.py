"""`forecastlab events`: its options are in the CLI's one table of flags (cli.options.FLAGS), so every refusal of
the events task names --tolerance-hours, --lookback-hours and --max-steps, with no table of its own."""

from __future__ import annotations

import pytest
import typer

from forecastlab.cli import _register, app
from forecastlab.cli import events as events_cli
from forecastlab.cli.options import FLAGS
from forecastlab.errors import ForecastlabError, cli_spelling
from run_helpers import clean_error, cli


def _commands():
    _register()

    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    yield from walk(typer.main.get_command(app), "forecastlab")


def test_the_events_options_are_in_the_shared_table_and_mean_the_same_flag_in_every_command():
    assert {k: FLAGS.get(k) for k in ("tolerance_hours", "lookback_hours", "max_steps")} == {
        "tolerance_hours": "--tolerance-hours", "lookback_hours": "--lookback-hours", "max_steps": "--max-steps"}
    assert not hasattr(events_cli, "EVENT_FLAGS") and not hasattr(events_cli, "_spelled")  # one table, not two
    # A library name in FLAGS is printed as that flag by every command: so each command option of that name must
    # be that flag (classify's and events' max_steps are --max-steps; train, backtest and sweep name theirs
    # max_steps_per_epoch, --max-steps-per-epoch, and have no max_steps that a message could mean).
    seen = set()
    for path, command in _commands():
        for param in getattr(command, "params", []):
            if param.name in FLAGS and param.opts:
                assert FLAGS[param.name] in param.opts + param.secondary_opts, (path, param.name, param.opts)
                seen.add((path.split()[-1], param.name))
    assert {("events", "tolerance_hours"), ("events", "lookback_hours"), ("events", "max_steps"),
            ("classify", "max_steps"), ("anomalies", "tolerance_hours"), ("train", "max_steps_per_epoch")} <= seen
    assert cli_spelling("pass max_steps=300, max_steps_per_epoch=2 or tolerance_hours=", FLAGS) == \
        "pass --max-steps 300, --max-steps-per-epoch 2 or --tolerance-hours"


@pytest.mark.parametrize("options, needles", [
    ({"tolerance_hours": 99}, ["--tolerance-hours must be a whole number of hours from 0 to 24, got 99",
                               "Where: --tolerance-hours.", "Fix: pass --tolerance-hours 3 (the default)"]),
    ({"lookback_hours": 1}, ["--lookback-hours must be a whole number of hours from 2 to 720, got 1",
                             "Where: --lookback-hours.", "Fix: pass --lookback-hours 24 (the default)"]),
])
def test_the_library_refusals_print_with_the_events_flags(options, needles):
    from forecastlab.tasks.events import check_event_options

    with pytest.raises(ForecastlabError) as err:
        check_event_options(**options)
    said = err.value.paragraph(FLAGS)
    assert all(needle in said for needle in needles), said
    assert "_hours" not in said, said


@pytest.fixture(scope="module")
def sixty_days(tmp_path_factory):
    from forecastlab.data.synthetic import write_csv

    return write_csv(tmp_path_factory.mktemp("events") / "sixty-days.csv", seed=4, end="02.03.2009 00:00:00")


@pytest.mark.parametrize("how", ["flags", "task file", "train recipe"])
def test_the_printed_refusals_name_the_events_flags(tmp_path, sixty_days, how):
    # Printed by the real CLI (one paragraph, exit 2), as `forecastlab events` printed them with its own table.
    if how == "flags":
        args = ["events", "--data", sixty_days, "--lookback-hours", "200"]
    elif how == "task file":
        (tmp_path / "fronts.toml").write_text(f'data = "{sixty_days}"\nlookback_hours = 200\n')
        args = ["events", "--config", tmp_path / "fronts.toml"]
    else:
        (tmp_path / "fronts.toml").write_text(f'[task]\nkind = "events"\n[data]\ndata = "{sixty_days}"\n'
                                              '[window]\nlookback_hours = 200\n')
        args = ["train", "--config", tmp_path / "fronts.toml"]
    text = clean_error(cli(*args, cwd=tmp_path),
                       "error: --lookback-hours 200 is longer than this record allows",
                       "split 720/360/361 hold windows of at most 180",
                       "Fix: pass --lookback-hours 180 or less (the default is 24), or use a longer record.")
    assert "lookback_hours" not in text and "--sequence-length" not in text
    if how == "flags":
        tolerance = clean_error(cli("events", "--data", sixty_days, "--tolerance-hours", "25", cwd=tmp_path),
                                "error: --tolerance-hours must be a whole number of hours from 0 to 24, got 25",
                                "Where: --tolerance-hours.", "Fix: pass --tolerance-hours 3 (the default)")
        assert "tolerance_hours" not in tolerance
