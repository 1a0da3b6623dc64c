"""Our models' weights as Keras's `model.get_weights()` list, for cross-checks against real Keras."""

from __future__ import annotations

import numpy as np
from torch import nn

from forecastlab.models.layers import Conv1D, Dense, KerasRNN


def keras_weight_list(model: nn.Module) -> list[np.ndarray]:
    """Weights in the order and layout Keras's `get_weights()` uses for the same architecture.

    Dense: kernel (in, out), bias. Conv1D: kernel (k, in, filters), bias. LSTM/GRU/SimpleRNN: kernel,
    recurrent_kernel, bias (Keras gate order). Bidirectional: the forward layer's, then the backward's.
    """
    out: list[np.ndarray] = []
    for module in model.children():
        if isinstance(module, Dense):
            out += [module.weight.detach().double().T.numpy(), module.bias.detach().double().numpy()]
        elif isinstance(module, Conv1D):
            out += [module.weight.detach().double().permute(2, 1, 0).numpy(),
                    module.bias.detach().double().numpy()]
        elif isinstance(module, KerasRNN):
            w = module.keras_weights()
            out += [w["kernel"], w["recurrent_kernel"], w["bias"]]
        else:
            out += keras_weight_list(module)
    return out
