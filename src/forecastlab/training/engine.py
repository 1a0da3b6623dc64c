"""The fit loop: train with MSE, track MAE in the target's units, validate every epoch, keep the best
weights by val loss, write the run directory, resume exactly. One file you can read top to bottom."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from forecastlab.atomic import deferred_signals
from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.intervals import DEFAULT_LEVEL, Calibration, calibrate_point, calibrate_quantiles, coverage
from forecastlab.evaluation.metrics import evaluate, forecast_dataset
from forecastlab.models.head import BOOK_HEAD, Head, TargetScale
from forecastlab.models.losses import Loss, parse_loss
from forecastlab.training import run_dir as rd
from forecastlab.training.checkpoint import (
    checkpoint_part,
    load_checkpoint,
    load_weights,
    require_entries,
    save_checkpoints,
)
from forecastlab.training.config import build_config, check_resume_config, resolve_model
from forecastlab.training.device import select_device
from forecastlab.training.estimators import fit_estimator, is_estimator
from forecastlab.training.progress import EpochProgress
from forecastlab.training.schedules import make_scheduler, should_stop, step_per_batch, step_scheduler
from forecastlab.training.seeding import rng_state, seeded_torch, set_rng_state


def distributed() -> tuple[int, int]:
    """(rank, world size) of the torch.distributed process group this process is in, or (0, 1). The
    group is the caller's to create (`forecastlab train --nproc N` does, under torchrun)."""
    import torch.distributed as tdist

    if tdist.is_available() and tdist.is_initialized():
        return tdist.get_rank(), tdist.get_world_size()
    return 0, 1


@dataclass
class TrainResult:
    """What a training run produced. `model` holds the best epoch's weights (by val loss)."""

    model: nn.Module
    history: list[dict]  # per epoch: epoch, loss, mae, val_loss, val_mae, lr, seconds, train_seconds
    best_epoch: int
    val: dict  # {"mae", "mse", "n"} of the best epoch on the validation split
    test: dict  # {"mae", "mse", "n"} of the best weights on the test split
    run_dir: Path | None
    seconds_per_epoch: float  # mean wall time of an epoch, validation included
    train_seconds_per_epoch: float  # the same, training steps only
    total_seconds: float  # all train() calls of this run together (resumes add up)
    params: int
    stopped_early: bool = False
    config: dict = field(default_factory=dict)
    intervals: dict = field(default_factory=dict)  # calibration (val) and test coverage, per horizon

    def metrics(self) -> dict:
        """The content of metrics.json."""
        return {
            "val_mae": self.val["mae"],
            "val_mse": self.val["mse"],
            "test_mae": self.test["mae"],
            "test_mse": self.test["mse"],
            "val_windows": self.val["n"],
            "test_windows": self.test["n"],
            "best_epoch": self.best_epoch,
            "epochs_run": len(self.history),
            "stopped_early": self.stopped_early,
            "params": self.params,
            "seconds_per_epoch": self.seconds_per_epoch,
            "train_seconds_per_epoch": self.train_seconds_per_epoch,
            "total_seconds": self.total_seconds,
            "unit": self.config.get("data", {}).get("target_unit"),
            "model": self.config.get("model", {}).get("name"),
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "horizons": list(self.config.get("window", {}).get("horizons") or
                             [self.config.get("window", {}).get("horizon")]),
            "loss": self.config.get("training", {}).get("loss"),
            "val_mae_by_horizon": self.val.get("mae_by_horizon"),
            "test_mae_by_horizon": self.test.get("mae_by_horizon"),
            "intervals": self.intervals,
        }


@dataclass
class _State:
    """Everything that changes from epoch to epoch and must survive a resume."""

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf
    best_weights: dict | None = None  # in-memory copy when there is no run directory
    elapsed: float = 0.0
    stopped_early: bool = False
    # Not saved; what an interrupt's message says (_interrupted_message): the epoch being run; the checkpoint
    # on disk (its epoch, best epoch and stopped_early); and what the call is doing outside an epoch: "" inside
    # one, BETWEEN_EPOCHS after one, else what it does before or after its epochs.
    running: int = 0
    saved: tuple[int, int, bool] = (0, 0, False)
    stage: str = "setting up the run"

    @property
    def epoch(self) -> int:
        return len(self.history)


BETWEEN_EPOCHS = "between epochs"


