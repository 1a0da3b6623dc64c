"""The model of an ensemble run (forecastlab.training.ensemble): `Ensemble`, an Estimator of kind "ensemble"
that combines loaded runs' forecasts, the combinations themselves, and the members' copied files.

It is apart from forecastlab.training.ensemble (make_ensemble) so that forecastlab.training.loading can
rebuild an ensemble run without an import cycle: loading imports this module, and hands it load_run to load
the members with (`Ensemble.with_loader`); make_ensemble imports both.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.metrics import EVAL_BATCH, forecast_dataset
from forecastlab.models.base import Choice, Constraint
from forecastlab.models.contract import Estimator, Forecaster, read_bounded, read_json_object
from forecastlab.models.head import Head, TargetScale
from forecastlab.training import run_dir as rd

NAME = "ensemble"
MEMBERS = "members"  # model/members/NN/: each member's copied run files
MAX_MEMBERS = 64
MAX_FILES = 10_000  # files of one member (an ensemble member holds its own members' files)
MAX_DEPTH = 24  # folders below a member's root (ensembles of ensembles nest 3 per level)
METHODS = ("mean", "median")
INVERSE_VAL_MAE = "inverse_val_mae"
# Caruana et al. (2004), "Ensemble selection from libraries of models": GREEDY_ROUNDS times, add (with
# replacement) the member that makes the combination's validation MAE lowest; a member's weight is how
# often it had been added after the best round. A member that only hurts on validation gets weight 0.
GREEDY_VAL_MAE = "greedy_val_mae"
GREEDY_ROUNDS = 20
WEIGHTINGS = (INVERSE_VAL_MAE, GREEDY_VAL_MAE)
_MEMBER_FILES = (rd.CONFIG, rd.METRICS, rd.BEST, rd.BEST + ".sha256")  # what load_run reads, beside model/


class Weights(Constraint):
    """None (equal weights), 'inverse_val_mae', 'greedy_val_mae', or one non-negative number per member (not
    all zero)."""

    hint = "weights='inverse_val_mae', 'greedy_val_mae' or a list of numbers, one per member"

    def describe(self) -> str:
        return "null/None (equal), 'inverse_val_mae', 'greedy_val_mae', or a list of non-negative numbers, not all 0"

    def check(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            name = value.strip().lower().replace("-", "_")
            if name in WEIGHTINGS:
                return name
            raise weights_error(f"weights={value!r} is not a known weighting")
        if isinstance(value, np.ndarray) and value.ndim == 1:
            value = value.tolist()
        if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_MEMBERS:
            raise weights_error(f"weights must be a list of 1 to {MAX_MEMBERS} numbers, got {_short(value)}")
        out = []
        for i, w in enumerate(value):
            if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w) or w < 0:
                raise weights_error(f"weight {i + 1} is {w!r}; every weight must be a finite number >= 0")
            out.append(float(w))
        if sum(out) <= 0:
            raise weights_error("the weights are all 0")
        return out


def weights_error(what: str) -> ForecastlabError:
    return ForecastlabError(what, arg="weights",
                            fix="give one number >= 0 per run, in the order of the runs, not all 0; or "
                            "weights=inverse_val_mae or greedy_val_mae; or no weights (equal)")


class Ensemble(Estimator):
    """The weighted mean or median of fitted runs' forecasts, quantile by quantile (see the module)."""

    name = NAME
    kind = "ensemble"
    default_target_transform = "none"
    META = "ensemble.json"
    param_ranges = {"method": Choice(*METHODS), "weights": Weights()}

    def __init__(self, n_features: int, sequence_length: int | None = None, method: str = "mean",
                 weights: list[float] | str | None = None):
        super().__init__(n_features, sequence_length)
        self.method = method
        self.weights = weights
        self.members_: list = []  # one forecastlab.training.LoadedRun per member
        self.sources_: list[dict] = []  # per member: where it came from, what it is, its files' sha256
        self.files_: list[dict[str, bytes]] = []  # per member: relative path -> content (what save writes)
        self.weights_: np.ndarray | None = None  # normalized to sum 1
        self.member_val_mae_: list[float] = []
        self._memo: list | None = None  # while make_ensemble scores it: (windows, member forecasts)

    # forecastlab.training.loading.load_run, handed over by loading itself (which imports this module).
    _load_member: Callable | None = None

    @classmethod
    def with_loader(cls, load_run: Callable) -> type[Ensemble]:
        """This class, loading its members with `load_run` (forecastlab.training.loading's)."""
        cls._load_member = staticmethod(load_run)
        return cls

    # -- members ---------------------------------------------------------------------------------------

    def attach(self, runs: list, files: list[dict[str, bytes]], sources: list[dict], labels: list | None = None
               ) -> Ensemble:
        """Use these loaded runs (forecastlab.training.load_run) as the members; `files` is what save() copies
        for each, `sources` says where each came from. They must be compatible (check_members; `labels` name
        them in its errors, by default their sources)."""
        if not 1 <= len(runs) <= MAX_MEMBERS or not len(runs) == len(files) == len(sources):
            raise ForecastlabError(f"an ensemble has 1 to {MAX_MEMBERS} members, one file set and source each",
                                   arg="run_dirs", fix=f"pass 2 to {MAX_MEMBERS} run directories")
        check_members(runs, labels or [s.get("source") for s in sources])
        if isinstance(self.weights, list) and len(self.weights) != len(runs):
            raise ForecastlabError(f"{len(self.weights)} weights were given for {len(runs)} member runs",
                                   arg="weights", fix="give one weight per run, in the order of the runs")
        self.members_, self.files_, self.sources_ = list(runs), list(files), [dict(s) for s in sources]
        return self

    def member_head(self) -> Head:
        """The ensemble's head: the members' horizons and outputs, in the target's units (no target scale)."""
        if not self.members_:
            raise ForecastlabError("the ensemble has no members", where="Ensemble",
                                   fix="make one with forecastlab.training.ensemble.make_ensemble(run_dirs, out_dir)")
        first = self.members_[0].head
        return Head(first.horizons, first.loss, TargetScale())

    # -- the contract ------------------------------------------------------------------------------------

    def fit(self, datasets, **_) -> Ensemble:
        """Nothing to learn but the weights: every member is scored on datasets.val (MAE of its point
        forecast); weights='inverse_val_mae' weights each by 1 / that MAE, and weights='greedy_val_mae' by
        greedy ensemble selection on the validation windows (greedy_weights)."""
        head = self.member_head()
        if self.head is None:
            self.head = head
        elif (self.head.horizons, self.head.loss.outputs, self.head.loss.quantiles) != \
                (head.horizons, head.loss.outputs, head.loss.quantiles):
            raise ForecastlabError(f"the ensemble's loss {self.head.loss.spec!r} and {self.head.horizons} horizon(s) "
                                   f"differ from its members' ({head.loss.spec!r}, {head.horizons})", arg="loss",
                                   fix="make the ensemble with make_ensemble, which takes them from the members")
        stack = self._stack(datasets.val)
        y = datasets.val.all_targets().double().numpy().reshape(-1, head.horizons)
        self.member_val_mae_ = [float(np.abs(s[..., head.loss.median_index] - y).mean()) for s in stack]
        if self.weights == GREEDY_VAL_MAE:
            self.weights_ = greedy_weights(stack[..., head.loss.median_index], y, self.method)
        else:
            self.weights_ = self._resolve_weights(self.member_val_mae_)
        self.train_windows_ = 0
        self.fitted_ = True
        return self

    def _resolve_weights(self, val_mae: list[float]) -> np.ndarray:
        m = len(self.members_)
        if self.weights is None:
            w = np.ones(m)
        elif self.weights == INVERSE_VAL_MAE:
            mae = np.asarray(val_mae, dtype=np.float64)
            if not np.isfinite(mae).all():
                raise ForecastlabError("a member's validation MAE is not finite, so it cannot be weighted by it",
                                       arg="weights", fix="leave that run out, or give the weights as numbers")
            # A perfect member (MAE 0) gets all the weight, shared with any other perfect one.
            w = (mae == 0).astype(np.float64) if (mae == 0).any() else 1.0 / mae
        else:
            w = np.asarray(self.weights, dtype=np.float64)
            if len(w) != m:
                raise ForecastlabError(f"{len(w)} weights were given for {m} member runs", arg="weights",
                                       fix="give one weight per run, in the order of the runs")
        w = w / w.max() if np.isfinite(w).all() and w.max() > 0 else w  # a sum of huge weights would overflow
        return w / w.sum()

    def predict(self, windows, *, end_times=None) -> np.ndarray:
        """(N, H, Q) float64: the members' forecasts combined per window, horizon and quantile."""
        self._require_fitted()
        return combine(self._stack(windows, end_times), self.weights_, self.method)

    def member_forecasts(self, windows, *, end_times=None) -> np.ndarray:
        """(members, N, H, Q) float64: each member's forecasts, in the order of the members."""
        return self._stack(windows, end_times)

    def _stack(self, windows, end_times=None) -> np.ndarray:
        if self._memo is not None and end_times is None:
            for seen, stack in self._memo:
                if seen is windows:
                    return stack
        head = self.member_head()
        stack = np.zeros((len(self.members_), 0, head.horizons, head.loss.outputs))
        parts = [_member_forecasts(run, windows, end_times) for run in self.members_]
        if parts:
            shapes = {p.shape for p in parts}
            if len(shapes) != 1:
                raise ForecastlabError(f"the members' forecasts have different shapes {sorted(shapes)}",
                                       where=", ".join(str(s.get("source")) for s in self.sources_),
                                       fix="ensemble runs with the same horizons and loss outputs")
            stack = np.stack(parts)
        if self._memo is not None and end_times is None:
            self._memo.append((windows, stack))
        return stack

    def count_params(self) -> int:
        from forecastlab.training.config import count_params

        return int(sum(count_params(run.model) for run in self.members_))

    # -- save and load -----------------------------------------------------------------------------------

    def state(self) -> dict:
        return {"method": self.method, "weights": [float(w) for w in self.weights_],
                "members": [s | {"weight": float(w), "val_mae": mae} for s, w, mae
                            in zip(self.sources_, self.weights_, self.member_val_mae_ or [None] * len(self.sources_),
                                   strict=True)]}

    def save(self, directory: str | Path) -> Path:
        """ensemble.json (config, head, weights, each member's source and files' sha256) and every member's
        files under members/NN/, written together (a failure writes none)."""
        from forecastlab.atomic import atomic_write_many

        self._require_fitted()
        directory = Path(directory)
        blobs: dict[Path, bytes] = {}
        for i, files in enumerate(self.files_):
            root = directory / MEMBERS / f"{i:02d}"
            for rel, data in files.items():
                blobs[root / _safe_relative(rel, root)] = data
        for path in blobs:
            path.parent.mkdir(parents=True, exist_ok=True)
        state = self.state()
        for i, (entry, files) in enumerate(zip(state["members"], self.files_, strict=True)):
            entry["dir"] = f"{MEMBERS}/{i:02d}"
            entry["files"] = {rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(files.items())}
        meta = {"format": 1, "kind": self.kind, "config": self.get_config(), "head": self.head.to_dict(),
                "history": self.history_, "train_windows": self.train_windows_} | state
        directory.mkdir(parents=True, exist_ok=True)
        blobs[directory / self.META] = json.dumps(meta, indent=1).encode("utf-8")
        atomic_write_many(blobs)
        return directory

    @classmethod
    def load(cls, directory: str | Path, load_member: Callable | None = None) -> Ensemble:
        """The ensemble save() wrote: every member file checked against its recorded sha256, nothing else
        allowed in the members' folders, each member loaded with load_run and checked compatible again.
        Load an ensemble run with forecastlab.training.load_run, which hands this class its load_run;
        `load_member` loads the members otherwise (an exported artifact's members are artifacts)."""
        load_run = load_member or cls._load_member
        if load_run is None:
            raise ForecastlabError("an ensemble is loaded as a run", where=f"{cls.__name__}.load",
                                   fix="use forecastlab.training.load_run(run_dir) on the ensemble's run directory")
        directory = Path(directory)
        meta_path = directory / cls.META
        meta = read_json_object(meta_path)
        fix = "restore the ensemble's run directory from its save, or make the ensemble again"
        try:
            config, head, entries, weights = dict(meta["config"]), Head.from_dict(meta["head"]), \
                list(meta["members"]), [float(w) for w in meta["weights"]]
            method = meta["method"]
        except (KeyError, TypeError, ValueError):
            raise ForecastlabError(f"{meta_path.name} lacks its config, head, members, method or weights",
                                   where=str(meta_path), fix=fix) from None
        if config.get("name") != NAME:
            raise ForecastlabError(f"{meta_path.name} holds a {config.get('name')!r} model, not an ensemble",
                                   where=f"{meta_path}, key config.name", fix=fix)
        ensemble = cls.from_config(config)
        if not 1 <= len(entries) <= MAX_MEMBERS or len(weights) != len(entries) or method != ensemble.method:
            raise ForecastlabError(f"{meta_path.name} records {len(entries)} members, {len(weights)} weights and "
                                   f"method {method!r} (config: {ensemble.method!r})", where=str(meta_path), fix=fix)
        w = np.asarray(weights, dtype=np.float64)
        if not np.isfinite(w).all() or (w < 0).any() or abs(w.sum() - 1) > 1e-6:
            raise ForecastlabError(f"{meta_path.name}'s weights {weights} are not non-negative numbers summing to 1",
                                   where=f"{meta_path}, key weights", fix=fix)
        members = directory / MEMBERS
        if members.is_symlink() or not members.is_dir():
            raise ForecastlabError(f"the ensemble has no {MEMBERS}/ folder with its member runs", where=str(members),
                                   fix=fix)
        names = {f"{i:02d}" for i in range(len(entries))}
        _refuse_extra(members, names, what="member folder", fix=fix)
        runs, files, sources = [], [], []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or entry.get("dir") != f"{MEMBERS}/{i:02d}" \
                    or not isinstance(entry.get("files"), dict):
                raise ForecastlabError(f"{meta_path.name}'s member {i} entry is damaged", where=f"{meta_path}, "
                                       f"key members[{i}]", fix=fix)
            root = members / f"{i:02d}"
            files.append(verified_files(root, entry["files"], fix))
            runs.append(load_run(root))
            sources.append({k: v for k, v in entry.items() if k in ("source", "model", "kind", "dir")})
        ensemble.head = head
        ensemble.attach(runs, files, sources, labels=[str(members / f"{i:02d}") for i in range(len(runs))])
        ensemble.weights_ = w
        ensemble.member_val_mae_ = [e.get("val_mae") for e in entries]
        ensemble.history_ = list(meta.get("history") or [])
        ensemble.fitted_ = True
        return ensemble


