"""The schema of a run's config.json, checked on every load: a hand-edited, truncated or hostile file
fails with the file and the key named, never a KeyError deep inside, a wrong time or a NaN forecast.

pydantic models describe each section (types, ranges, required keys) and the rules across sections
(the window's delay follows from its sizes; the normalizer has one positive, finite std per input
column, and so many inputs has the model). Unknown keys in the sections that rebuild the model and the
windows are refused, so a typo cannot silently fall back to a default. The run recipe (a later format)
extends these models; format 1 files (before checksums) still load.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from forecastlab.errors import ForecastlabError

CONFIG_FORMAT = 2  # 2: checkpoints carry sha256 sidecars; 1: the first format, loaded without them
OPTIMIZERS = ("rmsprop", "adam", "adamw", "sgd")

PositiveInt = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class _Section(BaseModel):
    # strict: "24" is not 24 and 1.5 is not an int; forbid: an unknown (mistyped) key is an error.
    model_config = ConfigDict(strict=True, extra="forbid")


class _OpenSection(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class ModelSection(_Section):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    class_: str | None = Field(default=None, alias="class")
    config: dict[str, Any]
    params: Count | None = None


class WindowSection(_Section):
    sequence_length: PositiveInt
    sampling_rate: PositiveInt
    horizon: PositiveInt
    delay: PositiveInt
    horizons: list[PositiveInt] | None = None  # several horizons (sampled steps); the farthest is `horizon`
    stride: PositiveInt | None = None  # every stride-th train window; absent: 1, the book's
    batch_size: PositiveInt | None = None
    train_shuffle_seed: int | None = None

    @model_validator(mode="after")
    def _delay_follows(self) -> WindowSection:
        if self.horizons is not None and (len(self.horizons) < 2 or max(self.horizons) != self.horizon):
            raise ValueError(f"horizons {self.horizons} must be two or more, the farthest equal to horizon "
                             f"{self.horizon}")
        want = self.sampling_rate * (self.sequence_length + self.horizon - 1)
        if self.delay != want:
            raise ValueError(f"delay must be sampling_rate * (sequence_length + horizon - 1) = {want}, "
                             f"not {self.delay}")
        return self


class TrainingSection(_Section):
    epochs: PositiveInt
    optimizer: Literal[(*OPTIMIZERS, "none")]  # "none": an estimator (lightgbm, persistence) has no optimizer
    lr: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    seed: int
    loss: str = "mse"
    metric: Literal["mae"] = "mae"
    target_transform: Literal["none", "standardize", "residual"] = "none"
    interval_level: Annotated[float, Field(gt=0, lt=1)] = 0.8
    early_stopping: PositiveInt | None = None
    lr_schedule: str | None = None
    max_steps_per_epoch: PositiveInt | None = None
    device: str | None = None
    weight_decay: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    clip_norm: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    nproc: Annotated[int, Field(ge=2, le=1024)] | None = None  # data-parallel processes (absent: one)

    @field_validator("loss")
    @classmethod
    def _loss(cls, value: str) -> str:
        from forecastlab.models.losses import parse_loss

        try:
            parse_loss(value)
        except ForecastlabError as err:
            raise ValueError(err.what) from None
        return value

    @field_validator("lr_schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value:
            from forecastlab.training.schedules import parse_schedule

            try:
                parse_schedule(value)
            except ForecastlabError as err:
                raise ValueError(err.what) from None
        return value


class NormalizerSection(_Section):
    mean: list[FiniteFloat] = Field(min_length=1)
    std: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(min_length=1)
    constant_columns: list[Count] = []
    transforms: dict[str, Literal["log1p", "sqrt", "asinh"]] = {}  # input column index -> feature transform

    @model_validator(mode="after")
    def _same_length(self) -> NormalizerSection:
        if len(self.mean) != len(self.std):
            raise ValueError(f"mean has {len(self.mean)} values but std has {len(self.std)}")
        for col in self.transforms:
            if not col.isdigit() or int(col) >= len(self.mean):
                raise ValueError(f"transforms names column {col!r}, not one of the {len(self.mean)} inputs")
        return self


class TargetSection(_Section):
    kind: Literal["none", "standardize", "residual"]
    shift: FiniteFloat
    scale: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    # residual: where the last observed target value is in the (normalized) input window
    column: Count | None = None
    x_mean: FiniteFloat = 0.0
    x_std: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0

    @model_validator(mode="after")
    def _residual_column(self) -> TargetSection:
        if self.kind == "residual" and self.column is None:
            raise ValueError("a residual target needs the target's input column ('column')")
        return self


class HeadSection(_Section):
    horizons: PositiveInt
    loss: str
    target: TargetSection


class ProvenanceSection(_OpenSection):
    source: str
    path: str | None = None
    sha256: str | None = None


class DataSection(_OpenSection):
    target: str | None = None
    target_unit: str | None = None
    columns: list[str] | None = None
    units: list[str | None] | None = None
    provenance: ProvenanceSection | None = None
    sizes: list[Count] | None = Field(default=None, min_length=3, max_length=3)


class CliSection(_Section):
    data_args: dict[str, str | bool | None]
    window_args: dict[str, int | bool | str | None]
    model_params: dict[str, Any]


class ExtraSection(_OpenSection):
    cli: CliSection | None = None


class RunConfig(_OpenSection):
    format: Annotated[int, Field(ge=1)]
    created: str | None = None
    versions: dict[str, str] | None = None
    model: ModelSection
    window: WindowSection
    training: TrainingSection
    data: DataSection = DataSection()
    normalizer: NormalizerSection | None = None
    head: HeadSection | None = None  # format 1 runs: the book's head (one horizon, MSE, raw target)
    extra: ExtraSection = ExtraSection()

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: int) -> int:
        if value > CONFIG_FORMAT:
            raise ValueError(f"format {value} was written by a newer forecastlab (this one reads up to "
                             f"format {CONFIG_FORMAT})")
        return value

    @model_validator(mode="after")
    def _sizes_agree(self) -> RunConfig:
        inputs = self.model.config.get("n_features")
        if self.normalizer is not None and inputs is not None and len(self.normalizer.mean) != inputs:
            raise ValueError(f"normalizer has {len(self.normalizer.mean)} columns but model.config.n_features "
                             f"is {inputs}")
        columns = self.data.columns
        if columns is not None and inputs is not None and len(columns) != inputs:
            raise ValueError(f"data.columns has {len(columns)} names but model.config.n_features is {inputs}")
        if columns is not None and self.data.target is not None and self.data.target not in columns:
            raise ValueError(f"data.target {self.data.target!r} is not one of data.columns")
        horizons = len(self.window.horizons or [self.window.horizon])
        if self.head is not None and self.head.horizons != horizons:
            raise ValueError(f"head.horizons {self.head.horizons} differs from the window's {horizons} horizons")
        estimator = _is_estimator(self.model.name)
        if estimator is not None and estimator != (self.training.optimizer == "none"):
            raise ValueError(f"training.optimizer {self.training.optimizer!r} does not fit model {self.model.name!r} "
                             f"({'an estimator, which has none' if estimator else 'a torch model, which needs one'})")
        seq = self.model.config.get("sequence_length")
        if seq is not None and seq != self.window.sequence_length:
            raise ValueError(f"model.config.sequence_length {seq} differs from window.sequence_length "
                             f"{self.window.sequence_length}")
        return self


def _is_estimator(name: str) -> bool | None:
    """Whether the registered model `name` is an estimator; None for a name the registry lacks."""
    from forecastlab.models import MODELS
    from forecastlab.models.contract import Estimator

    cls = MODELS.get(name)
    return None if cls is None else issubclass(cls, Estimator)


def validate_config(raw: object, path: Path) -> dict:
    """`raw` (parsed config.json) checked against RunConfig; returns it unchanged (a dict) when valid."""
    try:
        RunConfig.model_validate(raw)
    except ValidationError as err:
        raise config_error(err, path) from None
    _check_model_params(raw["model"], path)
    recipe = (raw.get("extra") or {}).get("recipe")
    if recipe is not None:
        from forecastlab.training.recipe import Recipe

        checked = Recipe.from_dict(recipe, where=str(path), prefix="extra.recipe.")
        if checked.model.name != raw["model"]["name"]:
            raise ForecastlabError(f"{path.name} is not a valid run config: extra.recipe.model.name "
                                   f"{checked.model.name!r} differs from model.name {raw['model']['name']!r}",
                                   where=f"{path}, key extra.recipe.model.name",
                                   fix="restore the file from the run (or undo the edit), or retrain")
    return migrate(raw)


def migrate(config: dict) -> dict:
    """A copy of `config` with what older runs did not record filled in as they were: one horizon, the
    book's head (MSE on the raw target) and 80% intervals. The file itself is not changed."""
    from forecastlab.models.head import BOOK_HEAD

    out = dict(config)
    out["window"] = {"horizons": None} | dict(config["window"])
    out["training"] = {"loss": "mse", "target_transform": "none", "interval_level": 0.8} | dict(config["training"])
    if out.get("head") is None:
        out["head"] = BOOK_HEAD.to_dict()
    return out


