"""Keras 3's optimizers, step for step, as torch optimizers.

PyTorch's defaults differ from Keras's in ways that change the book's curves:
- RMSprop: torch lr 1e-2, alpha 0.99, eps 1e-8 *outside* the sqrt; Keras lr 1e-3, rho 0.9,
  eps 1e-7 *inside* the sqrt: ``v = rho*v + (1-rho)*g**2; w -= lr*g / sqrt(v + eps)``
  (keras/src/optimizers/rmsprop.py, `update_step`).
- Adam: Keras eps is 1e-7 and is added to sqrt(v) *before* bias correction:
  ``alpha = lr*sqrt(1-b2**t)/(1-b1**t); w -= alpha*m / (sqrt(v) + eps)``.
- SGD: Keras's default lr is 1e-2, no momentum.
- AdamW: Keras 3's AdamW defaults (lr 1e-3, weight_decay 0.004, eps 1e-7) on torch's AdamW.

`weight_decay` on the others is Keras 3's decoupled decay, applied before each update as Keras's
`Optimizer._apply_weight_decay` does: ``w -= lr * weight_decay * w`` (for plain SGD this equals L2).
None of the book's runs uses it: its default is 0, which leaves their steps bit for bit as they were.
"""

from __future__ import annotations

import math

import torch

from forecastlab.errors import ForecastlabError

KERAS_DEFAULT_LR = {"rmsprop": 1e-3, "adam": 1e-3, "adamw": 1e-3, "sgd": 1e-2}
KERAS_ADAMW_WEIGHT_DECAY = 0.004


class KerasRMSprop(torch.optim.Optimizer):
    """Keras 3's RMSprop (non-centered, no momentum): velocity starts at zero, eps inside the sqrt."""

    state_names = ("velocity",)  # per-parameter state, checked when a checkpoint is loaded

    def __init__(self, params, lr: float = 1e-3, rho: float = 0.9, epsilon: float = 1e-7,
                 weight_decay: float = 0.0):
        if not math.isfinite(lr) or lr <= 0 or not 0.0 <= rho < 1.0 or epsilon < 0:
            raise ForecastlabError(f"invalid RMSprop settings lr={lr}, rho={rho}, epsilon={epsilon}",
                                   fix="use lr > 0, 0 <= rho < 1, epsilon >= 0")
        super().__init__(params, dict(lr=lr, rho=rho, epsilon=epsilon, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            vels = [self._state(p, "velocity") for p in params]
            rho, lr, eps = group["rho"], group["lr"], group["epsilon"]
            _decay(params, lr, group.get("weight_decay", 0.0))
            # Foreach ops: one kernel launch per op for all tensors, which matters for small RNNs.
            torch._foreach_mul_(vels, rho)
            torch._foreach_addcmul_(vels, grads, grads, value=1.0 - rho)
            denom = torch._foreach_add(vels, eps)
            torch._foreach_sqrt_(denom)
            torch._foreach_addcdiv_(params, grads, denom, value=-lr)
        return loss

    def _state(self, p, key):
        state = self.state[p]
        if key not in state:
            state[key] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state[key]


class KerasAdam(torch.optim.Optimizer):
    """Keras 3's Adam: lr 1e-3, beta_1 0.9, beta_2 0.999, eps 1e-7 added before bias correction."""

    state_names = ("step", "m", "v")

    def __init__(self, params, lr: float = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float = 0.0):
        if not math.isfinite(lr) or lr <= 0 or not 0.0 <= beta_1 < 1.0 or not 0.0 <= beta_2 < 1.0 or epsilon < 0:
            raise ForecastlabError(f"invalid Adam settings lr={lr}, beta_1={beta_1}, beta_2={beta_2}",
                                   fix="use lr > 0 and betas in [0, 1)")
        super().__init__(params, dict(lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                                      weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            b1, b2, eps, lr = group["beta_1"], group["beta_2"], group["epsilon"], group["lr"]
            _decay([p for p in group["params"] if p.grad is not None], lr, group.get("weight_decay", 0.0))
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["m"] = torch.zeros_like(p)
                    st["v"] = torch.zeros_like(p)
                st["step"] += 1
                t = st["step"]
                alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
                st["m"].add_(p.grad - st["m"], alpha=1 - b1)
                st["v"].add_(p.grad * p.grad - st["v"], alpha=1 - b2)
                p.addcdiv_(st["m"], st["v"].sqrt().add_(eps), value=-alpha)
        return loss


def _decay(params: list, lr: float, weight_decay: float) -> None:
    """Keras 3's decoupled weight decay, before the update: w -= lr * weight_decay * w."""
    if weight_decay and params:
        torch._foreach_mul_(params, 1.0 - lr * weight_decay)


def make_optimizer(name: str, params, lr: float | None = None, weight_decay: float | None = None
                   ) -> torch.optim.Optimizer:
    """An optimizer by Keras name with Keras's defaults; `lr` overrides the default learning rate and
    `weight_decay` the default decay (0, or 0.004 for AdamW: Keras 3's defaults).

    Known names: "rmsprop" (the book's), "adam", "adamw", "sgd".
    """
    key = (name or "").lower()
    if key not in KERAS_DEFAULT_LR:
        raise ForecastlabError(f"unknown optimizer {name!r}", arg="optimizer",
                               fix=f"use one of: {', '.join(sorted(KERAS_DEFAULT_LR))}")
    lr = KERAS_DEFAULT_LR[key] if lr is None else float(lr)
    if not math.isfinite(lr) or lr <= 0:  # nan <= 0 is False: test finiteness first
        raise ForecastlabError(f"the learning rate must be positive and finite, got {lr}", arg="lr",
                               fix="pass a positive learning rate such as lr=0.001")
    default_decay = KERAS_ADAMW_WEIGHT_DECAY if key == "adamw" else 0.0
    decay = default_decay if weight_decay is None else float(weight_decay)
    if not math.isfinite(decay) or decay < 0 or lr * decay >= 1:
        raise ForecastlabError(
            f"weight_decay must be 0 or more and lr * weight_decay below 1, got weight_decay={weight_decay} "
            f"with lr={lr:g}", arg="weight_decay", fix="use a small decay such as weight_decay=0.01")
    if key == "rmsprop":
        return KerasRMSprop(params, lr=lr, weight_decay=decay)
    if key == "adam":
        return KerasAdam(params, lr=lr, weight_decay=decay)
    if key == "adamw":
        return torch.optim.AdamW(params, lr=lr, eps=1e-7, weight_decay=decay)
    # plain SGD (no momentum): L2 and decoupled decay are the same step
    return torch.optim.SGD(params, lr=lr, weight_decay=decay)
