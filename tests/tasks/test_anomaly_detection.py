"""Anomaly detection with a real trained forecaster on a real file: the residual detector finds a drift the
rules cannot see, the benchmark beats the trivial detectors on range F1, and bad settings are refused."""

from __future__ import annotations

import numpy as np
import pytest

from forecastlab.data import load_series
from forecastlab.errors import ForecastlabError
from forecastlab.tasks.anomaly import detect_anomalies, fault_benchmark, residual_scores
from forecastlab.training import load_run
from forecastlab.training.recipe import DataRecipe, ModelRecipe, Recipe, TrainingRecipe, WindowRecipe
from forecastlab.training.runner import run_recipe
from tests_data_helpers import consistent_jena


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A one-step-ahead (1 h) lightgbm forecaster of T on 60 days of a consistent Jena-format file."""
    root = tmp_path_factory.mktemp("anomaly")
    csv = root / "weather.csv"
    consistent_jena(csv, days=60)
    recipe = Recipe(ModelRecipe("lightgbm", {"n_estimators": 60}), DataRecipe(str(csv)),
                    WindowRecipe(sequence_length=24, sampling_rate=6, horizon=1, batch_size=256),
                    TrainingRecipe(epochs=1, seed=0))
    run_recipe(recipe, out_dir=root / "run", progress=False)
    return csv, load_run(root / "run")


def test_the_residual_detector_flags_a_drift_the_rules_cannot_see(trained):
    csv, run = trained
    series = load_series(str(csv), clean=False)
    j = series.columns.index(series.target)
    drifted = series.values.copy()
    drifted[5000:5288, j] += np.linspace(0.1, 12, 288, dtype=np.float32)  # 2 days of slow drift, then gone
    import dataclasses

    faulty = dataclasses.replace(series, values=drifted)
    rules_only = detect_anomalies(faulty)
    assert not [e for e in rules_only.events if e.channel == series.target and 5000 <= e.start <= 5288]
    result = detect_anomalies(faulty, run=run)
    assert result.detectors == ["rules", "residual", "interval"]  # lightgbm runs have conformal intervals
    hits = [e for e in result.events if e.kind == "residual" and e.start <= 5288 and e.end >= 5000]
    assert hits and all("robust z" in e.reason for e in hits)
    # The z-score is trailing: the drift changes nothing before it (the forecaster's inputs end at the row).
    clean = residual_scores(run, series)
    np.testing.assert_array_equal(np.isnan(clean["z"][:5000]), np.isnan(result.residual_z[:5000]))
    np.testing.assert_allclose(clean["z"][:5000], result.residual_z[:5000], equal_nan=True)
    table = result.table()
    assert list(table.columns[:6]) == ["start", "end", "start_row", "end_row", "channel", "kind"]


def test_the_benchmark_scores_every_detector_beside_the_trivial_ones(trained):
    csv, run = trained
    series = load_series(str(csv), clean=False)
    bench = fault_benchmark(series, run, seed=1, per_kind=2, tolerance_hours=6)
    m = bench["metrics"]
    assert set(m) == {"rules", "residual", "interval", "all", "trivial"} and bench["tolerance_rows"] == 36
    assert len(bench["truth"]) == 10 and set(bench["recall_by_kind"]) == {"stuck", "spike", "drift", "sentinel",
                                                                          "dropout"}
    assert m["all"]["event_recall"] >= 0.8
    # "all" is the union: overlapping events of several detectors count as one flagged range.
    assert m["all"]["found"] <= sum(m[d]["found"] for d in ("rules", "residual", "interval"))
    flagged = np.zeros(len(series), dtype=bool)
    for e in bench["result"].events:
        if e.channel == series.target or series.target in e.channel.split(" vs "):
            flagged[e.start:e.end + 1] = True
    assert m["all"]["flagged_share"] == pytest.approx(flagged.mean())
    assert m["all"]["range_f1"] > 3 * m["trivial"]["random"]["range_f1"]
    assert m["all"]["range_f1"] > m["trivial"]["always"]["range_f1"]
    with pytest.raises(ForecastlabError, match="threshold"):
        detect_anomalies(series, run=run, threshold=0)


def test_the_autoencoder_flags_a_spike_and_repeats_itself_with_its_seed(trained):
    from forecastlab.tasks.anomaly import reconstruction_scores

    csv, _ = trained
    series = load_series(str(csv), clean=False)
    j = series.columns.index(series.target)
    values = series.values.copy()
    values[6000, j] += 25  # far outside anything the autoencoder learnt
    import dataclasses

    faulty = dataclasses.replace(series, values=values)
    z = reconstruction_scores(faulty, steps=200, seed=0)
    assert np.nanargmax(np.abs(z)) == 6000 and abs(z[6000]) > 5
    np.testing.assert_array_equal(z, reconstruction_scores(faulty, steps=200, seed=0))
    assert np.isnan(z[:143]).all()  # no window of a day ends there yet
    result = detect_anomalies(faulty, autoencoder=True, rules=False, autoencoder_steps=200)
    assert result.detectors == ["autoencoder"]
    assert any(e.kind == "reconstruction" and e.start <= 6000 <= e.end for e in result.events)


def test_no_residual_is_scored_for_a_window_that_reads_across_a_break(trained, tmp_path):
    """A hole in the time grid (here 200 rows cut out of the file) is a break: a window whose rows up to its
    target's cross it would compare a forecast with a reading not `delay` steps on. Such windows get no
    forecast (training drops them too); every other row is forecast as before."""
    import pandas as pd

    csv, run = trained
    frame = pd.read_csv(csv)
    frame.drop(index=range(5000, 5200)).to_csv(tmp_path / "holed.csv", index=False)
    holed = load_series(str(tmp_path / "holed.csv"), clean=False)
    assert holed.breaks.tolist() == [5000]
    delay = run.spec.delays[0]
    scores = residual_scores(run, holed)
    starts = np.arange(len(holed)) - delay  # the window whose target is each row
    crossing = (starts >= 0) & (starts < 5000) & (starts + delay >= 5000)
    assert crossing.sum() == delay and np.isnan(scores["forecast"][crossing]).all()
    fine = (starts >= 0) & ~crossing  # every window that does not cross is scored
    assert np.isfinite(scores["forecast"][fine]).all()
