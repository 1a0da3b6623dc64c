"""The run recipe: everything that makes a run, as one typed, versioned value.

    recipe = Recipe(model=ModelRecipe("lstm", {"units": 32}),
                    data=DataRecipe("my.csv", target="temp"),
                    window=WindowRecipe(lookback="5d", sample_every="1h", horizons="1h-24h"),
                    training=TrainingRecipe(epochs=10, loss="quantile:0.1,0.5,0.9"))
    result = run_recipe(recipe, out_dir="runs/lstm")      # load, window, train, write the run directory
    load_run("runs/lstm").recipe == recipe                  # config.json keeps it (extra.recipe)
    series = run_series(load_run("runs/lstm"))              # the run's own data, as the recipe says

`forecastlab train` parses its options into a Recipe (`--config FILE.toml` starts from one) and calls
run_recipe; `--resume`, `predict` and `evaluate` read the run's recipe back, exactly as Python does.
The recipe has a version (RECIPE_VERSION); a run made before recipes existed (format 1 and 2 runs
with only the CLI's own section, or a run trained from Python with only its data's provenance) gets
its recipe rebuilt from what config.json records (`recipe_of`). Models are named, never imported: a
recipe's model is a registered name and its parameters.

This module imports neither torch nor the data loaders at import time, so the CLI's data commands use
its DataRecipe and WindowRecipe without loading torch.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forecastlab.errors import ForecastlabError

RECIPE_VERSION = 1
MAX_RECIPE_BYTES = 1 << 20
# --data values that are names, not paths: forecastlab's own and forecastlab.data.public's records
DATA_KEYWORDS = {"auto", "jena", "synthetic", "elecdemand", "tmy3", "tmy3-sandpoint", "tmy2-miami", "nyc-jfk"}


@dataclass
class DataRecipe:
    """Where the data comes from and how it is read (forecastlab.data.load_series's arguments)."""

    data: str = "auto"  # 'jena', 'synthetic', 'auto' or a CSV/Parquet path
    time_col: str | None = None
    target: str | None = None
    features: str | None = None  # comma-separated input columns; None: every numeric one (sparse ones left out)
    freq: str | None = None
    gaps: str = "interpolate"
    no_clean: bool = False
    data_dir: Path | None = None
    # Feature transforms before normalization, e.g. 'log1p:rain (mm),wv (m/s);asinh:wd (deg)'
    # (forecastlab.windows.transforms); never the target.
    transforms: str | None = None
    # Derived input columns (forecastlab.data.derived): 'book' (None: none added), 'weather' or 'auto'.
    feature_set: str | None = None
    # The derived columns the feature set made on the training data, comma-separated, recorded by
    # run_recipe: any later file gets exactly these (auto would otherwise decide again from its span).
    derived: str | None = None

    @classmethod
    def of(cls, data: str, load_kwargs: dict | None = None, **fields) -> DataRecipe:
        """The recipe of `load_series(data, **load_kwargs)` (its keyword names), plus DataRecipe `fields`."""
        from forecastlab.data.columns import join_names

        kw = dict(load_kwargs or {})
        features = kw.get("features")
        return cls(data=str(data), time_col=kw.get("time_col"), target=kw.get("target"),
                   features=join_names(list(features)) if features else None, freq=kw.get("freq"),
                   gaps=kw.get("gaps", "interpolate"), no_clean=not kw.get("clean", True),
                   data_dir=kw.get("data_dir"), **fields)

    def load_kwargs(self) -> dict[str, Any]:
        from forecastlab.data.columns import split_names

        return {
            "time_col": self.time_col,
            "target": self.target,
            "features": split_names(self.features) if self.features else None,
            "freq": self.freq,
            "gaps": self.gaps,
            "clean": not self.no_clean,
            "data_dir": self.data_dir,
        }

    def load(self):
        """The forecastlab Series this recipe names, with its feature set's derived columns."""
        from forecastlab.data import load_series
        from forecastlab.data.derived import add_features

        return add_features(load_series(self.data, **self.load_kwargs()), self.feature_set, self.derived_columns())

    def derived_columns(self) -> list[str] | None:
        """The recorded derived columns as a list (names with a comma are quoted in `derived`)."""
        from forecastlab.data.columns import split_names

        return split_names(self.derived) if self.derived else None

    def with_derived(self, series) -> DataRecipe:
        """This recipe with the derived columns `series` was given (as load() made them) recorded."""
        added = ((series.quality or {}).get("features") or {}).get("added")
        from forecastlab.data.columns import join_names

        return dataclasses.replace(self, derived=join_names(list(added))) if self.feature_set and added else self

    def absolute(self) -> DataRecipe:
        """The same recipe with a file path (and the cache folder) made absolute, as a run stores it, so
        the run finds its data from any working directory."""
        data = self.data.strip()
        data_dir = Path(self.data_dir).expanduser().resolve() if self.data_dir is not None else None
        return dataclasses.replace(self, data=data if data.lower() in DATA_KEYWORDS else str(Path(data).expanduser()
                                                                                           .resolve()),
                                   data_dir=data_dir)


@dataclass
class WindowRecipe:
    """How windows are cut: durations resolved against the data's step (row counts, when given, win)."""

    sequence_length: int | None = None
    sampling_rate: int | None = None
    horizon: int | None = None
    batch_size: int = 256
    drop_gap_windows: bool | None = None  # None: auto (see forecastlab.windows.make_datasets_from_series)
    lookback: str = "5d"
    sample_every: str = "1h"
    horizons: str = "24h"
    stride: int = 1  # train on every stride-th window (val and test: every window)

    def spec(self, series=None):
        """The forecastlab.windows.WindowSpec, in rows, for this series (or for the book's 10-minute rows)."""
        from forecastlab.windows import WindowSpec
        from forecastlab.windows.horizons import resolve_window

        if self.horizon is not None and (isinstance(self.horizon, bool) or not isinstance(self.horizon, int)
                                         or self.horizon < 1):
            raise ForecastlabError(f"horizon must be a whole number of sampled steps, 1 or more, got {self.horizon!r}",
                                   arg="horizon", fix="pass horizon=24 (24 steps ahead), or horizons= as durations")
        step_ns = None
        if series is not None:
            step_ns = series.step_ns
        elif self.sequence_length is None or self.sampling_rate is None:
            step_ns = 600 * 10**9  # no data yet: the book's 10-minute rows
        resolved = resolve_window(
            step_ns=step_ns, lookback=self.lookback, sample_every=self.sample_every,
            horizons=str(self.horizon) if self.horizon is not None else self.horizons,
            sequence_length=self.sequence_length, sampling_rate=self.sampling_rate)
        return WindowSpec(resolved.sequence_length, resolved.sampling_rate, resolved.horizons[-1],
                          horizons=resolved.horizons, stride=self.stride)

    def dataset_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for forecastlab.windows.make_datasets_from_series."""
        return {"batch_size": self.batch_size, "drop_gap_windows": self.drop_gap_windows}


@dataclass
class ModelRecipe:
    """A registered model name and its parameters (never a class path: nothing is imported by name)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingRecipe:
    """forecastlab.training.train's options. epochs None: the model's book epochs (1 for an estimator);
    target_transform None: the model's default (none for the book's seven, standardize otherwise)."""

    epochs: int | None = None
    optimizer: str = "rmsprop"
    lr: float | None = None
    seed: int = 0
    early_stopping: int | None = None
    lr_schedule: str | None = None
    max_steps_per_epoch: int | None = None
    loss: str = "mse"
    target_transform: str | None = None
    interval_level: float = 0.8
    device: str | None = None
    weight_decay: float | None = None  # None: 0, or Keras's 0.004 for adamw
    clip_norm: float | None = None  # the gradients' global L2 norm is clipped to this before every step


@dataclass
class Recipe:
    """One run, start to end: model, data, window, training (and the version of this format)."""

    model: ModelRecipe
    data: DataRecipe = field(default_factory=DataRecipe)
    window: WindowRecipe = field(default_factory=WindowRecipe)
    training: TrainingRecipe = field(default_factory=TrainingRecipe)
    version: int = RECIPE_VERSION
    # Filled in by run_recipe: the data's provenance (source, path, sha256, rows, first and last time)
    # and the software versions; not an input (a recipe to run again leaves it out, or keeps it to compare).
    provenance: dict | None = None

    def as_input(self) -> Recipe:
        """The recipe without its provenance: what to run again."""
        return dataclasses.replace(self, provenance=None)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        if out["data"]["data_dir"] is not None:
            out["data"]["data_dir"] = str(out["data"]["data_dir"])
        return json.loads(json.dumps(out, default=str))

    @classmethod
    def from_dict(cls, raw: object, where: str = "the recipe", prefix: str = "") -> Recipe:
        """A Recipe from to_dict()'s output; every unknown or mistyped key is an error naming it (as
        `prefix` + key, e.g. prefix "extra.recipe." inside config.json)."""
        def _bad(where, key, problem):  # the key as config.json (or the file) spells it
            return _bad_key(where, prefix + key if key else prefix.rstrip("."), problem)

        if not isinstance(raw, dict):
            raise _bad(where, "", "must be a table/object")
        unknown = sorted(set(raw) - {"version", "task", "model", "data", "window", "training", "provenance"})
        if unknown:
            raise _bad(where, unknown[0], "is not a recipe section (task, model, data, window, training)")
        if "task" in raw:  # a forecasting recipe may say so; the other tasks' recipes are their commands'
            check_task_kind(raw, where, "forecast")
            extra = sorted(set(raw["task"]) - {"kind"})
            if extra:
                raise _bad(where, f"task.{extra[0]}", "is not a key of a forecasting recipe's [task] (kind)")
        version = raw.get("version", RECIPE_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise _bad(where, "version", f"must be a whole number >= 1, got {version!r}")
        if version > RECIPE_VERSION:
            raise _bad(where, "version", f"is {version}, written by a newer forecastlab (this one reads up to "
                       f"{RECIPE_VERSION})")
        model = raw.get("model")
        if not isinstance(model, dict) or not isinstance(model.get("name"), str) or not model["name"]:
            raise _bad(where, "model.name", "must name a registered model (forecastlab models lists them)")
        params = model.get("params", {})
        if not isinstance(params, dict):
            raise _bad(where, "model.params", "must be a table of model parameters")
        extra = sorted(set(model) - {"name", "params"})
        if extra:
            raise _bad(where, f"model.{extra[0]}", "is not a key of [model] (name, params)")
        provenance = raw.get("provenance")
        if provenance is not None and not isinstance(provenance, dict):
            raise _bad(where, "provenance", "must be a table/object")
        return cls(ModelRecipe(model["name"], dict(params)),
                   _section(DataRecipe, raw.get("data", {}), where, prefix + "data"),
                   _section(WindowRecipe, raw.get("window", {}), where, prefix + "window"),
                   _section(TrainingRecipe, raw.get("training", {}), where, prefix + "training"), version, provenance)

    @classmethod
    def from_options(cls, options: dict, where: str = "the recipe", spelled: dict | None = None) -> Recipe:
        """A Recipe from a recipe file's keys as option names (flat_options: the layout `train --config`
        reads, keys at the top level or in tables): `model` and `params`, and each other key a field of
        DataRecipe, WindowRecipe or TrainingRecipe. COMMAND_KEYS (out, overwrite, seeds) are the command's
        and left out; an unknown key is an error naming it as the file spells it."""
        owners = {f.name: name for name, part in (("data", DataRecipe), ("window", WindowRecipe),
                                                  ("training", TrainingRecipe)) for f in dataclasses.fields(part)}
        sections: dict[str, dict] = {"data": {}, "window": {}, "training": {}}
        for key, value in options.items():
            if key in ("model", "params") or key in COMMAND_KEYS:
                continue
            if key not in owners:
                raise _bad_key(where, (spelled or {}).get(key, key), "is not a key of a forecasting recipe (see "
                               "`forecastlab train --help` for the options)")
            sections[owners[key]][key] = value
        return cls.from_dict({"model": {"name": options.get("model"), "params": options.get("params", {})},
                              **sections}, where=where)

    @classmethod
    def from_toml(cls, path: str | Path) -> Recipe:
        """A recipe file: [model] name and [model.params], [data], [window], [training] (the keys are the
        fields above, the CLI's option names with underscores). Bounded in size; errors name the key. The
        CLI's [output] table (where to write) belongs to the command, not to the recipe, and is left out."""
        path = Path(path)
        doc = _read_toml(path)
        doc.pop("output", None)
        return cls.from_dict(doc, where=str(path))


# -- recipe files for every task ------------------------------------------------------------

# A recipe file's [task] table says what it trains, and so which command runs it; without one it is a
# forecasting recipe. `forecastlab train --config FILE` runs any of them (it hands the others to their
# command); `classify`, `events` and `anomalies --config` take their own kind, or a file with no [task].
TASK_COMMANDS = {"forecast": "train", "classify": "classify", "events": "events", "anomalies": "anomalies"}
# The tables a recipe file groups its keys in (the CLI's help panels); the keys are the options' names.
RECIPE_TABLES = ("task", "model", "data", "window", "training", "output")
COMMAND_KEYS = ("out", "overwrite", "seeds")  # a forecasting recipe file's keys that are the command's


def task_kind(doc: dict, where: str) -> str:
    """What a recipe file (its parsed TOML) trains: its [task] table's kind, 'forecast' when it has none."""
    task = doc.get("task")
    if task is None:
        return "forecast"
    if not isinstance(task, dict):
        raise ForecastlabError("task must be a table", where=f"{where}, key task",
                               fix=f"write [task] and then kind = one of {', '.join(map(repr, TASK_COMMANDS))}")
    kind = task.get("kind", "forecast")
    if not isinstance(kind, str) or kind not in TASK_COMMANDS:
        raise ForecastlabError(f"task.kind {json.dumps(kind, default=str)} is not a task forecastlab trains",
                               where=f"{where}, key task.kind",
                               fix=f"write kind = one of {', '.join(map(repr, TASK_COMMANDS))}")
    return kind


def check_task_kind(doc: dict, where: str, kind: str) -> None:
    """Refuse a recipe file of another task than `kind`, naming the command that runs it."""
    found = task_kind(doc, where)
    if found != kind:
        raise ForecastlabError(f"this recipe trains a {found} task ([task] kind = {found!r}), not a {kind} one",
                               where=f"{where}, key task.kind",
                               fix=f"run it with `forecastlab {TASK_COMMANDS[found]} --config {where}`"
                               + ("" if found == "forecast" else f" (or `forecastlab train --config {where}`)"))


def flat_options(doc: dict, where: str, spelled: dict[str, str] | None = None) -> dict[str, Any]:
    """A recipe file's keys as its command's option names: top-level keys as they are, and the keys of the
    tables in RECIPE_TABLES lifted out of them ([model] name is the option `model`, [model.params] the
    table `params`); [task]'s kind is left out (task_kind reads it). A key given twice is an error.
    `spelled`, when given, is filled with each option's key as the file spells it (training.epochs)."""
    flat: dict[str, Any] = {}
    spelled = {} if spelled is None else spelled
    for key, value in doc.items():
        if key in RECIPE_TABLES and isinstance(value, dict):
            items = [({("model", "name"): "model"}.get((key, k), k), v, f"{key}.{k}") for k, v in value.items()
                     if (key, k) != ("task", "kind")]
        else:
            items = [(key, value, key)]
        for name, v, dotted in items:
            if name in flat:
                raise ForecastlabError(f"{name} is set twice, as {spelled[name]} and as {dotted}",
                                       where=f"{where}, key {dotted}", fix="keep one of them")
            flat[name], spelled[name] = v, dotted
    return flat


def group_options(options: dict[str, Any], tables: dict[str, tuple[str, ...]], kind: str) -> dict[str, Any]:
    """flat_options's inverse: options grouped in their `tables` ({table: option names}), with [task]
    kind, as a recipe file holds them (toml_text writes one)."""
    doc: dict[str, Any] = {"task": {"kind": kind}}
    for table, names in tables.items():
        for name in names:
            if name in options:
                key = "name" if (table, name) == ("model", "model") else name
                doc.setdefault(table, {})[key] = options[name]
    return doc


def toml_text(doc: dict) -> str:
    """A recipe document (tables of plain values, [model.params] inside [model]) as TOML text; a None value
    is left out (it stands for the default), and tomllib reads the text back to the same document."""
    lines: list[str] = []

    def table(name: str, values: dict) -> None:
        plain = {k: v for k, v in values.items() if not isinstance(v, dict) and v is not None}
        if lines:
            lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in plain.items())
        for k, v in values.items():
            if isinstance(v, dict) and v:
                table(f"{name}.{toml_key(k)}", v)

    top = {k: v for k, v in doc.items() if not isinstance(v, dict) and v is not None}
    lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in top.items())
    for name, values in doc.items():
        if isinstance(values, dict):
            table(toml_key(name), values)
    return "\n".join(lines) + "\n"


