"""Downloading, verifying and caching the Jena file, against a real HTTP server on 127.0.0.1.

The good file has the real row count and the real first and last timestamps, so the real
verification rules run unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest

from forecastlab.data import jena
from forecastlab.errors import ForecastlabError
from jena_files import HEADER, jena_like_csv, zip_bytes
from loopback_server import LoopbackServer, closed_port_url

NAME = "/jena_climate_2009_2016.csv.zip"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jena-files")
    good_csv = jena_like_csv(folder / "good.csv")
    good = zip_bytes(good_csv)
    corrupt = bytearray(good)
    for i in range(len(good) // 2, len(good) // 2 + 64):
        corrupt[i] ^= 0xFF
    short_csv = jena_like_csv(folder / "short.csv", rows=1_000, slots=1_200)
    wrong_csv = jena_like_csv(folder / "wrong.csv", rows=1_000, slots=1_200, header=HEADER.replace("T (degC)", "T"))
    return {
        "csv": good_csv,
        "csv_sha256": hashlib.sha256(good_csv.read_bytes()).hexdigest(),
        "zip": good,
        "corrupt": bytes(corrupt),
        "short": zip_bytes(short_csv),
        "wrong": zip_bytes(wrong_csv),
    }


@pytest.fixture(scope="module")
def server(files):
    with LoopbackServer() as srv:
        srv.add("/good" + NAME, files["zip"])
        srv.add("/truncated" + NAME, files["zip"][: len(files["zip"]) // 2])
        srv.add("/cut" + NAME, files["zip"][: len(files["zip"]) // 2], announce=len(files["zip"]))
        srv.add("/corrupt" + NAME, files["corrupt"])
        srv.add("/wrong" + NAME, files["wrong"])
        srv.add("/short" + NAME, files["short"])
        srv.add("/slow" + NAME, files["zip"], delay=3.0)
        yield srv


def assert_nothing_cached(directory):
    assert not (directory / jena.JENA_CSV).exists()
    assert not (directory / jena.SIDECAR).exists()
    assert [p.name for p in directory.iterdir() if p.name.startswith(".jena")] == []


def test_dead_first_mirror_falls_back_to_second_and_cache_hit_makes_no_request(server, files, tmp_path):
    mirrors = [server.url("/dead" + NAME), server.url("/good" + NAME)]
    path = jena.fetch_jena(tmp_path, mirrors=mirrors, progress=False)

    assert path == tmp_path / jena.JENA_CSV
    assert path.read_bytes() == files["csv"].read_bytes()
    meta = json.loads((tmp_path / jena.SIDECAR).read_text())
    assert meta["variant"] == "book-420451" and meta["rows"] == 420_451
    assert meta["sha256"] == files["csv_sha256"]
    assert meta["source"] == mirrors[1]
    assert meta["download_sha256"] == hashlib.sha256(files["zip"]).hexdigest()
    assert server.requests["/dead" + NAME] >= 1 and server.requests["/good" + NAME] >= 1

    before = sum(server.requests.values())
    assert jena.fetch_jena(tmp_path, mirrors=mirrors, progress=False) == path
    assert jena.cached_jena(tmp_path) == path
    assert sum(server.requests.values()) == before


def test_matching_sha256_is_accepted_and_mismatch_rejected(server, files, tmp_path):
    url = server.url("/good" + NAME)
    with pytest.raises(ForecastlabError, match="sha256") as err:
        jena.fetch_jena(tmp_path, url=url, sha256="0" * 64, progress=False)
    assert_nothing_cached(tmp_path)
    message = str(err.value)  # said whole, in our words, and about --url/--sha256, not the mirrors
    assert "0" * 64 in message and hashlib.sha256(files["zip"]).hexdigest() in message
    assert "…" not in message and "s3.amazonaws" not in message and "leave sha256= out" in err.value.fix

    good = hashlib.sha256(files["zip"]).hexdigest()
    assert jena.fetch_jena(tmp_path, url=url, sha256=good.upper(), progress=False).exists()
    hits = sum(server.requests.values())
    for bad in ("deadbeef", good[:-1] + "z", good + "0"):  # refused before any download
        with pytest.raises(ForecastlabError, match="is not a sha256: that is 64 hexadecimal digits"):
            jena.fetch_jena(tmp_path / "other", url=url, sha256=bad, progress=False)
    assert sum(server.requests.values()) == hits


@pytest.mark.parametrize(
    ("route", "words"),
    [
        ("/truncated", "truncated or corrupted"),
        ("/cut", "truncated"),
        ("/corrupt", "truncated or corrupted"),
        ("/wrong", "header"),
        ("/short", "1,000 data rows"),
    ],
)
def test_bad_downloads_are_rejected_and_never_cached(server, tmp_path, route, words):
    with pytest.raises(ForecastlabError) as err:
        jena.fetch_jena(tmp_path, url=server.url(route + NAME), progress=False)
    assert words in str(err.value)
    assert "nothing was cached" in str(err.value)
    assert_nothing_cached(tmp_path)


def test_bad_mirror_is_skipped_for_a_good_one(server, tmp_path):
    mirrors = [server.url("/corrupt" + NAME), server.url("/good" + NAME)]
    assert jena.fetch_jena(tmp_path, mirrors=mirrors, progress=False).exists()
    assert json.loads((tmp_path / jena.SIDECAR).read_text())["source"] == mirrors[1]


def test_slow_mirror_times_out_fast_with_manual_instructions(server, tmp_path):
    start = time.monotonic()
    with pytest.raises(ForecastlabError) as err:
        jena.fetch_jena(tmp_path, url=server.url("/slow" + NAME), timeout=0.5, progress=False)
    assert time.monotonic() - start < 2.5
    message = str(err.value)
    assert "timed out" in message and str(tmp_path) in message and "--file" in message
    assert_nothing_cached(tmp_path)


def test_unreachable_mirrors_fail_fast_naming_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(jena.MIRRORS_ENV, f"{closed_port_url()},{closed_port_url()}")
    start = time.monotonic()
    with pytest.raises(ForecastlabError) as err:
        jena.fetch_jena(tmp_path, progress=False)
    assert time.monotonic() - start < 2
    message = str(err.value)
    assert "no mirror could be reached" in message and "connection refused" in message
    assert str(tmp_path) in message and jena.JENA_ZIP in message
    assert_nothing_cached(tmp_path)


def test_env_mirrors_are_used(server, tmp_path, monkeypatch):
    monkeypatch.setenv(jena.MIRRORS_ENV, server.url("/dead" + NAME) + " , " + server.url("/good" + NAME))
    assert jena.mirrors_from_env() == [server.url("/dead" + NAME), server.url("/good" + NAME)]


def test_bad_url_download_keeps_the_good_cached_copy(server, files, tmp_path):
    path = jena.import_jena_file(files["csv"], tmp_path)
    sidecar = (tmp_path / jena.SIDECAR).read_text()
    with pytest.raises(ForecastlabError):
        jena.fetch_jena(tmp_path, url=server.url("/wrong" + NAME), progress=False)
    assert path.read_bytes() == files["csv"].read_bytes()
    assert (tmp_path / jena.SIDECAR).read_text() == sidecar


def test_local_zip_import_and_hand_placed_files(files, tmp_path):
    local_zip = tmp_path / "download" / jena.JENA_ZIP
    local_zip.parent.mkdir()
    local_zip.write_bytes(files["zip"])
    cache = tmp_path / "cache"
    path = jena.import_jena_file(local_zip, cache)
    assert json.loads((cache / jena.SIDECAR).read_text())["source"] == f"file:{local_zip}"

    # A CSV dropped into a fresh cache by hand is verified on first use.
    dropped = tmp_path / "dropped"
    dropped.mkdir()
    (dropped / jena.JENA_CSV).write_bytes(path.read_bytes())
    assert jena.cached_jena(dropped) == dropped / jena.JENA_CSV
    assert json.loads((dropped / jena.SIDECAR).read_text())["variant"] == "book-420451"


def test_bad_hand_placed_file_is_reported_and_left_alone(tmp_path):
    bad = tmp_path / jena.JENA_CSV
    bad.write_text(HEADER + "01.01.2009 00:10:00" + ",1.0" * 14 + "\n")
    with pytest.raises(ForecastlabError, match="1 data rows"):
        jena.cached_jena(tmp_path)
    assert bad.exists() and not (tmp_path / jena.SIDECAR).exists()


def test_verify_rules_are_parameters_with_real_defaults(tmp_path):
    small = jena_like_csv(tmp_path / "small.csv", rows=100, slots=144)
    with pytest.raises(ForecastlabError, match="100 data rows"):
        jena.verify_jena_csv(small)
    info = jena.verify_jena_csv(small, rows_range=(100, 100), first="01.01.2009 00:10:00",
                                last="02.01.2009 00:00:00")
    assert info["variant"] == "rows-100" and info["sha256"] == hashlib.sha256(small.read_bytes()).hexdigest()
    with pytest.raises(ForecastlabError, match="runs from"):
        jena.verify_jena_csv(small, rows_range=(100, 100), first="01.01.2009 00:10:00", last="03.01.2009 00:00:00")


def test_auto_and_jena_load_the_verified_cache(files, tmp_path):
    import warnings

    from forecastlab.data import load_series
    from forecastlab.errors import SyntheticDataWarning

    jena.import_jena_file(files["csv"], tmp_path)
    for data in ("auto", "jena"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", SyntheticDataWarning)  # the real file: no synthetic banner
            s = load_series(data, data_dir=tmp_path, download=False)
        p = s.provenance
        assert (p.source, p.variant, p.rows, p.sha256) == ("jena", "book-420451", 420_451, files["csv_sha256"])


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "forecastlab", *args], capture_output=True, text=True,
                          timeout=120, env=os.environ | (env or {}))


def test_broken_cached_file_is_named_and_fetch_replaces_it(server, files, tmp_path):
    cached = jena.import_jena_file(files["csv"], tmp_path)
    data = cached.read_bytes()
    cached.write_bytes(data[: len(data) // 2])  # cut off, e.g. by a full disk

    inspect = run_cli("data", "inspect", "--data", "jena", "--data-dir", str(tmp_path), "--no-plots")
    assert inspect.returncode == 2
    assert f"Where: {cached}." in inspect.stderr and ".jena-import" not in inspect.stderr
    assert "fetch --force" in inspect.stderr and "changed since it was verified" in inspect.stderr

    fetch = run_cli("data", "fetch", "--data-dir", str(tmp_path), "--json",
                    env={jena.MIRRORS_ENV: server.url("/good" + NAME)})
    assert fetch.returncode == 0, fetch.stderr
    bad = tmp_path / (jena.JENA_CSV + ".bad")
    assert f"moved it aside to {bad}" in fetch.stderr
    assert bad.read_bytes() == data[: len(data) // 2]  # kept, not deleted
    assert cached.read_bytes() == data and json.loads(fetch.stdout)["variant"] == "book-420451"


def test_synthetic_data_is_never_taken_for_the_real_record(server, tmp_path):
    from forecastlab.data.synthetic import embedded_default

    synthetic = embedded_default()  # 420,451 rows on the real grid: only its numbers give it away
    server.add("/synthetic" + NAME, zip_bytes(synthetic))
    with pytest.raises(ForecastlabError) as err:
        jena.fetch_jena(tmp_path, url=server.url("/synthetic" + NAME), progress=False)
    assert "looks like forecastlab's synthetic data" in str(err.value)
    assert "the real record's is 996.52,-8.02,265.40" in str(err.value)
    assert_nothing_cached(tmp_path)


# -- bounded downloads (issue 8) --------------------------------------------------------------------------


def bomb_zip(megabytes: int) -> bytes:
    """A zip whose CSV inflates to `megabytes` MiB of zeros, written streaming (little memory, ~0.1 s)."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open(jena.JENA_CSV, "w", force_zip64=True) as member:
            member.write(HEADER.encode())
            for _ in range(megabytes):
                member.write(b"0" * (1 << 20))
    return buf.getvalue()