@seeded_torch
def train(
    model: nn.Module | str,
    datasets,
    *,
    epochs: int,
    optimizer: str = "rmsprop",
    lr: float | None = None,
    seed: int = 0,
    out_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    device: str | None = None,
    early_stopping: int | None = None,
    lr_schedule: str | None = None,
    progress: bool = True,
    max_steps_per_epoch: int | None = None,
    model_params: dict | None = None,
    extra_config: dict | None = None,
    loss: str = "mse",
    target_transform: str | None = None,
    interval_level: float = DEFAULT_LEVEL,
    weight_decay: float | None = None,
    clip_norm: float | None = None,
    on_epoch=None,
) -> TrainResult:
    """Fit `model` on `datasets.train`, validating on `datasets.val` every epoch; report test MAE.

    The book's recipe (code 10-10): MSE loss, MAE metric in the target's units, Keras RMSprop, and
    ModelCheckpoint(save_best_only=True) — at the end the best epoch's weights (lowest val loss) are
    reloaded and scored on `datasets.test`.

    model: an nn.Module mapping (batch, seq, features) -> (batch, 1), or a registered model name
        built with forecastlab.models.build_model(name, n_features, sequence_length, **model_params).
    datasets: a forecastlab.windows.SplitDatasets (train/val/test WindowDatasets, normalizer, spec).
    out_dir: run directory for config.json, history.csv, best.pt, last.pt, curves.png, metrics.json.
        None trains in memory only. A non-empty directory is refused unless `overwrite` (replace the
        earlier run's files) or `resume` (continue from last.pt up to `epochs` epochs in total).
    lr: the learning rate; None: the model's `default_lr` when it has one (linear: 1e-4), else the
        optimizer's Keras default (1e-3, the book's).
    seed: seeds torch's generators for this call only (weights, dropout masks; the caller's torch RNG
        state is put back afterwards); the train split's shuffle order comes from its own seed and the
        epoch number, so the same seed gives the same numbers on CPU.
    early_stopping: patience in epochs on val loss (off by default). lr_schedule: "plateau",
        "cosine", "exponential" or "warmup_cosine" (per step), optionally "name:key=value,..." (off by default).
    optimizer: "rmsprop" (the book's), "adam", "adamw" or "sgd", with Keras's defaults
        (forecastlab.training.optim). weight_decay: decoupled weight decay (None: 0, or Keras's 0.004
        for adamw). clip_norm: clip the gradients' global L2 norm to this before every step (off by default).
    max_steps_per_epoch: cap on training batches per epoch (quick profiles); val/test stay complete.
    loss: "mse" (the book's), "mae", "huber[:delta=D]" or "quantile:0.1,0.5,0.9" (forecastlab.models.losses);
        the model outputs H horizons x the loss's Q values per window.
    target_transform: "none" (the book's raw target) or "standardize" (train-split mean and std, undone at
        prediction); None: the model's default, "none" for the book's seven models and "standardize"
        for every newer one (linear, lightgbm).
    interval_level: nominal coverage of the prediction intervals calibrated on the validation split
        (split-conformal for point losses, conformalized quantile regression for quantile ones).
    on_epoch: called with each epoch's history row once its checkpoint is on disk (a sweep's pruner
        reads val_loss there); a true return value stops training as early stopping does, and the run
        finishes normally (best weights, test MAE, metrics.json). Not called for an estimator.

    train() leaves the process alone: no global seeds, thread count or allocator settings change. The
    CPU tuning the CLI applies (one torch thread on <= 2 cores, denormals flushed, glibc malloc kept
    warm; measured in docs/speed.md) is one call for a script or notebook:
    `forecastlab.training.configure_cpu()`.
    """
    started = time.perf_counter()
    _check_args(epochs, early_stopping, max_steps_per_epoch)
    _check_level(interval_level)
    _check_clip(clip_norm)
    if is_estimator(model):
        if weight_decay is not None or clip_norm is not None:
            raise ForecastlabError("weight_decay and clip_norm do not apply to an estimator (it has no gradient "
                                   "steps)", arg="weight_decay" if weight_decay is not None else "clip_norm",
                                   fix="leave them out; regularize lightgbm with its own model parameters")
        return fit_estimator(
            model, datasets, epochs=epochs, optimizer=optimizer, lr=lr, seed=seed, out_dir=out_dir, resume=resume,
            overwrite=overwrite, early_stopping=early_stopping, lr_schedule=lr_schedule, progress=progress,
            max_steps_per_epoch=max_steps_per_epoch, model_params=model_params, extra_config=extra_config,
            loss=loss, target_transform=target_transform, interval_level=interval_level,
            head_for=lambda est: make_head(datasets, loss, target_transform, default=est.default_target_transform),
            finish=lambda est, history, best, config, path: _finish_estimator(
                est, history, best, datasets, path, config, interval_level),
            write_outputs=_write_outputs, interrupted=Interrupted, started=started)
    dev = select_device(device)
    rank, world = distributed()
    head = make_head(datasets, loss, target_transform, default=default_target_transform(model))
    model, model_name = resolve_model(model, datasets, model_params, n_outputs=head.outputs)
    model.to(dev)
    if lr is None:  # the model's own default, else the optimizer's (Keras's)
        lr = getattr(type(model), "default_lr", None)
    from forecastlab.training.optim import make_optimizer

    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay)
    steps = _num_batches(datasets.train)
    scheduler = make_scheduler(lr_schedule, opt, epochs,
                               steps if max_steps_per_epoch is None else min(steps, max_steps_per_epoch))
    config = build_config(
        # the base rate: a schedule has already set the first step's (initial_lr keeps the base)
        model, model_name, datasets, epochs=epochs, optimizer=optimizer,
        lr=opt.param_groups[0].get("initial_lr", opt.param_groups[0]["lr"]),
        seed=seed, early_stopping=early_stopping, lr_schedule=lr_schedule,
        max_steps_per_epoch=max_steps_per_epoch, device=dev, extra=extra_config, head=head,
        interval_level=interval_level,
    )
    # Recorded only when used, so the book's config.json keeps exactly its keys.
    if optimizer.lower() == "adamw" or weight_decay is not None:
        config["training"]["weight_decay"] = opt.param_groups[0]["weight_decay"]
    if clip_norm is not None:
        config["training"]["clip_norm"] = float(clip_norm)
    if world > 1:
        config["training"]["nproc"] = world
    # Only now, once model, optimizer and schedule are known to build: a bad option leaves no empty run dir.
    # Data-parallel: only rank 0 writes; the other ranks read the run directory only to resume.
    run = _open_run_dir(out_dir, resume=resume, overwrite=overwrite) if rank == 0 else None
    run_dir = run.path if run is not None else (Path(out_dir) if out_dir is not None and resume else None)
    state = _State()
    # A resumed run's config.json is rewritten only once this call's first checkpoint is on disk.
    config_pending = resume
    try:
        if resume:
            state.stage = f"reading {rd.LAST} to resume"
            state, saved = _restore(run_dir, config, model, opt, scheduler)
            config["created"] = saved.get("created", config["created"])
        elif run is not None:
            rd.write_config(run_dir, config)
        shards = _Shards(model, rank, world) if world > 1 else None  # after the restore: DDP broadcasts rank 0's
        bar = EpochProgress(epochs, enabled=progress and rank == 0)
        with bar:
            if resume and state.epoch:
                bar.note(f"resuming {run_dir} after epoch {state.epoch} (best so far: epoch {state.best_epoch})")
            while state.epoch < epochs and not state.stopped_early:
                _run_epoch(state, model, opt, scheduler, datasets, dev, bar, max_steps_per_epoch, head, clip_norm,
                           shards)
                state.stage = BETWEEN_EPOCHS
                state.stopped_early = should_stop(state.epoch, state.best_epoch, early_stopping)
                stop_asked = False
                state.elapsed += _lap(started)
                started = time.perf_counter()
                if run is not None:
                    # The checkpoint and the commit go together: a Ctrl-C or SIGTERM landing between them
                    # would otherwise undo a run whose checkpoint is already on disk.
                    with deferred_signals():
                        # A resumed run rewrites best.pt too the first time: a format-1 run gets its sidecar.
                        _save_last(run_dir, state, model, opt, scheduler, with_best=config_pending)
                        config_pending = _commit(run, config, config_pending)
                        state.saved = (state.epoch, state.best_epoch, state.stopped_early)
                if on_epoch is not None:
                    stop_asked = bool(on_epoch(dict(state.history[-1]))) and not state.stopped_early \
                        and state.epoch < epochs
                    if stop_asked:
                        state.stopped_early = True
                        bar.note(f"stopped after epoch {state.epoch} by the caller (on_epoch), e.g. a sweep's pruner")
                if state.stopped_early and not stop_asked:
                    bar.note(f"early stopping: no better val loss for {early_stopping} epochs")
        result = _finish(state, model, datasets, dev, run.path if run is not None else None, config, head,
                         interval_level)
        result.total_seconds = state.elapsed + _lap(started)
        if run is not None:
            state.stage = f"writing {rd.METRICS} and {rd.CURVES}"
            _commit(run, config, config_pending)
            _write_outputs(run_dir, result)
    except KeyboardInterrupt as err:
        kept = run.abandon() if run is not None and not run.committed else None
        raise Interrupted(_interrupted_message(run, state, epochs, kept), getattr(err, "signum", 2)) from err
    except BaseException:
        if run is not None and not run.committed:
            run.abandon()
        raise
    finally:
        if run is not None:
            run.close()
    return result


