"""The classification task on the shared engine: frost labels against a brute-force definition, a frost
run on a real file (baselines, train-only normalization, save and load with identical probabilities,
the outlook on fresh rows), UCR-style cases that a model must learn, and the refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from forecastlab.data import load_series
from forecastlab.data.ucr import ClassificationSplit, LabelledCases
from forecastlab.errors import ForecastlabError
from forecastlab.tasks.classification import (
    META,
    WEIGHTS,
    classify_cases,
    classify_frost,
    frost_labels,
    frost_spec,
    load_classifier,
)
from run_helpers import write_jena_csv


def frost_csv(path, days=50):
    """write_jena_csv's file with a temperature that dips below 0 degC in cold spells of a few days."""
    write_jena_csv(path, days=days)
    frame = pd.read_csv(path)
    t = np.arange(len(frame)) / 144.0  # days
    rng = np.random.default_rng(1)
    frame["T (degC)"] = np.round(2.0 + 4.0 * np.sin(2 * np.pi * t / 6.3) + 2.5 * np.sin(2 * np.pi * t)
                                 + rng.normal(0, 0.3, len(frame)), 2)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def frost(tmp_path_factory):
    root = tmp_path_factory.mktemp("frost")
    series = load_series(frost_csv(root / "frost.csv"))
    result = classify_frost(series, model="fcn", model_params={"filters": 4}, epochs=2, max_steps=4,
                            batch_size=64, stride=6, seed=0, feature_set="book")
    return root, series, result


def test_frost_labels_are_the_trailing_24_hour_minimum_below_zero(frost):
    _root, series, _result = frost
    labels = frost_labels(series)
    t = series.values[:, series.columns.index("T (degC)")]
    stamps = series.timestamps
    for r in [0, 5, 143, 144, 700, 2000, len(series) - 1]:
        inside = (stamps > stamps[r] - np.timedelta64(24, "h")) & (stamps <= stamps[r])
        assert labels[r] == int(t[inside].min() < 0), r
    assert 0.05 < labels.mean() < 0.95


def test_the_window_is_the_books_five_days_hourly_with_the_label_24_hours_on():
    series = load_series("synthetic")
    spec = frost_spec(series)
    assert (spec.sequence_length, spec.sampling_rate, spec.horizon) == (120, 6, 24)


def test_frost_run_scores_the_model_beside_four_rule_baselines(frost):
    _root, series, result = frost
    board = result.leaderboard()
    assert board["method"].tolist() == ["majority class", "frost in the past 24 h", "temperature now below t",
                                        "past-24 h minimum below t", "fcn"]
    assert board["kind"].tolist() == ["baseline"] * 4 + ["model"]
    for split in ("val", "test"):
        assert board[f"{split}_accuracy"].between(0, 1).all() and board[f"{split}_macro_f1"].between(0, 1).all()
    # Persistence of the label: exactly the label at each window's last input row, scored on test.
    labels = frost_labels(series)
    past = result.rows[1]["test"]
    assert past["cases"] == result.data["windows"]["test"]
    assert len(result.history) == 2 and 1 <= result.best_epoch <= 2
    json.dumps(result.to_dict(), allow_nan=False)
    assert 0 < result.data["frost_share"]["train"] < 1
    assert labels.dtype == np.int64


def test_normalization_uses_training_rows_only(frost):
    _root, series, result = frost
    clf = result.classifier
    half = len(series) // 2
    rows = series.values[:half].astype(np.float64)
    np.testing.assert_allclose(clf.mean, rows.mean(0), rtol=1e-4, atol=1e-4)
    assert not np.allclose(clf.mean, series.values.astype(np.float64).mean(0), rtol=1e-3, atol=1e-3)


def test_saved_classifier_loads_with_identical_probabilities_and_refuses_overwrite(frost):
    root, series, result = frost
    clf = result.classifier
    folder = clf.save(root / "saved")
    assert sorted(p.name for p in folder.iterdir()) == [META, WEIGHTS]
    again = load_classifier(folder)
    windows = np.stack([series.values[i:i + 120 * 6:6] for i in range(0, 1000, 97)])
    np.testing.assert_array_equal(again.predict_proba(windows), clf.predict_proba(windows))
    p = again.predict_proba(windows)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-9)
    assert again.classes == ["no frost", "frost"] and again.task["kind"] == "frost"
    before = (folder / WEIGHTS).read_bytes()
    with pytest.raises(ForecastlabError, match="already holds a classifier"):
        clf.save(folder)
    assert (folder / WEIGHTS).read_bytes() == before
    clf.save(folder, overwrite=True)


def test_the_outlook_reads_the_last_window_of_fresh_rows(frost):
    root, series, result = frost
    clf = result.classifier
    outlook = clf.frost_outlook(series)
    assert outlook["origin"] == str(series.timestamps[-1]) and outlook["horizon_hours"] == 24
    p = outlook["probabilities"]
    assert set(p) == {"no frost", "frost"} and sum(p.values()) == pytest.approx(1.0)
    last = series.values[len(series) - 715::6][None]
    assert p["frost"] == pytest.approx(clf.predict_proba(last)[0, 1])
    short = load_series(root / "frost.csv")
    with pytest.raises(ForecastlabError, match="need 715 rows"):
        clf.frost_outlook(type(short)(**{**short.__dict__, "timestamps": short.timestamps[:100],
                                         "values": short.values[:100], "missing": short.missing[:100]
                                         if short.missing.size else short.missing}))


