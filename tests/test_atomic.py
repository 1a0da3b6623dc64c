"""forecastlab.atomic: whole files or nothing, with the user's normal permissions."""

from __future__ import annotations

import os
import stat

import pytest
import torch

from forecastlab.atomic import atomic_write, atomic_write_json, atomic_write_text
from forecastlab.data.synthetic import write_csv
from forecastlab.training.checkpoint import save_checkpoint


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield 0o640  # 0o666 & ~0o027
    os.umask(previous)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_get_0666_less_the_umask_not_mkstemps_0600(tmp_path, umask_027):
    atomic_write_text(tmp_path / "a.txt", "x")
    atomic_write_json(tmp_path / "a.json", {"a": 1})
    save_checkpoint(tmp_path / "last.pt", {"w": torch.ones(2)})
    write_csv(tmp_path / "syn.csv", rows=200)
    for name in ("a.txt", "a.json", "last.pt", "syn.csv"):
        assert _mode(tmp_path / name) == umask_027, name


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write_text(path, "old")

    def half_then_fail(fh):
        fh.write(b"ne")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half_then_fail)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]


def test_deferred_signals_hold_a_signal_back_even_when_another_thread_takes_it():
    """The kernel may hand SIGTERM to any thread that does not block it (torch keeps worker threads); the
    handler must still run only after the block, once."""
    import os
    import signal
    import threading
    import time

    from forecastlab.atomic import deferred_signals

    seen: list[str] = []
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, daemon=True)  # a thread with nothing blocked
    worker.start()
    old = signal.signal(signal.SIGTERM, lambda *_: seen.append("handler"))
    try:
        with deferred_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)
            for _ in range(1000):  # bytecodes, where Python runs pending handlers
                pass
            seen.append("end of block")
        seen.append("after")
    finally:
        signal.signal(signal.SIGTERM, old)
        stop.set()
    assert seen == ["end of block", "handler", "after"], seen