class Interrupted(KeyboardInterrupt):
    """Training was stopped by Ctrl-C or SIGTERM; `message` says what was kept and how to resume."""

    def __init__(self, message: str, signum: int = 2):
        super().__init__(message)
        self.message, self.signum = message, signum


def _interrupted_message(run, state: _State, epochs: int, undone: str | None) -> str:
    """What an interrupted train() says: when it stopped (in which epoch of `epochs`, or what it was doing
    before or after its epochs: never an epoch past the last), what was kept (`undone`: what abandoning a new
    run did) and how to go on."""
    when = _when_stopped(state, epochs)
    if run is None:
        return f"training stopped {when}; it had no run directory, so nothing was kept"
    if undone is not None:  # a new run (a resumed one is kept from the start) that saved no epoch
        return f"training stopped before its first epoch was saved, so there is nothing to resume; {undone}"
    done, best, stopped_early = state.saved
    resume = f"`forecastlab train --resume {run.path}` (Python: train(..., out_dir=..., resume=True))"
    if not done:  # a resumed run stopped before its checkpoint was read: its files are as they were
        return f"training stopped {when}; kept {run.path} as it was; continue it with {resume}"
    kept = f"kept {run.path} with {done} completed epoch{'s' if done != 1 else ''} (best: epoch {best})"
    if done >= epochs or stopped_early:  # a resume trains no more epochs
        return (f"training stopped {when}; {kept}, but not its test scores: finish it (no more epochs, only the "
                f"scores and {rd.METRICS}) with {resume}")
    return f"training stopped {when}; {kept}; continue it with {resume}"


