"""`patchtst`: a PatchTST-style patch Transformer (Nie et al., 2023, "A Time Series is Worth 64 Words:
Long-term Forecasting with Transformers").

- **channel independence**: every column of the window is its own sequence; all columns share the
  patch embedding, the positional embedding and the encoder, as in PatchTST;
- **patches**: each column is padded at its end with `stride` copies of its last value (PatchTST's
  `padding_patch="end"`) and cut into patches of `patch_len` steps every `stride` steps (by default 6
  patches of 24 steps for the book's 120-step window, the last one the padding, i.e. the latest value;
  a stride longer than the patch skips the steps between patches);
- **embedding**: one linear map of a patch to `heads x units` numbers (the model width), plus a learned
  positional embedding per patch position, then dropout;
- **encoder**: `layers` pre-norm `torch.nn.TransformerEncoderLayer`s (`heads` attention heads of
  `units` each, a ReLU feed-forward of twice the width, dropout) and a final LayerNorm;
- **head**: the flatten head over *all* columns: every column's (patches x width) representation is
  flattened and one Dense maps their concatenation to the n_outputs.

Multivariate-to-one-target, the choice: the head flattens all columns. The model is not told which column
is the target (a forecastlab model sees only the window), and the weather columns carry most of what
predicts the temperature a day ahead, so the one place the channel-independent encoder's columns meet
is a linear map over all of them: PatchTST's own head, widened from one column to all.

Not one of the book's models: it learns a standardized target by default (forecastlab.models.head).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from forecastlab.errors import ForecastlabError
from forecastlab.models.base import LAYERS, RATE, ForecastModel, Int
from forecastlab.models.layers import Dense
from forecastlab.models.registry import register_model


def n_patches(sequence_length: int, patch_len: int, stride: int) -> int:
    """How many patches a padded window of `sequence_length` steps gives."""
    return (sequence_length + stride - patch_len) // stride + 1


@register_model("patchtst")
class PatchTSTModel(ForecastModel):
    """Channel-independent patches -> linear embedding + positions -> Transformer encoder -> flatten head."""

    book_epochs = 10
    needs_sequence_length = True
    # Keras's 1e-3 is too small for this small pre-norm encoder. Val MAE on the synthetic Jena data (book's
    # window, 3 epochs of 150 batches of 256, RMSprop, standardized target, every 6th val window:
    # `benchmarks/deep_forecaster_choice.py --models patchtst --lr LR`, 2-core CPU): 1e-4 3.127,
    # 1e-3 3.053, 3e-3 2.333, 1e-2 2.347.
    default_lr = 3e-3
    param_ranges = {
        "patch_len": Int(1, 10_000, why="no window is that long"),
        "stride": Int(1, 10_000, why="no window is that long"),
        "units": Int(1, 4_096, why="a wider attention head would not fit in memory"),
        "heads": Int(1, 64, why="more heads would be too slow to train"),
        "layers": LAYERS,
        "dropout": RATE,
    }

    def __init__(self, n_features: int, sequence_length: int | None = None, patch_len: int = 24,
                 stride: int = 24, units: int = 16, heads: int = 1, layers: int = 1, dropout: float = 0.1):
        super().__init__(n_features, sequence_length)
        self.patch_len, self.stride, self.units, self.heads = patch_len, stride, units, heads
        self.layers, self.dropout = layers, dropout
        if patch_len > sequence_length:
            raise ForecastlabError(f"model 'patchtst': patch_len {patch_len} is longer than the window "
                                   f"({sequence_length} steps)",
                                   where="model 'patchtst' parameters patch_len, sequence_length",
                                   fix=f"use patch_len <= {sequence_length}, e.g. 16")
        width = heads * units
        self.n_patches = n_patches(sequence_length, patch_len, stride)
        self.embed = Dense(patch_len, width)
        self.position = nn.Parameter(torch.empty(self.n_patches, width).uniform_(-0.02, 0.02))
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(width), enable_nested_tensor=False)
        self.out = Dense(n_features * self.n_patches * width, 1)

    @classmethod
    def weight_count(cls, n_features, sequence_length, patch_len, stride, units, heads, layers, **_) -> int:
        width, patches = heads * units, n_patches(sequence_length, patch_len, stride)
        # attention 4 (w^2 + w), feed-forward 2 * 2w^2 + 3w, two LayerNorms 4w
        per_layer = 4 * (width * width + width) + 4 * width * width + 3 * width + 4 * width
        return ((patch_len + 1) * width + patches * width + layers * per_layer + 2 * width
                + n_features * patches * width + 1)

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, F) -> (B, F, n_patches, patch_len): each column padded at its end and cut into patches."""
        y = x.transpose(1, 2)  # (B, F, T)
        y = F.pad(y, (0, self.stride), mode="replicate")
        return y.unfold(-1, self.patch_len, self.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, F) -> (B, n_outputs)
        self._check_input(x)
        if x.shape[1] != self.sequence_length:
            raise ForecastlabError(f"model 'patchtst' was built for windows of {self.sequence_length} steps, got "
                                   f"{x.shape[1]}", fix="use the window length it was built (and trained) for")
        batch = x.shape[0]
        tokens = self.drop(self.embed(self.patches(x)) + self.position)  # (B, F, N, width)
        tokens = self.encoder(tokens.flatten(0, 1))  # channel-independent: (B * F, N, width)
        return self.out(tokens.reshape(batch, -1))
