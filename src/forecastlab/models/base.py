"""The contract every forecasting model follows (scikit-learn style: __init__ only stores parameters
and builds layers; the parameters round-trip through get_config/from_config).

Every model declares the valid values of its __init__ parameters next to its signature, in the class
attribute `param_ranges` (`Int`, `Float`, `Choice`, `IntList`). ForecastModel checks and normalizes
every argument, defaults included, before the model's own __init__ runs (so before any layer is built),
whether the model is built directly, by `build_model` or by `from_config`; a bad value is a
ForecastlabError that names the model, the parameter, its valid range and its default.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import numbers
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from forecastlab.errors import ForecastlabError
from forecastlab.models.layers.recurrent import MODES

# The most weights a model may have: 512 MiB of float32 (training needs as much again for gradients
# and up to twice that for the optimizer's state). The book's largest model, dense, has 26,913.
MAX_WEIGHTS = 2**27


class _Invalid(Exception):
    """Raised by Constraint.check: `why` extends the range's description, `detail` the shown value."""

    def __init__(self, detail: str = "", why: str = ""):
        super().__init__(detail)
        self.detail, self.why = detail, why


_KINDS = {bool: "a boolean", str: "a string", float: "a float", int: "an integer", list: "a list",
          tuple: "a list", dict: "an object", type(None): "null/None"}


def _kind(value) -> str:
    return f" ({_KINDS.get(type(value), 'a ' + type(value).__name__)})"


def _show(value) -> str:
    text = repr(list(value) if isinstance(value, tuple) else value)
    return text if len(text) <= 60 else text[:57] + "..."


def _arg(value) -> str:
    """A value as written after KEY= (JSON, bare strings), as --param and config.json take it."""
    if isinstance(value, str):
        return value
    return json.dumps(list(value) if isinstance(value, tuple) else value)


class Constraint:
    """The valid values of one model parameter."""

    def describe(self) -> str:
        """The valid values in words, e.g. 'an integer from 1 to 65,536' (shown in errors and listings)."""
        raise NotImplementedError

    def check(self, value):
        """`value`, normalized (float for Float, tuple for IntList), or _Invalid."""
        raise NotImplementedError


@dataclass(frozen=True)
class Int(Constraint):
    """An integer (not a bool, not a float such as 2.0) in [min, max]; `why` explains the maximum."""

    min: int | None = None
    max: int | None = None
    why: str = ""
    optional: bool = False  # None is valid too
    hint: str = ""  # what to pass, for parameters without a default

    def bounds(self) -> str:
        if self.min is not None and self.max is not None:
            return f"from {self.min:,} to {self.max:,}"
        if self.min is not None:
            return f">= {self.min:,}"
        return f"<= {self.max:,}" if self.max is not None else ""

    def describe(self) -> str:
        text = f"an integer {self.bounds()}".rstrip()
        return text + " or null/None" if self.optional else text

    def check(self, value):
        if value is None and self.optional:
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise _Invalid(_kind(value))
        value = int(value)
        if self.max is not None and value > self.max:
            raise _Invalid(why=f" ({self.why})" if self.why else "")
        if self.min is not None and value < self.min:
            raise _Invalid()
        return value


