"""The one contract every kind of model follows, in the scikit-learn spirit:

    forecaster.fit(datasets)          -> the forecaster itself, fitted
    forecaster.predict(windows)       -> (N, H, Q) forecasts in the target's units
    forecaster.save(directory)        -> writes the fitted forecaster (no pickle, ever)
    Forecaster.load(directory)        -> the same forecaster, rebuilt by its registered name
    forecaster.get_params()           -> its parameters, as given

`datasets` is a forecastlab.windows.SplitDatasets (train, val and test WindowDatasets over normalized
inputs, raw targets); `windows` is one WindowDataset, or an (N, sequence_length, features) array of
normalized windows. H is the number of horizons and Q the outputs per horizon the loss needs (1 for a
point forecast, the quantiles ascending for a quantile loss).

Three kinds follow it:
- torch models (forecastlab.models.ForecastModel), wrapped by forecastlab.training.TorchForecaster,
  which fits them with the training engine;
- estimators (`Estimator` below): models that fit themselves without torch, such as `lightgbm`;
- the baselines, which learn (almost) nothing: `persistence` (forecastlab.models.naive).

`forecastlab.training.train` fits any registered name, torch model or estimator, into the same run
directory, and `load_run`, `evaluate`, `predict`, `backtest` and the leaderboard read every kind the
same way. docs/models.md shows how to add one.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import numpy as np

from forecastlab.errors import ForecastlabError
from forecastlab.models.base import Parameterized
from forecastlab.models.head import Head, TargetScale
from forecastlab.models.losses import Loss

# The largest file an estimator reads back (a LightGBM booster of 500 trees of 31 leaves is ~1 MiB).
MAX_MODEL_FILE = 256 * 2**20


class Forecaster(ABC):
    """The contract: fit, predict, save, load, get_params."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""

    @abstractmethod
    def fit(self, datasets) -> Forecaster:
        """Fit on datasets.train (datasets.val may pick the stopping point); returns self."""

    @abstractmethod
    def predict(self, windows, *, end_times=None) -> np.ndarray:
        """(N, H, Q) float64 forecasts in the target's units for every window, in order. `end_times`
        (datetime64 or int64 ns, one per window) is the time of each window's last input row, for models
        with calendar terms, when `windows` is an array (a WindowDataset knows its own times)."""

    @abstractmethod
    def save(self, directory: str | Path) -> Path:
        """Write the fitted forecaster into `directory` (made if missing); returns it."""

    @classmethod
    @abstractmethod
    def load(cls, directory: str | Path) -> Forecaster:
        """The forecaster `save` wrote, rebuilt through the registry by its recorded name."""

    @abstractmethod
    def get_params(self) -> dict:
        """The parameters the forecaster was built with, JSON-able."""