def _check_model_params(model: dict, path: Path) -> None:
    """model.config against the registered model's parameter ranges (an unregistered name is refused when
    the model is rebuilt, with the registered names listed)."""
    from forecastlab.models import MODELS

    cls = MODELS.get(model["name"])
    if cls is None or not hasattr(cls, "check_params"):
        return
    params = {k: v for k, v in model["config"].items() if k not in ("name", "n_outputs")}
    try:
        cls.check_names(params, "model.config")
        cls.check_params(params)
    except ForecastlabError as err:
        key = err.where.rsplit("parameter ", 1)[-1].strip("'") if "parameter " in (err.where or "") else None
        raise ForecastlabError(f"{path.name} is not a valid run config: {err.what}",
                               where=f"{path}, key model.config" + (f".{key}" if key else ""),
                               fix="restore the file from the run (or undo the edit), or retrain") from None


def config_error(err: ValidationError, path: Path) -> ForecastlabError:
    problems = [_problem(e) for e in err.errors(include_url=False)[:3]]
    more = err.error_count() - len(problems)
    first = err.errors(include_url=False)[0]
    key = _key(first["loc"])
    return ForecastlabError(
        f"{path.name} is not a valid run config: " + "; ".join(problems)
        + (f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""),
        where=f"{path}, key {key}" if key else str(path),
        fix="restore the file from the run (or undo the edit), or retrain; "
        "`forecastlab train` writes a valid one",
    )


def _key(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if part not in ("function-after",))


def _problem(error: dict) -> str:
    key = _key(error["loc"]) or "the file"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{key} is missing"
    if error["type"] == "extra_forbidden":
        return f"{key} is not a known key"
    shown = error.get("input")
    text = repr(shown) if not isinstance(shown, dict | list) else type(shown).__name__
    if isinstance(shown, float) and not math.isfinite(shown):
        text = str(shown)
    return f"{key}: {message} (got {text[:80]})" if error["loc"] and error["type"] != "value_error" else \
        f"{key}: {message}"