def test_bad_windows_are_refused_with_their_position(frost):
    _root, _series, result = frost
    clf = result.classifier
    with pytest.raises(ForecastlabError, match=r"this classifier reads \(cases, 120, 14\)"):
        clf.predict_proba(np.zeros((2, 100, 14)))
    x = np.zeros((3, 120, 14))
    x[2, 7, 4] = np.nan
    with pytest.raises(ForecastlabError, match="window 2 holds NaN or infinity at step 7, channel 4"):
        clf.predict_proba(x)


def test_tampered_classifiers_are_refused(frost):
    root, _series, result = frost
    folder = result.classifier.save(root / "tamper")
    meta = json.loads((folder / META).read_text())
    meta["classes"] = ["a", "b", "c"]
    (folder / META).write_text(json.dumps(meta))
    with pytest.raises(ForecastlabError, match="3 classes"):
        load_classifier(folder)
    meta["classes"], meta["model"]["name"] = ["a", "b"], "os.system"
    (folder / META).write_text(json.dumps(meta))
    with pytest.raises(ForecastlabError, match="unknown model 'os.system'"):
        load_classifier(folder)
    meta["model"]["name"] = "fcn"
    (folder / META).write_text(json.dumps(meta))
    (folder / WEIGHTS).write_bytes(b"\x80\x04pickle")
    with pytest.raises(ForecastlabError, match="not a safetensors file"):
        load_classifier(folder)
    with pytest.raises(ForecastlabError, match="no classifier.json"):
        load_classifier(root)


def shapes_cases(n_train=40, n_test=60, length=48, seed=0) -> LabelledCases:
    """Sines (class 0) against square waves (class 1) of random phase and amplitude, with noise."""
    rng = np.random.default_rng(seed)

    def draw(n):
        y = rng.integers(0, 2, n)
        t = np.arange(length) / length * 4 * np.pi
        phase = rng.uniform(0, 2 * np.pi, (n, 1))
        wave = np.sin(t + phase)
        x = np.where(y[:, None] == 1, np.sign(wave), wave) * rng.uniform(0.5, 2, (n, 1))
        return ClassificationSplit((x + rng.normal(0, 0.1, x.shape))[:, :, None].astype(np.float32), y)

    return LabelledCases("shapes", draw(n_train), draw(n_test), ["sine", "square"])


def test_a_model_learns_cases_and_the_run_is_reproducible():
    cases = shapes_cases()
    a = classify_cases(cases, model="fcn", model_params={"filters": 8}, epochs=25, batch_size=8, seed=3)
    test = a.rows[-1]["test"]
    assert test["accuracy"] >= 0.9, a.leaderboard()
    assert a.rows[0]["name"] == "majority class" and a.rows[1]["name"] == "1-NN (Euclidean)"
    assert a.rows[0]["test"]["macro_f1"] < 0.5
    b = classify_cases(cases, model="fcn", model_params={"filters": 8}, epochs=25, batch_size=8, seed=3)
    np.testing.assert_array_equal(a.classifier.predict_proba(cases.test.x), b.classifier.predict_proba(cases.test.x))
    assert a.classifier.predict(cases.test.x[:, :, 0]).shape == (60,)  # (cases, length) univariate works too


def test_refusals_name_the_argument(frost):
    _root, series, _result = frost
    with pytest.raises(ForecastlabError, match="not a torch model"):
        classify_cases(shapes_cases(), model="lightgbm", epochs=1)
    with pytest.raises(ForecastlabError, match="epochs must be"):
        classify_cases(shapes_cases(), model="fcn", epochs=0)
    with pytest.raises(ForecastlabError, match="never \\(or always\\) falls below"):
        classify_frost(series, below=-100.0, epochs=1, max_steps=1)


def test_precise_batchnorm_sets_the_statistics_of_the_given_inputs():
    import torch

    from forecastlab.models import build_model
    from forecastlab.tasks.classification import precise_batchnorm

    torch.manual_seed(0)
    module = build_model("fcn", 1, 48, n_outputs=2, filters=4)
    x = torch.randn(16, 48, 1) * 3 + 5
    assert precise_batchnorm(module, [x])
    first = module.blocks[0]
    with torch.no_grad():
        h = first.conv(torch.nn.functional.pad(x.transpose(1, 2), (3, 4)))
    torch.testing.assert_close(first.norm.running_mean, h.mean(dim=(0, 2)), rtol=1e-5, atol=1e-5)
    assert first.norm.momentum == 0.1 and not module.training  # restored, and left in eval mode
    assert not precise_batchnorm(build_model("dense", 1, 48, n_outputs=2), [x])


class _Killed(Exception):
    pass