@pytest.fixture(scope="module")
def hostile(files):
    with LoopbackServer() as srv:
        srv.add("/trickle" + NAME, files["zip"][:4096], trickle=0.05)  # 20 bytes/s, each read well in time
        srv.add("/endless" + NAME, b"\0" * 65536, endless=True)
        srv.add("/huge" + NAME, b"PK", announce=10**12)
        srv.add("/bomb" + NAME, bomb_zip(100))
        srv.add("/good" + NAME, files["zip"])
        yield srv


def timed_fetch(url, seconds: float, tmp_path, **kwargs) -> ForecastlabError:
    start = time.monotonic()
    with pytest.raises(ForecastlabError) as err:
        jena.fetch_jena(tmp_path, url=url, progress=False, **kwargs)
    assert time.monotonic() - start < seconds
    assert_nothing_cached(tmp_path)
    return err.value


def test_a_trickling_server_fails_at_the_overall_deadline(hostile, tmp_path):
    url = hostile.url("/trickle" + NAME)
    err = timed_fetch(url, 4.0, tmp_path, timeout=1.0, deadline=1.5)
    assert "did not finish within 1.5 s" in err.what and "raise timeout=" in err.fix
    # the default deadline is DEADLINE_FACTOR x timeout
    err = timed_fetch(url, 5.0, tmp_path, timeout=0.1)
    assert "did not finish within 2 s" in err.what and "20 x the 0.1 s timeout" in err.what