# -- combining ----------------------------------------------------------------------------------------------


def combine(stack, weights=None, method: str = "mean") -> np.ndarray:
    """Combine `stack` (members, ...) over its first axis, element by element: the weighted mean, or the
    weighted median (see weighted_median). `weights`: one per member (normalized here), None for equal."""
    stack = np.asarray(stack, dtype=np.float64)
    m = stack.shape[0]
    w = np.full(m, 1.0 / m) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape == (m,) and np.isfinite(w).all() and (w >= 0).all() and w.max() > 0:
        w = w / w.max()  # 1e308 twice is a valid pair of weights whose sum overflows
    if w.shape != (m,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ForecastlabError(f"{len(w)} weights for {m} members, or not all >= 0 with a positive sum",
                               arg="weights", fix="give one weight >= 0 per member")
    w = w / w.sum()
    if method == "mean":
        return np.tensordot(w, stack, axes=1)
    if method == "median":
        return weighted_median(stack, w)
    raise ForecastlabError(f"unknown ensemble method {method!r}", arg="method", fix="use method='mean' or 'median'")


def greedy_weights(points, y, method: str = "mean", rounds: int = GREEDY_ROUNDS) -> np.ndarray:
    """Ensemble selection (Caruana et al., 2004) on validation: `points` (members, N, H) point forecasts of
    the targets `y` (N, H). `rounds` times, the member whose addition (with replacement) gives the lowest MAE
    of the `method` combination is added; ties go to the earlier member. Returns the counts / their sum
    after the round with the lowest validation MAE (the first round is the best member alone, so the mix is
    never worse on validation than its best member). A
    member that is never added gets weight 0, so a member that is worse on validation than the rest,
    combined or alone, does not drag the ensemble down."""
    points = np.asarray(points, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not np.isfinite(points).all():
        raise ForecastlabError("a member's validation forecasts are not all finite, so no weights can be chosen "
                               "from them", arg="weights", fix="leave that run out, or give the weights as numbers")
    if points.ndim < 2 or points.shape[1] == 0 or not np.isfinite(y).all():
        raise ForecastlabError("there are no validation windows with finite targets to choose the weights on",
                               arg="weights", fix="give the weights as numbers, or use data with a validation split")
    counts = np.zeros(points.shape[0])
    kept, kept_mae = None, math.inf
    for _ in range(rounds):
        best, best_mae = 0, math.inf
        for i in range(points.shape[0]):
            trial = counts.copy()
            trial[i] += 1
            mae = float(np.abs(combine(points, trial, method) - y).mean())
            if mae < best_mae - 1e-12:
                best, best_mae = i, mae
        counts[best] += 1
        if best_mae < kept_mae - 1e-12:  # the best round's mix, as Caruana et al. keep the best prefix
            kept, kept_mae = counts / counts.sum(), best_mae
    return kept


def weighted_median(stack: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per element of stack[0], the weighted median over the first axis: the smallest value whose cumulative
    weight (values ascending) reaches half the total; where it is exactly half, the mean of that value and
    the next one that carries weight. Equal weights give np.median; integer weights give np.median of the
    values repeated that many times. A zero weight leaves its member out."""
    stack = np.asarray(stack, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    order = np.argsort(stack, axis=0, kind="stable")
    values = np.take_along_axis(stack, order, axis=0)
    cum = np.cumsum(weights[order], axis=0)
    half = cum[-1] / 2
    tol = 1e-9 * cum[-1]
    lo = np.argmax(cum >= half - tol, axis=0)[None]
    hi = np.argmax(cum > half + tol, axis=0)[None]
    lower = np.take_along_axis(values, lo, axis=0)[0]
    upper = np.take_along_axis(values, hi, axis=0)[0]
    tie = np.abs(np.take_along_axis(cum, lo, axis=0)[0] - half) <= tol
    return np.where(tie, (lower + upper) / 2, lower)


def _member_forecasts(run, windows, end_times) -> np.ndarray:
    """(N, H, Q) float64 forecasts of one loaded run for normalized windows (a WindowDataset or an array)."""
    model = run.model
    if isinstance(model, Forecaster):
        return np.asarray(model.predict(windows, end_times=end_times), dtype=np.float64)
    if hasattr(windows, "gather"):
        return forecast_dataset(model, windows, run.head)[0]
    x = np.ascontiguousarray(windows, dtype=np.float32)
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), EVAL_BATCH):
            batch = torch.from_numpy(x[i : i + EVAL_BATCH])
            out.append(run.head.to_units(run.head.split(model(batch)), batch).double().numpy())
    if not out:
        return np.zeros((0, run.head.horizons, run.head.loss.outputs))
    return np.concatenate(out)


# -- which runs can be combined ------------------------------------------------------------------------------


def check_members(runs: list, labels: list) -> None:
    """ForecastlabError unless every run forecasts from the same windows of the same data as the first: the
    same window, target, input columns and normalizer, and the same outputs per horizon."""
    first, first_label = runs[0], labels[0]
    ref = _signature(first)
    for run, label in zip(runs[1:], labels[1:], strict=True):
        mine = _signature(run)
        for key, (value, fix) in mine.items():
            want = ref[key][0]
            if value is None or want is None or value == want:
                continue
            shown = "different" if key == "normalizer" else f"{_short(value)}"
            theirs = "" if key == "normalizer" else f", but {first_label}'s is {_short(want)}"
            if isinstance(value, list) and isinstance(want, list) and key == "data.columns":
                shown, theirs = _column_difference(value, want, str(first_label)), ""
            raise ForecastlabError(
                f"cannot ensemble {label} with {first_label}: its {key} is {shown}{theirs}; the members of an "
                "ensemble must forecast from the same windows of the same data",
                where=f"{Path(str(label)) / rd.CONFIG}, key {key}", fix=fix.format(first=first_label, run=label))


def _signature(run) -> dict:
    """What must agree between members: {field: (value, what to do when it differs)}."""
    config, data, loss = run.config, run.config.get("data") or {}, run.head.loss
    window = "retrain {run} with the window of {first} (`forecastlab runs show {first}` shows it), or leave it out"
    return {
        "window.sequence_length": (run.spec.sequence_length, window),
        "window.sampling_rate": (run.spec.sampling_rate, window),
        "window.horizons": (list(run.spec.steps), window),
        "data.target": (data.get("target"), "ensemble runs that forecast the same --target"),
        "data.columns": (data.get("columns"), "retrain {run} with the input columns of {first} (--features, and "
                         "--feature-set for the derived ones)"),
        "normalizer": (config.get("normalizer"),
                       "the runs were trained on different data (their train-split statistics differ): retrain {run} "
                       "on the data of {first}, or leave it out"),
        "data.provenance.sha256": ((data.get("provenance") or {}).get("sha256"),
                                   "retrain {run} on the same data file as {first}, or leave it out"),
        "data.sizes": (data.get("sizes"), "retrain {run} on the same data as {first}, or leave it out"),
        "training.loss outputs": (
            "point" if loss.outputs == 1 else f"quantiles {list(loss.quantiles)}",
            "ensemble point-forecast runs together, or quantile runs trained with the same --loss quantile:..."),
    }


def _column_difference(mine: list, theirs: list, first: str) -> str:
    """How two input-column lists differ, said by what is in one and not the other (their starts may agree)."""
    only_mine, only_theirs = [c for c in mine if c not in theirs], [c for c in theirs if c not in mine]
    parts = ([f"{len(only_mine)} not in {first}'s ({_short(only_mine)})"] if only_mine else []) + \
        ([f"without {len(only_theirs)} of {first}'s ({_short(only_theirs)})"] if only_theirs else [])
    return f"{len(mine)} columns against {len(theirs)}: " + ("; ".join(parts) or "the same ones in another order")


def _short(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


# -- the members' files ----------------------------------------------------------------------------------------


def member_files(run_dir: Path) -> dict[str, bytes]:
    """Every file load_run reads from a finished run, relative path -> content, read with bounds and never
    through a symbolic link: config.json, metrics.json, best.pt and its sha256, and the model/ folder."""
    run_dir = Path(run_dir)
    fix = "pass the directory of a finished training run (its out_dir=)"
    if not run_dir.is_dir():
        raise ForecastlabError("the run directory does not exist" if not run_dir.exists() else
                               "the run directory path is a file", where=str(run_dir), fix=fix)
    if rd.lock_owner(run_dir) is not None:
        raise rd.RunLock(run_dir)._busy()
    rd.recover_if_abandoned(run_dir)  # as load_run does: a run a killed --overwrite left aside is put back
    if not (run_dir / rd.METRICS).is_file():
        raise ForecastlabError(f"{run_dir} is not a finished run (it has no {rd.METRICS})", where=str(run_dir),
                               fix="wait until its training finishes, or train it again")
    files: dict[str, bytes] = {}
    for name in _MEMBER_FILES:
        path = run_dir / name
        if path.is_symlink():
            raise ForecastlabError(f"{name} is a symbolic link; an ensemble copies only plain files", where=str(path),
                                   fix="replace the link by the file itself")
        if path.is_file():
            files[name] = read_bounded(path)
    model = run_dir / rd.MODEL_DIR
    if model.is_symlink():
        raise ForecastlabError(f"{rd.MODEL_DIR}/ is a symbolic link; an ensemble copies only plain files",
                               where=str(model), fix="replace the link by the folder itself")
    if model.is_dir():
        for rel in listing(model)[0]:
            files[f"{rd.MODEL_DIR}/{rel}"] = read_bounded(model / rel)
    return files


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / _safe_relative(rel, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def verified_files(root: Path, recorded: dict, fix: str) -> dict[str, bytes]:
    """The files under `root`, which must be exactly those `recorded` ({relative path: sha256}), each
    matching its sha256 (bounded reads, no links, no other files or folders)."""
    if root.is_symlink() or not root.is_dir():
        raise ForecastlabError("a member's folder is missing", where=str(root), fix=fix)
    for rel in recorded:
        _safe_relative(rel, root)
    found, folders = listing(root)
    expected_folders = {"/".join(Path(rel).parts[:i]) for rel in recorded for i in range(1, len(Path(rel).parts))}
    extra = sorted(set(found) - set(recorded)) + sorted(set(folders) - expected_folders)
    missing = sorted(set(recorded) - set(found))
    if extra or missing:
        what = f"holds {extra[0]!r}, which the ensemble does not record" if extra else f"lacks {missing[0]!r}"
        raise ForecastlabError(f"the ensemble's member folder {what}", where=str(root / (extra or missing)[0]), fix=fix)
    out = {}
    for rel, digest in recorded.items():
        data = read_bounded(root / rel)
        if hashlib.sha256(data).hexdigest() != digest:
            raise ForecastlabError(f"{rel} of the ensemble's member {root.name} does not match the sha256 the ensemble "
                                   "records for it (the file was changed)", where=str(root / rel), fix=fix)
        out[rel] = data
    return out


def _safe_relative(rel, root: Path) -> str:
    parts = Path(str(rel)).parts if isinstance(rel, str) else ()
    if not parts or len(parts) > MAX_DEPTH + 1 or Path(rel).is_absolute() or any(p in ("", ".", "..") for p in parts) \
            or "\\" in rel or "\x00" in rel or "/".join(parts) != rel:
        raise ForecastlabError(f"the ensemble names a file outside its member folder: {rel!r}", where=str(root),
                               fix="restore the ensemble's run directory from its save, or make it again")
    return rel


def listing(root: Path) -> tuple[list[str], list[str]]:
    """(files, folders) under `root`, relative, without following links; a link or a special file is an error."""
    files, folders = [], []
    stack = [(root, "", 0)]
    while stack:
        folder, prefix, depth = stack.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                rel = f"{prefix}{entry.name}"
                if entry.is_symlink():
                    raise ForecastlabError(f"{rel} is a symbolic link; a run's files are plain files",
                                           where=entry.path, fix="replace the link by the file itself")
                if entry.is_dir(follow_symlinks=False):
                    if depth >= MAX_DEPTH:
                        raise ForecastlabError("the run's folders nest too deeply", where=entry.path,
                                               fix="restore the run from its save")
                    folders.append(rel)
                    stack.append((Path(entry.path), rel + "/", depth + 1))
                elif entry.is_file(follow_symlinks=False):
                    files.append(rel)
                else:
                    raise ForecastlabError(f"{rel} is not a regular file", where=entry.path,
                                           fix="remove it; a run holds only plain files")
                if len(files) > MAX_FILES:
                    raise ForecastlabError(f"the run holds more than {MAX_FILES:,} files", where=str(root),
                                           fix="pass the directory of one training run")
    return sorted(files), sorted(folders)


def _refuse_extra(folder: Path, names: set[str], *, what: str, fix: str) -> None:
    extra = sorted(set(os.listdir(folder)) - names)
    if extra:
        raise ForecastlabError(f"the ensemble holds a {what} {extra[0]!r} it does not record",
                               where=str(folder / extra[0]), fix=fix)


