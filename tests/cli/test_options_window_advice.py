"""cli.options: a series too short for the window is refused with advice in the flags the window was set with."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from forecastlab.cli import app
from forecastlab.cli.options import FLAGS
from forecastlab.errors import ForecastlabError
from jena_files import jena_like_csv
from run_helpers import clean_error, cli

# 4 hours of 10-minute rows, one row ahead: WindowSpec(24, 1, 1), which needs 189 rows (188 split 94/47/47 leave
# the test split one row short; 187 split 93/46/48 fit, by the split's rounding, and are accepted).
DURATIONS = ["--lookback", "4h", "--sample-every", "10min", "--horizons", "10min"]


@pytest.fixture(scope="module")
def short_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("short")
    return {n: jena_like_csv(folder / f"rows-{n}.csv", rows=n, slots=n) for n in (183, 187, 188, 189, 600)}


def _refusal(args: list[str]) -> ForecastlabError:
    """The ForecastlabError (windows.spec.TooFewRowsError) a command ends in; the CLI prints paragraph(FLAGS)."""
    done = CliRunner().invoke(app, args)
    assert isinstance(done.exception, ForecastlabError), done.output
    return done.exception


@pytest.mark.parametrize("window, knobs", [
    (DURATIONS, "lower --lookback or --horizons"),  # a duration spans the same rows at any sampling
    (["--sequence-length", "24", "--sampling-rate", "1", "--horizon", "1"],
     "lower --sequence-length, --sampling-rate or --horizon"),
    (["--sequence-length", "24", "--sample-every", "10min", "--horizons", "10min"],
     "lower --sequence-length, --sample-every or --horizons"),
    (["--lookback", "4h", "--sample-every", "10min", "--horizon", "1"], "lower --lookback or --horizon"),
])
@pytest.mark.parametrize("rows", [183, 188])
def test_too_few_rows_names_the_window_flags_given_and_a_count_that_works(short_files, window, knobs, rows):
    # Before: "use at least 182 rows" for 183 (fewer than it has), 187 accepted but 188 refused with "use at
    # least 187", and always "lower --sequence-length, --sampling-rate or --horizon", flags never typed here.
    err = _refusal(["baseline", "--data", str(short_files[rows]), *window])
    said = err.paragraph(FLAGS)
    assert said.endswith(f"Fix: use at least 189 rows, or {knobs}."), said
    assert getattr(err, "rows_needed", None) == 189


def test_the_counts_advised_work(short_files):
    for n in (187, 189, 600):  # 187: below the advice, but its split (93/46/48) holds a window in each
        done = CliRunner().invoke(app, ["baseline", "--data", str(short_files[n]), *DURATIONS, "--json"])
        assert done.exit_code == 0, done.output
        windows = json.loads(done.stdout)["windows"]
        assert windows["test"] == {187: 1, 189: 1, 600: 600 - 450 - 48 + 1}[n] and windows["val"] >= 1, windows


def test_the_default_window_is_advised_in_durations(short_files):
    said = _refusal(["baseline", "--data", str(short_files[600])]).paragraph(FLAGS)  # 5d of 1h, 24h ahead
    assert "Fix: use at least 6289 rows, or lower --lookback or --horizons." in said, said


def test_a_recipe_window_in_steps_is_advised_in_steps(short_files, tmp_path):
    recipe = tmp_path / "steps.toml"
    recipe.write_text('[model]\nname = "dense"\n[window]\nsequence_length = 24\nsampling_rate = 1\nhorizon = 1\n')
    said = _refusal(["train", "--config", str(recipe), "--data", str(short_files[188]), "--no-progress"]
                    ).paragraph(FLAGS)
    assert "Fix: use at least 189 rows, or lower --sequence-length, --sampling-rate or --horizon." in said, said


def test_the_printed_error_names_lookback(short_files, tmp_path):
    done = cli("baseline", "--data", short_files[188], *DURATIONS, cwd=tmp_path)
    clean_error(done, "the series has 188 rows, too few for one window per split (test has 47 rows and needs 48)",
                "Fix: use at least 189 rows, or lower --lookback or --horizons.")
    assert "--sequence-length" not in done.stderr and "sequence_length=" not in done.stderr.split("Fix:")[1]
