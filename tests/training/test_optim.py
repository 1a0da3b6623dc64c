"""Keras 3 optimizer constants and update rules, checked step by step against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forecastlab.errors import ForecastlabError
from forecastlab.training.optim import KerasAdam, KerasRMSprop, make_optimizer


def _run(opt_factory, grads):
    w = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64))
    opt = opt_factory([w])
    out = []
    for g in grads:
        w.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(w.detach().numpy().copy())
    return out


GRADS = [[0.1, -0.2, 3.0], [0.0, 0.5, -1.0], [1e-4, 2.0, 0.3], [-0.7, 0.0, 0.0]]


def test_rmsprop_defaults_are_keras():
    opt = make_optimizer("rmsprop", [torch.nn.Parameter(torch.zeros(1))])
    assert isinstance(opt, KerasRMSprop)
    group = opt.param_groups[0]
    assert (group["lr"], group["rho"], group["epsilon"]) == (1e-3, 0.9, 1e-7)


def test_rmsprop_matches_keras_update_rule():
    lr, rho, eps = 1e-3, 0.9, 1e-7
    w, v = np.array([0.5, -1.0, 2.0]), np.zeros(3)
    expected = []
    for g in map(np.array, GRADS):
        v = rho * v + (1 - rho) * g**2
        w = w - lr * g / np.sqrt(v + eps)  # eps inside the sqrt, as Keras
        expected.append(w.copy())
    got = _run(lambda p: KerasRMSprop(p), GRADS)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    # torch's RMSprop with Keras's constants still differs (eps outside the sqrt): the rule matters.
    # A tiny gradient shows it: Keras's step is ~100x smaller than torch's for g = 1e-5.
    tiny = [[1e-5, 1e-5, 1e-5]]
    keras_step = 0.5 - _run(lambda p: KerasRMSprop(p), tiny)[0][0]
    torch_step = 0.5 - _run(lambda p: torch.optim.RMSprop(p, lr=lr, alpha=rho, eps=eps), tiny)[0][0]
    assert keras_step == pytest.approx(lr * 1e-5 / np.sqrt(0.1 * 1e-10 + eps), rel=1e-9)
    assert torch_step > 50 * keras_step


def test_adam_matches_keras_update_rule():
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7
    w, m, v = np.array([0.5, -1.0, 2.0]), np.zeros(3), np.zeros(3)
    expected = []
    for t, g in enumerate(map(np.array, GRADS), start=1):
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        m = m + (g - m) * (1 - b1)
        v = v + (g**2 - v) * (1 - b2)
        w = w - m * alpha / (np.sqrt(v) + eps)
        expected.append(w.copy())
    opt = make_optimizer("adam", [torch.nn.Parameter(torch.zeros(1))])
    assert isinstance(opt, KerasAdam) and opt.param_groups[0]["epsilon"] == 1e-7
    np.testing.assert_allclose(_run(lambda p: KerasAdam(p), GRADS), expected, rtol=0, atol=1e-15)


def test_sgd_and_lr_override():
    sgd = make_optimizer("SGD", [torch.nn.Parameter(torch.zeros(1))])
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["lr"] == 1e-2
    assert make_optimizer("rmsprop", [torch.nn.Parameter(torch.zeros(1))], lr=0.01).param_groups[0]["lr"] == 0.01


def test_unknown_optimizer_and_bad_lr_are_clear_errors():
    with pytest.raises(ForecastlabError, match="unknown optimizer 'adagrad'.*rmsprop"):
        make_optimizer("adagrad", [torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(ForecastlabError, match="positive"):
        make_optimizer("rmsprop", [torch.nn.Parameter(torch.zeros(1))], lr=0)


def test_weight_decay_is_keras_decoupled_decay_before_the_update():
    """Keras 3 applies w -= lr * wd * w before each update (Optimizer._apply_weight_decay); with wd 0 the
    step is exactly the book's."""
    lr, wd, rho, eps = 1e-2, 0.1, 0.9, 1e-7
    w = np.array([0.5, -1.0, 2.0])
    v = np.zeros(3)
    for g in map(np.array, GRADS):
        w = w - lr * wd * w
        v = rho * v + (1 - rho) * g**2
        w = w - lr * g / np.sqrt(v + eps)
    ours = _run(lambda p: make_optimizer("rmsprop", p, lr=lr, weight_decay=wd), GRADS)[-1]
    np.testing.assert_allclose(ours, w, rtol=1e-12)
    plain = _run(lambda p: make_optimizer("rmsprop", p, lr=lr), GRADS)[-1]
    no_decay = _run(lambda p: make_optimizer("rmsprop", p, lr=lr, weight_decay=0.0), GRADS)[-1]
    assert np.array_equal(plain, no_decay) and not np.allclose(plain, ours)


def test_adamw_has_keras_defaults_and_decays():
    opt = make_optimizer("adamw", [torch.nn.Parameter(torch.zeros(1))])
    assert isinstance(opt, torch.optim.AdamW)
    group = opt.param_groups[0]
    assert (group["lr"], group["weight_decay"], group["eps"]) == (1e-3, 0.004, 1e-7)
    adam = _run(lambda p: make_optimizer("adam", p, weight_decay=0.5), GRADS)[-1]
    assert not np.allclose(adam, _run(lambda p: make_optimizer("adam", p), GRADS)[-1])
    with pytest.raises(ForecastlabError, match="weight_decay"):
        make_optimizer("adamw", [torch.nn.Parameter(torch.zeros(1))], weight_decay=-1)
    with pytest.raises(ForecastlabError, match="weight_decay"):
        make_optimizer("sgd", [torch.nn.Parameter(torch.zeros(1))], lr=1.0, weight_decay=2.0)


def test_warmup_cosine_rises_linearly_then_falls_to_min_lr_every_step():
    from forecastlab.training.schedules import make_scheduler, step_per_batch, step_scheduler

    opt = make_optimizer("adam", [torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = make_scheduler("warmup_cosine:warmup=0.1,min_lr=1e-5", opt, epochs=5, steps_per_epoch=20)
    lrs = []
    for _ in range(5):
        for _ in range(20):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            step_per_batch(sched)
        step_scheduler(sched, 1.0)  # a per-step schedule ignores the epoch's step
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)  # 10 warm-up steps
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:10], strict=False))
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
    assert lrs[-1] == pytest.approx(1e-5, rel=0.05)
    with pytest.raises(ForecastlabError, match="warmup"):
        make_scheduler("warmup_cosine:warmup=1.5", opt, epochs=5, steps_per_epoch=20)
