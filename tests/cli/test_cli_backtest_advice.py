"""`forecastlab backtest RUN_DIR` on data too short for the run's window: the advice asks for rows only, since a run
brings its window and the command refuses window flags with it; a model name is still told the flags it was given."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from forecastlab.cli import app
from forecastlab.cli.options import FLAGS
from forecastlab.errors import ForecastlabError
from jena_files import jena_like_csv

# 4 hours of 10-minute rows, one row ahead: WindowSpec(24, 1, 1), which needs 189 rows (188 leave the test split
# one row short).
WINDOW = ["--lookback", "4h", "--sample-every", "10min", "--horizons", "10min"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bt-short")
    return {n: jena_like_csv(folder / f"rows-{n}.csv", rows=n, slots=n) for n in (188, 189, 600)}


@pytest.fixture(scope="module")
def run_dir(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("bt-advice") / "run"
    done = CliRunner().invoke(app, ["train", "linear", "--data", str(files[600]), *WINDOW, "--epochs", "1",
                                    "--max-steps-per-epoch", "2", "--out", str(out), "--no-progress"])
    assert done.exit_code == 0, done.output
    return out


def _said(args: list[str]) -> str:
    done = CliRunner().invoke(app, args)
    assert isinstance(done.exception, ForecastlabError), done.output
    return done.exception.paragraph(FLAGS)


def test_a_run_too_long_for_the_data_is_told_rows_only_and_that_count_works(files, run_dir):
    # Before: "Fix: use at least 189 rows, or lower --lookback or --horizons", flags backtest refuses with a run.
    said = _said(["backtest", str(run_dir), "--data", str(files[188]), "--no-progress"])
    assert "188 rows, too few for one window per split" in said, said
    assert said.endswith("Fix: use at least 189 rows (the run's window needs them)."), said
    assert "--lookback" not in said and "--horizons" not in said and "lower" not in said
    # The flags it would have named are refused with a run, and the count it names is enough.
    assert "cannot be given with a run directory" in _said(
        ["backtest", str(run_dir), "--data", str(files[188]), "--lookback", "2h"])
    done = CliRunner().invoke(app, ["backtest", str(run_dir), "--data", str(files[189]), "--json", "--no-progress"])
    assert done.exit_code == 0, done.output
    assert len(json.loads(done.stdout)["folds"]) == 5


def test_the_python_backtest_of_a_run_advises_rows_only(files, run_dir):
    from forecastlab.data import load_series
    from forecastlab.training import load_run
    from forecastlab.training.backtest import backtest
    from forecastlab.windows.spec import TooFewRowsError

    with pytest.raises(TooFewRowsError) as err:
        backtest(load_run(run_dir), load_series(str(files[188])))
    assert err.value.rows_needed == 189 and err.value.fix == "use at least 189 rows (the run's window needs them)"


def test_a_model_name_is_still_told_the_window_flags_it_was_given(files):
    said = _said(["backtest", "persistence", "--data", str(files[188]), *WINDOW, "--no-progress"])
    assert said.endswith("Fix: use at least 189 rows, or lower --lookback or --horizons."), said