def test_endless_and_oversized_responses_stop_at_the_byte_cap(hostile, tmp_path):
    from forecastlab.data.download import MAX_DOWNLOAD_BYTES

    # The message proves the byte cap (not the 40 s deadline) stopped it; 100 MiB over loopback takes seconds.
    err = timed_fetch(hostile.url("/endless" + NAME), 30.0, tmp_path, timeout=2)
    assert f"more than {MAX_DOWNLOAD_BYTES:,} bytes arrived" in err.what
    err = timed_fetch(hostile.url("/huge" + NAME), 2.0, tmp_path, timeout=2)
    assert "announces 1,000,000,000,000 bytes" in err.what


def test_a_zip_bomb_download_is_refused_by_its_declared_size(hostile, tmp_path):
    err = timed_fetch(hostile.url("/bomb" + NAME), 2.0, tmp_path, timeout=2)
    assert "inflates to 100.0 MiB" in err.what and "not the Jena climate file" in err.what


def test_huge_local_files_are_refused_before_copying(tmp_path):
    big = tmp_path / "big" / jena.JENA_CSV
    big.parent.mkdir()
    with open(big, "wb") as f:
        f.truncate(jena.MAX_CSV_BYTES + 1)  # sparse: no disk space used
    with pytest.raises(ForecastlabError, match="64.0 MiB, but the real CSV is about 41 MiB"):
        jena.import_jena_file(big, tmp_path / "cache")
    os.replace(big, tmp_path / jena.JENA_CSV)  # placed in the cache by hand
    with pytest.raises(jena.BrokenCachedFile, match="the real CSV is about 41 MiB"):
        jena.cached_jena(tmp_path)


