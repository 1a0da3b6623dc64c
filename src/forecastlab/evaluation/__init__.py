"""Evaluate models and baselines on exactly the same windows.

`evaluate(model, dataset)` scores a trained model (MAE/MSE in the target's units); the baselines
module scores persistence, seasonal persistence and climatology.
"""

from __future__ import annotations

__all__ = ["evaluate", "predict_dataset"]


def __getattr__(name: str):
    # Lazy, so importing the NumPy-only baselines does not pay for importing torch.
    if name in __all__:
        from forecastlab.evaluation import metrics

        return getattr(metrics, name)
    raise AttributeError(f"module 'forecastlab.evaluation' has no attribute {name!r}")