def _when_stopped(state: _State, epochs: int) -> str:
    """When training stopped: "during epoch 3 of 4", or what it was doing (state.stage) before its epochs or
    after one of them, never naming an epoch past `epochs`."""
    if not state.stage:
        return f"during epoch {state.running} of {epochs}"
    if not state.history:
        return f"while {state.stage}"
    doing = "" if state.stage == BETWEEN_EPOCHS else f", while {state.stage}"
    if state.epoch >= epochs:
        return f"after the last epoch ({state.epoch} of {epochs}){doing}"
    if state.stopped_early:
        return f"after stopping early at epoch {state.epoch} of {epochs}{doing}"
    return f"after epoch {state.epoch} of {epochs}{doing}"


def _commit(run: rd.RunDirectory, config: dict, config_pending: bool) -> bool:
    """A checkpoint of this call is on disk: keep the run whatever happens next, and write a resumed
    run's config.json now that the new work has succeeded. Returns the new `config_pending` (False)."""
    if config_pending:
        rd.write_config(run.path, config)
    run.commit()
    return False


# -- one epoch ---------------------------------------------------------------------------------------


def _run_epoch(state, model, opt, scheduler, datasets, dev, bar, max_steps, head, clip_norm=None,
               shards=None) -> None:
    epoch = state.epoch + 1
    state.running, state.stage = epoch, ""
    t0 = time.perf_counter()
    if hasattr(datasets.train, "set_epoch"):
        # The shuffle order depends on the epoch number, not on how many times the data was read,
        # so a resumed run sees the same order an uninterrupted one would.
        datasets.train.set_epoch(epoch - 1)
    lr_now = opt.param_groups[0]["lr"]
    if shards is None:
        loss, mae = _train_steps(model, opt, datasets.train, dev, bar, epoch, max_steps, head, scheduler, clip_norm)
    else:
        loss, mae = shards.train_steps(opt, datasets.train, dev, bar, epoch, max_steps, head, scheduler, clip_norm)
    train_seconds = time.perf_counter() - t0
    val = evaluate(model, datasets.val, dev, check_finite=False, head=head)  # divergence is reported below
    if not math.isfinite(loss) or not math.isfinite(val["loss"]):
        raise ForecastlabError(
            f"training diverged at epoch {epoch}: loss {loss}, val loss {val['loss']}",
            where=f"epoch {epoch}",
            fix="lower the learning rate (lr=), or check the data for extreme values",
        )
    row = {
        "epoch": epoch, "loss": loss, "mae": mae, "val_loss": val["loss"], "val_mae": val["mae"],
        "lr": lr_now, "seconds": time.perf_counter() - t0, "train_seconds": train_seconds,
    }
    state.history.append(row)
    # Strictly better, like Keras's ModelCheckpoint: a tie keeps the earlier epoch.
    improved = val["loss"] < state.best_val_loss
    if improved:
        state.best_epoch, state.best_val_loss = epoch, val["loss"]
        state.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    step_scheduler(scheduler, val["loss"])
    bar.end_epoch(row, best=improved)


