"""`forecastlab data synth | inspect | fetch` through the real CLI, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from jena_files import jena_like_csv, zip_bytes
from loopback_server import LoopbackServer, closed_port_url


def run_cli(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "forecastlab", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env=os.environ | (env or {}))


def test_synth_then_inspect_with_json(tmp_path):
    out = tmp_path / "two_days.csv"
    synth = run_cli("data", "synth", "--out", str(out), "--seed", "3", "--end", "03.01.2009 00:00:00", "--json",
                    cwd=tmp_path)
    assert synth.returncode == 0, synth.stderr
    made = json.loads(synth.stdout)
    assert made["path"] == str(out) and made["rows"] == len(out.read_text().splitlines()) - 1 > 200
    assert out.read_text().startswith('"Date Time","p (mbar)"')

    again = run_cli("data", "synth", "--out", str(out), cwd=tmp_path)
    assert again.returncode == 2 and "--overwrite" in again.stderr and "Traceback" not in again.stderr

    inspect = run_cli("data", "inspect", str(out), "--json", cwd=tmp_path)
    assert inspect.returncode == 0, inspect.stderr
    report = json.loads(inspect.stdout)
    assert report["rows"] == made["rows"] and report["target"] == "T (degC)"
    assert report["time"]["frequency"] == "10min" and report["input"]["format"]["jena_format"]
    assert [os.path.basename(p) for p in report["plots"]] == ["temperature_whole_record.png",
                                                              "temperature_first_10_days.png"]
    assert all((tmp_path / p).is_file() for p in report["plots"])  # default folder, relative to the cwd


def test_inspect_options_and_human_report(tmp_path):
    path = tmp_path / "load.csv"
    path.write_text("stamp;load (kW);temp\n" + "".join(
        f"2024-01-01 {h:02d}:{m:02d};{h + m / 60:.2f};{'' if (h, m) == (3, 30) else 5}\n"
        for h in range(6) for m in (0, 30)))
    result = run_cli("data", "inspect", "--data", str(path), "--target", "load (kW)", "--freq", "1h",
                     "--gaps", "drop", "--plots", str(tmp_path / "p"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "resampled  to 1h" in result.stdout and "*load (kW)" in result.stdout
    assert (tmp_path / "p" / "temperature_first_10_days.png").is_file()


@pytest.fixture(scope="module")
def jena_zip(tmp_path_factory):
    return zip_bytes(jena_like_csv(tmp_path_factory.mktemp("cli-jena") / "j.csv"))


def test_fetch_from_loopback_mirror_then_cache_hit(tmp_path, jena_zip):
    with LoopbackServer() as server:
        url = server.add("/jena_climate_2009_2016.csv.zip", jena_zip)
        first = run_cli("data", "fetch", "--data-dir", str(tmp_path / "cache"), "--url", url, "--json", cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        meta = json.loads(first.stdout)
        assert meta["variant"] == "book-420451" and meta["source"] == url
        requests = sum(server.requests.values())

        env = {"FORECASTLAB_JENA_MIRRORS": url, "FORECASTLAB_DATA_DIR": str(tmp_path / "cache")}
        second = run_cli("data", "fetch", cwd=tmp_path, env=env)
        assert second.returncode == 0 and "book-420451" in second.stdout
        assert sum(server.requests.values()) == requests


def test_fetch_offline_fails_fast_and_file_import_works(tmp_path, jena_zip):
    cache = tmp_path / "cache"
    env = {"FORECASTLAB_JENA_MIRRORS": closed_port_url()}
    offline = run_cli("data", "fetch", "--data-dir", str(cache), cwd=tmp_path, env=env)
    assert offline.returncode == 2 and "Traceback" not in offline.stderr
    message = offline.stderr.replace("\n", "")
    assert "no mirror could be reached" in message and str(cache) in message and "--file" in message

    local = tmp_path / "jena_climate_2009_2016.csv.zip"
    local.write_bytes(jena_zip)
    imported = run_cli("data", "fetch", "--data-dir", str(cache), "--file", str(local), "--json", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["source"] == f"file:{local}"


def test_inspect_help_says_the_plots_are_replaced(tmp_path):
    result = run_cli("data", "inspect", "--help", cwd=tmp_path, env={"COLUMNS": "200"})
    assert result.returncode == 0
    assert "replaced on every run" in " ".join(result.stdout.replace("│", " ").split())


@pytest.mark.parametrize("end, rows", [("31.12.9999 23:50:00", "419,969,250"), ("01.01.2100 00:00:00", "4,782,522")])
def test_synth_refuses_a_span_past_the_row_cap_before_generating(tmp_path, end, rows):
    # Before: the year-9999 end grew to 7 GB in seconds, and 2100 wrote 4.8 M rows without asking.
    done = run_cli("data", "synth", "--out", str(tmp_path / "syn.csv"), "--end", end, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    text = " ".join(done.stderr.split())
    assert f"holds {rows} rows of 10-minute data, more than the 1,000,000 rows one synthetic file may hold" in text
    assert "Where: --start, --end" in text and "choose an end no later than 11.01.2028 16:20:00 for this start" in text
    assert not (tmp_path / "syn.csv").exists()


def test_fetch_file_that_is_a_folder_or_not_a_file_says_what_it_is_and_what_to_pass(tmp_path):
    folder, cache = tmp_path / "downloads", tmp_path / "cache"
    folder.mkdir()
    done = run_cli("data", "fetch", "--data-dir", str(cache), "--file", str(folder), cwd=tmp_path,
                   env={"COLUMNS": "250"})
    message = " ".join(done.stderr.split())
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "--file is a directory, not the Jena file" in message and "no such file" not in message, message
    assert f"--file {folder / 'jena_climate_2009_2016.csv.zip'}" in message, message
    (folder / "jena_climate_2009_2016.csv").write_text("x")  # the file is in it: that is what to pass
    message = " ".join(run_cli("data", "fetch", "--data-dir", str(cache), "--file", str(folder),
                               cwd=tmp_path).stderr.split())
    assert f"Fix: pass --file {folder / 'jena_climate_2009_2016.csv'}." in message, message
    message = " ".join(run_cli("data", "fetch", "--data-dir", str(cache), "--file", os.devnull,
                               cwd=tmp_path).stderr.split())
    assert "--file is not a regular file" in message, message
    assert not cache.exists()


def test_an_empty_out_plots_or_file_is_refused_not_taken_as_the_current_folder(tmp_path):
    for args in (("data", "synth", "--out", ""), ("data", "inspect", "x.csv", "--plots", ""),
                 ("data", "fetch", "--file", "")):
        done = run_cli(*args, cwd=tmp_path, env={"COLUMNS": "250"})
        flag = args[-2]
        assert done.returncode == 2 and "Traceback" not in done.stderr, (args, done.stderr)
        assert f"{flag} is empty" in done.stderr and f"give {flag} a path" in done.stderr, (args, done.stderr)
    assert list(tmp_path.iterdir()) == []
