"""Losses over (batch, H, Q) forecasts; the book's MSE stays exactly the book's."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F  # noqa: N812

from forecastlab.errors import ForecastlabError
from forecastlab.models.losses import Loss, parse_loss


def test_mse_with_one_horizon_is_exactly_the_books_loss():
    torch.manual_seed(0)
    pred, y = torch.randn(256, 1), torch.randn(256)
    assert torch.equal(parse_loss("mse")(pred.reshape(256, 1, 1), y.reshape(256, 1)), F.mse_loss(pred.reshape(-1), y))


def test_each_loss_against_its_formula():
    torch.manual_seed(1)
    pred, y = torch.randn(64, 3, 1), torch.randn(64, 3)
    err = pred[..., 0] - y
    assert torch.allclose(parse_loss("mae")(pred, y), err.abs().mean())
    small = err.abs() <= 2.0
    huber = torch.where(small, 0.5 * err**2, 2.0 * (err.abs() - 1.0)).mean()
    assert torch.allclose(parse_loss("huber:delta=2")(pred, y), huber)


def test_pinball_loss_and_the_median_as_point():
    loss = parse_loss("quantile:0.9,0.1,0.5")
    assert loss.quantiles == (0.1, 0.5, 0.9) and loss.outputs == 3 and loss.median_index == 1
    pred = torch.tensor([[[0.0, 1.0, 2.0]]])
    y = torch.tensor([[1.5]])
    # diffs y - pred = 1.5, 0.5, -0.5: 0.1*1.5, 0.5*0.5, (0.9-1)*-0.5
    assert loss(pred, y).item() == pytest.approx((0.15 + 0.25 + 0.05) / 3)
    assert loss.point(pred).tolist() == [[1.0]]
    assert loss.spec == "quantile:0.1,0.5,0.9" and parse_loss("quantile").quantiles == (0.1, 0.5, 0.9)


def test_a_quantile_forecast_learns_the_quantiles():
    torch.manual_seed(2)
    y = torch.randn(20_000, 1)
    pred = torch.zeros(1, 1, 3, requires_grad=True)
    opt = torch.optim.Adam([pred], lr=0.05)
    loss = parse_loss("quantile")
    for _ in range(400):
        opt.zero_grad()
        loss(pred.expand(20_000, 1, 3), y).backward()
        opt.step()
    assert pred.detach().flatten().tolist() == pytest.approx([-1.2816, 0.0, 1.2816], abs=0.06)


@pytest.mark.parametrize(("spec", "message"), [
    ("rmse", "unknown loss"), ("mse:2", "takes no options"), ("huber:delta=0", "above 0"),
    ("huber:d=1", "huber takes one option, delta; got .d=1."), ("huber:foo=1", "one option, delta"),
    ("huber:delta=x", "is not a number"), ("quantile:0.1,0.9", "must include 0.5"),
    ("quantile:0,0.5", "strictly between 0 and 1"), ("quantile:0.5,0.5", "distinct"), ("quantile:a", "not a number"),
])
def test_bad_losses_are_refused(spec, message):
    with pytest.raises(ForecastlabError, match=message):
        parse_loss(spec)


def test_default_is_the_books():
    assert parse_loss(None) == Loss("mse") and Loss().outputs == 1