def train_step(model, opt, x, y, loss_sum: torch.Tensor, abs_sum: torch.Tensor, head: Head = BOOK_HEAD,
               clip_norm: float | None = None, scale: float | None = None) -> None:
    """One optimizer step on the head's loss (the book's: MSE), adding the batch's loss and absolute
    error sums (in the target's units) in place; `clip_norm` clips the gradients' global norm first.

    The one definition of a training step: the engine runs it and benchmarks/train_speed.py times it.
    """
    if head.is_book:  # exactly the book's step
        pred = model(x).reshape(-1)
        loss = nn.functional.mse_loss(pred, y)
    else:
        raw = model(x)
        loss = head.loss_value(raw, y, x)
    opt.zero_grad(set_to_none=True)
    (loss if scale is None else loss * scale).backward()
    if clip_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    opt.step()
    with torch.no_grad():
        loss_sum += loss.detach().double() * y.numel()
        point = pred.detach() if head.is_book else head.point(raw.detach(), x).reshape(-1)
        abs_sum += (point - y).abs().double().sum()


def _train_steps(model, opt, dataset, dev, bar, epoch, max_steps, head, scheduler=None,
                 clip_norm=None) -> tuple[float, float]:
    """One pass of optimizer steps; returns the epoch's loss and MAE, weighted by windows (as Keras)."""
    steps = len(dataset) if max_steps is None else min(len(dataset), max_steps)
    bar.start_epoch(epoch, steps)
    model.train()
    non_blocking = dev.type == "cuda"
    # Sums stay on the device so a GPU step never waits for a .item(); read them when the bar redraws.
    loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
    abs_sum = torch.zeros((), dtype=torch.float64, device=dev)
    n = 0
    for step, (x, y) in enumerate(dataset, 1):
        x = x.to(dev, non_blocking=non_blocking)
        y = y.to(dev, non_blocking=non_blocking).reshape(-1)
        train_step(model, opt, x, y, loss_sum, abs_sum, head, clip_norm)
        step_per_batch(scheduler)
        n += y.numel()
        bar.step(step, lambda k=n: (loss_sum.item() / k, abs_sum.item() / k))  # noqa: B023 (called now)
        if step >= steps:
            break
    if n == 0:
        raise ForecastlabError(
            "the training split has no windows", where="datasets.train",
            fix="use more data or a shorter window (sequence_length=, horizon=)",
        )
    return loss_sum.item() / n, abs_sum.item() / n


class _Shards:
    """Data-parallel steps (DistributedDataParallel): every rank walks the same batches in the same order
    and trains on its contiguous part of each; the loss is scaled so that DDP's gradient average equals
    the gradient of the whole batch's mean, as one process with the same batch computes it. The epoch's
    loss and MAE sums and window counts are all-reduced, so every rank reports the whole epoch's numbers.
    Validation and test run whole on every rank (the weights are the same everywhere, so are the numbers)."""

    def __init__(self, model, rank: int, world: int):
        from torch.nn.parallel import DistributedDataParallel

        self.rank, self.world = rank, world
        self.model = DistributedDataParallel(model)

    def train_steps(self, opt, dataset, dev, bar, epoch, max_steps, head, scheduler=None, clip_norm=None):
        import torch.distributed as tdist

        steps = len(dataset) if max_steps is None else min(len(dataset), max_steps)
        bar.start_epoch(epoch, steps)
        self.model.train()
        sums = torch.zeros(3, dtype=torch.float64, device=dev)  # loss sum, absolute error sum, windows
        for step, ((x, y), total, mine) in enumerate(dataset.shards(self.rank, self.world), 1):
            x, y = x.to(dev), y.to(dev).reshape(-1)
            loss_sum, abs_sum = (torch.zeros((), dtype=torch.float64, device=dev) for _ in range(2))
            train_step(self.model, opt, x, y, loss_sum, abs_sum, head, clip_norm, scale=mine * self.world / total)
            step_per_batch(scheduler)
            if mine:
                sums += torch.stack([loss_sum, abs_sum, torch.tensor(float(y.numel()), dtype=torch.float64,
                                                                      device=dev)])
            # the bar shows this rank's running numbers; the epoch's line, after the all-reduce, the whole epoch's
            bar.step(step, lambda: tuple((sums[:2] / max(sums[2].item(), 1.0)).tolist()))  # noqa: B023 (called now)
            if step >= steps:
                break
        tdist.all_reduce(sums)
        loss_sum, abs_sum, n = sums.tolist()
        if n == 0:
            raise ForecastlabError("the training split has no windows", where="datasets.train",
                                   fix="use more data or a shorter window (sequence_length=, horizon=)")
        return loss_sum / n, abs_sum / n


