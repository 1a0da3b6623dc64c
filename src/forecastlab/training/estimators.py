"""train() for estimators (models that fit themselves, such as `lightgbm`): the same run directory, the
same config.json, metrics.json, history.csv and curves.png as a torch run, and the same conformal intervals.

The differences are only what an estimator does not have: no optimizer, no epochs (its rounds are its
own parameter, chosen by early stopping on the validation split), and nothing to resume (it fits in
one pass, so a stopped fit starts again). Its fitted model goes into the run's `model/` folder (the
estimator's own save format, checked by sha256 on load) in the same step as last.pt, the commit marker.
"""

from __future__ import annotations

import os
import secrets
import time

from forecastlab.atomic import deferred_signals
from forecastlab.errors import ForecastlabError
from forecastlab.models.contract import Estimator
from forecastlab.training import run_dir as rd
from forecastlab.training.checkpoint import save_checkpoints
from forecastlab.training.config import build_config


def is_estimator(model) -> bool:
    """True for an Estimator instance or the registered name of one."""
    if isinstance(model, Estimator):
        return True
    if isinstance(model, str):
        from forecastlab.models import MODELS

        cls = MODELS.get(model)
        return isinstance(cls, type) and issubclass(cls, Estimator)
    return False


def fit_estimator(model, datasets, *, epochs, optimizer, lr, seed, out_dir, resume, overwrite, early_stopping,
                  lr_schedule, progress, max_steps_per_epoch, model_params, extra_config, loss, target_transform,
                  interval_level, head_for, finish, write_outputs, interrupted, started):
    """The estimator branch of forecastlab.training.train (which documents the arguments)."""
    from forecastlab.training.config import n_features
    from forecastlab.training.progress import EpochProgress

    _refuse(epochs, optimizer, lr_schedule, resume)
    params = dict(model_params or {})
    if isinstance(model, Estimator):
        if params:
            raise ForecastlabError("model parameters were given for an estimator that is already built",
                                   where="train(model=<Estimator>, model_params=...)",
                                   fix="pass the model by name to build it with these parameters")
        estimator, name = model, model.name
    else:
        from forecastlab.models import build_model

        name = model
        if early_stopping is not None and "early_stopping_rounds" in build_model_params(name):
            params.setdefault("early_stopping_rounds", early_stopping)
        if lr is not None and "learning_rate" in build_model_params(name):
            params.setdefault("learning_rate", lr)
        spec = getattr(datasets, "spec", None)
        estimator = build_model(name, n_features(datasets), sequence_length=getattr(spec, "sequence_length", None),
                                **params)
    head = head_for(estimator)
    estimator.with_head(head).with_seed(seed)
    config = build_config(
        estimator, name, datasets, epochs=1, optimizer="none", lr=getattr(estimator, "learning_rate", None) or 1.0,
        seed=seed, early_stopping=early_stopping, lr_schedule=None, max_steps_per_epoch=max_steps_per_epoch,
        device="cpu", extra=extra_config, head=head, interval_level=interval_level,
    )
    run = None if out_dir is None else rd.RunDirectory(out_dir, overwrite=overwrite).open()
    batch = getattr(datasets.train, "batch_size", None) or 1
    max_windows = max_steps_per_epoch * batch if max_steps_per_epoch else None
    try:
        if run is not None:
            rd.write_config(run.path, config)
        with EpochProgress(1, enabled=progress) as bar:
            bar.start_epoch(1, head.horizons * head.loss.outputs)  # one step per booster
            estimator.fit(datasets, max_windows=max_windows,
                          progress=lambda done, total, row: bar.step(done, lambda: (row["loss"], row["mae"])))
            history = estimator.history_ or [_one_row(estimator, started)]
            best_epoch = _best_epoch(estimator, history)
            kept = history[best_epoch - 1]
            bar.end_epoch(kept | {"epoch": 1}, best=True)
            if estimator.history_:
                bar.note(f"{name}: {head.horizons * head.loss.outputs} booster(s) on {estimator.train_windows_:,} "
                         f"train windows, up to {best_epoch} of {len(history)} rounds kept (early stopping on val)")
        if run is not None:
            with deferred_signals():  # the model folder, last.pt and the commit as one step
                _save(run, estimator, history, best_epoch, started)
                run.commit()
        result = finish(estimator, history, best_epoch, config, run.path if run is not None else None)
        result.total_seconds = time.perf_counter() - started
        if run is not None:
            write_outputs(run.path, result)
    except KeyboardInterrupt as err:
        kept = run.abandon() if run is not None and not run.committed else None
        raise interrupted(f"fitting {name!r} stopped before it finished; an estimator fits in one pass, so there "
                          f"is nothing to resume{'; ' + kept if kept else ''}", getattr(err, "signum", 2)) from err
    except BaseException:
        if run is not None and not run.committed:
            run.abandon()
        raise
    finally:
        if run is not None:
            run.close()
    return result


def build_model_params(name: str) -> dict:
    from forecastlab.models import get_model_class

    return get_model_class(name).hyperparameters()


def _refuse(epochs, optimizer, lr_schedule, resume) -> None:
    """Options that do not apply to an estimator are errors, not silently ignored settings."""
    if epochs != 1:
        raise ForecastlabError(
            f"epochs={epochs} does not apply to an estimator: it fits in one pass, its boosting rounds are its "
            "n_estimators parameter, stopped early on the validation split", arg="epochs",
            fix="pass epochs=1 (the default for estimators), and set rounds with model_params={'n_estimators': N}")
    if optimizer not in (None, "rmsprop", "none"):
        raise ForecastlabError(f"optimizer={optimizer!r} does not apply to an estimator (it has no optimizer)",
                               arg="optimizer", fix="leave optimizer= out")
    if lr_schedule:
        raise ForecastlabError("lr_schedule does not apply to an estimator", arg="lr_schedule",
                               fix="leave lr_schedule= out; for lightgbm set learning_rate in model_params")
    if resume:
        raise ForecastlabError(
            "an estimator run cannot be resumed: it fits in one pass, so there is no partial state to continue",
            arg="resume=True", fix="train it again (overwrite=True to replace the run directory)")


def _one_row(estimator, started: float) -> dict:
    """A history row for an estimator without rounds (persistence): its fit, as one epoch."""
    seconds = time.perf_counter() - started
    return {"epoch": 1, "loss": float("nan"), "mae": float("nan"), "val_loss": float("nan"),
            "val_mae": float("nan"), "lr": 0.0, "seconds": seconds, "train_seconds": seconds}


def _best_epoch(estimator, history: list[dict]) -> int:
    """The most rounds any booster kept (each booster keeps its own best round); 1 without rounds."""
    best = getattr(estimator, "best_iterations_", None)
    if best:
        return max(1, min(len(history), max(max(row) for row in best)))
    return len(history)


def _save(run, estimator: Estimator, history: list[dict], best_epoch: int, started: float) -> None:
    folder = run.path / rd.MODEL_DIR
    staging = run.path / f".{rd.MODEL_DIR}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    estimator.save(staging)
    rd.remove_entry(folder)
    os.replace(staging, folder)
    marker = {"kind": estimator.kind, "epoch": len(history), "history": history, "best_epoch": best_epoch,
              "elapsed": time.perf_counter() - started}
    save_checkpoints({run.path / rd.LAST: marker},
                     also={run.path / rd.HISTORY: rd.history_text(history).encode("utf-8")})
