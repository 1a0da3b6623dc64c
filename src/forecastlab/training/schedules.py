"""Learning-rate schedules and early stopping: available, off by default, so the book's runs stay
faithful (the chapter uses a constant RMSprop learning rate and a fixed number of epochs)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from forecastlab.errors import ForecastlabError


@dataclass(frozen=True)
class _Param:
    """One schedule option: its default and its valid range (low/high; `open_*` excludes the bound)."""

    default: float
    low: float
    high: float = math.inf
    open_low: bool = False
    open_high: bool = False
    integer: bool = False

    def check(self, value: float) -> bool:
        if not math.isfinite(value) or (self.integer and value != int(value)):
            return False
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        if self.high == math.inf:
            return f"{kind} {'>' if self.open_low else '>='} {self.low:g}"
        return (f"{kind} in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}"
                f"{')' if self.open_high else ']'}")


SCHEDULES = {
    # Keras's ReduceLROnPlateau idea, with a shorter fuse than its defaults (factor 0.1, patience 10),
    # which never fire within the book's 10-50 epochs. A factor >= 1 would raise the rate: refused.
    "plateau": {"factor": _Param(0.5, 0.0, 1.0, open_low=True, open_high=True),
                "patience": _Param(2, 0, integer=True), "min_lr": _Param(0.0, 0.0)},
    "cosine": {"min_lr": _Param(0.0, 0.0)},
    # Linear warm-up over the first `warmup` fraction of all training steps, then a cosine decay to
    # min_lr, updated every step (not every epoch), as transformer recipes train.
    "warmup_cosine": {"warmup": _Param(0.05, 0.0, 1.0, open_high=True), "min_lr": _Param(0.0, 0.0)},
    # gamma <= 0 would flip or zero the rate's sign (0.001, -0.001, ...), gamma > 1 grow it without bound.
    "exponential": {"gamma": _Param(0.9, 0.0, 1.0, open_low=True)},
}


def parse_schedule(spec: str) -> tuple[str, dict]:
    """'plateau' or 'plateau:factor=0.2,patience=3' -> ('plateau', {...defaults overridden...}).

    Every option is checked against its range here, before any training, so a schedule can never
    drive the learning rate negative, upwards without bound, or into torch's own exceptions.
    """
    name, _, rest = spec.partition(":")
    name = name.strip().lower()
    if name not in SCHEDULES:
        raise ForecastlabError(
            f"unknown learning-rate schedule {name!r}",
            where=f"lr_schedule={spec!r}", arg="lr_schedule",
            fix=f"use one of: {', '.join(SCHEDULES)} (optionally with ':key=value,...')",
        )
    options = SCHEDULES[name]
    params = {key: p.default for key, p in options.items()}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in options:
            raise ForecastlabError(
                f"bad schedule option {item!r}",
                where=f"lr_schedule={spec!r}", arg="lr_schedule",
                fix=f"options of {name!r} are: {', '.join(f'{k}=...' for k in options)}",
            )
        option = options[key]
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not option.check(number):
            raise ForecastlabError(
                f"schedule option {key} must be {option.describe()}, got {value.strip()!r}",
                where=f"lr_schedule={spec!r}", arg="lr_schedule",
                fix=f"for example {name}:{key}={option.default:g}",
            )
        params[key] = int(number) if option.integer else number
    return name, params


def make_scheduler(spec: str | None, optimizer: torch.optim.Optimizer, epochs: int,
                   steps_per_epoch: int | None = None):
    """A torch LR scheduler for `spec`, or None. Stepped once per epoch (see step_scheduler), except
    `warmup_cosine`, which is stepped after every optimizer step (`per_step` is True on it) over
    epochs x steps_per_epoch steps."""
    if not spec:
        return None
    name, p = parse_schedule(spec)
    sched = torch.optim.lr_scheduler
    if name == "plateau":
        return sched.ReduceLROnPlateau(
            optimizer, mode="min", factor=p["factor"], patience=int(p["patience"]), min_lr=p["min_lr"]
        )
    lr = optimizer.param_groups[0]["lr"]
    if p.get("min_lr", 0.0) > lr:
        raise ForecastlabError(
            f"schedule option min_lr={p['min_lr']:g} is above the learning rate {lr:g}, so the schedule would "
            "raise it", where=f"lr_schedule={spec!r}", arg="lr_schedule",
            fix=f"use a min_lr below the learning rate, lr= (e.g. {name}:min_lr=0)")
    if name == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=max(1, epochs), eta_min=p["min_lr"])
    if name == "warmup_cosine":
        total = max(1, epochs * max(1, steps_per_epoch or 1))
        scheduler = sched.LambdaLR(optimizer, warmup_cosine(total, p["warmup"], p["min_lr"] / lr))
        scheduler.per_step = True
        return scheduler
    return sched.ExponentialLR(optimizer, gamma=p["gamma"])


def warmup_cosine(total_steps: int, warmup: float, floor: float):
    """The factor on the base learning rate after `step` optimizer steps: (step + 1) / w for the first
    w = round(warmup * total_steps) steps, then a cosine from 1 down to `floor` at the last step."""
    w = round(warmup * total_steps)

    def factor(step: int) -> float:
        if step < w:
            return (step + 1) / w
        progress = min(1.0, (step - w) / max(1, total_steps - w))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def step_scheduler(scheduler, val_loss: float) -> None:
    """Advance `scheduler` by one epoch; plateau schedules watch the val loss. A per-step schedule is
    advanced by the training loop instead (step_per_batch)."""
    if scheduler is None or getattr(scheduler, "per_step", False):
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_loss)
    else:
        scheduler.step()


def step_per_batch(scheduler) -> None:
    """Advance a per-step schedule (warmup_cosine) after one optimizer step; nothing for the others."""
    if scheduler is not None and getattr(scheduler, "per_step", False):
        scheduler.step()


def should_stop(epoch: int, best_epoch: int, patience: int | None) -> bool:
    """Keras EarlyStopping(monitor='val_loss', patience=N): stop once N epochs passed without a new best.

    It depends only on the epoch numbers, so a resumed run stops exactly where an uninterrupted one would.
    """
    return patience is not None and epoch - best_epoch >= patience