@pytest.mark.parametrize("timeout", [0, -1, float("nan")])
def test_non_positive_timeout_is_refused_up_front_naming_it(tmp_path, timeout):
    with pytest.raises(ForecastlabError) as err:
        jena.fetch_jena(tmp_path, url=closed_port_url(), timeout=timeout, progress=False)
    assert "timeout must be a number of seconds above 0" in err.value.what
    assert "--url" not in str(err.value)


def test_cli_timeout_zero_and_a_trickle_exit_2_within_bounds(hostile, tmp_path):
    zero = run_cli("data", "fetch", "--data-dir", str(tmp_path), "--timeout", "0", "--url", closed_port_url())
    assert zero.returncode == 2 and "Traceback" not in zero.stderr
    assert "--timeout" in zero.stderr and "above 0" in zero.stderr

    start = time.monotonic()
    slow = run_cli("data", "fetch", "--data-dir", str(tmp_path), "--timeout", "0.2", "--json",
                   "--url", hostile.url("/trickle" + NAME))
    assert time.monotonic() - start < 30  # 4 s deadline plus interpreter start-up on a loaded machine
    assert slow.returncode == 2 and "Traceback" not in slow.stderr
    assert "did not finish within 4 s" in slow.stderr.replace("\n", " ")
    assert_nothing_cached(tmp_path)


