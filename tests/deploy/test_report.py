"""The HTML report (forecastlab.deploy.report) of a real tiny run and a real tiny reproduce directory, both
made through the real CLI: every section with the run's own numbers, images embedded, nothing outside the
page, the run directory left as it was, the refusal to overwrite, and the data that moved."""

from __future__ import annotations

import base64
import json
import re
import shutil
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from forecastlab.cli import app
from forecastlab.deploy.report import build_report, detect, gather_report, write_report
from forecastlab.errors import ForecastlabError
from run_helpers import TINY, WINDOW, cli, digests, strict_json, write_jena_csv

SECTIONS = ["leaderboard", "curves", "data", "forecast", "errors", "coverage"]
# The same tiny windows with two horizons, for the reproduce directory (errors and coverage per horizon).
TWO_HORIZONS = ["--sequence-length", "24", "--sampling-rate", "6", "--horizons", "1,6", "--batch-size", "64"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A 20-day Jena-format file, one LSTM run on it, and a smoke reproduce of two models with two seeds."""
    root = tmp_path_factory.mktemp("report")
    write_jena_csv(root / "jena.csv")
    done = cli("train", "lstm", "--data", "jena.csv", *TINY, "--epochs", "2", "--out", "run", cwd=root)
    assert done.returncode == 0, done.stderr
    done = cli("reproduce", "--profile", "smoke", "--models", "dense,lstm", "--seeds", "2", "--data", "jena.csv",
               *TWO_HORIZONS, "--no-progress", "--out", "repro", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs["id"])
        if tag == "img":
            self.images.append(attrs["src"])

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> tuple[Page, str]:
    parsed = Page()
    parsed.feed(page)
    parsed.close()
    return parsed, " ".join(" ".join(parsed.text).split())


def self_contained(page: str) -> None:
    for bad in ('src="http', 'href="http', 'src="//', 'href="//', "<script", "<link", "@import", "url("):
        assert bad not in page, bad


def test_a_run_report_holds_every_section_with_the_run_numbers(root, monkeypatch):
    metrics = json.loads((root / "run" / "metrics.json").read_text())
    page = build_report(root / "run")
    parsed, text = parse(page)
    assert parsed.sections == SECTIONS
    # curves, the two data plots, the test week, errors by horizon / hour / season, coverage
    assert len(parsed.images) == 8 and all(s.startswith("data:image/png;base64,") for s in parsed.images)
    self_contained(page)
    # The leaderboard row of the run, from metrics.json, beside persistence scored on the same windows as
    # `forecastlab baseline` scores it (another code path: make_datasets_from_series, not the run's spec).
    assert f"lstm model {metrics['val_mae']:.2f} {metrics['test_mae']:.2f}" in text
    monkeypatch.chdir(root)
    done = CliRunner().invoke(app, ["baseline", "--data", "jena.csv", *WINDOW, "--json"])
    assert done.exit_code == 0, done.output
    persistence = strict_json(done.stdout)["baselines"]["persistence"]
    assert f"persistence baseline {persistence['val_mae']:.2f} {persistence['test_mae']:.2f}" in text
    # the test MAE by horizon recomputed from the data equals metrics.json's, and the coverage is metrics.json's
    assert f"6h (6 steps) {metrics['test_mae_by_horizon'][0]:.3f} {persistence['test_mae']:.3f}" in text
    cover = metrics["intervals"]
    assert f"80% {cover['test_coverage'][0]:.1%} {cover['test_width'][0]:.3f}" in text
    assert "differs from metrics.json" not in text  # the data is the one the run was scored on
    assert "book's numbers are for its own task" in text  # a 1-hour toy task: no book numbers beside it


def test_write_report_refuses_to_overwrite_and_changes_nothing_else(root, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(root / "run", run)
    before = digests(run)
    path = write_report(run)
    assert path == run / "report.html" and path.read_text().startswith("<!DOCTYPE html>")
    assert digests(run) == before | {"report.html": digests(run)["report.html"]}  # only the report was added
    with pytest.raises(ForecastlabError, match="already exists; refusing to overwrite") as err:
        write_report(run)
    assert err.value.where == str(path) and "overwrite=True" in err.value.fix
    first = path.stat().st_mtime_ns
    assert write_report(run, overwrite=True) == path and path.stat().st_mtime_ns >= first
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]  # written atomically, no temp left
    with pytest.raises(ForecastlabError, match="is a folder"):
        write_report(run, tmp_path)
    with pytest.raises(ForecastlabError, match="folder for the report does not exist"):
        write_report(run, tmp_path / "missing" / "r.html")
    for own in ("metrics.json", "config.json"):  # PATH's own files are never replaced, even with overwrite
        with pytest.raises(ForecastlabError, match="is one of the files the report reads"):
            write_report(run, run / own, overwrite=True)
    assert digests(run) == before | {"report.html": digests(run)["report.html"]}


def test_the_data_moved_the_report_still_writes_with_notes_and_data_brings_them_back(root, tmp_path):
    moved = tmp_path / "elsewhere.csv"
    (root / "jena.csv").rename(moved)
    try:
        report = gather_report(root / "run")
        page = report.html()
        parsed, text = parse(page)
        assert parsed.sections == SECTIONS
        assert set(report.unavailable) == {"leaderboard", "data", "forecast", "errors"}
        assert "the data file does not exist" in text and str(root / "jena.csv") in text
        assert "forecastlab report PATH --data FILE" in text
        metrics = json.loads((root / "run" / "metrics.json").read_text())
        assert f"{metrics['test_mae']:.3f}" in text  # what the run directory holds is still shown
        assert len(parsed.images) == 3  # curves, errors by horizon (metrics.json), coverage
        self_contained(page)

        again = gather_report(root / "run", data=str(moved))
        assert again.unavailable == {} and len(parse(again.html())[0].images) == 8
    finally:
        moved.rename(root / "jena.csv")


def test_a_reproduce_report_is_about_the_best_model_by_validation(root):
    repro = root / "repro"
    board = json.loads((repro / "leaderboard.json").read_text())
    models = json.loads((repro / "reproduce.json").read_text())["models"]
    best = min((r for r in board["rows"] if r["kind"] == "model"), key=lambda r: r["val_mae"])
    report = gather_report(repro)
    assert report.kind == "reproduce" and report.model == best["name"]
    assert report.run_dir == repro / "models" / best["name"] / "seed-0"
    page = report.html()
    parsed, text = parse(page)
    assert parsed.sections == SECTIONS and report.unavailable == {}
    self_contained(page)
    # leaderboard.png, both models' curves, the two stored data plots (as they are), the week, 3 error plots,
    # coverage
    assert len(parsed.images) == 10
    stored = [base64.b64encode((repro / "plots" / n).read_bytes()).decode() for n in
              ("temperature_whole_record.png", "temperature_first_10_days.png")]
    assert [s.split(",", 1)[1] for s in parsed.images if s.split(",", 1)[1] in stored] == stored
    # mean ± sd over the two seeds, and each seed's own MAE
    assert f"{best['val_mae']:.2f} ± {best['val_mae_std']:.3f}" in text
    seeds = models[best["name"]]["test_mae_seeds"]
    assert len(seeds) == 2 and ", ".join(f"{v:.3f}" for v in seeds) in text
    assert f"about <strong>{best['name']}</strong>, the best model by validation MAE (its seed-0 run of 2 seeds)" \
        in page
    # both horizons, from the best model's first seed
    metrics = json.loads((report.run_dir / "metrics.json").read_text())
    for label, mae in zip(("1h (1 step)", "6h (6 steps)"), metrics["test_mae_by_horizon"], strict=True):
        assert re.search(rf"{re.escape(label)} {mae:.3f} \d", text), label
    for cover in metrics["intervals"]["test_coverage"]:
        assert f"80% {cover:.1%}" in text


def test_anything_but_a_run_or_reproduce_directory_is_a_clear_error(root, tmp_path):
    with pytest.raises(ForecastlabError, match="neither a run directory .* nor a reproduce directory") as err:
        detect(tmp_path)
    assert err.value.where == str(tmp_path)
    with pytest.raises(ForecastlabError, match="the path is a file"):
        build_report(root / "jena.csv")
    with pytest.raises(ForecastlabError, match="does not exist"):
        build_report(tmp_path / "nothing")
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    shutil.copy(root / "run" / "config.json", unfinished)
    with pytest.raises(ForecastlabError, match="has not finished training"):
        build_report(unfinished)
    damaged = tmp_path / "damaged"
    (damaged / "models").mkdir(parents=True)
    (damaged / "leaderboard.json").write_text('{"rows": [{"name": "lstm"}]}')
    with pytest.raises(ForecastlabError, match="row 0 has no name, val_mae and test_mae") as err:
        build_report(damaged)
    assert err.value.where.endswith("leaderboard.json, key rows[0]")


def test_a_reproduce_directory_without_its_best_run_still_reports_the_leaderboard(root, tmp_path):
    repro = tmp_path / "repro"
    shutil.copytree(root / "repro", repro)
    report = gather_report(repro)
    shutil.rmtree(repro / "models" / report.model)  # the best model's runs are gone; the other model's remain
    again = gather_report(repro)
    assert again.model == report.model and again.run_dir is None
    assert [s.id for s in again.sections] == ["leaderboard", "curves", "data", "runs"]
    assert "has no run directory" in again.unavailable["runs"]
    parsed, text = parse(again.html())
    # leaderboard.png, the other model's curves, the two stored data plots
    assert len(parsed.images) == 4 and "keep the reproduce directory whole" in text


def test_a_classifier_report_names_its_model_and_folder(tmp_path):
    """gather_report of a saved classifier (forecastlab classify --out) and of its artifact: the model is the
    registered one classifier.json names, the run directory the folder itself, as for a forecasting run."""
    import sys

    from forecastlab.data import load_series
    from forecastlab.deploy.artifact import export_classifier
    from forecastlab.tasks.classification import classify_frost
    from run_helpers import TESTS

    sys.path.insert(0, str(TESTS / "tasks"))
    from test_classification import frost_csv

    series = load_series(frost_csv(tmp_path / "frost.csv"))
    classify_frost(series, model="fcn", model_params={"filters": 4}, epochs=1, max_steps=3, batch_size=64,
                   stride=6).classifier.save(tmp_path / "frost")
    export_classifier(tmp_path / "frost", tmp_path / "art")
    for folder in (tmp_path / "frost", tmp_path / "art"):
        report = gather_report(folder)
        assert (report.kind, report.model, report.run_dir) == ("classifier", "fcn", folder)
        summary = report.summary()
        assert summary["model"] == "fcn" and summary["run_dir"] == str(folder), summary