# -- run directory, checkpoints, resume ----------------------------------------------------------------


def _open_run_dir(out_dir, *, resume: bool, overwrite: bool) -> Path | None:
    if out_dir is None:
        if resume:
            raise ForecastlabError(
                "resume=True needs the run directory to continue", arg="out_dir",
                fix="pass out_dir= with the run directory",
            )
        return None
    return rd.RunDirectory(Path(out_dir), resume=resume, overwrite=overwrite).open()


def _save_last(run_dir: Path, state: _State, model, opt, scheduler, *, with_best: bool = False) -> None:
    """This epoch's checkpoints and history as one step: all of them replaced, or (full disk) none."""
    states = {}
    if with_best or state.best_epoch == state.epoch:
        states[run_dir / rd.BEST] = {
            "model": state.best_weights, "epoch": state.best_epoch, "val_loss": state.best_val_loss,
        }
    states[run_dir / rd.LAST] = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": state.epoch,
        "history": state.history,
        "best_epoch": state.best_epoch,
        "best_val_loss": state.best_val_loss,
        # The best weights ride along, so resuming never depends on best.pt matching last.pt.
        "best_model": state.best_weights,
        "elapsed": state.elapsed,
        "stopped_early": state.stopped_early,
        "rng": rng_state(),
    }
    save_checkpoints(states, also={run_dir / rd.HISTORY: rd.history_text(state.history).encode("utf-8")})


def _restore(run_dir: Path, config: dict, model, opt, scheduler) -> tuple[_State, dict]:
    """The state saved in last.pt, loaded into model, optimizer, schedule and RNGs; every damaged or
    foreign entry is a ForecastlabError naming the file and the entry. Also returns the saved config."""
    saved = rd.read_config(run_dir)
    check_resume_config(saved, config, run_dir)
    path = run_dir / rd.LAST
    ckpt = load_checkpoint(path, require_checksum=saved["format"] >= 2)
    require_entries(ckpt, path, {
        "model": dict, "optimizer": dict, "epoch": int, "history": list, "best_epoch": int,
        "best_val_loss": (float, int), "best_model": dict, "elapsed": (float, int), "stopped_early": bool,
        "rng": dict,
    })
    _check_history(ckpt, path)
    load_weights(model, ckpt["best_model"], path, "best_model")  # checked first: it fits the same model
    load_weights(model, ckpt["model"], path, "model")
    with checkpoint_part(path, "optimizer"):
        opt.load_state_dict(ckpt["optimizer"])
        _check_optimizer_state(opt)
    if scheduler is not None and ckpt.get("scheduler") is not None:
        with checkpoint_part(path, "scheduler"):
            scheduler.load_state_dict(ckpt["scheduler"])
    with checkpoint_part(path, "rng"):
        set_rng_state(ckpt["rng"])
    state = _State(
        history=list(ckpt["history"]),
        best_epoch=ckpt["best_epoch"],
        best_val_loss=float(ckpt["best_val_loss"]),
        best_weights=ckpt["best_model"],
        elapsed=float(ckpt["elapsed"]),
        stopped_early=ckpt["stopped_early"],
        saved=(ckpt["epoch"], ckpt["best_epoch"], ckpt["stopped_early"]),
    )
    return state, saved


def _check_optimizer_state(opt) -> None:
    """torch's load_state_dict takes any per-parameter state; a foreign one would silently restart (or
    break) the optimizer, so each parameter's state must use the optimizer's names and the parameter's shape."""
    params = [p for group in opt.param_groups for p in group["params"]]
    names = getattr(opt, "state_names", None)
    for p, state in opt.state.items():
        for key, value in state.items():
            if names is not None and key not in names:
                raise ValueError(f"state {key!r} is not one of this optimizer's ({', '.join(names)})")
            if isinstance(value, torch.Tensor) and value.dim() and value.shape != p.shape:
                raise ValueError(f"state {key!r} has shape {tuple(value.shape)}, its parameter {tuple(p.shape)}")
    if len(opt.state) > len(params):
        raise ValueError(f"state for {len(opt.state)} parameters, the model has {len(params)}")


def _check_history(ckpt: dict, path: Path) -> None:
    history, epoch, best = ckpt["history"], ckpt["epoch"], ckpt["best_epoch"]
    with checkpoint_part(path, "history"):
        if len(history) != epoch or not 1 <= best <= epoch:
            raise ValueError(f"{len(history)} history rows for epoch {epoch}, best epoch {best}")
        for i, row in enumerate(history, 1):
            if not isinstance(row, dict) or row.get("epoch") != i or not all(
                    isinstance(row.get(k), float | int) for k in rd.HISTORY_FIELDS):
                raise ValueError(f"history row {i} is not a complete epoch record")


