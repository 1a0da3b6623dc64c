"""What the CLI prints is what happened: user text is never read as markup, warnings are one line,
and a request that does not fit the run (another target, a bad schedule) is refused, not obeyed."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.metrics import evaluate
from forecastlab.training.optim import make_optimizer
from forecastlab.training.schedules import make_scheduler, parse_schedule
from run_helpers import TINY, clean_error, cli, write_jena_csv


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("messages")
    csv = write_jena_csv(base / "mini.csv")
    done = cli("train", "dense", "--data", csv, *TINY, "--epochs", "1", "--out", base / "run", cwd=base)
    assert done.returncode == 0, done.stderr
    return base / "run", csv


def test_square_brackets_in_user_text_are_printed_verbatim(trained, tmp_path):
    odd = tmp_path / "[red]data"
    odd.mkdir()
    csv = shutil.copy(trained[1], odd / "[bold]x.csv")
    clean_error(cli("baseline", "--data", csv, "--target", "[/]", cwd=tmp_path), "'[/]' is not in the file",
                "[red]data/[bold]x.csv")
    frame = pd.DataFrame({"time": pd.date_range("2024-01-01", periods=4, freq="h").astype(str),
                          "p[/]": ["1", "2", "x", "4"], "[b]T": [1.0, 2.0, 3.0, 4.0]})
    frame.to_csv(tmp_path / "cols.csv", index=False)
    clean_error(cli("data", "inspect", tmp_path / "cols.csv", "--features", "p[/],[b]T", "--target", "[b]T",
                    "--no-plots", cwd=tmp_path), "'x' is not a number", "column 'p[/]'")


def test_a_python_warning_is_one_line_without_a_source_path(tmp_path):
    stamps = pd.date_range("2024-01-01", periods=4000, freq="h").astype(str)
    t = np.arange(4000)
    pd.DataFrame({"time": stamps, "flat": 1.0, "T": np.sin(t / 24) * 5 + 10}).to_csv(tmp_path / "c.csv", index=False)
    done = cli("baseline", "--data", tmp_path / "c.csv", "--target", "T", "--sampling-rate", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "constant" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: column(s) 'flat' are constant"), done.stderr
    assert "UserWarning" not in done.stderr and ".py:" not in done.stderr


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_a_target_other_than_the_runs_is_refused(trained, tmp_path, command):
    run, csv = trained
    clean_error(cli(command, run, "--data", csv, "--target", "p (mbar)", cwd=tmp_path),
                "the run forecasts 'T (degC)', but the data's target is 'p (mbar)'")
    same = cli(command, run, "--data", csv, "--target", "T (degC)", "--json", cwd=tmp_path)
    assert same.returncode == 0, same.stderr


@pytest.mark.parametrize(("spec", "message"), [
    ("exponential:gamma=-1", "gamma must be a number in (0, 1]"),
    ("exponential:gamma=0", "gamma must be a number in (0, 1]"),
    ("exponential:gamma=1.5", "gamma must be a number in (0, 1]"),
    ("exponential:gamma=nan", "gamma must be"),
    ("plateau:factor=5", "factor must be a number in (0, 1)"),
    ("plateau:factor=1", "factor must be a number in (0, 1)"),
    ("plateau:patience=-1", "patience must be an integer >= 0"),
    ("plateau:patience=2.5", "patience must be an integer >= 0"),
    ("plateau:min_lr=-1", "min_lr must be a number >= 0"),
    ("cosine:min_lr=inf", "min_lr must be a number >= 0"),
    ("cosine:warp=3", "bad schedule option"),
])
def test_schedule_options_are_checked_against_their_ranges(spec, message):
    with pytest.raises(ForecastlabError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_schedule(spec)


def test_valid_schedules_never_make_the_learning_rate_negative_or_grow_it():
    for spec in ("exponential:gamma=1", "exponential", "plateau:factor=0.1,patience=0", "cosine:min_lr=1e-5"):
        opt = make_optimizer("rmsprop", [torch.nn.Parameter(torch.zeros(1))], 1e-3)
        sched = make_scheduler(spec, opt, epochs=5)
        rates = []
        for _ in range(5):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step(1.0) if spec.startswith("plateau") else sched.step()
        assert all(0 <= r <= 1e-3 for r in rates), (spec, rates)
    opt = make_optimizer("rmsprop", [torch.nn.Parameter(torch.zeros(1))], 1e-3)
    with pytest.raises(ForecastlabError, match="above the learning rate"):
        make_scheduler("cosine:min_lr=0.1", opt, epochs=5)


@pytest.mark.parametrize("lr", [math.nan, math.inf, -1.0, 0.0])
def test_a_learning_rate_that_is_not_positive_and_finite_is_refused(lr):
    with pytest.raises(ForecastlabError, match="learning rate must be positive and finite"):
        make_optimizer("adam", [torch.nn.Parameter(torch.zeros(1))], lr)


def test_cli_refuses_a_bad_schedule_and_lr_before_making_a_run(trained, tmp_path):
    csv = trained[1]
    for extra, message in ((["--lr-schedule", "plateau:factor=5"], "factor must be"), (["--lr", "nan"], "finite")):
        done = cli("train", "dense", "--data", csv, *TINY, "--epochs", "1", "--out", tmp_path / "r", *extra,
                   cwd=tmp_path)
        clean_error(done, message)
        assert not (tmp_path / "r").exists()


def test_a_non_finite_target_or_prediction_is_an_error_not_mae_nan():
    class Windows:
        def __iter__(self):
            yield torch.zeros(4, 3, 2), torch.tensor([1.0, math.inf, 2.0, 3.0])

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 1))
    with pytest.raises(ForecastlabError, match="1 of 4 forecasts of the test split have a NaN or infinite"):
        evaluate(model, Windows(), split="test")
    assert math.isinf(evaluate(model, Windows(), check_finite=False)["mae"])


# -- Python errors name the argument, CLI errors name the flag --------------------------------------------


def test_python_errors_name_the_argument_and_never_a_flag(trained):
    from forecastlab.data import load_series
    from forecastlab.training import load_run, train
    from forecastlab.training.forecast import forecast_table
    from forecastlab.windows import WindowSpec

    run, csv = trained
    series = load_series(csv)
    datasets = WindowSpec(24, 6, 6).make_datasets(series.values, series.targets, batch_size=64)
    cases = [
        (lambda: train("dense", datasets, epochs=0), "epochs", "epochs must be an integer of at least 1, got 0",
         "pass epochs=1 or more"),
        (lambda: train("dense", datasets, epochs=1, early_stopping=0), "early_stopping",
         "early_stopping must be", "pass early_stopping=1 or more"),
        (lambda: train("dense", datasets, epochs=1, optimizer="adagrad"), "optimizer", "unknown optimizer", ""),
        (lambda: forecast_table(load_run(run), series, last=0), "last", "last must be 1 or more", "pass last=1"),
        (lambda: load_series(csv, freq="0min"), "freq", "freq='0min' is not a positive time step", ""),
    ]
    for call, arg, what, fix in cases:
        with pytest.raises(ForecastlabError) as err:
            call()
        assert err.value.arg == arg and err.value.where == arg, (arg, err.value.where)
        assert what in err.value.what and fix in (err.value.fix or ""), str(err.value)
        assert "--" not in str(err.value), str(err.value)


def test_the_same_errors_through_the_cli_name_the_flags(trained, tmp_path):
    run, csv = trained
    clean_error(cli("train", "dense", "--data", csv, *TINY, "--epochs", "1", "--early-stopping", "0",
                    "--out", tmp_path / "r", cwd=tmp_path),
                "--early-stopping must be an integer of at least 1, got 0. Where: --early-stopping. "
                "Fix: pass --early-stopping 1 or more.")
    text = clean_error(cli("predict", run, "--data", csv, "--last", "0", cwd=tmp_path),
                       "--last must be 1 or more, got 0. Where: --last. Fix: pass --last 1.")
    assert "last=" not in text
    text = clean_error(cli("data", "inspect", csv, "--freq", "0min", "--no-plots", cwd=tmp_path),
                       "--freq 0min is not a positive time step", "Where: --freq.")
    assert "freq=" not in text


def test_every_flag_the_cli_maps_to_exists():
    import typer

    from forecastlab.cli import _register, app
    from forecastlab.cli.options import FLAGS

    _register()
    flags: set[str] = set()

    def collect(command) -> None:
        for param in getattr(command, "params", []):
            flags.update(param.opts + param.secondary_opts)
        for sub in getattr(command, "commands", {}).values():
            collect(sub)

    collect(typer.main.get_command(app))
    assert {flag.split()[0] for flag in FLAGS.values()} - flags == set()


def test_cli_spelling_rewrites_only_argument_spellings():
    from forecastlab.cli.options import FLAGS
    from forecastlab.errors import cli_spelling

    assert cli_spelling("pass epochs=1 or more, or a lower lr= (clean=False keeps -9999)", FLAGS) == \
        "pass --epochs 1 or more, or a lower --lr (--no-clean keeps -9999)"
    assert cli_spelling("gaps='drop' and `data='jena'`; pass target='T (degC)'", FLAGS) == \
        "--gaps drop and `--data jena`; pass --target 'T (degC)'"
    kept = "see https://host/f?data=1, cosine:min_lr=0, units=64 and --param KEY=VALUE"
    assert cli_spelling(kept, FLAGS) == kept


def test_warnings_print_as_one_line_with_flags_and_synthetic_data_as_a_banner(capsys):
    from forecastlab.cli import _show_warning
    from forecastlab.errors import DataQualityWarning, GapWindowsWarning, SyntheticDataWarning

    _show_warning(DataQualityWarning("holes kept (gaps='drop')"), DataQualityWarning, "x.py", 1)
    _show_warning(GapWindowsWarning("3 windows kept; pass drop_gap_windows=True"), GapWindowsWarning, "x.py", 1)
    _show_warning(SyntheticDataWarning("SYNTHETIC DATA: made up"), SyntheticDataWarning, "x.py", 1)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == "warning: holes kept (--gaps drop)"
    assert lines[1] == "gaps: 3 windows kept; pass --drop-gap-windows"
    assert "SYNTHETIC DATA" in lines[2] and "╭" in lines[2] and "SYNTHETIC DATA: made up" in err


def test_synthetic_data_shows_the_banner_in_the_cli(tmp_path):
    done = cli("data", "inspect", "synthetic", "--no-plots", "--json", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "SYNTHETIC DATA" in done.stderr and "╭" in done.stderr and "SyntheticDataWarning" not in done.stderr


def test_a_download_label_with_brackets_is_drawn_as_text():
    from rich.console import Console

    from forecastlab.data.download import RichProgress

    terminal = Console(force_terminal=True, width=100, record=True)  # a terminal: the bar draws
    bar = RichProgress("downloading a[/]b[red].zip", console=terminal)
    bar.total = 10
    bar.update(5)  # rich would raise MarkupError on "[/]" if it parsed the label
    bar.close()
    assert "a[/]b[red].zip" in terminal.export_text()


@pytest.mark.parametrize("args", [
    ["train", "dense", "--seed", "-1"], ["backtest", "dense", "--seed", "-2"], ["reproduce", "--seed", "-1"],
    ["sweep", "dense", "--seed", "-1"], ["train", "dense", "--batch-size", "0"], ["baseline", "--batch-size", "-5"],
], ids=["train-seed", "backtest-seed", "reproduce-seed", "sweep-seed", "train-batch", "baseline-batch"])
def test_a_negative_seed_or_an_empty_batch_is_refused_at_the_flag_before_any_data(tmp_path, args):
    """Before, a seed of -1 was refused only when the train windows were cut, naming the data file's rows and
    advising --batch-size; now the flag is refused at once (exit 2), before the data is read."""
    done = cli(*args, "--data", "synthetic", cwd=tmp_path)
    flag = args[-2]
    assert done.returncode == 2 and f"Invalid value for '{flag}'" in done.stderr, done.stderr[-800:]
    assert "SYNTHETIC" not in done.stderr and "Traceback" not in done.stderr and not list(tmp_path.iterdir())


@pytest.mark.parametrize("flag", ["--target", "--data", "--features", "--feature-set", "--time-col", "--horizons"])
def test_an_empty_data_or_window_option_is_refused_not_read_as_the_default(tmp_path, flag):
    """--target '' used to mean the default target, and --data '' the current folder."""
    done = cli("baseline", f"{flag}=", cwd=tmp_path)
    clean_error(done, f"{flag} is empty", f"Where: {flag}")
