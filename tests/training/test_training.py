"""The training engine on tiny real data: fitting, best checkpoint, resume, determinism, run directory."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from torch import nn

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.metrics import evaluate, predict_dataset
from forecastlab.training import load_run, predict, train
from forecastlab.training.checkpoint import load_checkpoint
from forecastlab.training.run_dir import TORCH_RUN_FILES, read_config, read_history, read_metrics
from forecastlab.windows import WindowSpec

SPEC = WindowSpec(sequence_length=8, sampling_rate=2, horizon=2)


def _series(rows: int = 900, seed: int = 0) -> np.ndarray:
    """A daily-cycle temperature in °C plus two covariates, one row per '10 minutes'."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    temp = 10 + 6 * np.sin(2 * np.pi * t / 72) + rng.normal(0, 0.3, rows)
    cos = np.cos(2 * np.pi * t / 72) + rng.normal(0, 0.05, rows)
    return np.stack([temp, cos, rng.normal(size=rows)], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def values():
    return _series()


def _datasets(values, batch_size=32, seed=0):
    return SPEC.make_datasets(values, values[:, 0], batch_size=batch_size, seed=seed)


def _history_numbers(history):
    return [{k: v for k, v in row.items() if "seconds" not in k} for row in history]


class BiasModel(nn.Module):
    """Predicts one learned constant: its val loss path is easy to steer."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.bias.expand(x.shape[0], 1)


def test_fit_reduces_loss_and_reports_test_mae(values):
    result = train("lstm", _datasets(values), epochs=4, lr=1e-2, progress=False, model_params={"units": 8})
    losses = [row["loss"] for row in result.history]
    assert losses[-1] < 0.5 * losses[0]
    assert result.history[-1]["val_mae"] < result.history[0]["val_mae"]
    assert result.test["n"] == _datasets(values).test.num_windows
    assert 0 < result.test["mae"] < 10
    assert result.run_dir is None and result.params == sum(p.numel() for p in result.model.parameters())


def test_best_checkpoint_is_the_lowest_val_loss(values, tmp_path):
    # Train targets sit near 10 °C and val targets near 4 °C: a constant predictor starting at 0
    # walks towards 10, passes 4 on the way, and its val loss falls, then rises again.
    targets = np.where(np.arange(len(values)) < len(values) // 2, 10.0, 4.0).astype(np.float32)
    datasets = SPEC.make_datasets(values, targets, batch_size=32, seed=0)
    result = train(BiasModel(), datasets, epochs=8, lr=0.1, progress=False, out_dir=tmp_path / "run")
    val_losses = [row["val_loss"] for row in result.history]
    best = int(np.argmin(val_losses)) + 1
    assert 1 < best < len(val_losses), val_losses  # the case really has an interior minimum
    assert result.best_epoch == best
    # The returned model holds the best epoch's weights, not the last epoch's.
    assert evaluate(result.model, datasets.val)["mse"] == pytest.approx(val_losses[best - 1], rel=1e-12)
    saved = load_checkpoint(tmp_path / "run" / "best.pt")
    assert saved["epoch"] == best
    assert torch.equal(saved["model"]["bias"], result.model.bias.detach())
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert last["epoch"] == 8 and not torch.equal(last["model"]["bias"], saved["model"]["bias"])
    assert read_metrics(tmp_path / "run")["best_epoch"] == best


def test_same_seed_same_numbers_and_other_seed_differs(values):
    kw = dict(epochs=2, progress=False, model_params={"units": 4, "dropout": 0.2})
    a = train("lstm", _datasets(values, seed=1), seed=1, **kw)
    b = train("lstm", _datasets(values, seed=1), seed=1, **kw)
    c = train("lstm", _datasets(values, seed=2), seed=2, **kw)
    assert _history_numbers(a.history) == _history_numbers(b.history)
    assert a.test == b.test
    assert _history_numbers(a.history) != _history_numbers(c.history)


def test_resume_gives_the_same_result_as_an_uninterrupted_run(values, tmp_path):
    # Dropout, shuffling and a schedule all consume state that a resume must restore.
    kw = dict(seed=3, progress=False, lr_schedule="exponential:gamma=0.7",
              model_params={"units": 4, "dropout": 0.3})
    straight = train("lstm", _datasets(values, seed=3), epochs=3, out_dir=tmp_path / "a", **kw)
    train("lstm", _datasets(values, seed=3), epochs=2, out_dir=tmp_path / "b", **kw)
    assert len(read_history(tmp_path / "b")) == 2
    resumed = train("lstm", _datasets(values, seed=3), epochs=3, out_dir=tmp_path / "b", resume=True, **kw)
    assert _history_numbers(resumed.history) == _history_numbers(straight.history)
    assert resumed.best_epoch == straight.best_epoch and resumed.test == straight.test
    for key, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[key]), key
    assert [r["epoch"] for r in read_history(tmp_path / "b")] == [1, 2, 3]
    # Resuming a finished run trains nothing more and reports the same result.
    again = train("lstm", _datasets(values, seed=3), epochs=3, out_dir=tmp_path / "b", resume=True, **kw)
    assert again.history == resumed.history and again.test == straight.test


def _process_state() -> dict:
    """What a library call must leave as it found it: the global RNGs, the thread count, denormal handling."""
    import random

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    denormal = torch.tensor([1e-39]) * torch.tensor([1.0])  # 0 when denormals are flushed
    return {"python": random.getstate(), "numpy": (kind, keys.tolist(), pos, has_gauss, cached),
            "torch": torch.get_rng_state().tolist(), "threads": torch.get_num_threads(),
            "denormals_kept": bool(denormal.item() != 0)}


def test_train_leaves_the_callers_generators_and_settings_alone(values, tmp_path):
    import random

    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # configure_cpu() would make it 1 on this 2-core machine
    torch.set_flush_denormal(False)
    try:
        random.seed(11), np.random.seed(12), torch.manual_seed(13)
        kw = dict(seed=4, progress=False, model_params={"units": 4, "dropout": 0.3})
        before = _process_state()
        first = train("lstm", _datasets(values, seed=4), epochs=1, out_dir=tmp_path / "run", **kw)
        resumed = train("lstm", _datasets(values, seed=4), epochs=2, out_dir=tmp_path / "run", resume=True, **kw)
        assert _process_state() == before
        # The seed alone decides the numbers, whatever state the caller's generators are in.
        torch.manual_seed(99), np.random.seed(98), random.seed(97)
        again = train("lstm", _datasets(values, seed=4), epochs=2, **kw)
        assert _history_numbers(again.history) == _history_numbers(resumed.history)
        assert _history_numbers(first.history) == _history_numbers(resumed.history)[:1]
    finally:
        torch.set_num_threads(threads)


def test_resume_refuses_other_settings_or_a_missing_checkpoint(values, tmp_path):
    train("dense", _datasets(values), epochs=1, out_dir=tmp_path / "run", progress=False)
    with pytest.raises(ForecastlabError, match="different settings.*training.lr"):
        train("dense", _datasets(values), epochs=2, lr=0.5, out_dir=tmp_path / "run", resume=True,
              progress=False)
    with pytest.raises(ForecastlabError, match="no last.pt"):
        train("dense", _datasets(values), epochs=2, out_dir=tmp_path / "empty", resume=True, progress=False)


def test_never_overwrites_a_run_unless_asked(values, tmp_path):
    run = tmp_path / "run"
    first = train("dense", _datasets(values), epochs=1, out_dir=run, progress=False)
    before = (run / "metrics.json").read_bytes()
    with pytest.raises(ForecastlabError, match="not empty") as err:
        train("dense", _datasets(values), epochs=1, seed=5, out_dir=run, progress=False)
    assert "overwrite=True" in err.value.fix and (run / "metrics.json").read_bytes() == before
    (run / "notes.txt").write_text("mine")
    second = train("dense", _datasets(values), epochs=1, seed=5, out_dir=run, overwrite=True, progress=False)
    assert second.test != first.test and (run / "notes.txt").read_text() == "mine"


def test_run_directory_contents_and_config_round_trip(values, tmp_path):
    datasets = _datasets(values)
    result = train("lstm", datasets, epochs=2, out_dir=tmp_path / "run", progress=False,
                   model_params={"units": 4}, extra_config={"data": {"target_unit": "degC"}, "note": "x"})
    run = tmp_path / "run"
    assert sorted(os.listdir(run)) == sorted(TORCH_RUN_FILES)  # and no temp files left behind
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = read_config(run)
    assert config["model"]["name"] == "lstm" and config["model"]["config"]["units"] == 4
    assert config["window"].items() >= {"sequence_length": 8, "sampling_rate": 2, "horizon": 2,
                                       "batch_size": 32}.items()
    assert config["normalizer"]["mean"] == pytest.approx(values[:450].mean(axis=0), rel=1e-5)
    assert config["training"].items() >= {"optimizer": "rmsprop", "lr": 1e-3, "seed": 0, "epochs": 2}.items()
    assert config["data"]["target_unit"] == "degC" and config["extra"] == {"note": "x"}
    assert {"torch", "forecastlab"} <= set(config["versions"])
    metrics = read_metrics(run)
    assert metrics["test_mae"] == result.test["mae"] and metrics["unit"] == "degC"
    assert [r["epoch"] for r in read_history(run)] == [1, 2]

    loaded = load_run(run)
    assert not loaded.model.training
    expected = predict_dataset(result.model, datasets.test)
    # Raw 2-D values: one window per start row, so the test windows are a subset at known rows.
    from_raw = predict(loaded, values)  # (windows, H, Q) = (windows, 1, 1) for the book's head
    assert from_raw.shape == (len(values) - 14, 1, 1)
    from_raw = from_raw[:, 0, 0]
    # Different batchings of the same windows may differ in the last float32 bit (CPU kernels
    # pick their blocking by batch size), so these compare to float32 precision, not bit for bit.
    close = {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(from_raw[datasets.test.start_rows], expected, **close)
    np.testing.assert_allclose(predict(loaded, values, last=2)[:, 0, 0], from_raw[-2:], **close)
    windows = values[datasets.test.start_rows[:5, None] + np.arange(8) * 2]
    np.testing.assert_allclose(predict(loaded, windows)[:, 0, 0], expected[:5], **close)
    with pytest.raises(ForecastlabError, match="3 feature columns"):
        predict(loaded, values[:, :2])


def test_early_stopping_stops_after_patience(values):
    targets = np.where(np.arange(len(values)) < len(values) // 2, 10.0, 4.0).astype(np.float32)
    datasets = SPEC.make_datasets(values, targets, batch_size=32, seed=0)
    result = train(BiasModel(), datasets, epochs=30, lr=0.1, progress=False, early_stopping=2)
    assert result.stopped_early
    assert len(result.history) == result.best_epoch + 2 < 30
    assert train(BiasModel(), datasets, epochs=6, lr=0.1, progress=False).stopped_early is False


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [("exponential:gamma=0.5", [1e-3, 5e-4, 2.5e-4]), ("cosine", [1e-3, 7.5e-4, 2.5e-4])],
)
def test_lr_schedule_changes_the_learning_rate(values, schedule, expected):
    result = train("dense", _datasets(values), epochs=3, lr_schedule=schedule, progress=False)
    assert [row["lr"] for row in result.history] == pytest.approx(expected)


def test_plateau_schedule_lowers_lr_when_val_loss_stalls(values):
    targets = np.where(np.arange(len(values)) < len(values) // 2, 10.0, 4.0).astype(np.float32)
    datasets = SPEC.make_datasets(values, targets, batch_size=32, seed=0)
    result = train(BiasModel(), datasets, epochs=12, lr=0.1, lr_schedule="plateau:patience=1,factor=0.5",
                   progress=False)
    lrs = [row["lr"] for row in result.history]
    assert lrs[0] == 0.1 and min(lrs) < 0.1


def test_bad_options_are_clear_errors(values):
    with pytest.raises(ForecastlabError, match="unknown learning-rate schedule"):
        train("dense", _datasets(values), epochs=1, lr_schedule="warp", progress=False)
    with pytest.raises(ForecastlabError, match="epochs must be"):
        train("dense", _datasets(values), epochs=0, progress=False)
    with pytest.raises(ForecastlabError, match="unknown optimizer"):
        train("dense", _datasets(values), epochs=1, optimizer="adagrad", progress=False)


@pytest.mark.parametrize(("model", "options", "message"), [
    ("dense", {"lr": -1.0}, "learning rate must be positive"),
    ("dense", {"lr_schedule": "bogus"}, "unknown learning-rate schedule"),
    ("dense", {"model_params": {"colour": 3}}, "no parameter"),
    ("dense", {"optimizer": "nadam"}, "unknown optimizer"),
    ("conv1d", {}, "too short"),  # SPEC's 8-step windows are shorter than the book's kernels
])
def test_a_bad_option_fails_before_the_run_directory_is_created(values, tmp_path, model, options, message):
    with pytest.raises(ForecastlabError, match=message):
        train(model, _datasets(values), epochs=1, out_dir=tmp_path / "new" / "run", progress=False, **options)
    assert not (tmp_path / "new").exists()


def test_max_steps_per_epoch_caps_training_but_not_evaluation(values):
    datasets = _datasets(values)
    result = train("dense", datasets, epochs=1, max_steps_per_epoch=2, progress=False)
    assert len(datasets.train) > 2 and result.val["n"] == datasets.val.num_windows
    assert math.isfinite(result.test["mae"])
