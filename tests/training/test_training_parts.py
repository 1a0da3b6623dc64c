"""The engine's parts on their own: exact evaluation, device choice, atomic writes, progress output."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch
from rich.console import Console
from torch import nn

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation import evaluate, predict_dataset
from forecastlab.models import build_model
from forecastlab.reporting.curves import plot_curves
from forecastlab.training import select_device, train
from forecastlab.training.checkpoint import atomic_write_text, load_checkpoint, save_checkpoint
from forecastlab.training.progress import EpochProgress, format_epoch
from forecastlab.windows import WindowSpec, timeseries_dataset_from_array


class Linear(nn.Module):
    """Last step's first feature times 2, plus 1: predictions a NumPy check can recompute."""

    def forward(self, x):
        return 2 * x[:, -1, :1] + 1


def test_evaluate_is_exact_over_the_partial_last_batch():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(103, 2)).astype(np.float32)
    targets = (rng.normal(size=103) * 3).astype(np.float32)
    # 100 windows in batches of 32: the last batch holds only 4, so a mean of batch means is wrong.
    ds = timeseries_dataset_from_array(data, targets, sequence_length=4, batch_size=32)
    assert ds.num_windows == 100 and len(ds) == 4
    scores = evaluate(Linear(), ds)
    pred = 2 * data[np.arange(100) + 3, 0] + 1
    err = pred.astype(np.float64) - targets[:100]
    assert scores["n"] == 100
    assert scores["mae"] == pytest.approx(np.abs(err).mean(), rel=1e-6)
    assert scores["mse"] == pytest.approx((err**2).mean(), rel=1e-6)
    batch_means = [np.abs(err[i : i + 32]).mean() for i in range(0, 100, 32)]
    assert abs(np.mean(batch_means) - scores["mae"]) > 1e-3  # the case tells the two apart
    np.testing.assert_allclose(predict_dataset(Linear(), ds), pred, rtol=1e-6)


def test_evaluate_runs_in_inference_mode_and_restores_train_mode():
    seen = {}

    class Spy(nn.Module):
        def forward(self, x):
            seen["inference"] = torch.is_inference_mode_enabled()
            seen["training"] = self.training
            return x[:, -1, :1]

    model = Spy().train()
    ds = timeseries_dataset_from_array(np.ones((10, 1), np.float32), np.ones(10, np.float32), 3, batch_size=4)
    evaluate(model, ds)
    assert seen == {"inference": True, "training": False} and model.training


def test_select_device_picks_cpu_here_and_refuses_a_missing_gpu():
    assert select_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device(None).type == expected and select_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ForecastlabError, match="GPU was requested") as err:
            select_device("cuda")
        assert "device='cpu'" in err.value.fix and err.value.arg == "device"
        with pytest.raises(ForecastlabError):
            select_device("cuda:1")
    with pytest.raises(ForecastlabError, match="unknown device"):
        select_device("gpu0")
    with pytest.raises(ForecastlabError, match="not supported"):
        select_device("meta")


def _tiny_datasets():
    t = np.arange(400)
    values = np.stack([np.sin(t / 10), np.cos(t / 10)], 1).astype(np.float32)
    return WindowSpec(6, 2, 2).make_datasets(values, values[:, 0] * 5, batch_size=16, seed=0)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no GPU here; the same test runs on a GPU machine"))])
def test_training_puts_model_and_batches_on_the_chosen_device(device):
    seen = set()
    model = build_model("lstm", 2, 6, units=4)
    model.register_forward_pre_hook(lambda mod, args: seen.add(args[0].device.type))
    result = train(model, _tiny_datasets(), epochs=1, device=device, progress=False)
    assert seen == {device}
    assert {p.device.type for p in result.model.parameters()} == {device}
    assert result.config["training"]["device"].startswith(device)


def test_atomic_writes_replace_whole_files_and_leave_no_temp_files(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.ones(3)})
    with pytest.raises(Exception):  # noqa: B017 (any pickling error: the point is what is left on disk)
        save_checkpoint(path, {"epoch": 2, "bad": lambda: 0})
    assert load_checkpoint(path)["epoch"] == 1
    atomic_write_text(tmp_path / "a.txt", "one")
    atomic_write_text(tmp_path / "a.txt", "two")
    assert (tmp_path / "a.txt").read_text() == "two"
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "last.pt", "last.pt.sha256"]


def test_damaged_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ForecastlabError, match="no recorded sha256"):
        load_checkpoint(tmp_path / "last.pt")
    with pytest.warns(UserWarning, match="no recorded sha256"), pytest.raises(ForecastlabError, match="cannot be read"):
        load_checkpoint(tmp_path / "last.pt", require_checksum=False)
    with pytest.raises(ForecastlabError, match="missing"):
        load_checkpoint(tmp_path / "best.pt")


def test_epoch_line_and_quiet_progress(capsys):
    row = {"epoch": 3, "loss": 9.5, "mae": 2.41, "val_loss": 10.25, "val_mae": 2.5, "lr": 1e-3, "seconds": 12.3}
    line = format_epoch(row, 10, best=True)
    assert line.startswith("epoch  3/10  loss 9.5000  mae 2.4100  val_loss 10.2500  val_mae 2.5000")
    assert line.endswith("12.3s  * best")
    with EpochProgress(10, enabled=False) as bar:
        bar.start_epoch(1, 5)
        bar.step(5, lambda: (1.0, 1.0))
        bar.end_epoch(row, best=False)
    assert capsys.readouterr().err == ""


def test_live_bar_shows_a_dash_until_the_first_step():
    out = io.StringIO()
    term = Console(file=out, force_terminal=True, width=140, color_system=None)
    with EpochProgress(10, console=term) as bar:
        bar.start_epoch(1, 5)
        bar._bar.refresh()
        before = out.getvalue()
        bar.step(1, lambda: (1.5, 0.25))
        bar._bar.refresh()
        after = out.getvalue()[len(before):]
    assert "loss —  mae —" in before and "nan" not in before
    assert "loss 1.5000  mae 0.2500" in after


def test_curves_png_has_the_books_two_series(tmp_path):
    history = [{"epoch": e, "mae": 3 - 0.2 * e, "val_mae": 2.8 - 0.1 * e} for e in range(1, 6)]
    path = plot_curves(history, tmp_path / "curves.png", best_epoch=5, baseline_mae=2.44, unit="degC")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
