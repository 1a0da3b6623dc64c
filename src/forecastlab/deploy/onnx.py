"""A torch run as ONNX: raw windows in, forecasts in the target's units out, for ONNX runtimes.

The graph holds the whole forward path forecastlab's predict runs: the training normalization, the
network, and the head back to the target's units (residual targets included). Its input `windows` is
(N, sequence_length, features) float32 of raw values in the run's column order; its output `forecasts`
(N, horizons, outputs) float32 equals forecastlab.training.loading.predict on the same windows. Export
checks that with onnxruntime when it is installed (extra `onnx`) and records the largest difference.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from forecastlab.errors import ForecastlabError

OPSET = 17
TOLERANCE = 1e-4
_TORCH_TRANSFORMS = {"log1p": torch.log1p, "asinh": torch.asinh}  # forecastlab.windows.transforms' names


class _Forward(nn.Module):
    """normalize -> model -> head.to_units, as one traceable module."""

    def __init__(self, run):
        super().__init__()
        self.model, self.head = run.model, run.head
        norm = run.normalizer
        mean = np.asarray(norm.mean_, dtype=np.float32) if norm is not None else np.zeros(1, np.float32)
        std = np.asarray(norm.std_, dtype=np.float32) if norm is not None else np.ones(1, np.float32)
        self.register_buffer("mean", torch.from_numpy(mean))
        self.register_buffer("std", torch.from_numpy(std))
        transforms = dict(norm.transforms) if norm is not None and norm.transforms else {}
        unknown = sorted(set(transforms.values()) - set(_TORCH_TRANSFORMS))
        if unknown:
            raise ForecastlabError(f"the feature transform {unknown[0]!r} has no ONNX form here", arg="onnx",
                                   fix="leave --onnx out; the artifact's safetensors weights serve the model")
        self.transforms = [(col, name) for col, name in sorted(transforms.items())]

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        if self.transforms:
            columns = list(windows.unbind(-1))
            for col, name in self.transforms:
                columns[col] = _TORCH_TRANSFORMS[name](columns[col])
            windows = torch.stack(columns, dim=-1)
        x = (windows - self.mean) / self.std
        return self.head.to_units(self.head.split(self.model(x)), x)


def export_onnx(run, path: str | Path, *, check_windows: int = 64) -> dict:
    """Write the ONNX graph of the torch run `run` (a LoadedRun) to `path`; returns what artifact.json
    records: the opset, the input and output names and shapes, and the check against torch."""
    from forecastlab.models.contract import Estimator

    if isinstance(run.model, Estimator):
        raise ForecastlabError(f"model {run.config['model']['name']!r} is not a torch model; ONNX export covers "
                               "torch models", arg="onnx",
                               fix="leave --onnx out: the artifact holds the model in its own format")
    try:
        import onnx  # noqa: F401  (torch.onnx needs it to write the file)
    except ImportError:
        raise ForecastlabError("ONNX export needs the onnx package", arg="onnx",
                               fix="pip install 'forecastlab[onnx]' (onnx and onnxruntime), or leave --onnx out"
                               ) from None
    path = Path(path)
    module = _Forward(run).eval()
    features = len(run.normalizer.mean_) if run.normalizer is not None else run.config["model"]["config"]["n_features"]
    example = torch.from_numpy(_example_windows(run, features, check_windows))
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The tracer's notes on Python-level shape checks in our layers: the check below is what counts.
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (example,), str(path), dynamo=False, opset_version=OPSET,
                              input_names=["windows"], output_names=["forecasts"],
                              dynamic_axes={"windows": {0: "n"}, "forecasts": {0: "n"}})
    except Exception as err:  # the exporter's errors are many and internal
        path.unlink(missing_ok=True)
        raise ForecastlabError(f"model {run.config['model']['name']!r} cannot be exported to ONNX "
                               f"({type(err).__name__}: {str(err)[:300]})", arg="onnx",
                               fix="leave --onnx out; the artifact's safetensors weights serve the model") from None
    info = {"file": path.name, "opset": OPSET, "input": {"name": "windows", "shape": ["n", run.sequence_length,
                                                                                  features]},
            "output": {"name": "forecasts", "shape": ["n", run.head.horizons, run.head.loss.outputs]}}
    return info | {"check": check_onnx(run, path, example.numpy())}


def check_onnx(run, path: Path, windows: np.ndarray) -> dict:
    """The ONNX graph's forecasts against forecastlab's predict on `windows`: the largest absolute
    difference, or why it was not checked (onnxruntime not installed). A difference over TOLERANCE is an error."""
    from forecastlab.training.loading import predict

    try:
        import onnxruntime
    except ImportError:
        return {"checked": False, "why": "onnxruntime is not installed"}
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    diff, sizes = 0.0, sorted({len(windows), 1, min(7, len(windows))})
    for size in sizes:  # batch sizes other than the traced one too: a traced graph can bake one in
        part = windows[:size].astype(np.float32)
        try:
            got = session.run(["forecasts"], {"windows": part})[0]
        except Exception as err:  # onnxruntime's own error types
            raise ForecastlabError(f"the ONNX graph fails on {size} window(s) ({type(err).__name__}: "
                                   f"{str(err)[:200]})", where=str(path),
                                   fix="leave --onnx out and serve the artifact's safetensors weights") from None
        want = predict(run, part)
        diff = max(diff, float(np.max(np.abs(got - want))) if want.size else 0.0)
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        if not diff <= TOLERANCE * max(1.0, scale):
            raise ForecastlabError(f"the ONNX graph's forecasts differ from torch's by up to {diff:.3g} on {size} "
                                   "window(s)", where=str(path),
                                   fix="leave --onnx out and serve the artifact's safetensors weights")
    return {"checked": True, "runtime": f"onnxruntime {onnxruntime.__version__}", "windows": len(windows),
            "batch_sizes": sizes, "max_abs_diff": diff, "tolerance": TOLERANCE}


def _example_windows(run, features: int, count: int) -> np.ndarray:
    """Raw-scale windows around the training statistics (seeded), to trace the graph and check it."""
    rng = np.random.default_rng(0)
    norm = run.normalizer
    mean = np.asarray(norm.mean_, dtype=np.float64) if norm is not None else np.zeros(features)
    std = np.asarray(norm.std_, dtype=np.float64) if norm is not None else np.ones(features)
    z = rng.standard_normal((count, run.sequence_length, features))
    return (mean + std * z).astype(np.float32)
