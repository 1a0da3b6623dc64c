"""A sweep's search space: a small TOML file of recipe keys and the values each may take.

    [common]                                     # every model
    "training.lr" = { low = 1e-4, high = 1e-2, log = true }
    "training.optimizer" = { choices = ["rmsprop", "adam"] }

    [lstm]                                       # this model only (wins over [common] for the same key)
    "model.params.units" = { low = 8, high = 128, log = true }     # whole numbers: an integer range
    "model.params.recurrent_dropout" = { low = 0.0, high = 0.5, step = 0.05 }

    [lightgbm]
    "training.lr" = false                        # false: this model leaves a [common] key out

A key names a recipe field (forecastlab.training.recipe): `model.params.NAME` (a hyperparameter the model
has), `training.NAME`, `window.NAME` or `data.NAME`. A value is a range, `{low, high}` with optional `log`
and `step` (an integer range when low and high are both whole numbers), or `{choices = [...]}`. Every
key and value is checked against the recipe's field types and the model's hyperparameters when the
file is read, so a typo fails before the first trial, naming the file and the key.

The default space (spaces.toml beside this module) covers the chapter's list of things to try (units,
dropout rates, optimizer and learning rate, sequence length and sampling rate, features) and the newer
models' main knobs. `forecastlab sweep --print-space MODEL` shows the space a model gets.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forecastlab.errors import ForecastlabError

DEFAULT_SPACE = Path(__file__).with_name("spaces.toml")
MAX_SPACE_BYTES = 1 << 18
MAX_DIMENSIONS = 64
MAX_CHOICES = 256
SECTIONS = ("model.params", "training", "window", "data")
# Fields a sweep may not vary: they decide where the data is or what is predicted, or are not inputs.
FIXED = {"data.data", "data.data_dir", "data.target", "data.derived", "data.time_col", "training.seed",
         "training.device", "training.epochs", "training.loss", "training.interval_level", "window.horizon",
         "window.horizons"}


@dataclass(frozen=True)
class Dimension:
    """One key of the space: a range (low, high, log, step; integer when `integer`) or a list of choices."""

    key: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    integer: bool = False
    choices: tuple | None = None

    def suggest(self, trial) -> Any:
        """The value optuna's `trial` picks for this key."""
        if self.choices is not None:
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log,
                                     step=int(self.step) if self.step else 1)
        return trial.suggest_float(self.key, self.low, self.high, log=self.log, step=self.step)

    def to_dict(self) -> dict:
        if self.choices is not None:
            return {"choices": list(self.choices)}
        kind = int if self.integer else float
        out = {"low": kind(self.low), "high": kind(self.high)}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = int(self.step) if self.integer else self.step
        return out

    def text(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(map(repr, self.choices))
        kind = "integer" if self.integer else "float"
        scale = ", log scale" if self.log else ""
        step = f", step {self.step:g}" if self.step else ""
        return f"{kind} from {self.low:g} to {self.high:g}{scale}{step}"


def read_space(path: str | Path | None = None) -> dict[str, dict]:
    """The raw space file ({section: {key: value}}), bounded in size; None: the default space."""
    from forecastlab.training.recipe import read_toml_file

    path = Path(path) if path is not None else DEFAULT_SPACE
    doc = read_toml_file(path, "the search-space file", MAX_SPACE_BYTES,
                         missing="the search-space file does not exist",
                         missing_fix="check the --space path, or leave it out for the default space",
                         size_fix="a search space is a few lines of TOML",
                         syntax_fix="see docs/sweep.md for the format")
    for section, table in doc.items():
        if not isinstance(table, dict):
            raise ForecastlabError(f"{section!r} must be a table ([{section}]) of keys", where=f"{path}, {section}",
                                   fix='write [common] or [MODEL] followed by lines like "training.lr" = {...}')
    return doc


def model_space(model: str, path: str | Path | None = None) -> list[Dimension]:
    """The checked dimensions `model` gets from the space file: its [common] keys, then its own section's
    (which win for the same key). A section named for no registered model is an error (a typo)."""
    from forecastlab.models import MODELS, get_model_class

    where = str(path if path is not None else DEFAULT_SPACE)
    doc = read_space(path)
    known = set(MODELS)
    for section in doc:
        if section != "common" and section not in known:
            raise ForecastlabError(f"the search space has a section [{section}], which is no model",
                                   where=f"{where}, [{section}]",
                                   fix=f"name a model ({', '.join(sorted(known))}) or [common]")
    cls = get_model_class(model)
    merged: dict[str, object] = {}
    for section in ("common", model):
        for key, value in (doc.get(section) or {}).items():
            merged[key] = (section, value)
    if len(merged) > MAX_DIMENSIONS:
        raise ForecastlabError(f"the search space gives {model} {len(merged)} keys, more than {MAX_DIMENSIONS}",
                               where=where, fix="sweep fewer keys at once")
    dims = []
    for key, (section, value) in merged.items():
        if value is False:
            continue  # `"training.lr" = false` in a model's section: this model does not sweep that key
        if section == "common" and key.startswith("model.params.") and \
                key.removeprefix("model.params.") not in cls.hyperparameters():
            continue  # a [common] hyperparameter (e.g. units) applies to the models that have it
        dims.append(dimension(key, value, cls, f"{where}, [{section}] key {key!r}"))
    return dims


def dimension(key: str, value: object, model_cls, where: str) -> Dimension:
    """One checked Dimension; `where` names the file, section and key in errors."""
    from forecastlab.training.recipe import DataRecipe, TrainingRecipe, WindowRecipe, check_field_value

    def bad(problem: str, fix: str = "see docs/sweep.md for the format") -> ForecastlabError:
        return ForecastlabError(problem, where=where, fix=fix)

    section = next((s for s in SECTIONS if key.startswith(s + ".")), None)
    name = key[len(section) + 1:] if section else ""
    if section is None or not name:
        raise bad(f"{key!r} is not a recipe key", "start it with model.params., training., window. or data.")
    if key in FIXED:
        raise bad(f"{key} cannot be swept: it decides the task, the data or the run, not the model",
                  f"set it with the sweep's own option instead (--{name.replace('_', '-')})")
    if section == "model.params":
        params = model_cls.hyperparameters()
        if name not in params:
            raise bad(f"model {model_cls.name!r} has no parameter {name!r}",
                      f"use some of: {', '.join(params) or '(none)'}")
        annotation = None
    else:
        cls = {"training": TrainingRecipe, "window": WindowRecipe, "data": DataRecipe}[section]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if name not in fields:
            raise bad(f"[{section}] has no key {name!r}", f"use some of: {', '.join(sorted(fields))}")
        annotation = fields[name].type
    if not isinstance(value, dict):
        raise bad(f"{key} must be a table like {{ low = 1, high = 8 }} or {{ choices = [...] }}, got {value!r}")
    extra = sorted(set(value) - {"low", "high", "log", "step", "choices"})
    if extra:
        raise bad(f"{key} has an unknown setting {extra[0]!r}", "use low, high, log and step, or choices")

    def checked(v):
        if annotation is not None:
            return check_field_value(v, annotation, where, key)
        if isinstance(v, dict):
            raise bad(f"a value of {key} must be a number, text, true/false or a list, got a table")
        try:
            # every argument, as a build passes them (the book's 120 x 14 window stands in for the data's)
            return model_cls.check_params(model_cls.hyperparameters() | {"n_features": 14, "sequence_length": 120,
                                                                          name: v})[name]
        except ForecastlabError as err:
            raise bad(f"{key}: {err.what}", err.fix) from None

    if "choices" in value:
        if set(value) - {"choices"}:
            raise bad(f"{key} gives both choices and a range", "give one of them")
        choices = value["choices"]
        if not isinstance(choices, list) or not choices or len(choices) > MAX_CHOICES:
            raise bad(f"{key}'s choices must be a list of 1 to {MAX_CHOICES} values, got {choices!r}")
        values = [checked(c) for c in choices]
        if any(isinstance(v, list) for v in values):
            values = [tuple(v) if isinstance(v, list) else v for v in values]
        if len({repr(v) for v in values}) != len(values):
            raise bad(f"{key}'s choices repeat a value", "list each value once")
        if any(isinstance(v, tuple) for v in values):
            raise bad(f"{key}'s choices must be single values (optuna stores numbers, text and booleans)",
                      "sweep a list-valued parameter by sweeping the keys it is made from")
        return Dimension(key, choices=tuple(values))
    if "low" not in value or "high" not in value:
        raise bad(f"{key} needs both low and high (or choices)")
    low, high = value["low"], value["high"]
    for v in (low, high, value.get("step", 1)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise bad(f"{key}'s low, high and step must be finite numbers, got {v!r}")
    integer = isinstance(low, int) and isinstance(high, int)
    if annotation is not None:
        kinds = {k.strip() for k in str(annotation).split("|")}
        if "float" not in kinds and not ("int" in kinds and integer):
            raise bad(f"{key} is {annotation}, not a number range", "give it as { choices = [...] }")
        integer = integer and "float" not in kinds
    if not low < high:
        raise bad(f"{key}'s low ({low}) must be below its high ({high})")
    log = value.get("log", False)
    if not isinstance(log, bool):
        raise bad(f"{key}'s log must be true or false, got {log!r}")
    if log and low <= 0:
        raise bad(f"{key} is on a log scale, so low must be above 0, got {low}")
    step = value.get("step")
    if step is not None and (step <= 0 or log):
        raise bad(f"{key}'s step must be above 0 and cannot go with log = true")
    if integer and step is not None and not isinstance(step, int):
        raise bad(f"{key} is an integer range, so its step must be a whole number, got {step!r}")
    for v in (low, high):
        checked(int(v) if integer else float(v))
    return Dimension(key, float(low), float(high), log, float(step) if step is not None else None, integer)


def apply(recipe, values: dict[str, Any]):
    """`recipe` (a forecastlab Recipe) with each space key set to its value."""
    model = dataclasses.replace(recipe.model, params=dict(recipe.model.params))
    sections = {"training": recipe.training, "window": recipe.window, "data": recipe.data}
    for key, value in values.items():
        if key.startswith("model.params."):
            model.params[key.removeprefix("model.params.")] = value
        else:
            section, name = key.split(".", 1)
            sections[section] = dataclasses.replace(sections[section], **{name: value})
    return dataclasses.replace(recipe, model=model, training=sections["training"], window=sections["window"],
                               data=sections["data"])


def space_toml(model: str, dims: list[Dimension]) -> str:
    """The dimensions as a space file's [MODEL] section (what --print-space shows)."""
    import json

    lines = [f"[{model}]"]
    for d in dims:
        inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in d.to_dict().items())
        lines.append(f'"{d.key}" = {{ {inner} }}')
    return "\n".join(lines) + "\n"
