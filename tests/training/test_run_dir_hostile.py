"""Hostile and damaged run directories: nothing in one may execute code, and every defect ends in one
clear error naming the file and the key, never a traceback or a silently wrong number.

One tiny run is trained through the real CLI; each test attacks a copy of it, through the Python API
(fast) and, for the cases that matter most, through `python -m forecastlab` in a subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from forecastlab.errors import ForecastlabError
from forecastlab.training import load_run
from forecastlab.training.checkpoint import load_checkpoint, save_checkpoint
from run_helpers import FIXTURES, TINY, clean_error, cli, strict_json, write_jena_csv


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(run dir, data csv): a finished 2-epoch dense run on a small Jena-format file."""
    base = tmp_path_factory.mktemp("hostile")
    csv = write_jena_csv(base / "mini.csv")
    done = cli("train", "dense", "--data", csv, *TINY, "--epochs", "2", "--out", base / "good", cwd=base)
    assert done.returncode == 0, done.stderr
    return base / "good", csv


@pytest.fixture
def run(trained, tmp_path):
    """A fresh copy of the trained run, under tmp_path/runs/x."""
    copy = tmp_path / "runs" / "x"
    shutil.copytree(trained[0], copy)
    return copy


def edit_config(run: Path, change) -> None:
    path = run / "config.json"
    config = json.loads(path.read_text())
    out = change(config)
    path.write_text(json.dumps(out[1] if isinstance(out, tuple) and out[0] == "replace" else config))


def rewrite_checkpoint(run: Path, name: str, change) -> None:
    """Change a checkpoint's content the way a careful attacker would: the sidecar hash updated too."""
    state = load_checkpoint(run / name)
    change(state)
    save_checkpoint(run / name, state)


# -- nothing in a run directory names code to import -------------------------------------------------------


@pytest.mark.parametrize("class_path", ["os:system", "this:x", "evilmod:Model", "runs.x.model_impl:Model",
                                        "forecastlab.models.lstm:LSTMModel"])
