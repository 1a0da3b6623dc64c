"""How a model's raw outputs (batch, H x Q) become forecasts: horizons, the loss's Q, the target scale.

    raw (B, H*Q) --split--> (B, H, Q) in the scaled target space the loss sees
                 --to_units--> (B, H, Q) in the target's units (°C), quantiles ascending
                 --point--> (B, H): the only output, or the median quantile

The book's head is H = Q = 1 with the raw target (`TargetScale()`): every step reduces to the book's
`pred.reshape(-1)`, so its numbers are unchanged. `standardize` learns (y - mean) / std of the train
split's targets and undoes it at prediction, so a model starting from a zero output starts at the mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from forecastlab.errors import ForecastlabError
from forecastlab.models.losses import Loss

TARGET_TRANSFORMS = ("none", "standardize")


@dataclass(frozen=True)
class TargetScale:
    """y_scaled = (y - shift) / scale; `none` is (0, 1) and never touches the numbers."""

    kind: str = "none"
    shift: float = 0.0
    scale: float = 1.0

    @classmethod
    def fit(cls, kind: str | None, train_targets) -> TargetScale:
        kind = (kind or "none").strip().lower()
        if kind not in TARGET_TRANSFORMS:
            raise ForecastlabError(f"unknown target transform {kind!r}", arg="target_transform",
                                   fix=f"use one of: {', '.join(TARGET_TRANSFORMS)}")
        if kind == "none":
            return cls()
        y = np.asarray(train_targets, dtype=np.float64)
        std = float(y.std())
        return cls(kind, float(y.mean()), std if std > 0 else 1.0)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "shift": self.shift, "scale": self.scale}

    @classmethod
    def from_dict(cls, d: dict | None) -> TargetScale:
        return cls(d["kind"], float(d["shift"]), float(d["scale"])) if d else cls()


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

    def scaled_targets(self, y: torch.Tensor) -> torch.Tensor:
        """(B,) or (B, H) targets in units -> (B, H) in the space the loss sees."""
        y = y.reshape(-1, self.horizons)
        return y if self.target.kind == "none" else (y - self.target.shift) / self.target.scale

    def to_units(self, pred: torch.Tensor) -> torch.Tensor:
        """(B, H, Q) scaled -> units; quantiles sorted, so a lower quantile never lies above a higher one."""
        if self.target.kind != "none":
            pred = pred * self.target.scale + self.target.shift
        return pred.sort(dim=-1).values if self.loss.outputs > 1 else pred

    def point(self, raw: torch.Tensor) -> torch.Tensor:
        """(B, H) point forecast in units."""
        return self.loss.point(self.to_units(self.split(raw)))

    def loss_value(self, raw: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.loss(self.split(raw), self.scaled_targets(y))

    def to_dict(self) -> dict:
        return {"horizons": self.horizons, "loss": self.loss.spec, "target": self.target.to_dict()}

    @classmethod
    def from_dict(cls, d: dict | None) -> Head:
        if not d:
            return cls()
        from forecastlab.models.losses import parse_loss

        return cls(int(d["horizons"]), parse_loss(d["loss"]), TargetScale.from_dict(d.get("target")))


BOOK_HEAD = Head()