# -- the end of a run ------------------------------------------------------------------------------------


def _finish(state: _State, model, datasets, dev, run_dir, config, head: Head, level: float) -> TrainResult:
    if state.best_weights is None:
        raise ForecastlabError(
            "no epoch was trained, so there is no model to report", arg="epochs",
            fix="train for at least one epoch",
        )
    state.stage = "scoring the best weights on the validation split"
    model.load_state_dict(state.best_weights)
    model.eval()
    val_pred, val_y = forecast_dataset(model, datasets.val, head, dev)
    if head.is_book:
        best = state.history[state.best_epoch - 1]
        # Evaluation is deterministic, so the best epoch's logged val numbers are the best model's.
        val = {"mae": best["val_mae"], "mse": best["val_loss"], "n": _num_windows(datasets.val),
               "mae_by_horizon": [best["val_mae"]], "mse_by_horizon": [best["val_loss"]]}
    else:
        val = point_scores(val_pred[..., head.loss.median_index], val_y)
    state.stage = "scoring the best weights on the test split"
    test = evaluate(model, datasets.test, dev, split="test", head=head)
    test_pred, test_y = forecast_dataset(model, datasets.test, head, dev)
    state.stage = "calibrating the prediction intervals"
    intervals = interval_summary(head, val_pred, val_y, test_pred, test_y, level)
    from forecastlab.training.config import count_params

    epochs = len(state.history)
    return TrainResult(
        model=model,
        history=state.history,
        best_epoch=state.best_epoch,
        val=val,
        test=test,
        run_dir=run_dir,
        seconds_per_epoch=sum(r["seconds"] for r in state.history) / epochs,
        train_seconds_per_epoch=sum(r["train_seconds"] for r in state.history) / epochs,
        total_seconds=0.0,
        params=count_params(model),
        stopped_early=state.stopped_early,
        config=config,
        intervals=intervals,
    )


def _finish_estimator(estimator, history, best_epoch, datasets, run_dir, config, level: float) -> TrainResult:
    """The end of an estimator's run: the same scores and calibrated intervals as a torch run's."""
    from forecastlab.training.config import count_params

    head = estimator.head
    val_pred, val_y = forecast_dataset(estimator, datasets.val, head)
    test_pred, test_y = forecast_dataset(estimator, datasets.test, head)
    for split, pred in (("val", val_pred), ("test", test_pred)):
        check_forecasts(pred, split)
    val = point_scores(val_pred[..., head.loss.median_index], val_y)
    test = point_scores(test_pred[..., head.loss.median_index], test_y)
    n = len(history)
    return TrainResult(
        model=estimator, history=history, best_epoch=best_epoch, val=val, test=test, run_dir=run_dir,
        seconds_per_epoch=sum(r["seconds"] for r in history) / n,
        train_seconds_per_epoch=sum(r["train_seconds"] for r in history) / n, total_seconds=0.0,
        params=count_params(estimator), stopped_early=False, config=config,
        intervals=interval_summary(head, val_pred, val_y, test_pred, test_y, level),
    )