def test_stale_temp_folders_are_removed_at_the_next_fetch(tmp_path):
    from forecastlab.data.cache import remove_stale_temp

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(done.stdout)
    dead = tmp_path / f".jena-download-{dead_pid}-abc"
    old = tmp_path / ".jena-import-old"  # an older version's name, without a PID
    recent = tmp_path / ".jena-download-recent"
    live = tmp_path / f".jena-import-{os.getppid()}-xyz"  # a running process: maybe fetching right now
    for folder in (dead, old, recent, live):
        folder.mkdir()
        (folder / "part").write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert sorted(p.name for p in remove_stale_temp(tmp_path)) == sorted([dead.name, old.name])
    assert recent.exists() and live.exists()


def test_a_killed_fetch_leaves_a_temp_folder_that_the_next_fetch_removes(hostile, files, tmp_path):
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "forecastlab", "data", "fetch", "--data-dir", str(tmp_path),
                             "--url", hostile.url("/trickle" + NAME), "--timeout", "5"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(".jena-download-") for p in tmp_path.iterdir()):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".jena-download-")]
    path = jena.fetch_jena(tmp_path, url=hostile.url("/good" + NAME), progress=False)
    assert path.read_bytes() == files["csv"].read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".jena")] == []


def test_progress_bar_is_driven_by_the_bounded_downloader(hostile, files, tmp_path, capsys):
    path = jena.fetch_jena(tmp_path, url=hostile.url("/good" + NAME), progress=True)
    assert path.read_bytes() == files["csv"].read_bytes()
    assert "downloading jena_climate_2009_2016.csv.zip" in capsys.readouterr().err


def test_import_jena_file_says_what_a_path_that_is_no_file_is(tmp_path):
    """A folder, /dev/null and a named pipe are each refused by what they are (not 'no such file'), a folder that
    holds the file with that file to pass; only a missing path is 'no such file'; nothing goes in the cache."""
    cache = tmp_path / "cache"

    def refusal(path):
        with pytest.raises(ForecastlabError) as err:
            jena.import_jena_file(path, cache)
        assert err.value.where == str(path)
        return err.value

    folder = tmp_path / "downloads"
    folder.mkdir()
    err = refusal(folder)
    assert err.what == "the Jena file path is a directory, not a file" and jena.JENA_ZIP in err.fix
    (folder / jena.JENA_ZIP).write_bytes(b"")
    assert refusal(folder).fix == f"give the file in it, {folder / jena.JENA_ZIP}"
    assert refusal(os.devnull).what == "the Jena file path is not a regular file (it is a character device)"
    os.mkfifo(tmp_path / "pipe")
    assert refusal(tmp_path / "pipe").what == "the Jena file path is not a regular file (it is a named pipe)"
    assert refusal(tmp_path / "nope.zip").what == "no such file"
    assert not cache.exists()
