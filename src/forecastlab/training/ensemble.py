"""`ensemble`: the mean, or the weighted median, of any set of trained runs, saved and loaded as a run.

    result = make_ensemble(["runs/lstm", "runs/gbm", "runs/persistence"], "runs/ens", method="median",
                           weights="inverse_val_mae")
    run = load_run("runs/ens")            # like any run: evaluate, predict, backtest, the leaderboard
    predict(run, series.values, last=1)

Members can be of any kind (torch, lightgbm, linear, persistence, another ensemble). They must forecast
from the same windows of the same data: the same window (sequence length, sampling rate, horizons), target,
input columns and normalizer (train-split statistics), and the same outputs per horizon (all point
forecasts, or all the same quantiles). Each quantile is combined on its own, as each point forecast is: a
weighted mean, or a weighted median (the smallest value whose cumulative weight reaches half, the average
of it and the next value when it is exactly half, so equal weights give numpy's median). Both keep the
quantiles in order.

The ensemble run is self-contained: every file of each member that `load_run` reads (config.json,
metrics.json, best.pt and its sha256, the model/ folder) is copied into the run's model/members/NN/, with
its sha256 and the member's source path in model/ensemble.json; loading checks every copied file against
its sha256 (bounded reads), refuses any file or folder not recorded, and loads each member with load_run
(which never unpickles or imports anything a file names). Deleting or retraining a member run afterwards
changes nothing. Its val and test scores and its conformal intervals come from the same code as every
estimator's (forecastlab.training.train on the Ensemble, which is an Estimator of kind "ensemble").

The Ensemble class, the combinations and the members' files live in forecastlab.training.ensemble_model
(re-exported here), which forecastlab.training.loading imports to rebuild an ensemble run.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from forecastlab.errors import ForecastlabError
from forecastlab.training import run_dir as rd
from forecastlab.training.engine import TrainResult
from forecastlab.training.ensemble_model import (
    GREEDY_VAL_MAE,
    INVERSE_VAL_MAE,
    MAX_MEMBERS,
    METHODS,
    NAME,
    WEIGHTINGS,
    Ensemble,
    Weights,
    check_members,
    combine,
    member_files,
    weighted_median,
    weights_error,
    write_files,
)
from forecastlab.training.loading import load_run

__all__ = ["GREEDY_VAL_MAE", "INVERSE_VAL_MAE", "Ensemble", "EnsembleResult", "check_members", "combine",
           "make_ensemble", "parse_weights",
           "weighted_median"]

Ensemble.with_loader(load_run)  # so Ensemble.load(run_dir / "model") works from here too

# -- making one ---------------------------------------------------------------------------------------------------


@dataclass
class EnsembleResult(TrainResult):
    """train()'s result for the ensemble, with each member's and the persistence baseline's scores on the same
    val and test windows."""

    members: list[dict] = field(default_factory=list)  # source, model, kind, weight, val_mae, test_mae
    baselines: dict = field(default_factory=dict)  # {"persistence": {"val_mae", "test_mae"}}

    def to_dict(self) -> dict:
        model = self.model
        return {"run_dir": str(self.run_dir) if self.run_dir else None, "method": model.method,
                "weights": [float(w) for w in model.weights_], "unit": self.config.get("data", {}).get("target_unit"),
                "ensemble": {"val_mae": self.val["mae"], "test_mae": self.test["mae"],
                             "val_mae_by_horizon": self.val.get("mae_by_horizon"),
                             "test_mae_by_horizon": self.test.get("mae_by_horizon")},
                "members": self.members, "baselines": self.baselines, "intervals": self.intervals}


def make_ensemble(run_dirs, out_dir, *, method: str = "mean", weights: list[float] | str | None = None,
                  overwrite: bool = False, series=None, interval_level: float | None = None) -> EnsembleResult:
    """Combine the finished runs `run_dirs` into one ensemble run in `out_dir`, scored on their data.

    method: "mean" or "median" (weighted, per window, horizon and quantile).
    weights: None (equal), "inverse_val_mae" (each member by 1 / its validation MAE, measured on the same
        windows), "greedy_val_mae" (greedy ensemble selection on the validation windows: a member that does
        not lower the combination's validation MAE gets 0), or one number >= 0 per run; normalized to sum 1.
    overwrite: replace an earlier run in out_dir (refused otherwise, like train's).
    series: the data to score the ensemble on and calibrate its intervals with; default: the members' own
        data, read as the first run's recipe says (forecastlab.training.runner.run_series).
    interval_level: of the conformal intervals, calibrated on the validation split; default: the first run's.

    The members' files are copied into out_dir/model/members/NN/ (see the module). Returns an EnsembleResult:
    train()'s TrainResult (val, test, intervals, written to metrics.json) and every member's and the
    persistence baseline's val and test MAE on the same windows.
    """
    from forecastlab.evaluation.baselines import compute_baselines
    from forecastlab.training.engine import point_scores, train

    dirs, weights = check_arguments(run_dirs, out_dir, method=method, weights=weights, overwrite=overwrite)
    out = Path(out_dir)
    files = [member_files(d) for d in dirs]
    runs = []
    with tempfile.TemporaryDirectory(prefix="forecastlab-ensemble-") as tmp:
        # Loaded from a copy of exactly the bytes that will be saved: a member retrained meanwhile cannot mix in.
        for i, (d, f) in enumerate(zip(dirs, files, strict=True)):
            copy = Path(tmp) / f"{i:02d}"
            write_files(copy, f)
            try:
                run = load_run(copy)
            except ForecastlabError as err:
                raise ForecastlabError(err.what.replace(str(copy), str(d)), fix=err.fix, arg=err.arg,
                                       where=(err.where or "").replace(str(copy), str(d)) or str(d)) from None
            run.run_dir = d  # the copy goes away; errors name the run the user gave
            runs.append(run)
    sources = [{"source": str(d.resolve()), "model": run.config["model"]["name"],
                "kind": getattr(run.model, "kind", "torch")} for d, run in zip(dirs, runs, strict=True)]
    first = runs[0]
    check_members(runs, [str(d) for d in dirs])
    series = series if series is not None else _members_series(first, dirs[0])
    _refuse_changed(first, series)
    datasets = _datasets(first, series)
    n_features = first.config["model"]["config"].get("n_features") or len(series.columns)
    ensemble = Ensemble(n_features, first.spec.sequence_length, method=method, weights=weights)
    ensemble.attach(runs, files, sources)
    level = interval_level if interval_level is not None else first.config["training"].get("interval_level", 0.8)
    ensemble._memo = []  # each member forecasts val and test once, for the fit, the scores and the table
    try:
        result = train(ensemble, datasets, epochs=1, out_dir=out, overwrite=overwrite, progress=False,
                       loss=first.head.loss.spec, target_transform="none", interval_level=level,
                       extra_config=_extra_config(first, ensemble, sources, level))
        scores = {}
        for split in ("val", "test"):
            dataset = getattr(datasets, split)
            y = dataset.all_targets().double().numpy().reshape(-1, ensemble.head.horizons)
            stack = ensemble.member_forecasts(dataset)
            scores[split] = [point_scores(s[..., ensemble.head.loss.median_index], y)["mae"] for s in stack]
    finally:
        ensemble._memo = None
    members = [s | {"index": i, "weight": float(w), "val_mae": v, "test_mae": t}
               for i, (s, w, v, t) in enumerate(zip(sources, ensemble.weights_, scores["val"], scores["test"],
                                                    strict=True))]
    persistence = compute_baselines(series, datasets)["persistence"]
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(TrainResult)}
    return EnsembleResult(**fields, members=members,
                          baselines={"persistence": {"val_mae": persistence["val_mae"],
                                                     "test_mae": persistence["test_mae"]}})


def check_arguments(run_dirs, out_dir, *, method: str, weights, overwrite: bool) -> tuple[list[Path], object]:
    """make_ensemble's checks that need no run loaded (so a command can fail at once): (run dirs, weights)."""
    dirs = [Path(d) for d in run_dirs]
    if not 2 <= len(dirs) <= MAX_MEMBERS:
        raise ForecastlabError(f"an ensemble needs 2 to {MAX_MEMBERS} runs, got {len(dirs)}", arg="run_dirs",
                               fix="pass the run directories of two or more finished training runs")
    if method not in METHODS:
        raise ForecastlabError(f"method={method!r} is not an ensemble method", arg="method",
                               fix="use method='mean' or method='median'")
    weights = Weights().check(weights)
    if isinstance(weights, list) and len(weights) != len(dirs):
        raise weights_error(f"{len(weights)} weights were given for {len(dirs)} runs")
    out = Path(out_dir).resolve()
    seen: set[Path] = set()
    for d in dirs:
        real = d.resolve()
        if real in seen:
            raise ForecastlabError(f"{d} is given twice", arg="run_dirs",
                                   fix="give each run once; to count one run more, give it a larger weight")
        seen.add(real)
        if out == real or real in out.parents:
            raise ForecastlabError(f"out_dir={out_dir} is the member run {d} or inside it", arg="out_dir",
                                   fix="write the ensemble to a directory of its own")
    rd.check_run_dir(Path(out_dir), resume=False, overwrite=overwrite, resumable=False)
    return dirs, weights


def parse_weights(text: str | None) -> list[float] | str | None:
    """The CLI's --weights: 'inverse-val-mae', 'greedy-val-mae' or 'w1,w2,...' (numbers), as make_ensemble's
    weights=."""
    if text is None or not text.strip():
        return None
    if text.strip().lower().replace("-", "_") in WEIGHTINGS:
        return text.strip().lower().replace("-", "_")
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise weights_error(f"weights={text!r} is neither 'inverse-val-mae', 'greedy-val-mae' nor numbers "
                            "separated by commas") from None


def _members_series(run, run_dir: Path):
    from forecastlab.training.runner import run_series

    try:
        return run_series(run)
    except ForecastlabError as err:
        raise ForecastlabError(err.what, where=str(run_dir / rd.CONFIG) if "config.json" in (err.where or "")
                               else err.where, fix="pass the data the runs were trained on with series=") from None


def _refuse_changed(run, series) -> None:
    """The runs' own data file, changed since they were trained: the weights, scores and intervals would be
    those of other data."""
    from forecastlab.training.config import data_changed

    why = data_changed(run.config, series)
    if why:
        raise ForecastlabError(f"cannot make the ensemble: {why}", where=series.provenance.path,
                               fix="restore the file the runs were trained on, or retrain them on the new one")


def _datasets(run, series):
    """The val and test windows of `series` as the members were scored on them: the run's window, its
    normalizer (never refitted) and its gap rule (forecastlab.training.forecast.run_datasets)."""
    from forecastlab.training.forecast import run_datasets

    return run_datasets(run, series, batch_size=run.config["window"].get("batch_size") or 256)


def _extra_config(first, ensemble: Ensemble, sources: list[dict], level: float) -> dict:
    """config.json's data (the first member's), the recipe (its data and window, so `evaluate` and `predict`
    find the data), and which runs the ensemble combines."""
    from forecastlab.training.recipe import ModelRecipe, TrainingRecipe, recipe_of

    extra = {"data": dict(first.config.get("data") or {}),
             "ensemble": {"method": ensemble.method, "members": [dict(s) for s in sources]}}
    recipe = recipe_of(first.config)
    if recipe is not None:
        params = {"method": ensemble.method, "weights": ensemble.weights}
        recipe = dataclasses.replace(
            recipe, model=ModelRecipe(NAME, params),
            training=TrainingRecipe(epochs=1, optimizer="none", lr=None, seed=0, loss=first.head.loss.spec,
                                    target_transform="none", interval_level=level))
        extra["recipe"] = recipe.to_dict()
    return extra