def test_a_class_named_in_config_is_never_imported(run, trained, tmp_path, class_path):
    marker = tmp_path / "imported"
    code = f"open({str(marker)!r}, 'w').write('ran')\nclass Model:\n    pass\n"
    (tmp_path / "evilmod.py").write_text(code)
    (run / "model_impl.py").write_text(code)
    edit_config(run, lambda c: c["model"].__setitem__("class", class_path))
    done = cli("predict", "runs/x", "--data", trained[1], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    clean_error(done, f"names the class '{class_path}'", "never imported", "key model.class")
    assert not marker.exists() and "Zen of Python" not in done.stdout + done.stderr


def test_an_unregistered_model_name_is_refused_with_the_registered_ones(run):
    def rename(c):  # the model's name, everywhere config.json names it
        c["model"]["name"] = c["extra"]["recipe"]["model"]["name"] = "os"

    edit_config(run, rename)
    with pytest.raises(ForecastlabError, match="'os' is not a registered forecastlab model") as err:
        load_run(run)
    assert "key model.name" in err.value.where and "lstm" in err.value.fix


class Payload:
    """Unpickling this runs a shell command: what a malicious checkpoint would carry."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("fmt", ["torch", "raw-pickle"])
def test_a_checkpoint_with_a_pickle_payload_is_refused_and_never_runs(run, trained, tmp_path, fmt):
    marker = tmp_path / "pwned"
    for name in ("best.pt", "last.pt"):
        path = run / name
        if fmt == "torch":
            torch.save({"model": Payload(marker)}, path)
        else:
            path.write_bytes(pickle.dumps({"model": Payload(marker)}, protocol=2))
        # The sidecar updated too: what stops it is weights_only, not the checksum.
        (run / f"{name}.sha256").write_text(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {name}\n")
    clean_error(cli("predict", run, "--data", trained[1], cwd=tmp_path), "best.pt cannot be read")
    clean_error(cli("train", "--resume", run, "--epochs", "3", cwd=tmp_path), "last.pt cannot be read")
    assert not marker.exists()


# -- damage is detected, never turned into a number -----------------------------------------------------------


def test_flipped_bytes_in_a_checkpoint_are_refused_by_name(run, trained, tmp_path):
    data = bytearray((run / "best.pt").read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 300):
        data[i] ^= 0x5A
    (run / "best.pt").write_bytes(bytes(data))
    text = clean_error(cli("evaluate", run, "--data", trained[1], cwd=tmp_path),
                       "checkpoint best.pt is damaged or was changed", str(run / "best.pt"))
    assert "MAE" not in text


def test_a_checkpoint_without_its_sidecar_is_refused_in_a_checksummed_run(run):
    (run / "best.pt.sha256").unlink()
    with pytest.raises(ForecastlabError, match="no recorded sha256"):
        load_run(run)


def test_a_symlinked_checkpoint_is_checked_like_any_file(run):
    (run / "best.pt").unlink()
    (run / "best.pt").symlink_to("/etc/hostname" if Path("/etc/hostname").exists() else "/etc/passwd")
    with pytest.raises(ForecastlabError, match="damaged or was changed"):
        load_run(run)


def test_format_1_runs_made_before_checksums_still_load_and_predict_the_same(tmp_path):
    run = tmp_path / "run_format1"
    shutil.copytree(FIXTURES / "run_format1", run)
    expected = strict_json((FIXTURES / "run_format1_predict.json").read_text().replace("NaN", "null"))
    done = cli("predict", run, "--data", FIXTURES / "mini_jena.csv", "--last", "3", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    got = strict_json(done.stdout)  # strict: the old version wrote a bare NaN here
    assert [p["prediction"] for p in got["predictions"]] == [p["prediction"] for p in expected["predictions"]]
    assert all(p["actual"] is None for p in got["predictions"])
    assert "no recorded sha256" in done.stderr and "UserWarning" not in done.stderr


def test_weights_that_do_not_fit_the_model_are_named(run):
    rewrite_checkpoint(run, "best.pt", lambda s: s["model"].__setitem__("hidden.weight", torch.zeros(3, 3)))
    with pytest.raises(ForecastlabError, match=r"wrong shape hidden\.weight") as err:
        load_run(run)
    assert "best.pt" in err.value.where
    rewrite_checkpoint(run, "best.pt", lambda s: s["model"].pop("out.bias"))
    with pytest.raises(ForecastlabError, match=r"missing out\.bias"):
        load_run(run)
    rewrite_checkpoint(run, "best.pt", lambda s: s.__setitem__("model", {"hidden.weight": [1, 2]}))
    with pytest.raises(ForecastlabError, match="not a set of weight tensors"):
        load_run(run)
    rewrite_checkpoint(run, "best.pt", lambda s: s.__setitem__("model", [1, 2]))
    with pytest.raises(ForecastlabError, match="'model' entry is a list, not a dict"):
        load_run(run)


@pytest.mark.parametrize(("change", "entry"), [
    (lambda s: s["rng"].__setitem__("torch", torch.zeros(3)), "'rng'"),
    (lambda s: s["rng"].pop("torch"), "'rng'"),
    (lambda s: s.__setitem__("rng", "seed"), "'rng'"),
    (lambda s: s.pop("optimizer"), "'optimizer'"),
    (lambda s: s.__setitem__("history", s["history"][:1]), "'history'"),
    (lambda s: s.__setitem__("best_epoch", 99), "'history'"),
    (lambda s: s["optimizer"].__setitem__("state", {0: {"square_avg": torch.zeros(2)}}), "'optimizer'"),
], ids=["torch-state", "no-torch-state", "rng-a-string", "no-optimizer", "short-history", "best-epoch",
        "optimizer-shapes"])
def test_a_malformed_last_checkpoint_stops_resume_with_the_entry_named(run, tmp_path, change, entry):
    rewrite_checkpoint(run, "last.pt", change)
    before = (run / "config.json").read_bytes()
    clean_error(cli("train", "--resume", run, "--epochs", "3", cwd=tmp_path), "last.pt", entry)
    assert (run / "config.json").read_bytes() == before  # not rewritten by a resume that failed


# -- config.json is checked against its schema ------------------------------------------------------------------


CONFIG_CASES = [
    ("window-deleted", lambda c: c.pop("window"), "window is missing", "key window"),
    ("training-deleted", lambda c: c.pop("training"), "training is missing", "key training"),
    ("a-json-list", lambda c: ("replace", [c]), "valid dictionary", "config.json"),
    ("string-for-number", lambda c: c["window"].__setitem__("sequence_length", "24"), "valid integer",
     "key window.sequence_length"),
    ("negative-delay", lambda c: c["window"].__setitem__("delay", -5), "greater than or equal to 1",
     "key window.delay"),
    ("inconsistent-delay", lambda c: c["window"].__setitem__("delay", 100), "delay must be", "key window"),
    ("zero-std", lambda c: c["normalizer"]["std"].__setitem__(0, 0.0), "greater than 0", "key normalizer.std.0"),
    ("short-std", lambda c: c["normalizer"]["std"].pop(), "mean has 14 values but std has 13", "key normalizer"),
    ("bad-units", lambda c: c["model"]["config"].__setitem__("units", -3), "units must be an integer",
     "key model.config"),
    ("unknown-window-key", lambda c: c["window"].__setitem__("horizn", 6), "window.horizn is not a known key",
     "key window.horizn"),
    ("lr-nan-string", lambda c: c["training"].__setitem__("lr", "nan"), "valid number", "key training.lr"),
    ("negative-lr", lambda c: c["training"].__setitem__("lr", -0.1), "greater than 0", "key training.lr"),
    ("bad-schedule", lambda c: c["training"].__setitem__("lr_schedule", "exponential:gamma=-1"), "gamma must be",
     "key training.lr_schedule"),
    ("newer-format", lambda c: c.__setitem__("format", 99), "newer forecastlab", "key format"),
    ("target-not-a-column", lambda c: c["data"].__setitem__("target", "nope"), "is not one of data.columns", ""),
    ("recipe-unknown-key", lambda c: c["extra"]["recipe"]["data"].__setitem__("bogus", "1"), "is not a key of [data]",
     "extra.recipe.data.bogus"),
    ("recipe-mistyped", lambda c: c["extra"]["recipe"]["training"].__setitem__("epochs", "2"), "must be int",
     "extra.recipe.training.epochs"),
    ("recipe-other-model", lambda c: c["extra"]["recipe"]["model"].__setitem__("name", "lstm"), "differs from",
     "extra.recipe.model.name"),
]


# The recipe (extra.recipe) is checked on every load, from Python and from the CLI alike.
API_CASES = CONFIG_CASES


@pytest.mark.parametrize(("change", "what", "where"), [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_a_hand_edited_config_is_refused_with_the_key_named(run, change, what, where):
    edit_config(run, change)
    with pytest.raises(ForecastlabError) as err:
        load_run(run)
    assert what in err.value.what and where in (err.value.where or ""), err.value


@pytest.mark.parametrize("case", ["window-deleted", "a-json-list", "zero-std", "bad-units", "recipe-unknown-key"])
def test_the_cli_refuses_a_hand_edited_config_in_one_paragraph(run, trained, tmp_path, case):
    _, change, what, where = next(c for c in CONFIG_CASES if c[0] == case)
    edit_config(run, change)
    for command in (["predict", run, "--data", trained[1]], ["train", "--resume", run, "--epochs", "3"]):
        clean_error(cli(*command, cwd=tmp_path), what, where)


@pytest.mark.parametrize(("content", "what"), [
    (b'{"format": 2, "model": ', "not valid JSON"),
    (b'{"format": NaN}', "NaN is not a JSON value"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b" " * (17 << 20), "a run's config is never that large"),
], ids=["truncated", "nan", "deeply-nested", "not-utf8", "huge"])
def test_an_unreadable_config_is_refused_by_name(run, content, what):
    (run / "config.json").write_bytes(content)
    with pytest.raises(ForecastlabError, match=what) as err:
        load_run(run)
    assert "config.json" in err.value.where


def test_damaged_history_and_metrics_are_named(run, tmp_path):
    (run / "metrics.json").write_text('{"test_mae": NaN}')
    with pytest.raises(ForecastlabError, match="metrics.json is not valid JSON"):
        load_run(run)
    (run / "metrics.json").write_text("[1, 2]")
    with pytest.raises(ForecastlabError, match="holds a JSON list"):
        load_run(run)
    lines = (run / "history.csv").read_text().splitlines()
    lines[2] = lines[2].replace(lines[2].split(",")[1], "lots")
    (run / "history.csv").write_text("\n".join(lines) + "\n")
    clean_error(cli("train", "--resume", run, "--epochs", "3", cwd=tmp_path), "history.csv has 'lots'", "line 3")


# -- what a run directory holds is never followed, blocked on or mistaken ---------------------------------------


def test_a_symlinked_lock_file_never_writes_through_the_link(run, trained, tmp_path):
    victim = tmp_path / "bashrc"
    victim.write_text("precious\n")
    (run / ".forecastlab.lock").symlink_to(victim)
    (run / ".replaced-run").mkdir()  # makes predict try to recover, which takes the lock
    # predict only reads: it may go on without the recovery, but it never writes through the link.
    assert cli("predict", run, "--data", trained[1], cwd=tmp_path).returncode in (0, 2)
    clean_error(cli("train", "--resume", run, "--epochs", "3", cwd=tmp_path), ".forecastlab.lock is a symbolic link")
    assert victim.read_text() == "precious\n"


def test_a_fifo_lock_file_or_sidecar_does_not_hang(run, trained, tmp_path):
    os.mkfifo(run / ".forecastlab.lock")
    done = cli("train", "--resume", run, "--epochs", "3", cwd=tmp_path, timeout=60)
    clean_error(done, "is not a regular file")
    (run / ".forecastlab.lock").unlink()
    (run / "best.pt.sha256").unlink()
    os.mkfifo(run / "best.pt.sha256")
    clean_error(cli("predict", run, "--data", trained[1], cwd=tmp_path, timeout=60), "no recorded sha256")


def test_a_linked_replaced_run_folder_is_never_emptied(run, trained, tmp_path):
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "thesis.tex").write_text("chapter 1\n")
    (run / "last.pt").unlink()
    (run / ".replaced-run").symlink_to(documents)
    done = cli("predict", run, "--data", trained[1], cwd=tmp_path)
    clean_error(done, ".replaced-run is not a folder forecastlab made")
    assert (documents / "thesis.tex").read_text() == "chapter 1\n"


@pytest.mark.parametrize("moved", [["last.pt"], ["last.pt", "config.json", "history.csv"]])
def test_an_overwrite_killed_in_the_middle_of_moving_the_old_run_aside_loses_nothing(run, trained, tmp_path, moved):
    from run_helpers import digests

    before = digests(run)
    aside = run / ".replaced-run"
    aside.mkdir()
    names = ["last.pt", *sorted(n for n in before if n != "last.pt")]
    (aside / "files").write_text("\n".join(names) + "\n")
    for name in moved:  # the kill came after these moves
        os.replace(run / name, aside / name)
    done = cli("predict", run, "--data", trained[1], "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert digests(run) == before and not aside.exists()


def test_a_resumed_format_1_run_gains_its_checksums_and_still_predicts(tmp_path):
    run = tmp_path / "run_format1"
    shutil.copytree(FIXTURES / "run_format1", run)
    config = json.loads((run / "config.json").read_text())
    config["extra"]["cli"]["data_args"]["data"] = str(FIXTURES / "mini_jena.csv")
    (run / "config.json").write_text(json.dumps(config))
    done = cli("train", "--resume", run, "--epochs", "3", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((run / "config.json").read_text())["format"] == 2
    assert (run / "best.pt.sha256").is_file() and (run / "last.pt.sha256").is_file()
    again = cli("predict", run, "--data", FIXTURES / "mini_jena.csv", "--json", cwd=tmp_path)
    assert again.returncode == 0 and "no recorded sha256" not in again.stderr, again.stderr


def test_a_users_own_temp_file_is_neither_deleted_nor_ignored(trained, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / ".notes.tmp").write_text("mine\n")
    done = cli("train", "dense", "--data", trained[1], *TINY, "--epochs", "1", "--out", out, cwd=tmp_path)
    clean_error(done, "not empty")
    assert (out / ".notes.tmp").read_text() == "mine\n"
