"""Training losses for forecasts of shape (batch, H, Q): the loss decides Q, the outputs per horizon.

    mse                 the book's loss (Q = 1)
    mae                 mean absolute error (Q = 1)
    huber[:delta=1.0]   squared near zero, absolute beyond delta (Q = 1)
    quantile:0.1,0.5,0.9
                        the pinball loss, one output per quantile (Q = 3); the point forecast is the
                        median, so 0.5 must be among them

Like neuralforecast's losses (`outputsize_multiplier`, `domain_map`): one model head, many losses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F  # noqa: N812

from forecastlab.errors import ForecastlabError

LOSSES = ("mse", "mae", "huber", "quantile")
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
MAX_QUANTILES = 99


@dataclass(frozen=True)
class Loss:
    """A loss over predictions (B, H, Q) and targets (B, H), and how to read a point forecast from Q."""

    name: str = "mse"
    quantiles: tuple[float, ...] = ()
    delta: float = 1.0

    @property
    def outputs(self) -> int:
        """Q: outputs per horizon the model must produce."""
        return len(self.quantiles) if self.name == "quantile" else 1

    @property
    def spec(self) -> str:
        if self.name == "quantile":
            return "quantile:" + ",".join(f"{q:g}" for q in self.quantiles)
        if self.name == "huber" and self.delta != 1.0:
            return f"huber:delta={self.delta:g}"
        return self.name

    @property
    def median_index(self) -> int:
        return self.quantiles.index(0.5) if self.name == "quantile" else 0

    def __call__(self, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean loss of `pred` (B, H, Q) against `y` (B, H)."""
        if self.name == "quantile":
            q = torch.tensor(self.quantiles, dtype=pred.dtype, device=pred.device)
            diff = y.unsqueeze(-1) - pred  # (B, H, Q)
            return torch.maximum(q * diff, (q - 1) * diff).mean()
        # Flattened as the book's (batch, 1) -> (batch,): with H = Q = 1 exactly its mse_loss(pred.reshape(-1), y).
        p, t = pred.reshape(-1), y.reshape(-1)
        if self.name == "mse":
            return F.mse_loss(p, t)
        if self.name == "mae":
            return F.l1_loss(p, t)
        return F.huber_loss(p, t, delta=self.delta)

    def point(self, pred: torch.Tensor) -> torch.Tensor:
        """The point forecast (B, H): the only output, or the median quantile."""
        return pred[..., self.median_index]


def parse_loss(text: str | None, *, arg: str = "loss") -> Loss:
    """'mse', 'mae', 'huber', 'huber:delta=2', 'quantile' (0.1,0.5,0.9) or 'quantile:0.05,0.5,0.95'."""
    raw = (text or "mse").strip()
    name, _, rest = raw.partition(":")
    name = name.strip().lower()
    if name not in LOSSES:
        raise ForecastlabError(f"unknown loss {name!r}", where=f"{arg} {raw}",
                               fix=f"use one of: {', '.join(LOSSES)} (e.g. quantile:0.1,0.5,0.9)")
    if name in ("mse", "mae"):
        if rest.strip():
            raise ForecastlabError(f"loss {name!r} takes no options, got {rest!r}", where=f"{arg} {raw}",
                                   fix=f"write just {name}")
        return Loss(name)
    if name == "huber":
        delta = 1.0
        if rest.strip():
            key, sep, value = rest.partition("=")
            if not sep or key.strip() != "delta":
                raise ForecastlabError(f"huber takes one option, delta; got {rest.strip()!r}", where=f"{arg} {raw}",
                                       fix="e.g. huber:delta=1, or just huber (delta 1)")
            delta = _number(value, arg, raw)
            if not delta > 0:
                raise ForecastlabError(f"huber delta must be above 0, got {value.strip()!r}", where=f"{arg} {raw}",
                                       fix="e.g. huber:delta=1")
        return Loss("huber", delta=delta)
    quantiles = tuple(_number(q, arg, raw) for q in rest.split(",")) if rest.strip() else DEFAULT_QUANTILES
    if any(not 0 < q < 1 for q in quantiles) or len(set(quantiles)) != len(quantiles):
        raise ForecastlabError(f"quantiles must be distinct numbers strictly between 0 and 1, got {rest!r}",
                               where=f"{arg} {raw}", fix="e.g. quantile:0.1,0.5,0.9")
    if 0.5 not in quantiles:
        raise ForecastlabError("the quantiles must include 0.5: it is the point forecast", where=f"{arg} {raw}",
                               fix=f"e.g. quantile:{','.join(f'{q:g}' for q in sorted({*quantiles, 0.5}))}")
    if len(quantiles) > MAX_QUANTILES:
        raise ForecastlabError(f"at most {MAX_QUANTILES} quantiles, got {len(quantiles)}", where=f"{arg} {raw}",
                               fix="use fewer quantiles")
    return Loss("quantile", quantiles=tuple(sorted(quantiles)))


def _number(text: str, arg: str, raw: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ForecastlabError(f"{text.strip()!r} is not a number", where=f"{arg} {raw}",
                               fix="e.g. quantile:0.1,0.5,0.9 or huber:delta=1")
    return value
