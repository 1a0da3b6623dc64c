"""Classification, on the same engine as forecasting: windows from forecastlab.windows, models from the
registry with one logit per class (`with_outputs(n_classes)`), cross-entropy, and a leaderboard with rule
baselines beside the models.

    # "Will there be frost (T < 0 degC) within the next 24 hours?", from 5 days of hourly history:
    series = load_series("synthetic")
    result = classify_frost(series, seed=0)   # gru_stacked, derived inputs (FROST_DEFAULTS), about 3 minutes
    result.leaderboard()        # majority, frost-in-past-24h, tuned thresholds, the model: test accuracy, macro F1
    result.classifier.save("runs/frost")
    clf = load_classifier("runs/frost")
    clf.predict_proba(windows)  # (N, 2): P(no frost), P(frost), windows of raw values (N, 120, 14)
    clf.frost_outlook(series)   # the last window of `series`: origin, P(frost in the next 24 h)

    # A UCR/UEA benchmark, fixed train/test split, read from the pinned aeon wheel:
    result = classify_cases(load_ucr("GunPoint"), seed=0)   # fcn, 2,000 epochs (the FCN protocol's budget)

The recipe is fixed before any test number is seen. Frost: the model with the best validation macro F1
is kept (epochs scored on the chronological 25 % validation split; the threshold baselines are tuned on
the training windows), and test is reported. UCR: the archives' train split is small (36 to 67 cases),
so the model trains on all of it for the given epochs with Ismail Fawaz et al. (2019)'s protocol, which
reads the training split only (UCR_PLATEAU: the learning rate halves on a training-loss plateau, and the
epoch with the lowest training loss is kept), and those weights are scored on test. The 1-nearest-neighbour (Euclidean)
classifier, the UCR archive's own baseline, and the majority class stand beside it.

Frost labels: row r is labelled 1 when the target's minimum over the 24 hours (r - 24 h, r] is below
0 degC (pandas' time-based rolling window, so holes in the grid shorten it rather than shift it). With
the window's target row 24 hours after its last input row (WindowSpec(horizon=24) at hourly sampling),
that label is exactly "frost within the next 24 hours" of the window's origin.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F  # noqa: N812

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.classification import (
    best_threshold,
    classification_scores,
    majority_class,
    nearest_neighbour,
)

META = "classifier.json"
WEIGHTS = "weights.safetensors"
FORMAT = 1
EVAL_BATCH = 1024
NORM_BATCHES = 40  # training batches whose statistics set batch normalization's (precise_batchnorm)
FROST_CLASSES = ["no frost", "frost"]
# Chosen on validation macro F1 (synthetic data, seed 0, before any test number was read): gru_stacked with
# the derived inputs (hour of day among them) over gru_stacked and lstm on the raw 14, dense and fcn (whose
# global pooling over time cannot tell "now" from five days ago). benchmarks/README.md has the runs.
FROST_DEFAULTS = {"model": "gru_stacked", "model_params": {"units": 32}, "epochs": 3, "batch_size": 256,
                  "optimizer": "adam", "lr": 1e-3, "stride": 3, "max_steps": 150, "feature_set": "auto"}
UCR_DEFAULTS = {"model": "fcn", "model_params": {}, "epochs": 2000, "batch_size": 16, "optimizer": "adam", "lr": 1e-3}
# Ismail Fawaz et al. (2019)'s FCN protocol, from their code (classifiers/fcn.py): the learning rate halves
# after 50 epochs without a lower training loss (down to 1e-4), and the epoch with the lowest training loss
# is kept. It reads the training split only; their benchmark runs it for 2,000 epochs, our default too
# (300 closes less of the gap to MiniRocket: benchmarks/README.md).
UCR_PLATEAU = {"factor": 0.5, "patience": 50, "min_lr": 1e-4}


# -- the classifier: a registered model, its class names, its input normalization ---------------------------
class Classifier:
    """A trained window classifier: `module` maps normalized windows (N, T, C) to class logits (N, K)."""

    def __init__(self, module, classes: list[str], mean, std, *, columns: list[str] | None = None,
                 window: dict | None = None, task: dict | None = None, metrics: dict | None = None):
        self.module = module.eval()
        self.classes = list(classes)
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.columns = columns  # the input columns, for windows cut from a series
        self.window = window or {}  # {"sequence_length", "sampling_rate", "horizon"} for a series task
        self.task = task or {}
        self.metrics = metrics or {}

    @property
    def length(self) -> int | None:
        return self.module.sequence_length

    def requirements(self) -> dict:
        """What an input must hold: for a series task the columns to send (derived ones are made from
        them) and the rows ending at the forecast origin; for a cases task each case's length and channels."""
        if self.window:
            derived = self.task.get("derived") or []
            rows = (self.window["sequence_length"] - 1) * self.window["sampling_rate"] + 1
            return {"columns": [c for c in self.columns if c not in derived], "rows": rows}
        return {"length": self.length, "channels": len(self.mean)}

    def _check(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 2 and len(self.mean) == 1:  # (N, T) univariate series
            x = x[:, :, None]
        want = f"(cases, {self.length if self.length else 'T'}, {len(self.mean)})"
        if x.ndim != 3 or x.shape[2] != len(self.mean) or (self.length and x.shape[1] != self.length):
            raise ForecastlabError(f"windows of shape {x.shape}; this classifier reads {want}",
                                   arg="windows", fix=f"pass raw windows shaped {want}")
        if not np.isfinite(x).all():
            bad = np.argwhere(~np.isfinite(x))[0]
            raise ForecastlabError(f"window {bad[0]} holds NaN or infinity at step {bad[1]}, channel {bad[2]}",
                                   arg="windows", fix="fill or drop incomplete windows first")
        return x

    def predict_proba(self, x) -> np.ndarray:
        """Class probabilities (N, K) of raw (unnormalized) windows (N, T, C)."""
        x = (self._check(x) - self.mean) / self.std
        return _probabilities(self.module, x)

    def predict(self, x) -> np.ndarray:
        """The most probable class id of each window."""
        return self.predict_proba(x).argmax(1)

    def frost_outlook(self, series) -> dict:
        """For a series task (frost): the probability of each class for the window that ends at the last
        row of `series` (its columns as at training), and the forecast origin."""
        if not self.window:
            raise ForecastlabError("this classifier reads fixed cases, not windows of a series",
                                   fix="use predict_proba(cases)")
        if self.task.get("derived"):
            from forecastlab.data.derived import add_features

            series = add_features(series, self.task.get("feature_set"), self.task["derived"])
        if list(series.columns) != list(self.columns):
            raise ForecastlabError(f"the data's columns {list(series.columns)} are not the classifier's "
                                   f"{self.columns} (same names, same order)", where=_where(series),
                                   fix="pass data in the training format")
        rate, length = self.window["sampling_rate"], self.window["sequence_length"]
        span = (length - 1) * rate + 1
        if len(series) < span:
            raise ForecastlabError(f"need {span} rows ending at the forecast origin; got {len(series)}",
                                   where=_where(series), fix=f"pass at least the last {span} rows")
        window = series.values[len(series) - span::rate][None]
        p = self.predict_proba(window)[0]
        return {"origin": str(series.timestamps[-1]), "horizon_hours": self.task.get("hours"),
                "probabilities": {c: float(v) for c, v in zip(self.classes, p, strict=True)},
                "predicted": self.classes[int(p.argmax())]}

    def save(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """classifier.json (classes, model config, normalization, task, metrics) beside the weights as
        safetensors; a folder that holds either file already is refused unless overwrite=True."""
        from safetensors.torch import save

        from forecastlab import __version__
        from forecastlab.atomic import atomic_write_many, json_safe

        directory = Path(directory)
        existing = [p.name for p in (directory / META, directory / WEIGHTS) if p.exists()]
        if existing and not overwrite:
            raise ForecastlabError(f"{directory} already holds a classifier ({', '.join(existing)})",
                                   where=str(directory),
                                   fix="choose another folder, or pass overwrite=True (--overwrite)")
        directory.mkdir(parents=True, exist_ok=True)
        weights = save({k: v.detach().contiguous() for k, v in self.module.state_dict().items()})
        meta = {"format": FORMAT, "kind": "classifier", "forecastlab": __version__, "classes": self.classes,
                "model": self.module.get_config(), "mean": self.mean.tolist(), "std": self.std.tolist(),
                "columns": self.columns, "window": self.window, "task": self.task, "metrics": self.metrics}
        atomic_write_many({directory / WEIGHTS: weights,
                           directory / META: json.dumps(json_safe(meta), indent=1).encode("utf-8")})
        return directory


def load_classifier(directory: str | Path) -> Classifier:
    """A saved Classifier: the architecture is rebuilt from the registry by name (no code is imported or
    unpickled), the weights read as safetensors and checked key by key and shape by shape."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    from forecastlab.models import get_model_class
    from forecastlab.models.contract import read_bounded, read_json_object
    from forecastlab.training.checkpoint import load_weights

    directory = Path(directory)
    if not (directory / META).is_file():
        raise ForecastlabError(f"no {META} in {directory}", where=str(directory),
                               fix="pass a folder written by `forecastlab classify --out`")
    meta = read_json_object(directory / META)
    try:
        if meta.get("kind") != "classifier" or meta.get("format") != FORMAT:
            raise KeyError("kind")
        config, classes = dict(meta["model"]), [str(c) for c in meta["classes"]]
        mean, std = np.asarray(meta["mean"], dtype=np.float32), np.asarray(meta["std"], dtype=np.float32)
        if len(classes) < 2 or mean.shape != std.shape or mean.ndim != 1 or not (std > 0).all():
            raise ValueError("shapes")
    except (KeyError, TypeError, ValueError):
        raise ForecastlabError(f"{META} is not a forecastlab classifier description (format {FORMAT})",
                               where=str(directory / META), fix="save the classifier again") from None
    module = get_model_class(str(config.get("name"))).from_config(config)
    if module.n_outputs != len(classes) or module.n_features != len(mean):
        raise ForecastlabError(f"{META}: the model has {module.n_outputs} outputs and {module.n_features} inputs, "
                               f"but there are {len(classes)} classes and {len(mean)} channels",
                               where=str(directory / META), fix="save the classifier again")
    try:
        state = load(read_bounded(directory / WEIGHTS))
    except SafetensorError as err:
        raise ForecastlabError(f"{WEIGHTS} is not a safetensors file ({err})", where=str(directory / WEIGHTS),
                               fix="save the classifier again") from None
    load_weights(module, state, directory / WEIGHTS)
    return Classifier(module, classes, mean, std, columns=meta.get("columns"), window=meta.get("window") or {},
                      task=meta.get("task") or {}, metrics=meta.get("metrics") or {})


def _where(series) -> str:
    return series.provenance.path or series.provenance.source


def _probabilities(module, x: np.ndarray) -> np.ndarray:
    out = []
    module.eval()
    with torch.inference_mode():
        for i in range(0, len(x), EVAL_BATCH):
            out.append(torch.softmax(module(torch.from_numpy(np.ascontiguousarray(x[i:i + EVAL_BATCH]))).double(),
                                     1).numpy())
    return np.concatenate(out) if out else np.zeros((0, module.n_outputs))


# -- training ----------------------------------------------------------------------------------------------
@dataclass
class ClassificationResult:
    """What a classification run gives: the trained classifier, its history, and every row of the leaderboard."""

    task: str
    classifier: Classifier
    rows: list[dict]  # one per method: name, kind ('baseline' | 'model'), val and test scores
    history: list[dict]
    best_epoch: int
    seconds: float
    data: dict = field(default_factory=dict)

    def leaderboard(self) -> pd.DataFrame:
        """One row per method: validation and test accuracy and macro F1, baselines first."""
        out = []
        for r in self.rows:
            row = {"method": r["name"], "kind": r["kind"]}
            for split in ("val", "test"):
                scores = r.get(split) or {}
                row[f"{split}_accuracy"] = scores.get("accuracy", math.nan)
                row[f"{split}_macro_f1"] = scores.get("macro_f1", math.nan)
            row["seconds"] = r.get("seconds", math.nan)
            out.append(row)
        return pd.DataFrame(out)

    def to_dict(self) -> dict:
        return {"task": self.task, "data": self.data, "classes": self.classifier.classes, "rows": self.rows,
                "history": self.history, "best_epoch": self.best_epoch, "seconds": self.seconds}


def _batches_of_arrays(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
    """Per epoch, the cases shuffled by their own generator ([seed, epoch]); a last batch of one case is
    dropped (batch normalization cannot train on a single case)."""
    def epoch_batches(epoch: int):
        order = np.random.default_rng([seed, epoch]).permutation(len(x))
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            if len(idx) > 1 or len(order) == 1:
                yield torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
    return epoch_batches


def _batches_of_dataset(dataset):
    def epoch_batches(epoch: int):
        dataset.set_epoch(epoch)
        for x, y in dataset:
            if len(y) > 1:
                yield x, y.long()
    return epoch_batches


def precise_batchnorm(module, batches) -> bool:
    """Set every batch-normalization layer's running statistics to the plain average of its batch statistics
    over `batches` (inputs), with the weights as they are now ("precise BN", Wu and Johnson 2021). The
    running averages kept during training trail weights that keep changing; on a small training set (a UCR
    set gives 3 or 4 steps an epoch) eval() then scored near chance on GunPoint while train() mode scored
    well. Returns whether the module has such layers."""
    norms = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return False
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: every batch weighs the same
    module.train()
    with torch.no_grad():
        for x in batches:
            module(x)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    module.eval()
    return True


def fit_classifier(model: str, n_features: int, sequence_length: int | None, classes: list[str], train_batches,
                   *, epochs: int, lr: float | None = None, optimizer: str = "adam", weight_decay: float | None = None,
                   seed: int = 0, model_params: dict | None = None, max_steps: int | None = None,
                   validate=None, class_weights: np.ndarray | None = None, norm_batches=None,
                   progress: bool = False, checkpoint: str | Path | None = None, resume: bool = False,
                   fingerprint: dict | None = None, plateau: dict | None = None, keep_lowest_loss: bool = False):
    """Train registered model `model` with one logit per class by cross-entropy. `train_batches(epoch)`
    yields (x, y) batches; `validate(module)` (optional) returns validation scores with a 'macro_f1', and
    the epoch with the best one is kept (else the last). With `norm_batches()` (inputs of the training
    set), a model with batch normalization gets precise statistics (precise_batchnorm) before every
    validation and at the end. Returns (module, history, best_epoch).

    plateau: {"factor", "patience", "min_lr"}: torch's ReduceLROnPlateau on the epoch's training loss.
    keep_lowest_loss (without `validate`): keep the epoch with the lowest training loss, not the last.

    checkpoint: a file (forecastlab.training.checkpoint: atomic, sha256-checked, never unpickled as code)
    that receives the whole training state after every epoch: weights, optimizer, history, the best epoch's
    weights and torch's generator. resume=True continues from it after a kill, to the same weights an
    uninterrupted run reaches (batches are a function of the epoch); the options, and `fingerprint` (what
    the caller's data was), must be those it was made with, else the mismatch is named."""
    from forecastlab.models import build_model
    from forecastlab.training.optim import make_optimizer
    from forecastlab.training.progress import EpochProgress
    from forecastlab.training.seeding import own_torch_rng

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ForecastlabError(f"epochs must be a whole number of 1 or more, got {epochs!r}", arg="epochs",
                               fix="pass epochs=1 or more")
    with own_torch_rng(seed):
        module = build_model(model, n_features, sequence_length, n_outputs=len(classes), **(model_params or {}))
        if getattr(module, "kind", "torch") != "torch" or not isinstance(module, torch.nn.Module):
            raise ForecastlabError(f"{model!r} is not a torch model; a classifier needs one", arg="model",
                                   fix="use e.g. fcn, conv1d, lstm or tcn")
        opt = make_optimizer(optimizer, module.parameters(), lr=lr, weight_decay=weight_decay)
        sched = None if not plateau else torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=float(plateau["factor"]), patience=int(plateau["patience"]),
            min_lr=float(plateau["min_lr"]))
        weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        history, best, best_state, first = [], (-math.inf, 0), None, 0
        made_with = json.loads(json.dumps({
            "model": model, "model_params": model_params or {}, "classes": list(classes), "epochs": epochs,
            "lr": lr, "optimizer": optimizer, "weight_decay": weight_decay, "seed": seed, "max_steps": max_steps,
            "n_features": n_features, "sequence_length": sequence_length,
            "class_weights": None if class_weights is None else [float(w) for w in class_weights],
            "validated": validate is not None, "plateau": plateau, "keep_lowest_loss": keep_lowest_loss}
            | (fingerprint or {}), default=str))
        if resume:
            if checkpoint is None:
                raise ForecastlabError("resume=True needs the checkpoint to resume from", arg="checkpoint",
                                       fix="pass checkpoint= the file an interrupted training wrote")
            first, history, best, best_state = _restore(Path(checkpoint), made_with, module, opt, sched)
        with EpochProgress(epochs, enabled=progress) as bar:
            for epoch in range(first, epochs):
                started, loss_sum, correct, seen = time.perf_counter(), 0.0, 0, 0
                module.train()
                for step, (x, y) in enumerate(train_batches(epoch)):
                    if max_steps is not None and step >= max_steps:
                        break
                    logits = module(x)
                    loss = F.cross_entropy(logits, y, weight=weight)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    loss_sum += float(loss.detach()) * len(y)
                    correct += int((logits.argmax(1) == y).sum())
                    seen += len(y)
                row = {"epoch": epoch + 1, "loss": loss_sum / max(seen, 1), "accuracy": correct / max(seen, 1)}
                if norm_batches is not None and (validate is not None or epoch == epochs - 1):
                    precise_batchnorm(module, norm_batches())
                if validate is not None:
                    scores = validate(module)
                    row |= {"val_accuracy": scores["accuracy"], "val_macro_f1": scores["macro_f1"],
                            "val_log_loss": scores.get("log_loss")}
                    key = (scores["macro_f1"], -(scores.get("log_loss") or 0.0))
                    if key > best:
                        best, best_state = key, {k: v.clone() for k, v in module.state_dict().items()}
                        row["best"] = True
                elif keep_lowest_loss and (-row["loss"], 0.0) > best:
                    best, best_state = (-row["loss"], 0.0), {k: v.clone() for k, v in module.state_dict().items()}
                    row["best"] = True
                if sched is not None:
                    row["lr"] = opt.param_groups[0]["lr"]
                    sched.step(row["loss"])
                row["seconds"] = time.perf_counter() - started
                history.append(row)
                if checkpoint is not None:
                    _save_state(Path(checkpoint), made_with, epoch + 1, module, opt, history, best, best_state, sched)
                bar.note(_epoch_line(row, epochs))
        best_epoch = epochs
        if best_state is not None:
            module.load_state_dict(best_state)
            best_epoch = max(r["epoch"] for r in history if r.get("best"))
            if norm_batches is not None and validate is None:  # the kept epoch's statistics, made precise
                precise_batchnorm(module, norm_batches())
    return module.eval(), history, best_epoch


def _save_state(path: Path, made_with: dict, done: int, module, opt, history, best, best_state, sched=None) -> None:
    from forecastlab.training.checkpoint import save_checkpoint

    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, {"kind": "classifier-training", "format": FORMAT, "made_with": json.dumps(made_with),
                           "epochs_done": done, "model": module.state_dict(), "optimizer": opt.state_dict(),
                           "history": json.dumps(history), "best_key": list(best), "best_state": best_state or {},
                           "torch_rng": torch.get_rng_state(),
                           "scheduler": sched.state_dict() if sched is not None else {}})


def _restore(path: Path, made_with: dict, module, opt, sched=None):
    """(first epoch to run, history, best key, best state) from a training checkpoint, after checking it is
    this training's; the module, the optimizer and torch's generator are set from it."""
    from forecastlab.training.checkpoint import load_checkpoint, load_weights

    if not path.is_file():
        raise ForecastlabError(f"no training checkpoint at {path} to resume from", where=str(path),
                               fix="start the training without --resume (nothing was interrupted here)")
    state = load_checkpoint(path)
    try:
        if state.get("kind") != "classifier-training" or state.get("format") != FORMAT:
            raise KeyError("kind")
        before, done = json.loads(state["made_with"]), int(state["epochs_done"])
        history, best_key = json.loads(state["history"]), tuple(float(v) for v in state["best_key"])
    except (KeyError, TypeError, ValueError):
        raise ForecastlabError(f"{path} is not a forecastlab classifier-training checkpoint", where=str(path),
                               fix="start the training again without --resume (and --overwrite)") from None
    changed = sorted(k for k in set(before) | set(made_with) if before.get(k) != made_with.get(k))
    if changed:
        key = changed[0]
        raise ForecastlabError(f"the interrupted training had {key}={before.get(key)!r}; this one has "
                               f"{key}={made_with.get(key)!r}", where=str(path),
                               fix="resume with exactly the options (and data) it was started with, or start "
                               "again with --overwrite")
    load_weights(module, state["model"], path)
    opt.load_state_dict(state["optimizer"])
    if sched is not None:
        sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    best_state = {k: v.clone() for k, v in state["best_state"].items()} or None
    return done, history, best_key, best_state


def _epoch_line(row: dict, epochs: int) -> str:
    width = len(str(epochs))
    text = f"epoch {row['epoch']:>{width}}/{epochs}  loss {row['loss']:.4f}  accuracy {row['accuracy']:.3f}"
    if "val_macro_f1" in row:
        text += f"  val_accuracy {row['val_accuracy']:.3f}  val_macro_f1 {row['val_macro_f1']:.3f}"
    return text + f"  {row['seconds']:.1f}s" + ("  * best" if row.get("best") else "")


# -- UCR/UEA cases ------------------------------------------------------------------------------------------
def classify_cases(cases, *, model: str = UCR_DEFAULTS["model"], epochs: int = UCR_DEFAULTS["epochs"],
                   batch_size: int = UCR_DEFAULTS["batch_size"], lr: float | None = UCR_DEFAULTS["lr"],
                   optimizer: str = UCR_DEFAULTS["optimizer"], seed: int = 0, model_params: dict | None = None,
                   progress: bool = False, checkpoint: str | Path | None = None,
                   resume: bool = False, plateau: dict | None = UCR_PLATEAU) -> ClassificationResult:
    """Train `model` on the train split of `cases` (forecastlab.data.ucr.LabelledCases), normalized per
    channel with train statistics, and score it on test beside the majority class and 1-NN (Euclidean)."""
    started = time.perf_counter()
    x_train, y_train = cases.train.x, cases.train.y
    mean, std = x_train.mean(axis=(0, 1)), x_train.std(axis=(0, 1))
    std = np.where(std > 0, std, 1.0).astype(np.float32)

    def norm(x):
        return ((x - mean) / std).astype(np.float32)

    if batch_size < 2:
        raise ForecastlabError(f"batch_size must be 2 or more, got {batch_size}", arg="batch_size",
                               fix="e.g. batch_size=16")
    batches = _batches_of_arrays(norm(x_train), y_train, min(batch_size, len(y_train)), seed)
    params = dict(UCR_DEFAULTS["model_params"]) | dict(model_params or {})
    whole = torch.from_numpy(norm(x_train))
    module, history, best_epoch = fit_classifier(model, cases.channels, cases.length, cases.classes, batches,
                                                 epochs=epochs, lr=lr, optimizer=optimizer, seed=seed,
                                                 model_params=params, norm_batches=lambda: [whole],
                                                 progress=progress, checkpoint=checkpoint, resume=resume,
                                                 fingerprint={"data": cases.summary(), "batch_size": batch_size},
                                                 plateau=plateau, keep_lowest_loss=plateau is not None)
    fit_s = time.perf_counter() - started
    classifier = Classifier(module, cases.classes, mean, std,
                            task={"kind": "ucr", "dataset": cases.name, "seed": seed, "epochs": epochs,
                                  "batch_size": batch_size, "lr": lr, "optimizer": optimizer, "plateau": plateau,
                                  "best_epoch": best_epoch})
    t0 = time.perf_counter()
    probabilities = classifier.predict_proba(cases.test.x)
    predict_s = time.perf_counter() - t0
    test = classification_scores(cases.test.y, probabilities, classes=cases.classes)
    t0 = time.perf_counter()
    nn = nearest_neighbour(norm(x_train), y_train, norm(cases.test.x))
    rows = [{"name": "majority class", "kind": "baseline",
             "test": classification_scores(cases.test.y, np.full(len(cases.test.y), majority_class(y_train)),
                                           classes=cases.classes)},
            {"name": "1-NN (Euclidean)", "kind": "baseline", "seconds": time.perf_counter() - t0,
             "test": classification_scores(cases.test.y, nn, classes=cases.classes)},
            {"name": model, "kind": "model", "test": test, "seconds": fit_s, "predict_seconds": predict_s,
             "params": params}]
    classifier.metrics = {"test": {k: test[k] for k in ("accuracy", "macro_f1", "log_loss")},
                          "leaderboard": rows, "history": history, "data": cases.summary()}
    return ClassificationResult(f"ucr:{cases.name}", classifier, rows, history, best_epoch,
                                time.perf_counter() - started, cases.summary())


# -- frost within the next 24 hours, on a weather series ------------------------------------------------------
def frost_labels(series, *, hours: float = 24.0, below: float = 0.0, column: str | None = None) -> np.ndarray:
    """Per row r, 1 when `column` (default the target) falls below `below` at some row of (t_r - hours, t_r]."""
    name = column or series.target
    if name not in series.columns:
        raise ForecastlabError(f"no column {name!r} to label frost on", where=_where(series),
                               fix=f"pass column= one of: {', '.join(series.columns)}")
    values = series.values[:, list(series.columns).index(name)].astype(np.float64)
    trailing = pd.Series(values, index=pd.DatetimeIndex(series.timestamps)).rolling(f"{hours:g}h").min()
    return (trailing.to_numpy() < below).astype(np.int64)


def check_below(below: float) -> None:
    """Refuse a frost threshold that is not a finite number (nan is never crossed, inf always)."""
    try:
        value = float(below)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(below, bool) or not math.isfinite(value):
        raise ForecastlabError(f"below must be a finite number, got {below!r}", arg="below",
                               fix="pass a threshold in the target's units, e.g. below=0 (the default: frost, 0 degC)")


def frost_spec(series, *, days: float = 5.0, hours: int = 24, stride: int = 1):
    """The book's window for a series of any step: `days` of history sampled hourly (one row per hour, or
    every row when the step is an hour or more), the target row `hours` hours after the last input row."""
    from forecastlab.data.faults import step_hours
    from forecastlab.windows import WindowSpec

    step = step_hours(series)
    rate = max(1, int(round(1.0 / step)))
    per_sample = rate * step  # hours between sampled steps
    horizon = max(1, int(round(hours / per_sample)))
    if abs(horizon * per_sample - hours) > 1e-6:
        raise ForecastlabError(f"the data's step ({step:g} h) does not divide {hours} hours", where=_where(series),
                               fix="resample the data (--freq) to a step that divides the horizon")
    return WindowSpec(sequence_length=max(2, int(round(days * 24 / per_sample))), sampling_rate=rate,
                      horizon=horizon, stride=stride)


def classify_frost(series, *, model: str = FROST_DEFAULTS["model"], epochs: int = FROST_DEFAULTS["epochs"],
                   batch_size: int = FROST_DEFAULTS["batch_size"], lr: float | None = FROST_DEFAULTS["lr"],
                   optimizer: str = FROST_DEFAULTS["optimizer"], seed: int = 0, model_params: dict | None = None,
                   hours: int = 24, below: float = 0.0, days: float = 5.0, stride: int = FROST_DEFAULTS["stride"],
                   max_steps: int | None = FROST_DEFAULTS["max_steps"], balanced: bool = False,
                   feature_set: str | None = FROST_DEFAULTS["feature_set"],
                   progress: bool = False, checkpoint: str | Path | None = None,
                   resume: bool = False) -> ClassificationResult:
    """"Will the target fall below `below` within the next `hours` hours?" from `days` of history: the book's
    50/25/25 chronological split and train-only normalization, a registered model with two logits, the
    epoch with the best validation macro F1 kept; test scored beside four rule baselines. `feature_set`
    (forecastlab.data.derived: 'auto', the default, or 'weather'; 'book' for none) adds derived inputs, e.g.
    the hour of day."""
    from forecastlab.data.derived import add_features
    from forecastlab.windows import make_datasets_from_series

    started = time.perf_counter()
    check_below(below)
    series = add_features(series, feature_set)
    derived = list((series.quality.get("features") or {}).get("added") or [])
    labels = frost_labels(series, hours=hours, below=below)
    spec = frost_spec(series, days=days, hours=hours, stride=stride)
    sets = make_datasets_from_series(series, spec, targets=labels, batch_size=batch_size, seed=seed)
    y = {s: getattr(sets, s).all_targets().numpy().astype(np.int64) for s in ("train", "val", "test")}
    if len(np.unique(y["train"])) < 2:
        raise ForecastlabError(f"the training split has only {FROST_CLASSES[int(y['train'][0])]!r} windows: "
                               f"{series.target} never (or always) falls below {below:g} there",
                               where=_where(series), fix="use a record with cold and warm spells, or another below=")
    if len(np.unique(y["val"])) < 2:  # the best epoch is chosen by validation macro F1: with one class, by nothing
        import warnings

        from forecastlab.errors import DataQualityWarning

        only = FROST_CLASSES[int(y["val"][0])]
        rows = sets.val.last_input_rows
        span = f"{str(series.timestamps[rows[0]])[:10]} to {str(series.timestamps[rows[-1]])[:10]}"
        # A warning, not a refusal: the result is still an honest test score (tmy3's frost leaderboard is one),
        # but its "best" epoch was chosen by nothing; a record whose validation holds both classes fixes it.
        warnings.warn(DataQualityWarning(
            f"the validation split has only {only!r} windows (from {span}): {series.target} "
            f"{'never' if only == 'no frost' else 'always'} falls below {below:g} within {hours} h there, so "
            "validation macro F1 cannot choose the best epoch, and the baselines' validation scores are all 0.5; "
            "the test scores stay honest. Use a record whose validation months hold both classes (e.g. several "
            f"whole years), or a {'higher' if only == 'no frost' else 'lower'} below= than {below:g}"), stacklevel=2)
    weights = None
    if balanced:
        counts = np.bincount(y["train"], minlength=2)
        weights = len(y["train"]) / (2.0 * counts)

    def scores(module, split):
        return classification_scores(y[split], _dataset_probabilities(module, getattr(sets, split)),
                                     classes=FROST_CLASSES)

    params = dict(FROST_DEFAULTS["model_params"] if model == FROST_DEFAULTS["model"] else {}) | dict(model_params or {})
    module, history, best_epoch = fit_classifier(
        model, len(series.columns), spec.sequence_length, FROST_CLASSES, _batches_of_dataset(sets.train),
        epochs=epochs, lr=lr, optimizer=optimizer, seed=seed, model_params=params, max_steps=max_steps,
        validate=lambda m: scores(m, "val"), class_weights=weights, progress=progress,
        norm_batches=lambda: _inputs_of(sets.train, NORM_BATCHES), checkpoint=checkpoint, resume=resume,
        fingerprint={"data": series.provenance.to_dict(), "rows": len(series), "columns": list(series.columns),
                     "window": spec.to_dict(), "batch_size": batch_size, "hours": hours, "below": below})
    fit_s = time.perf_counter() - started
    model_row = {"name": model, "kind": "model", "val": scores(module, "val"), "test": scores(module, "test"),
                 "seconds": fit_s, "params": params, "best_epoch": best_epoch}
    rows = frost_baselines(series, sets, y, labels) + [model_row]
    task = {"kind": "frost", "hours": hours, "below": below, "days": days, "target": series.target, "seed": seed,
            "epochs": epochs, "stride": stride, "max_steps": max_steps, "balanced": balanced, "optimizer": optimizer,
            "lr": lr, "batch_size": batch_size, "feature_set": feature_set, "derived": derived}
    classifier = Classifier(module, FROST_CLASSES, sets.normalizer.mean_, sets.normalizer.std_,
                            columns=list(series.columns), window=spec.to_dict(), task=task,
                            metrics={s: {k: model_row[s][k] for k in ("accuracy", "macro_f1", "log_loss")}
                                     for s in ("val", "test")})
    data = {"source": _where(series), "rows": len(series), "provenance": series.provenance.to_dict(),
            "windows": {s: int(len(y[s])) for s in y},
            "frost_share": {s: float(y[s].mean()) for s in y}}
    classifier.metrics |= {"leaderboard": rows, "history": history, "data": data}
    return ClassificationResult("frost", classifier, rows, history, best_epoch, time.perf_counter() - started, data)


def _inputs_of(dataset, limit: int):
    """The inputs of the first `limit` batches of `dataset` (its epoch-0 order: the same every time)."""
    dataset.set_epoch(0)
    for i, (x, _y) in enumerate(dataset):
        if i >= limit:
            break
        yield x


def _dataset_probabilities(module, dataset) -> np.ndarray:
    out = []
    module.eval()
    with torch.inference_mode():
        for x, _y in dataset:
            out.append(torch.softmax(module(x).double(), 1).numpy())
    return np.concatenate(out)


def frost_baselines(series, sets, y: dict, labels: np.ndarray) -> list[dict]:
    """The rules a forecaster of frost must beat, each scored on the same validation and test windows:
    the majority class of the training windows; "frost in the past 24 h" (persistence: the label of the
    window's last input row); and a threshold on the temperature now, and on its minimum over the past
    24 hours, each tuned by macro F1 on the training windows."""
    target = series.values[:, list(series.columns).index(series.target)].astype(np.float64)
    trailing_min = pd.Series(target, index=pd.DatetimeIndex(series.timestamps)).rolling("24h").min().to_numpy()
    rows = {s: getattr(sets, s).last_input_rows for s in ("train", "val", "test")}
    out = []
    majority = majority_class(y["train"])
    out.append({"name": "majority class", "kind": "baseline",
                **{s: classification_scores(y[s], np.full(len(y[s]), majority), classes=FROST_CLASSES)
                   for s in ("val", "test")}})
    out.append({"name": "frost in the past 24 h", "kind": "baseline",
                **{s: classification_scores(y[s], labels[rows[s]], classes=FROST_CLASSES) for s in ("val", "test")}})
    for name, feature in (("temperature now below t", target), ("past-24 h minimum below t", trailing_min)):
        t = best_threshold(feature[rows["train"]], y["train"], larger_is_positive=False)
        out.append({"name": name, "kind": "baseline", "threshold": t,
                    **{s: classification_scores(y[s], (feature[rows[s]] < t).astype(np.int64),
                                                classes=FROST_CLASSES) for s in ("val", "test")}})
    return out
