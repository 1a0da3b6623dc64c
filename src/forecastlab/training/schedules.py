"""Learning-rate schedules and early stopping: available, off by default, so the book's runs stay
faithful (the chapter uses a constant RMSprop learning rate and a fixed number of epochs)."""

from __future__ import annotations

import torch

from forecastlab.errors import ForecastlabError

SCHEDULES = {
    # Keras's ReduceLROnPlateau idea, with a shorter fuse than its defaults (factor 0.1, patience 10),
    # which never fire within the book's 10-50 epochs.
    "plateau": {"factor": 0.5, "patience": 2, "min_lr": 0.0},
    "cosine": {"min_lr": 0.0},
    "exponential": {"gamma": 0.9},
}


def parse_schedule(spec: str) -> tuple[str, dict]:
    """'plateau' or 'plateau:factor=0.2,patience=3' -> ('plateau', {...defaults overridden...})."""
    name, _, rest = spec.partition(":")
    name = name.strip().lower()
    if name not in SCHEDULES:
        raise ForecastlabError(
            f"unknown learning-rate schedule {name!r}",
            where=f"--lr-schedule {spec}",
            fix=f"use one of: {', '.join(SCHEDULES)} (optionally with ':key=value,...')",
        )
    params = dict(SCHEDULES[name])
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key not in params:
            raise ForecastlabError(
                f"bad schedule option {item!r}",
                where=f"--lr-schedule {spec}",
                fix=f"options of {name!r} are: {', '.join(f'{k}=...' for k in params)}",
            )
        try:
            params[key] = type(params[key])(float(value))
        except ValueError:
            raise ForecastlabError(
                f"schedule option {key} needs a number, got {value!r}",
                where=f"--lr-schedule {spec}",
                fix=f"for example {name}:{key}={params[key]}",
            ) from None
    return name, params


def make_scheduler(spec: str | None, optimizer: torch.optim.Optimizer, epochs: int):
    """A torch LR scheduler for `spec`, stepped once per epoch (see step_scheduler), or None."""
    if not spec:
        return None
    name, p = parse_schedule(spec)
    sched = torch.optim.lr_scheduler
    if name == "plateau":
        return sched.ReduceLROnPlateau(
            optimizer, mode="min", factor=p["factor"], patience=int(p["patience"]), min_lr=p["min_lr"]
        )
    if name == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=max(1, epochs), eta_min=p["min_lr"])
    return sched.ExponentialLR(optimizer, gamma=p["gamma"])


def step_scheduler(scheduler, val_loss: float) -> None:
    """Advance `scheduler` by one epoch; plateau schedules watch the val loss."""
    if scheduler is None:
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_loss)
    else:
        scheduler.step()


def should_stop(epoch: int, best_epoch: int, patience: int | None) -> bool:
    """Keras EarlyStopping(monitor='val_loss', patience=N): stop once N epochs passed without a new best.

    It depends only on the epoch numbers, so a resumed run stops exactly where an uninterrupted one would.
    """
    return patience is not None and epoch - best_epoch >= patience
