"""The two-worker sweep against a real PostgreSQL server, started on loopback for this module and stopped
after it. `.ci/run` installs Debian's postgresql; without its binaries (or psycopg) the test skips, saying why."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import optuna
import pytest
from sweep_helpers import SPACE, finish, started_trials, sweep_args

from run_helpers import popen, write_jena_csv


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg", reason="psycopg (3) is not installed: pip install 'psycopg[binary]'")
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL's server binaries (pg_ctl, initdb) are not installed: apt-get install postgresql")
    # PostgreSQL refuses to run as root: as root, the server runs as the postgres user Debian's package makes.
    as_user = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="forecastlab-pg-"))
    data = root / "data"
    if as_user:
        shutil.chown(root, "postgres")
    port = _free_port()
    run = lambda *cmd: subprocess.run([*as_user, *map(str, cmd)], capture_output=True, text=True, timeout=120)  # noqa: E731
    init = run(bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr[-500:]}")
    start = run(bindir / "pg_ctl", "-D", data, "-l", root / "server.log", "-w", "-t", "60", "-o",
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=50", "start")
    if start.returncode != 0:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"the PostgreSQL server did not start: {start.stderr[-300:]} {log[-500:]}")
    try:
        made = run(bindir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "optuna")
        assert made.returncode == 0, made.stderr
        yield f"postgresql://postgres@127.0.0.1:{port}/optuna"
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_one_postgresql_study_and_run_exactly_n_trials(tmp_path, postgres_url):
    write_jena_csv(tmp_path / "j.csv", days=20)
    (tmp_path / "space.toml").write_text(SPACE)
    # each worker has its own directory (as on two machines); the study lives only in the server
    a = popen(*sweep_args(tmp_path / "a", 6), "--storage", postgres_url, cwd=tmp_path)
    b = popen(*sweep_args(tmp_path / "b", 6), cwd=tmp_path, env={"FORECASTLAB_SWEEP_STORAGE": postgres_url})
    (ra, _, ea), (rb, _, eb) = finish(a), finish(b)
    assert ra == rb == 0, (ea[-3000:], eb[-3000:])
    mine, theirs = started_trials(ea), started_trials(eb)
    assert mine and theirs and sorted(mine + theirs) == list(range(6)), (mine, theirs)
    study = optuna.load_study(study_name="sweep-lstm", storage=postgres_url)
    assert len(study.trials) == 6
    assert {t.state for t in study.trials} <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
    assert "postgresql://postgres@127.0.0.1" in ea + eb