def toml_key(key) -> str:
    """A key bare when TOML allows it (letters, digits, - and _), else quoted."""
    key = str(key)
    return key if key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key) else toml_value(key)


def toml_value(v) -> str:
    """One value as TOML: a bool, number (inf and nan as TOML spells them), list or basic string."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return repr(v)
    if isinstance(v, float):
        return ("nan" if v != v else "inf" if v > 0 else "-inf") if v != v or v in (math.inf, -math.inf) \
            else json.dumps(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if v is None:
        raise ForecastlabError("TOML has no null", where="toml_value", fix="leave the key out for its default")
    # A basic string: JSON's escapes, with non-ASCII characters as they are (TOML takes no surrogate pairs).
    return json.dumps(str(v), ensure_ascii=False)


def _read_toml(path: Path) -> dict:
    return read_toml_file(path, "the recipe", MAX_RECIPE_BYTES, missing="the recipe file does not exist",
                          missing_fix="check the path",
                          size_fix="a recipe is a few lines of TOML",
                          syntax_fix="see docs/training.md for a recipe example")


def read_toml_file(path: Path, what: str, limit: int, *, missing: str, missing_fix: str, size_fix: str,
                   syntax_fix: str) -> dict:
    """A small TOML file (`what` names it in errors: "the recipe", "the search-space file"), read at most
    `limit` bytes; a missing (`missing`: the message), oversized or malformed file is a ForecastlabError."""
    import tomllib

    if path.is_dir():
        raise ForecastlabError(f"{what} path is a folder, not a file", where=str(path), fix=missing_fix)
    if not path.is_file():
        raise ForecastlabError(missing, where=str(path), fix=missing_fix)
    with open(path, "rb") as handle:
        raw = handle.read(limit + 1)
    if len(raw) > limit:
        raise ForecastlabError(f"{what} is more than {limit:,} bytes", where=str(path), fix=size_fix)
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ForecastlabError(f"{what} is not valid TOML ({err})", where=str(path), fix=syntax_fix) from None


_TYPES = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}


def _section(cls, raw: object, where: str, name: str):
    if not isinstance(raw, dict):
        raise _bad_key(where, name, "must be a table/object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in fields:
            raise _bad_key(where, f"{name}.{key}", f"is not a key of [{name.rsplit('.', 1)[-1]}] ({', '.join(fields)})")
        values[key] = _typed(value, fields[key].type, where, f"{name}.{key}")
    if "data_dir" in values and values["data_dir"] is not None:
        values["data_dir"] = Path(values["data_dir"])
    return cls(**values)


def _typed(value, annotation: str, where: str, key: str):
    """Check `value` against a field annotation written as text ('int | None', 'str', 'Path | None', ...)."""
    kinds = [part.strip() for part in str(annotation).split("|")]
    if value is None:
        if "None" in kinds:
            return None
        raise _bad_key(where, key, "must be set (null is not allowed)")
    for kind in kinds:
        if kind == "Path" and isinstance(value, str):
            return value
        types = _TYPES.get({"int": int, "float": float, "str": str, "bool": bool}.get(kind))
        if types and isinstance(value, types) and not (isinstance(value, bool) and kind in ("int", "float")):
            return float(value) if kind == "float" else value
    raise _bad_key(where, key, f"must be {' or '.join(kinds)}, got {json.dumps(value, default=str)}")


def _bad_key(where: str, key: str, problem: str) -> ForecastlabError:
    return ForecastlabError(f"{'the recipe' if not key else key} {problem}", where=f"{where}, key {key}" if key
                            else where, fix="see docs/training.md for the recipe's keys, or let `forecastlab "
                            "train` write one (config.json, key extra.recipe)")


# -- a run's recipe -------------------------------------------------------------------


def recipe_of(config: dict) -> Recipe | None:
    """The recipe of a run from its config.json: extra.recipe, or for runs made before recipes, rebuilt
    from the CLI's own section (extra.cli) or from the data's provenance (a run trained from Python on a
    Series). None when config.json says too little to rebuild the data (datasets made by hand)."""
    extra = config.get("extra") or {}
    if extra.get("recipe"):
        return Recipe.from_dict(extra["recipe"], where="config.json", prefix="extra.recipe.")
    t = config["training"]
    training = TrainingRecipe(
        epochs=t["epochs"], optimizer=t["optimizer"], lr=t["lr"], seed=t["seed"],
        early_stopping=t.get("early_stopping"), lr_schedule=t.get("lr_schedule"),
        max_steps_per_epoch=t.get("max_steps_per_epoch"), loss=t.get("loss", "mse"),
        target_transform=t.get("target_transform", "none"), interval_level=t.get("interval_level", 0.8),
        weight_decay=t.get("weight_decay"), clip_norm=t.get("clip_norm"))
    cli = extra.get("cli")
    if cli:
        data = _section(DataRecipe, cli["data_args"], "config.json", "extra.cli.data_args")
        window = _section(WindowRecipe, cli["window_args"], "config.json", "extra.cli.window_args")
        return Recipe(ModelRecipe(config["model"]["name"], dict(cli["model_params"])), data, window, training)
    described = config.get("data") or {}
    provenance = described.get("provenance") or {}
    source = provenance.get("source")
    if source == "file" and provenance.get("path"):
        where = provenance["path"]
    elif source in ("jena", "synthetic"):
        where = source
    elif source == "public" and provenance.get("variant"):  # elecdemand, tmy3 (forecastlab.data.public)
        where = provenance["variant"]
    else:
        return None
    columns = described.get("columns") or []
    features = ",".join(columns) if columns and not any("," in c for c in columns) else None
    w = config["window"]
    window = WindowRecipe(sequence_length=w["sequence_length"], sampling_rate=w["sampling_rate"],
                          horizons=",".join(map(str, w.get("horizons") or [w["horizon"]])),
                          batch_size=w.get("batch_size") or 256, stride=w.get("stride") or 1)
    params = {k: v for k, v in config["model"]["config"].items()
              if k not in ("name", "n_features", "sequence_length", "n_outputs")}
    return Recipe(ModelRecipe(config["model"]["name"], params),
                  DataRecipe(where, target=described.get("target"), features=features), window, training)


def check_field_value(value, annotation: str, where: str, key: str):
    """`value` checked against a recipe field's annotation (as a recipe file's value is), or the error naming
    `key` in `where`; the value as the recipe stores it (an int given for a float field becomes a float)."""
    return _typed(value, annotation, where, key)
