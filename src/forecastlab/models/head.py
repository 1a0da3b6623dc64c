"""How a model's raw outputs (batch, H x Q) become forecasts: horizons, the loss's Q, the target scale.

    raw (B, H*Q) --split--> (B, H, Q) in the scaled target space the loss sees
                 --to_units--> (B, H, Q) in the target's units (°C), quantiles ascending
                 --point--> (B, H): the only output, or the median quantile

The book's head is H = Q = 1 with the raw target (`TargetScale()`): every step reduces to the book's
`pred.reshape(-1)`, so its numbers are unchanged. `standardize` learns (y - mean) / std of the train
split's targets and undoes it at prediction, so a model starting from a zero output starts at the mean.
`residual` learns the change from the last observed target value in the window (persistence), standardized
by the train split's changes, and adds the last value back at prediction: a model starting from a zero
output starts at the persistence forecast. It needs the window itself (`x`) to undo, so every method that
turns outputs into units takes the batch's inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from forecastlab.errors import ForecastlabError
from forecastlab.models.losses import Loss

TARGET_TRANSFORMS = ("none", "standardize", "residual")


@dataclass(frozen=True)
class TargetScale:
    """y_scaled = (y - base - shift) / scale; `none` is (0, 1) and never touches the numbers.

    base is 0, except for `residual`: the last observed target value of each window, read from the
    window's normalized input column `column` as x[:, -1, column] * x_std + x_mean.
    """

    kind: str = "none"
    shift: float = 0.0
    scale: float = 1.0
    column: int | None = None  # residual: the target's index among the input columns
    x_mean: float = 0.0  # residual: that column's normalization, to read the last value in units
    x_std: float = 1.0

    @classmethod
    def fit(cls, kind: str | None, train_targets, *, last_values=None, column: int | None = None,
            x_mean: float = 0.0, x_std: float = 1.0) -> TargetScale:
        """The scale of the train split's targets (N,) or (N, H); `residual` also needs each window's last
        observed target value (N,) and where that value is in the input (column, x_mean, x_std)."""
        kind = (kind or "none").strip().lower()
        if kind not in TARGET_TRANSFORMS:
            raise ForecastlabError(f"unknown target transform {kind!r}", arg="target_transform",
                                   fix=f"use one of: {', '.join(TARGET_TRANSFORMS)}")
        if kind == "none":
            return cls()
        y = np.asarray(train_targets, dtype=np.float64)
        if kind == "residual":
            if column is None or last_values is None:
                raise ForecastlabError(
                    "target_transform='residual' learns the change from the last observed target value, but "
                    "the target is not one of the model's input columns", arg="target_transform",
                    fix="keep the target among the input columns (--features), or use 'standardize'")
            last = np.asarray(last_values, dtype=np.float64).reshape(len(y), *([1] * (y.ndim - 1)))
            y = y - last
        std = float(y.std())
        std = std if std > 0 and np.isfinite(std) else 1.0
        if kind == "residual":
            return cls(kind, float(y.mean()), std, int(column), float(x_mean), float(x_std))
        return cls(kind, float(y.mean()), std)

    @property
    def needs_inputs(self) -> bool:
        return self.kind == "residual"

    def base(self, x) -> torch.Tensor | None:
        """(B, 1) last observed target value of each window, in units; None when the transform has no base."""
        if not self.needs_inputs:
            return None
        if x is None:
            raise ValueError("target_transform 'residual' needs the windows (x) to turn outputs into units")
        return self.base_of_last(torch.as_tensor(x)[:, -1, self.column])

    def base_of_last(self, last_normalized) -> torch.Tensor:
        """(B, 1) in units from the windows' last normalized target inputs (B,)."""
        return (torch.as_tensor(last_normalized).double() * self.x_std + self.x_mean).reshape(-1, 1)

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "shift": self.shift, "scale": self.scale}
        if self.needs_inputs:
            d |= {"column": self.column, "x_mean": self.x_mean, "x_std": self.x_std}
        return d

    @classmethod
    def from_dict(cls, d: dict | None) -> TargetScale:
        if not d:
            return cls()
        column = d.get("column")
        return cls(d["kind"], float(d["shift"]), float(d["scale"]), None if column is None else int(column),
                   float(d.get("x_mean", 0.0)), float(d.get("x_std", 1.0)))


@dataclass(frozen=True)
class Head:
    """H horizons x the loss's Q outputs, and the target scale the model learns in."""

    horizons: int = 1
    loss: Loss = field(default_factory=Loss)
    target: TargetScale = field(default_factory=TargetScale)

    @property
    def outputs(self) -> int:
        return self.horizons * self.loss.outputs

    @property
    def is_book(self) -> bool:
        """The book's head: one horizon, MSE, raw targets."""
        return self.horizons == 1 and self.loss.name == "mse" and self.target.kind == "none"

    def split(self, raw: torch.Tensor) -> torch.Tensor:
        """(B, H*Q) -> (B, H, Q), in the scaled space."""
        return raw.reshape(raw.shape[0], self.horizons, self.loss.outputs)

    def scaled_targets(self, y: torch.Tensor, x: torch.Tensor | None = None, *, base=None) -> torch.Tensor:
        """(B,) or (B, H) targets in units -> (B, H) in the space the loss sees (`x`: the windows, which
        the residual transform needs; or their `base`, TargetScale.base_of_last)."""
        y = y.reshape(-1, self.horizons)
        if self.target.kind == "none":
            return y
        base = self.target.base(x) if base is None else base
        if base is not None:
            y = y - base.to(y.dtype)
        return (y - self.target.shift) / self.target.scale

    def to_units(self, pred: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """(B, H, Q) scaled -> units; quantiles sorted, so a lower quantile never lies above a higher one."""
        if self.target.kind != "none":
            pred = pred * self.target.scale + self.target.shift
            base = self.target.base(x)
            if base is not None:
                pred = pred + base.to(pred.dtype)[:, :, None]
        return pred.sort(dim=-1).values if self.loss.outputs > 1 else pred

    def point(self, raw: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """(B, H) point forecast in units."""
        return self.loss.point(self.to_units(self.split(raw), x))

    def loss_value(self, raw: torch.Tensor, y: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        return self.loss(self.split(raw), self.scaled_targets(y, x))

    def to_dict(self) -> dict:
        return {"horizons": self.horizons, "loss": self.loss.spec, "target": self.target.to_dict()}

    @classmethod
    def from_dict(cls, d: dict | None) -> Head:
        if not d:
            return cls()
        from forecastlab.models.losses import parse_loss

        return cls(int(d["horizons"]), parse_loss(d["loss"]), TargetScale.from_dict(d.get("target")))


BOOK_HEAD = Head()
