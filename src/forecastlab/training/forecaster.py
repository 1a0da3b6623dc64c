"""A torch model behind the same contract as the estimators (forecastlab.models.contract):

    f = TorchForecaster("lstm", epochs=10, loss="quantile:0.1,0.5,0.9").fit(datasets)
    f.predict(datasets.test)            # (N, H, 3), the target's units
    f.save("lstm-model"); TorchForecaster.load("lstm-model")

fit() is forecastlab.training.train without a run directory (same recipe, seed and numbers); save()
writes the weights as safetensors (plain tensors, nothing executable) beside a JSON description, and
load() rebuilds the architecture from the registry by name.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.intervals import Calibration
from forecastlab.evaluation.metrics import EVAL_BATCH, forecast_dataset
from forecastlab.models.contract import Forecaster, read_bounded, read_json_object
from forecastlab.models.head import Head

META = "forecaster.json"
WEIGHTS = "weights.safetensors"


class TorchForecaster(Forecaster):
    """A registered torch model (by name) with train()'s options, following the model contract."""

    kind = "torch"

    def __init__(self, model: str, *, epochs: int | None = None, **train_options):
        from forecastlab.models import get_model_class

        cls = get_model_class(model)
        if getattr(cls, "kind", "torch") != "torch":
            raise ForecastlabError(f"{model!r} is an estimator; it follows the contract itself", arg="model",
                                   fix=f"use forecastlab.models.build_model({model!r}, ...) directly")
        for key in ("out_dir", "resume", "overwrite"):
            if key in train_options:
                raise ForecastlabError(f"{key}= belongs to train(), not to a forecaster", arg=key,
                                       fix="save the fitted forecaster with save(directory)")
        self.name = model
        self.epochs = epochs if epochs is not None else cls.book_epochs
        self.options = dict(train_options)
        self.module_ = None
        self.head_: Head | None = None
        self.calibration_: Calibration | None = None

    def get_params(self) -> dict:
        return {"model": self.name, "epochs": self.epochs} | self.options

    def fit(self, datasets) -> TorchForecaster:
        from forecastlab.training.engine import train

        options = {"progress": False} | self.options
        result = train(self.name, datasets, epochs=self.epochs, **options)
        self.module_ = result.model.cpu().eval()
        self.head_ = Head.from_dict(result.config.get("head"))
        self.calibration_ = Calibration.from_dict(result.intervals) if result.intervals else None
        return self

    def predict(self, windows, *, end_times=None) -> np.ndarray:
        if self.module_ is None:
            raise ForecastlabError("the forecaster is not fitted", where="TorchForecaster.predict",
                                   fix="call fit(datasets) first, or TorchForecaster.load(directory)")
        if hasattr(windows, "gather"):
            return forecast_dataset(self.module_, windows, self.head_)[0]
        x = np.ascontiguousarray(windows, dtype=np.float32)
        out = []
        with torch.inference_mode():
            for i in range(0, len(x), EVAL_BATCH):
                batch = torch.from_numpy(x[i : i + EVAL_BATCH])
                out.append(self.head_.to_units(self.head_.split(self.module_(batch)), batch).double().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.head_.horizons, self.head_.loss.outputs))

    def save(self, directory: str | Path) -> Path:
        from safetensors.torch import save

        from forecastlab.atomic import atomic_write_many

        if self.module_ is None:
            raise ForecastlabError("the forecaster is not fitted", where="TorchForecaster.save",
                                   fix="call fit(datasets) first")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        weights = save({k: v.detach().contiguous() for k, v in self.module_.state_dict().items()})
        meta = {"format": 1, "kind": self.kind, "params": self.get_params(), "model": self.module_.get_config(),
                "head": self.head_.to_dict(),
                "calibration": self.calibration_.to_dict() if self.calibration_ is not None else None}
        atomic_write_many({directory / WEIGHTS: weights,
                           directory / META: json.dumps(meta, indent=1, default=str).encode("utf-8")})
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> TorchForecaster:
        from safetensors import SafetensorError
        from safetensors.torch import load

        from forecastlab.models import get_model_class
        from forecastlab.training.checkpoint import load_weights

        directory = Path(directory)
        meta = read_json_object(directory / META)
        try:
            params, config = dict(meta["params"]), dict(meta["model"])
            name = params.pop("model")
        except (KeyError, TypeError, ValueError):
            raise ForecastlabError(f"{META} lacks its params or model", where=str(directory / META),
                                   fix="save the forecaster again") from None
        if config.get("name") != name:
            raise ForecastlabError(f"{META} names two models, {name!r} and {config.get('name')!r}",
                                   where=f"{directory / META}, key model.name", fix="save the forecaster again")
        forecaster = cls(name, **params)
        module = get_model_class(name).from_config(config)
        try:
            state = load(read_bounded(directory / WEIGHTS))
        except SafetensorError as err:
            raise ForecastlabError(f"{WEIGHTS} is not a safetensors file ({err})", where=str(directory / WEIGHTS),
                                   fix="save the forecaster again") from None
        load_weights(module, state, directory / WEIGHTS)
        forecaster.module_ = module.eval()
        forecaster.head_ = Head.from_dict(meta.get("head"))
        saved = meta.get("calibration")
        forecaster.calibration_ = Calibration.from_dict(saved) if saved else None
        return forecaster
