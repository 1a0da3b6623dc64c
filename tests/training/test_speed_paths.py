"""Which kernels a recurrent layer runs (fused vs the exact masked loop), on which device, and the CPU
runtime settings that make training fast (docs/speed.md)."""

from __future__ import annotations

import pytest
import torch

from forecastlab.models import build_model
from forecastlab.models.layers import loops
from forecastlab.models.layers.recurrent import GRU, LSTM, dropout_masks
from forecastlab.training.device import select_device
from forecastlab.training.runtime import configure_cpu, default_threads, pick_device, tune_malloc

CUDA = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="no CUDA GPU on this machine; on a GPU machine this checks the cuDNN path")
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]


def _graph_nodes(t: torch.Tensor) -> set[str]:
    """Names of every autograd node behind `t`."""
    seen, todo, names = set(), [t.grad_fn], set()
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        todo.extend(n for n, _ in node.next_functions)
    return names


def _fused(names: set[str], device: str) -> bool:
    """torch's own RNN op ran, not our Python loop: cuDNN on a GPU; on CPU oneDNN for LSTM
    (MkldnnRnnLayerBackward0), ATen's C++ cell loop for GRU (this torch build has no oneDNN GRU)."""
    if any(n.startswith("Masked") for n in names):
        return False
    if device == "cuda":
        return "CudnnRnnBackward0" in names
    return "MkldnnRnnLayerBackward0" in names or "UnbindBackward0" in names


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,masked", [("lstm", None), ("bilstm", None),
                                         ("lstm_dropout", "MaskedLSTMBackward"),
                                         ("gru_stacked", "MaskedGRUBackward")])
def test_fused_kernels_run_whenever_semantics_allow(device, name, masked):
    torch.manual_seed(0)
    model = build_model(name, 3, 5).to(device)
    x = torch.randn(4, 5, 3, device=device)
    train_nodes = _graph_nodes(model.train()(x))
    if masked is None:  # no per-sample mask: the fused kernel trains too
        assert _fused(train_nodes, device), train_nodes
    else:  # Keras's per-sample recurrent dropout: only the exact loop can do it
        assert masked in train_nodes and not _fused(train_nodes, device), train_nodes
    assert _fused(_graph_nodes(model.eval()(x)), device)  # evaluation never drops, so always fused
    weight = build_model(name, 3, 5, **({"recurrent_dropout_mode": "weight"} if masked else {})).to(device)
    assert _fused(_graph_nodes(weight.train()(x)), device)  # the opt-in DropConnect mode trains fused
    if name.endswith("lstm") and device == "cpu":
        assert "MkldnnRnnLayerBackward0" in train_nodes


@pytest.mark.parametrize("device", DEVICES)
def test_model_moved_to_a_device_computes_there_including_masks_and_constant_bias(device):
    model = build_model("lstm_dropout", 3, 5, units=4).to(device)
    assert {b.device.type for b in model.buffers()} == {torch.device(device).type}
    x = torch.randn(4, 5, 3, device=device)
    y = model.train()(x)  # exact masked loop: masks are drawn on the input's device
    y.sum().backward()
    assert y.device.type == torch.device(device).type
    assert all(p.grad.device.type == y.device.type for p in model.parameters())


def test_device_choice_without_a_gpu_is_the_cpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: 'auto' picks it (covered by the cuda-parametrized tests)")
    assert select_device(None).type == "cpu" and pick_device().type == "cpu"
    assert pick_device("cpu").type == "cpu"


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_bptt_without_input_masks_matches_autograd(kind):
    """The book's models have no input dropout: the unmasked-input layout path must equal autograd too."""
    torch.manual_seed(1)
    T, B, F, u = 7, 6, 3, 5
    G = 4 if kind == "lstm" else 3
    x = torch.randn(T, B, F, dtype=torch.float64)
    params = [torch.randn(G * u, F, dtype=torch.float64), 0.5 * torch.randn(G * u, u, dtype=torch.float64),
              torch.randn(G * u, dtype=torch.float64)] + ([torch.randn(G * u, dtype=torch.float64)] * (kind == "gru"))
    params = [p.clone().requires_grad_() for p in params]
    rec = dropout_masks(G, B, u, 0.4, x)
    fast, ref = ((loops.lstm_loop, loops.lstm_loop_reference) if kind == "lstm"
                 else (loops.gru_loop, loops.gru_loop_reference))
    ya, yb = fast(x, *params, rec, None, True), ref(x, *params, rec, None, True)
    torch.testing.assert_close(ya, yb, atol=1e-12, rtol=0)
    w = torch.randn_like(ya)
    for a, b in zip(torch.autograd.grad((ya * w).sum(), params), torch.autograd.grad((yb * w).sum(), params),
                    strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_exact_layers_in_float32_agree_with_the_reference_at_book_width():
    """The tanh-as-sigmoid rewrite costs nothing visible in float32 either."""
    torch.manual_seed(2)
    for layer in (LSTM(14, 32, recurrent_dropout=0.25), GRU(14, 32, recurrent_dropout=0.5)):
        x = torch.randn(120, 8, 14)
        rec = dropout_masks(layer.GATES, 8, 32, layer.recurrent_dropout, x)
        if isinstance(layer, LSTM):
            args = (layer.weight_ih, layer.weight_hh, layer.bias, rec)
            ya, yb = loops.lstm_loop(x, *args), loops.lstm_loop_reference(x, *args)
        else:
            args = (layer.weight_ih, layer.weight_hh, layer.bias_ih, layer.bias_hh, rec)
            ya, yb = loops.gru_loop(x, *args), loops.gru_loop_reference(x, *args)
        torch.testing.assert_close(ya, yb, atol=2e-6, rtol=0)


def test_thread_policy_and_configure_cpu(monkeypatch):
    monkeypatch.delenv("FORECASTLAB_THREADS", raising=False)
    assert default_threads(2) == 1 and default_threads(1) == 1
    assert 1 <= default_threads(16) <= 15
    monkeypatch.setenv("FORECASTLAB_THREADS", "3")
    assert default_threads(2) == 3
    before = torch.get_num_threads()
    try:
        configure_cpu()
        assert torch.get_num_threads() == 3
        configure_cpu(threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
        torch.set_flush_denormal(False)


def test_tune_malloc_applies_on_glibc():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt tuning is glibc-only; elsewhere it is a no-op by design")
    assert tune_malloc() is True