@dataclass(frozen=True)
class Float(Constraint):
    """A real number (ints accepted, bools and NaN not) in [low, high], or [low, high) if right_open."""

    low: float
    high: float
    right_open: bool = False
    hint: str = ""

    def describe(self) -> str:
        return f"a number in [{self.low:g}, {self.high:g}{')' if self.right_open else ']'}"

    def check(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise _Invalid(_kind(value))
        value = float(value)
        if math.isnan(value) or value < self.low or value > self.high or (self.right_open and value == self.high):
            raise _Invalid()
        return value


class Choice(Constraint):
    """One of a few values (compared with their types: True is not 1, '1' is not 1)."""

    hint = ""

    def __init__(self, *options):
        self.options = tuple(options)

    def __repr__(self) -> str:
        return f"Choice{self.options!r}"

    def describe(self) -> str:
        return "one of " + ", ".join("null/None" if o is None else repr(o) for o in self.options)

    def check(self, value):
        for option in self.options:
            if type(value) is type(option) and value == option:
                return option
        raise _Invalid()


@dataclass(frozen=True)
class IntList(Constraint):
    """A list (or tuple) of min_len to max_len integers, each valid for `item`; normalized to a tuple."""

    item: Int
    min_len: int = 1
    max_len: int = 64
    hint: str = ""

    def describe(self) -> str:
        return f"a list of {self.min_len} to {self.max_len} integers, each {self.item.bounds()}"

    def check(self, value):
        if not isinstance(value, list | tuple):
            raise _Invalid(_kind(value))
        if not self.min_len <= len(value) <= self.max_len:
            raise _Invalid(f" ({len(value)} items)")
        for i, v in enumerate(value):
            try:
                self.item.check(v)
            except _Invalid as bad:
                raise _Invalid(f" (item {i} is {_show(v)}{bad.detail}{bad.why})") from None
        return tuple(int(v) for v in value)


# Shared by the models' param_ranges.
UNITS = Int(1, 65_536, why="a wider layer would not fit in memory")
RATE = Float(0.0, 1.0, right_open=True)  # a dropout rate: 1 would drop everything
LAYERS = Int(1, 64, why="a deeper stack would be too slow to train; the book stacks at most 3")
RECURRENT_DROPOUT_MODE = Choice(*MODES)


MAX_OUTPUTS = 100_000  # horizons x quantiles of one window


_OUT_OF_MEMORY = (MemoryError, getattr(torch, "OutOfMemoryError", MemoryError))


def _checking_init(cls, init):
    """Wrap `cls`'s __init__ so that every argument, defaults included, passes cls.check_params first."""
    sig = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        named = {k: v for k, v in bound.arguments.items() if k != "self"}
        bound.arguments.update(cls.check_params(named))
        try:
            init(*bound.args, **bound.kwargs)
        except _OUT_OF_MEMORY as exc:  # under MAX_WEIGHTS, but more than this machine has
            label = cls.name or cls.__name__
            raise ForecastlabError(f"not enough memory to build model {label!r}", where=f"model {label!r}",
                                   fix="use fewer units, filters or layers") from exc

    return __init__


class Parameterized:
    """What every registered model shares, torch or not: its parameters are the keyword arguments of
    __init__ (after n_features and sequence_length), each stored under its own name and declared with
    its valid values in `param_ranges`; every argument is checked before the model's own __init__ runs."""

    name: ClassVar[str] = ""
    book_code: ClassVar[str] = ""  # listing number in Deep Learning with Python, 2nd ed., chapter 10
    book_epochs: ClassVar[int] = 10
    needs_sequence_length: ClassVar[bool] = False
    param_ranges: ClassVar[dict[str, Constraint]] = {
        "n_features": Int(min=1, hint="the number of input columns"),
        "sequence_length": Int(min=1, optional=True, hint="the window length, e.g. 120"),
    }
    _ranges: ClassVar[dict[str, Constraint]] = param_ranges  # this class's and its bases', merged

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._ranges = {}
        for klass in reversed(cls.__mro__):
            cls._ranges.update(vars(klass).get("param_ranges", {}))
        if "__init__" in vars(cls):
            cls.__init__ = _checking_init(cls, vars(cls)["__init__"])
        names = [k for k, p in inspect.signature(cls.__init__).parameters.items()
                 if k != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        missing, extra = set(names) - set(cls._ranges), set(cls.param_ranges) - set(names)
        if missing or extra:
            raise TypeError(f"{cls.__name__}.param_ranges must cover exactly its __init__ parameters: "
                            f"missing {sorted(missing)}, not parameters {sorted(extra)}")

    @classmethod
    def hyperparameters(cls) -> dict:
        """The model's hyperparameters and their defaults (the book's values)."""
        sig = inspect.signature(cls.__init__)
        skip = {"self", "n_features", "sequence_length"}
        return {k: p.default for k, p in sig.parameters.items() if k not in skip}

    @classmethod
    def constraints(cls) -> dict[str, Constraint]:
        """Every __init__ parameter's Constraint (n_features and sequence_length included)."""
        return dict(cls._ranges)

    @classmethod
    def parameter_ranges(cls) -> dict[str, str]:
        """Each hyperparameter's valid values in words, e.g. {'units': 'an integer from 1 to 65,536'}."""
        return {k: cls._ranges[k].describe() for k in cls.hyperparameters() if k in cls._ranges}

    @classmethod
    def weight_count(cls, **params) -> int | None:
        """The number of weights the model would have with these (checked) parameters; None: unknown."""
        return None

    @classmethod
    def check_names(cls, params: dict, where: str) -> None:
        """ForecastlabError for keys that are not parameters of this model."""
        known = cls.hyperparameters()
        unknown = sorted(set(params) - set(known) - {"n_features", "sequence_length"}, key=str)
        if unknown:
            raise ForecastlabError(f"model {cls.name!r} has no parameter(s) {', '.join(map(str, unknown))}",
                                   where=where, fix=f"use some of: {', '.join(known) or '(none)'}")

    @classmethod
    def check_params(cls, params: dict) -> dict:
        """`params` (every __init__ argument, by name) checked against param_ranges and normalized."""
        label = cls.name or cls.__name__
        defaults = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()}
        out = dict(params)
        for key, value in params.items():
            constraint = cls._ranges.get(key)
            if constraint is None:
                continue
            try:
                out[key] = constraint.check(value)
            except _Invalid as bad:
                valid = constraint.describe()
                default = defaults.get(key, inspect.Parameter.empty)
                if constraint.hint or default in (inspect.Parameter.empty, None):
                    fix = f"pass {key} as {valid}" + (f" ({constraint.hint})" if constraint.hint else "")
                else:
                    fix = f"pass {key}={_arg(default)} (the default), or {valid}"
                raise ForecastlabError(f"model {label!r}: {key} must be {valid}{bad.why}, got {_show(value)}"
                                       f"{bad.detail}", where=f"model {label!r} parameter {key!r}",
                                       fix=fix) from None
        if cls.needs_sequence_length and out.get("sequence_length", 0) is None:
            raise ForecastlabError(f"model {label!r} needs sequence_length (it flattens the window)",
                                   where=f"model {label!r} parameter 'sequence_length'",
                                   fix="pass sequence_length, e.g. 120")
        count = cls.weight_count(**out)
        if count is not None and count > MAX_WEIGHTS:
            sizes = ", ".join(f"{k}={_arg(v)}" for k, v in out.items()
                              if isinstance(cls._ranges.get(k), Int | IntList) and v is not None)
            raise ForecastlabError(
                f"model {label!r} would have {count:,} weights, more than the {MAX_WEIGHTS:,} forecastlab builds "
                f"({MAX_WEIGHTS * 4 // 2**20} MiB of float32, before gradients and optimizer state)",
                where=f"model {label!r} parameters {sizes}",
                fix="use fewer units, filters, layers or a shorter window (the book's largest model, dense, "
                    "has 26,913 weights)")
        return out


class ForecastModel(Parameterized, nn.Module):
    """Base class: forward maps (batch, sequence_length, n_features) float32 to (batch, n_outputs), 1 by
    default (the book's), H x Q after `with_outputs` (see forecastlab.models.losses).

    Subclasses declare their hyperparameters as keyword arguments of __init__ (after n_features and
    sequence_length), store each under the same attribute name, declare each one's valid values in
    `param_ranges`, and set the class attributes below; `weight_count` lets oversized models be refused
    before they are allocated.
    """

    kind: ClassVar[str] = "torch"
    # Models new to forecastlab learn a standardized target by default; the book's seven keep the raw one.
    default_target_transform: ClassVar[str] = "standardize"
    # The learning rate train() uses when none is given; None: the optimizer's Keras default (1e-3).
    default_lr: ClassVar[float | None] = None

    def __init__(self, n_features: int, sequence_length: int | None = None):
        super().__init__()
        self.n_features = n_features
        self.sequence_length = sequence_length
        self.n_outputs = 1

    def with_outputs(self, n_outputs: int) -> ForecastModel:
        """Widen the head, the model's last Dense `out`, to `n_outputs` per window: H horizons x Q outputs
        per horizon (the loss decides Q). forward then returns (batch, n_outputs). 1 keeps the book's
        head exactly as built, so the book's models and their weights are untouched."""
        if isinstance(n_outputs, bool) or not isinstance(n_outputs, int) or not 1 <= n_outputs <= MAX_OUTPUTS:
            raise ForecastlabError(f"n_outputs must be an integer from 1 to {MAX_OUTPUTS:,}, got {n_outputs!r}",
                                   where=f"model {self.name!r}", fix="use fewer horizons or quantiles")
        if n_outputs == self.n_outputs:
            return self
        from forecastlab.models.layers import Dense

        head = self.out
        self.out = Dense(head.in_features, n_outputs, head.activation)
        self.n_outputs = n_outputs
        return self

    def get_config(self) -> dict:
        """JSON-able config: name, n_features, sequence_length and every hyperparameter."""
        config = {"name": self.name, "n_features": self.n_features, "sequence_length": self.sequence_length}
        for key in self.hyperparameters():
            value = getattr(self, key)
            config[key] = list(value) if isinstance(value, tuple) else value
        if self.n_outputs != 1:  # the book's one output is left implicit, as in every earlier run
            config["n_outputs"] = self.n_outputs
        return config

    @classmethod
    def from_config(cls, config: dict) -> ForecastModel:
        """Rebuild the architecture (fresh Keras-initialized weights) from `get_config()`'s output.

        The values go through the same checks as build_model's (a hand-edited config.json included).
        """
        where = f"model {cls.name!r} config"
        if not isinstance(config, dict):
            raise ForecastlabError(f"a model config must be a JSON object, got {_show(config)}{_kind(config)}",
                                   where=where, fix="use the output of get_config()")
        if config.get("name", cls.name) != cls.name:
            raise ForecastlabError(f"config is for model {config.get('name')!r}, not {cls.name!r}",
                                   fix="use forecastlab.models.build_model(config['name'], ...)")
        params = {k: v for k, v in config.items() if k not in ("name", "n_outputs")}
        cls.check_names(params, where)
        if "n_features" not in params:
            raise ForecastlabError(f"model {cls.name!r} config has no n_features", where=where,
                                   fix="add \"n_features\": the number of input columns")
        return cls(**params).with_outputs(config.get("n_outputs", 1))

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[-1] != self.n_features:
            raise ForecastlabError(f"model {self.name!r} expects (batch, time, {self.n_features}) input, "
                                   f"got shape {tuple(x.shape)}", fix="check n_features and the window shape")
