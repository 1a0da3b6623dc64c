"""Many horizons, any loss, calibrated intervals: from the window spec to `evaluate --json` and
`predict --json`, through the real CLI; and the book's single horizon stays exactly the book's."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from forecastlab.data import load_series
from forecastlab.evaluation.baselines import compute_baselines
from forecastlab.training import load_run, predict, train
from forecastlab.windows import WindowSpec, make_datasets_from_series
from run_helpers import cli, strict_json, write_jena_csv


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    return write_jena_csv(tmp_path_factory.mktemp("mh") / "mini.csv", days=40)


def test_one_horizon_is_the_books_spec_and_targets():
    book = WindowSpec(120, 6, 24)
    assert WindowSpec(120, 6, 5, horizons=(24,)) == book and book.steps == (24,) and book.delays == (858,)
    y = np.arange(2000.0)
    np.testing.assert_array_equal(book.target_matrix(y), y[858:])  # the book's targets[delay:]


def test_several_horizons_give_one_target_column_each():
    spec = WindowSpec(10, 2, horizons=(3, 1, 2, 3))
    assert spec.steps == (1, 2, 3) and spec.horizon == 3 and spec.delays == (20, 22, 24) and spec.delay == 24
    y = np.arange(300.0)
    t = spec.target_matrix(y)
    assert t.shape == (276, 3) and t[0].tolist() == [20, 22, 24] and t[-1].tolist() == [295, 297, 299]
    sets = spec.make_datasets(np.stack([y, -y], axis=1), y, batch_size=7, shuffle_train=False)
    x, target = next(iter(sets.val))
    first = int(sets.val.start_rows[0])
    assert target.shape == (7, 3) and target[0].tolist() == [first + 20, first + 22, first + 24]
    assert WindowSpec.from_dict(spec.to_dict()) == spec


def test_baselines_are_scored_per_horizon_on_the_same_windows(csv):
    series = load_series(str(csv))
    sets = make_datasets_from_series(series, WindowSpec(24, 6, horizons=(6, 24)))
    scores = compute_baselines(series, sets)
    pers, seas = scores["persistence"], scores["seasonal_persistence"]
    assert len(pers["test_mae_by_horizon"]) == 2
    assert pers["test_mae"] == pytest.approx(np.mean(pers["test_mae_by_horizon"]))
    # 24 h ahead the same hour yesterday is the last input row; 6 h ahead it is not.
    assert seas["test_mae_by_horizon"][1] == pytest.approx(pers["test_mae_by_horizon"][1])
    assert seas["test_mae_by_horizon"][0] != pytest.approx(pers["test_mae_by_horizon"][0])


def test_a_quantile_model_trains_evaluates_and_predicts_intervals_per_horizon(csv, tmp_path):
    run = tmp_path / "q"
    done = cli("train", "lstm", "--data", csv, "--lookback", "1d", "--horizons", "1-6", "--loss",
               "quantile:0.1,0.5,0.9", "--target-transform", "standardize", "--epochs", "2",
               "--max-steps-per-epoch", "20", "--param", "units=8", "--no-progress", "--out", run, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["window"]["horizons"] == [1, 2, 3, 4, 5, 6] and config["window"]["sequence_length"] == 24
    assert config["head"]["loss"] == "quantile:0.1,0.5,0.9" and config["model"]["config"]["n_outputs"] == 18
    scores = strict_json(cli("evaluate", run, "--json", cwd=tmp_path).stdout)
    test = scores["test"]
    assert len(test["mae_by_horizon"]) == 6 and test["mae"] == pytest.approx(np.mean(test["mae_by_horizon"]))
    cover = test["intervals"]
    assert cover["method"] == "cqr" and cover["level"] == 0.8 and len(cover["coverage"]) == 6
    assert all(0.6 < c < 0.95 for c in cover["coverage"]) and all(w > 0 for w in cover["width"])
    rows = strict_json(cli("predict", run, "--json", cwd=tmp_path).stdout)["predictions"]
    assert [r["horizon"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r["ahead"] for r in rows] == ["1h", "2h", "3h", "4h", "5h", "6h"]
    assert all(r["lower"] <= r["prediction"] <= r["upper"] for r in rows)


def test_a_point_model_gets_split_conformal_intervals_that_cover(csv):
    series = load_series(str(csv))
    sets = make_datasets_from_series(series, WindowSpec(24, 6, horizons=(1, 6)), batch_size=64)
    result = train("dense", sets, epochs=2, max_steps_per_epoch=30, progress=False, model_params={"units": 8},
                   loss="mae", interval_level=0.8)
    iv = result.intervals
    assert iv["method"] == "split-conformal" and len(iv["q"]) == 2 and iv["n"] == sets.val.num_windows
    assert all(0.6 < c < 0.95 for c in iv["test_coverage"])
    assert result.metrics()["test_mae_by_horizon"] == result.test["mae_by_horizon"]


def test_a_multi_horizon_run_reloads_to_the_same_forecasts(csv, tmp_path):
    series = load_series(str(csv))
    sets = make_datasets_from_series(series, WindowSpec(24, 6, horizons=(2, 4)), batch_size=64)
    result = train("lstm", sets, epochs=1, max_steps_per_epoch=10, progress=False, out_dir=tmp_path / "r",
                   model_params={"units": 4}, loss="huber", target_transform="standardize")
    run = load_run(tmp_path / "r")
    got = predict(run, series.values, last=3)
    assert got.shape == (3, 2, 1)
    with torch.inference_mode():
        x = torch.from_numpy(run.normalizer.transform(series.values)[
            np.arange(len(series) - 139 - 2, len(series) - 139 + 1)[:, None] + np.arange(24) * 6])
        raw = result.model(x)
    np.testing.assert_allclose(got[..., 0], run.head.point(raw).numpy(), rtol=1e-6)


def test_ready_windows_give_the_same_forecasts_as_rows_in_any_batch_size(csv, tmp_path):
    # predict normalizes ready windows batch by batch; the numbers must be those of the rows' path exactly
    series = load_series(str(csv))
    sets = make_datasets_from_series(series, WindowSpec(24, 6, horizons=(2, 4)), batch_size=64)
    train("lstm", sets, epochs=1, max_steps_per_epoch=3, progress=False, out_dir=tmp_path / "r",
          model_params={"units": 4}, loss="quantile:0.1,0.5,0.9")
    run = load_run(tmp_path / "r")
    from_rows = predict(run, series.values, last=50)
    starts = np.arange(len(series) - run.span_rows + 1)[-50:]
    windows = series.values[starts[:, None] + np.arange(24) * 6]
    # the same batches (the model's kernels may round differently by batch size) give the same bits
    np.testing.assert_array_equal(predict(run, windows), from_rows)
    for batch_size in (1, 7, 64):
        np.testing.assert_allclose(predict(run, windows, batch_size=batch_size), from_rows, rtol=1e-5, atol=1e-5)
    assert from_rows.shape == (50, 2, 3)


def test_a_run_trained_from_python_is_evaluated_by_the_cli_on_its_own_data(csv, tmp_path):
    from forecastlab.training import describe_series

    series = load_series(str(csv))
    sets = make_datasets_from_series(series, WindowSpec(24, 6, 6), batch_size=64)
    result = train("dense", sets, epochs=1, max_steps_per_epoch=5, progress=False, out_dir=tmp_path / "py",
                   model_params={"units": 4}, extra_config={"data": describe_series(series)})
    done = cli("evaluate", tmp_path / "py", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"using the run's data: --data {csv}" in done.stderr and "SYNTHETIC" not in done.stderr
    assert strict_json(done.stdout)["test"]["mae"] == pytest.approx(result.test["mae"], rel=1e-6)
