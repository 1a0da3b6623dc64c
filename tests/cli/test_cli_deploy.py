"""`forecastlab export` and `forecastlab predict ARTIFACT --input` end to end through the real CLI: the JSON,
the CSV and the fan chart they write, and clean errors (exit 2, no traceback) for what they refuse."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from run_helpers import TINY, clean_error, cli, strict_json, write_jena_csv


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-deploy")
    csv = write_jena_csv(root / "mini.csv", days=20)
    done = cli("train", "lstm", "--data", csv, *TINY, "--epochs", "1", "--out", root / "run", cwd=root)
    assert done.returncode == 0, done.stderr
    pd.read_csv(csv).tail(150).to_csv(root / "recent.csv", index=False)
    return root


def test_export_json_then_predict_on_fresh_data(made):
    done = cli("export", made / "run", "--out", made / "art", "--json", cwd=made)
    assert done.returncode == 0, done.stderr
    out = strict_json(done.stdout)
    assert out["kind"] == "torch" and set(out["files"]) == {"artifact.json", "weights.safetensors"}
    assert out["summary"]["rows_needed"] == 139 and out["onnx"] is None
    done = cli("predict", made / "art", "--input", made / "recent.csv", "--json", "--out", made / "f.csv",
               "--plot", made / "fan.png", cwd=made)
    assert done.returncode == 0, done.stderr
    got = strict_json(done.stdout)
    assert got["origin"] == "2009-01-21T00:00:00" and got["forecasts"][0]["target_time"] == "2009-01-21T06:00:00"
    table = pd.read_csv(made / "f.csv")
    assert list(table.columns) == ["origin", "horizon", "ahead", "target_time", "value", "unit", "lower", "upper"]
    assert table["value"].iloc[0] == pytest.approx(got["forecasts"][0]["value"], abs=1e-9)
    assert (made / "fan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = cli("predict", made / "art", "--input", made / "recent.csv", cwd=made)
    assert text.returncode == 0 and "forecast origin" in text.stdout and "80% lower" in text.stdout
    again = cli("predict", made / "art", "--input", made / "recent.csv", "--out", made / "f.csv", cwd=made)
    clean_error(again, "already exists", "--overwrite")


def test_export_and_predict_refusals_are_clean(made):
    if not (made / "art").exists():
        assert cli("export", made / "run", "--out", made / "art", cwd=made).returncode == 0
    clean_error(cli("export", made / "run", "--out", made / "art", cwd=made), "already exists", "--overwrite")
    clean_error(cli("export", made / "nope", "--out", made / "art2", cwd=made), "does not exist")
    clean_error(cli("predict", made / "art", cwd=made), "no data of its own", "--input")
    clean_error(cli("predict", made / "art", "--input", made / "recent.csv", "--data", "synthetic", cwd=made),
                "cannot be changed")
    pd.read_csv(made / "recent.csv").tail(100).to_csv(made / "short.csv", index=False)
    clean_error(cli("predict", made / "art", "--input", made / "short.csv", cwd=made),
                "need 139 rows at 10-minute spacing ending at the forecast origin; got 100")
    (made / "taken.png").write_bytes(b"keep me")
    clean_error(cli("predict", made / "art", "--input", made / "recent.csv", "--plot", made / "taken.png", cwd=made),
                "already exists", "choose another --plot")
    assert (made / "taken.png").read_bytes() == b"keep me"
    pd.read_csv(made / "recent.csv").drop(columns=["Date Time"]).to_csv(made / "no-time.csv", index=False)
    text = clean_error(cli("predict", made / "art", "--input", made / "no-time.csv", cwd=made),
                       "no timestamp column was found", "the training file's time column 'Date Time'")
    assert "--time-col" not in text
    clean_error(cli("export", made / "run", "--out", made / "art" / "inner", cwd=made), "inside the artifact")
    # no command writes a file into an artifact: it would no longer pass its own manifest check
    before = sorted(p.name for p in (made / "art").iterdir())
    for flag, name in (("--out", "f.csv"), ("--plot", "fan.png")):
        clean_error(cli("predict", made / "art", "--input", made / "recent.csv", flag, made / "art" / name, cwd=made),
                    f"{flag} is inside the artifact", "outside the artifact")
        clean_error(cli("predict", made / "run", flag, made / "art" / "sub" / name, cwd=made) if flag == "--plot"
                    else cli("predict", made / "run", "--out", made / "art" / name, cwd=made), "inside the artifact")
    clean_error(cli("anomalies", "--data", made / "mini.csv", "--out", made / "art" / "events.csv", cwd=made),
                "--out is inside the artifact")
    assert sorted(p.name for p in (made / "art").iterdir()) == before
    assert cli("predict", made / "art", "--input", made / "recent.csv", "--json", cwd=made).returncode == 0


def test_predict_run_dir_plot_without_input(made):
    done = cli("predict", made / "run", "--plot", made / "run-fan.png", "--json", cwd=made)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["predictions"] and (made / "run-fan.png").stat().st_size > 1000


@pytest.mark.parametrize("args, needles", [
    (["--max-body-mb", "inf"], ["--max-body-mb must be a number from 0.001 to 1024 (MB), got inf",
                                "Where: --max-body-mb", "at most 1024 MB"]),
    (["--max-body-mb", "1e300"], ["--max-body-mb must be a number from 0.001 to 1024 (MB), got 1e+300"]),
    (["--max-body-mb", "nan"], ["--max-body-mb must be a number from 0.001 to 1024 (MB), got nan"]),
    (["--log-level", "bogus"], ["--log-level 'bogus' is not one of uvicorn's log levels", "Where: --log-level",
                                "critical, error, warning, info, debug, trace"]),
    (["--log-level", ""], ["--log-level '' is not one of uvicorn's log levels"]),
])
def test_serve_refuses_an_unbounded_body_limit_or_an_unknown_log_level_before_loading(made, args, needles):
    # Before: inf was an OverflowError, 1e300 a server with no body limit, 'bogus' uvicorn's KeyError after the load.
    clean_error(cli("serve", made / "run", "--port", "0", *args, cwd=made, timeout=30), *needles)


def test_serve_options_are_checked_and_the_log_level_spelled_as_uvicorn_does():
    import uvicorn.config

    from forecastlab.cli.deploy import LOG_LEVELS, MAX_BODY_MB, check_serve_options
    from forecastlab.errors import ForecastlabError

    assert set(LOG_LEVELS) == set(uvicorn.config.LOG_LEVELS)
    assert check_serve_options(MAX_BODY_MB, "WARNING") == "warning" and check_serve_options(0.001, "trace") == "trace"
    for bad in (MAX_BODY_MB * 1.001, 0.0009, float("-inf")):
        with pytest.raises(ForecastlabError, match="--max-body-mb must be a number from 0.001 to 1024"):
            check_serve_options(bad, "info")


def test_export_refuses_an_empty_out(tmp_path):
    # Path("") is ".": export said the artifact directory (the current folder) already exists.
    text = clean_error(cli("export", tmp_path / "run", "--out", "", cwd=tmp_path), "--out is empty",
                       "give --out a path")
    assert "already exists" not in text and list(tmp_path.iterdir()) == []