class Estimator(Parameterized, Forecaster):
    """Base class of the registered models that fit themselves without torch (`kind = "estimator"`).

    Parameters follow the same rules as a torch model's (keyword arguments of __init__ after n_features
    and sequence_length, checked against `param_ranges`), so `forecastlab models`, --param and config.json
    treat both kinds alike. The head (horizons, loss, target scale) is set by `with_head` before fit,
    as the training engine does from train()'s loss= and target_transform=; fit without it uses the
    datasets' horizons, MSE and a standardized target.

    Subclasses implement `_fit(x_train, y_train, x_val, y_val)` on their own feature matrices, or fit and
    predict directly; `state()`/`from_state()` and `files()`/`read_files()` carry what save/load write.
    """

    kind: ClassVar[str] = "estimator"
    default_target_transform: ClassVar[str] = "standardize"
    book_epochs: ClassVar[int] = 1  # an estimator fits in one pass; train()'s epochs do not apply
    supported_losses: ClassVar[tuple[str, ...]] = ("mse", "mae", "huber", "quantile")
    META: ClassVar[str] = "estimator.json"

    def __init__(self, n_features: int, sequence_length: int | None = None):
        self.n_features = n_features
        self.sequence_length = sequence_length
        self.head: Head | None = None
        self.seed = 0
        self.fitted_ = False
        self.history_: list[dict] = []
        self.train_windows_ = 0

    # -- the head and the seed, set by the training engine -----------------------------------------

    def with_head(self, head: Head) -> Estimator:
        """Forecast `head.horizons` horizons with the head's loss and target scale."""
        if head.loss.name not in self.supported_losses:
            raise ForecastlabError(f"model {self.name!r} cannot fit the loss {head.loss.spec!r}", arg="loss",
                                   fix=f"use one of: {', '.join(self.supported_losses)}")
        self.head = head
        return self

    def with_seed(self, seed: int) -> Estimator:
        self.seed = int(seed)
        return self

    def _head_for(self, datasets) -> Head:
        if self.head is not None:
            return self.head
        spec = getattr(datasets, "spec", None)
        horizons = len(getattr(spec, "steps", (1,)))
        targets = datasets.train.all_targets().numpy()
        return Head(horizons, Loss(), TargetScale.fit("standardize", targets))

    # -- parameters and files ---------------------------------------------------------------------------

    def get_params(self) -> dict:
        params = {"n_features": self.n_features, "sequence_length": self.sequence_length}
        for key in self.hyperparameters():
            value = getattr(self, key)
            params[key] = list(value) if isinstance(value, tuple) else value
        return params

    def get_config(self) -> dict:
        """The registered name and every parameter (what config.json's model.config holds)."""
        return {"name": self.name} | self.get_params()

    @classmethod
    def from_config(cls, config: dict) -> Estimator:
        if not isinstance(config, dict):
            raise ForecastlabError("a model config must be a JSON object", fix="use the output of get_config()")
        params = {k: v for k, v in config.items() if k != "name"}
        cls.check_names(params, where=f"model {cls.name!r} config")
        return cls(**params)

    def _require_fitted(self) -> None:
        if not self.fitted_:
            raise ForecastlabError(f"model {self.name!r} is not fitted", where=f"{type(self).__name__}.predict",
                                   fix="call fit(datasets) first, or load a saved one")

    def state(self) -> dict:
        """What save() writes to estimator.json besides the config (JSON-able)."""
        return {}

    def files(self) -> dict[str, bytes]:
        """The model files save() writes beside estimator.json (name -> content)."""
        return {}

    def restore(self, state: dict, files: dict[str, bytes]) -> None:
        """Undo state() and files() into this (unfitted) estimator."""

    def save(self, directory: str | Path) -> Path:
        import hashlib

        from forecastlab.atomic import atomic_write_many

        self._require_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = self.files()
        meta = {"format": 1, "kind": self.kind, "config": self.get_config(), "head": self.head.to_dict(),
                "state": self.state(), "history": self.history_, "train_windows": self.train_windows_,
                "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}}
        blobs = {directory / name: data for name, data in files.items()}
        blobs[directory / self.META] = json.dumps(meta, indent=1).encode("utf-8")
        atomic_write_many(blobs)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Estimator:
        """Rebuild from estimator.json: the model class comes from the registry by the recorded name
        (the calling class must be it or Estimator itself), every model file is checked against the
        sha256 estimator.json records, and nothing is unpickled or imported."""
        import hashlib

        from forecastlab.models.registry import get_model_class

        directory = Path(directory)
        meta_path = directory / cls.META
        meta = read_json_object(meta_path)
        try:
            config, head, names = meta["config"], meta["head"], meta["files"]
            name = config["name"]
        except (KeyError, TypeError):
            raise ForecastlabError(f"{meta_path.name} lacks its config, head or files", where=str(meta_path),
                                   fix="save the estimator again (forecaster.save(directory))") from None
        klass = get_model_class(name)
        foreign = cls is not Estimator and klass is not cls
        if not (isinstance(klass, type) and issubclass(klass, Estimator)) or foreign:
            raise ForecastlabError(f"{meta_path} holds a {name!r} model, not {cls.name or cls.__name__!r}",
                                   where=f"{meta_path}, key config.name",
                                   fix=f"load it with {getattr(klass, '__name__', name)}.load or Estimator.load")
        estimator = klass.from_config(config)
        estimator.head = Head.from_dict(head)
        files = {}
        for file_name, digest in dict(names).items():
            path = directory / str(file_name)
            if Path(str(file_name)).name != file_name:
                raise ForecastlabError(f"{meta_path.name} names a file outside its folder: {file_name!r}",
                                       where=f"{meta_path}, key files", fix="restore the folder from its save")
            data = read_bounded(path)
            if hashlib.sha256(data).hexdigest() != digest:
                raise ForecastlabError(f"{path.name} does not match the sha256 {meta_path.name} records for it",
                                       where=str(path), fix="restore the folder from its save, or refit")
            files[file_name] = data
        try:
            estimator.restore(meta.get("state") or {}, files)
        except (KeyError, TypeError, ValueError) as err:
            raise ForecastlabError(f"the saved {name!r} model cannot be read back: {err}", where=str(directory),
                                   fix="restore the folder from its save, or refit") from None
        estimator.history_ = list(meta.get("history") or [])
        estimator.train_windows_ = int(meta.get("train_windows") or 0)
        estimator.fitted_ = True
        return estimator

    def count_params(self) -> int:
        """A size comparable across kinds: the number of values the fitted model holds (e.g. tree nodes)."""
        return 0


def read_bounded(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_MODEL_FILE + 1)
    except OSError as err:
        raise ForecastlabError(f"cannot read {path.name}: {err.strerror or err}", where=str(path),
                               fix="restore the folder from its save, or refit") from None
    if len(data) > MAX_MODEL_FILE:
        raise ForecastlabError(f"{path.name} is larger than {MAX_MODEL_FILE // 2**20} MiB, more than any model "
                               "forecastlab saves", where=str(path), fix="restore the folder from its save")
    return data


def read_json_object(path: Path) -> dict:
    data = read_bounded(path)
    try:
        meta = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ForecastlabError(f"{path.name} is not valid JSON ({err})", where=str(path),
                               fix="restore the folder from its save, or refit") from None
    if not isinstance(meta, dict):
        raise ForecastlabError(f"{path.name} is not a JSON object", where=str(path),
                               fix="restore the folder from its save, or refit")
    return meta


def window_arrays(windows, batch_size: int = 4096):
    """(inputs, end times or None) batches of a WindowDataset, chronological, or one array as given."""
    gather = getattr(windows, "gather", None)
    if gather is None:
        yield np.asarray(windows, dtype=np.float32), None
        return
    positions = windows.start_positions
    times = getattr(windows, "times", None)
    last_rows = windows.last_input_rows if times is not None else None
    for i in range(0, len(positions), batch_size):
        x, _ = gather(positions[i : i + batch_size])
        yield x.numpy(), (times[last_rows[i : i + batch_size]] if times is not None else None)