def test_an_interrupted_training_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    from forecastlab.evaluation.classification import classification_scores
    from forecastlab.tasks.classification import _batches_of_arrays, _probabilities, fit_classifier

    cases = shapes_cases()
    x, y = cases.train.x, cases.train.y
    plain = _batches_of_arrays(x, y, 8, 5)

    def dying(epoch):  # the process "dies" at the start of epoch 3, after two checkpoints
        if epoch == 2:
            raise _Killed
        return plain(epoch)

    def validate(module):
        return classification_scores(cases.test.y, _probabilities(module, cases.test.x), classes=cases.classes)

    kw = dict(epochs=5, seed=5, model_params={"filters": 4}, validate=validate, fingerprint={"data": "shapes"})
    whole, whole_history, whole_best = fit_classifier("fcn", 1, 48, cases.classes, plain, **kw)
    state = tmp_path / "training.pt"
    with pytest.raises(_Killed):
        fit_classifier("fcn", 1, 48, cases.classes, dying, checkpoint=state, **kw)
    assert state.is_file() and (tmp_path / "training.pt.sha256").is_file()
    resumed, history, best = fit_classifier("fcn", 1, 48, cases.classes, plain, checkpoint=state, resume=True, **kw)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5] and best == whole_best
    for a, b in zip(history, whole_history, strict=True):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    for key, value in whole.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key
    # another training's options (or data) are refused by name, and a missing checkpoint too
    with pytest.raises(ForecastlabError, match=r"had epochs=5; this one has epochs=6"):
        fit_classifier("fcn", 1, 48, cases.classes, plain, checkpoint=state, resume=True, **(kw | {"epochs": 6}))
    with pytest.raises(ForecastlabError, match="'shapes'"):
        fit_classifier("fcn", 1, 48, cases.classes, plain, checkpoint=state, resume=True,
                       **(kw | {"fingerprint": {"data": "other"}}))
    with pytest.raises(ForecastlabError, match="no training checkpoint"):
        fit_classifier("fcn", 1, 48, cases.classes, plain, checkpoint=tmp_path / "none.pt", resume=True, **kw)
    state.write_bytes(state.read_bytes()[:-10])  # a damaged checkpoint is refused by its sha256
    with pytest.raises(ForecastlabError, match="training.pt"):
        fit_classifier("fcn", 1, 48, cases.classes, plain, checkpoint=state, resume=True, **kw)


def test_the_ucr_protocol_halves_the_rate_on_a_plateau_keeps_the_lowest_loss_and_resumes(tmp_path):
    from forecastlab.tasks.classification import _batches_of_arrays, fit_classifier

    cases = shapes_cases()
    plain = _batches_of_arrays(cases.train.x, cases.train.y, 8, 2)

    def dying(epoch):
        if epoch == 4:
            raise _Killed
        return plain(epoch)

    kw = dict(epochs=8, seed=2, lr=0.05, model_params={"filters": 4}, keep_lowest_loss=True,
              plateau={"factor": 0.5, "patience": 0, "min_lr": 1e-3})
    module, history, best = fit_classifier("fcn", 1, 48, cases.classes, plain, **kw)
    rates = [r["lr"] for r in history]
    assert rates[0] == 0.05 and all(b <= a for a, b in zip(rates, rates[1:], strict=False)) and rates[-1] < 0.05
    losses = [r["loss"] for r in history]
    assert best == int(np.argmin(losses)) + 1 and [r["epoch"] for r in history if r.get("best")][-1] == best
    with pytest.raises(_Killed):
        fit_classifier("fcn", 1, 48, cases.classes, dying, checkpoint=tmp_path / "t.pt", **kw)
    again, again_history, again_best = fit_classifier("fcn", 1, 48, cases.classes, plain,
                                                      checkpoint=tmp_path / "t.pt", resume=True, **kw)
    assert [r["lr"] for r in again_history] == rates and again_best == best  # the scheduler's state came back
    for key, value in module.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key


def test_a_validation_split_of_one_class_is_warned_about_and_below_must_be_finite(tmp_path):
    frame = pd.read_csv(frost_csv(tmp_path / "frost.csv"))
    n = len(frame)
    frame.loc[int(0.45 * n):int(0.8 * n), "T (degC)"] = 12.0  # a warm spell over the whole validation split
    frame.to_csv(tmp_path / "warm-val.csv", index=False)
    series = load_series(tmp_path / "warm-val.csv")
    from forecastlab.errors import DataQualityWarning

    with pytest.warns(DataQualityWarning, match="the validation split has only 'no frost' windows") as caught:
        result = classify_frost(series, model="fcn", model_params={"filters": 4}, epochs=1, max_steps=1,
                                batch_size=64, stride=6, feature_set="book")
    said = " ".join(str(w.message) for w in caught)
    assert "validation macro F1 cannot choose the best epoch" in said and "a higher below= than 0" in said
    assert result.to_dict()["data"]["frost_share"]["val"] == 0.0
    for below in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ForecastlabError, match="below must be a finite number") as err:
            classify_frost(series, below=below, epochs=1, max_steps=1)
        assert err.value.arg == "below"