def point_scores(point: np.ndarray, y: np.ndarray) -> dict:
    """MAE and MSE of (N, H) point forecasts, overall and per horizon, and the window count."""
    err = np.asarray(point, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return {"mae": float(np.abs(err).mean()), "mse": float((err**2).mean()), "n": len(err),
            "mae_by_horizon": np.abs(err).mean(axis=0).tolist(), "mse_by_horizon": (err**2).mean(axis=0).tolist()}


def interval_summary(head: Head, val_pred, val_y, test_pred, test_y, level: float) -> dict:
    """Conformal calibration on the validation forecasts, and its empirical coverage on test."""
    calibration = calibrate(head, val_pred, val_y, level)
    covered = coverage(*calibration.interval(interval_input(head, test_pred)), test_y)
    return calibration.to_dict() | {f"test_{k}": v for k, v in covered.items()}


def check_forecasts(pred: np.ndarray, split: str) -> None:
    bad = int((~np.isfinite(pred)).sum())
    if bad:
        raise ForecastlabError(f"{bad:,} of {pred.size:,} forecasts of the {split} split are NaN or infinite",
                               where=f"the {split} split",
                               fix="check the data for extreme values (forecastlab data inspect)")


def make_head(datasets, loss: str | Loss, target_transform: str | None, *, default: str = "none") -> Head:
    """The head for these datasets: their horizons, the loss's outputs, the target scale of the train split
    (`target_transform`, or the model's `default` when it is None)."""
    spec = getattr(datasets, "spec", None)
    horizons = len(getattr(spec, "steps", (1,)))
    loss = loss if isinstance(loss, Loss) else parse_loss(loss)
    kind = (target_transform or default).strip().lower()
    train_targets = datasets.train.all_targets().numpy() if kind != "none" else None
    return Head(horizons, loss, TargetScale.fit(kind, train_targets, **residual_inputs(datasets, kind)))


def residual_inputs(datasets, kind: str) -> dict:
    """What TargetScale.fit needs for a residual target: where the target is in the input window, its
    normalization, and the train windows' last observed values (in units)."""
    column = getattr(datasets, "target_column", None)
    if kind != "residual" or column is None:
        return {}
    norm = datasets.normalizer
    mean = float(norm.mean_[column]) if norm is not None else 0.0
    std = float(norm.std_[column]) if norm is not None else 1.0
    last = datasets.train.last_inputs(column).double().numpy() * std + mean
    return {"last_values": last, "column": column, "x_mean": mean, "x_std": std}


def default_target_transform(model) -> str:
    """The target transform a model learns in unless told otherwise: "none" (the raw target) for the
    book's seven models and for modules forecastlab does not know, "standardize" for every other
    registered model (ForecastModel.default_target_transform)."""
    if isinstance(model, str):
        from forecastlab.models import get_model_class

        return get_model_class(model).default_target_transform
    return getattr(type(model), "default_target_transform", "none")


def calibrate(head: Head, pred: np.ndarray, y: np.ndarray, level: float) -> Calibration:
    """Conformal calibration on the validation forecasts: CQR on the outer quantiles of a quantile model,
    split-conformal around the point forecast otherwise."""
    if head.loss.outputs > 1:
        q = head.loss.quantiles
        return calibrate_quantiles(pred[..., 0], pred[..., -1], y, (q[0], q[-1]), level)
    return calibrate_point(pred[..., 0], y, level)


def interval_input(head: Head, pred: np.ndarray) -> np.ndarray:
    """What Calibration.interval takes: the point (N, H), or the outer quantiles (N, H, 2)."""
    return pred[..., [0, -1]] if head.loss.outputs > 1 else pred[..., 0]


def _check_level(level: float) -> None:
    if not isinstance(level, float | int) or isinstance(level, bool) or not 0 < level < 1:
        raise ForecastlabError(f"interval_level must be strictly between 0 and 1, got {level!r}",
                               arg="interval_level", fix="e.g. interval_level=0.8 for 80% intervals")


def _write_outputs(run_dir: Path, result: TrainResult) -> None:
    from forecastlab.reporting.curves import plot_curves

    model_name = result.config.get("model", {}).get("name") or "model"
    plot_curves(
        result.history, run_dir / rd.CURVES, best_epoch=result.best_epoch,
        title=f"Training and validation MAE: {model_name}", unit=result.config.get("data", {}).get("target_unit"),
        xlabel="Boosting rounds" if result.config.get("training", {}).get("optimizer") == "none" else "Epochs",
    )
    rd.write_metrics(run_dir, result.metrics())


# -- small helpers -------------------------------------------------------------------------------------


def _check_args(epochs: int, early_stopping: int | None, max_steps: int | None) -> None:
    for name, value, minimum in (("epochs", epochs, 1), ("early_stopping", early_stopping, 1),
                                 ("max_steps_per_epoch", max_steps, 1)):
        if value is not None and (not isinstance(value, int) or value < minimum):
            raise ForecastlabError(
                f"{name} must be an integer of at least {minimum}, got {value!r}",
                arg=name, fix=f"pass {name}={max(minimum, 1)} or more",
            )


def _check_clip(clip_norm: float | None) -> None:
    if clip_norm is not None and not (isinstance(clip_norm, int | float) and not isinstance(clip_norm, bool)
                                      and math.isfinite(clip_norm) and clip_norm > 0):
        raise ForecastlabError(f"clip_norm must be a positive number, got {clip_norm}", arg="clip_norm",
                               fix="pass a positive global gradient norm such as clip_norm=1.0, or leave it out")


def _num_batches(dataset) -> int:
    try:
        return len(dataset)
    except TypeError:  # an iterable without a length: the schedule counts one step per epoch
        return 1


def _num_windows(dataset) -> int:
    n = getattr(dataset, "num_windows", None)
    return int(n) if n is not None else sum(len(y) for _, y in dataset)


def _lap(since: float) -> float:
    return time.perf_counter() - since
