"""Search-space files and recipe files, fuzzed with hypothesis: random documents built from valid and
invalid keys and values, and valid files mangled at random bytes. Each must give dimensions that optuna
can sample (and a recipe they apply to), or a recipe, or a ForecastlabError naming the file; never another
exception. FORECASTLAB_FUZZ_PROFILE=thorough runs ten times more, with fresh random examples."""

from __future__ import annotations

import json
import os

import optuna
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from forecastlab.cli.train import read_recipe
from forecastlab.errors import ForecastlabError
from forecastlab.training.recipe import ModelRecipe, Recipe
from forecastlab.tuning.space import DEFAULT_SPACE, apply, model_space

THOROUGH = os.environ.get("FORECASTLAB_FUZZ_PROFILE") == "thorough"
SCALE = 10 if THOROUGH else 1
FUZZ = settings(derandomize=not THOROUGH, database=None, deadline=5_000,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
KEYS = ["model.params.units", "model.params.units", "training.lr", "window.lookback", "training.optimizer",
        "model.params.units", "model.params.dropout", "model.params.layers", "model.params.nope", "training.lr",
        "training.optimizer", "training.seed", "training.clip_norm", "window.lookback", "window.stride",
        "data.feature_set", "data.gaps", "bogus", "model.params", "training."]
SECTIONS = ["common", "lstm", "gru_stacked", "tcn", "lightgbm", "nosuchmodel", "x y"]
scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, width=32),
                   st.text(max_size=8))
valid_range = st.tuples(st.integers(1, 64), st.integers(1, 64), st.booleans()).map(
    lambda t: {"low": min(t[0], t[1]), "high": max(t[0], t[1]) + 1, "log": t[2]})
valid_float = st.tuples(st.floats(1e-5, 0.5), st.floats(0.0, 0.5)).map(
    lambda t: {"low": t[0], "high": t[0] + t[1] + 1e-3})
valid_choices = st.lists(st.one_of(st.integers(1, 8), st.sampled_from(["1d", "3d", "rmsprop", "adam"])),
                         min_size=1, max_size=4, unique=True).map(lambda c: {"choices": c})
junk_setting = st.dictionaries(st.sampled_from(["low", "high", "log", "step", "choices", "other"]),
                               st.one_of(scalar, st.lists(scalar, max_size=4)), max_size=4)
setting = st.one_of(valid_range, valid_float, valid_choices, junk_setting)
documents = st.dictionaries(st.sampled_from(SECTIONS),
                            st.dictionaries(st.sampled_from(KEYS), st.one_of(setting, scalar), max_size=5),
                            max_size=3)


def toml_value(v) -> str:
    if v is None:
        return '""'  # TOML has no null
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if v == v and v not in (float("inf"), float("-inf")) else "nan"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    return json.dumps(v)


def toml_text(doc: dict) -> str:
    lines = []
    for section, table in doc.items():
        lines.append(f"[{json.dumps(section)}]")
        lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def check_space(path, model: str) -> None:
    try:
        dims = model_space(model, path)
    except ForecastlabError as err:
        assert str(path) in (err.where or ""), err.paragraph()
        event("refused")
        return
    event(f"loaded, {'no' if not dims else 'some'} dimensions")
    trial = optuna.create_study().ask()
    values = {d.key: d.suggest(trial) for d in dims}
    apply(Recipe(ModelRecipe(model)), values)


def mangled(raw: bytes, cuts, truncate) -> bytes:
    """`raw` with each (offset, bytes) written over it, then cut at `truncate` (offsets wrap around)."""
    out = bytearray(raw)
    for at, junk in cuts:
        at %= len(out)
        out[at:at + len(junk)] = junk
    return bytes(out if truncate is None else out[:truncate % (len(out) + 1)])


@pytest.fixture(autouse=True)
def quiet_optuna():
    optuna.logging.set_verbosity(optuna.logging.WARNING)


@settings(FUZZ, max_examples=250 * SCALE)
@given(doc=documents, model=st.sampled_from(["lstm", "gru_stacked", "tcn", "lightgbm"]))
def test_any_space_document_gives_sampleable_dimensions_or_a_clean_error(tmp_path_factory, doc, model):
    path = tmp_path_factory.mktemp("space") / "space.toml"
    path.write_text(toml_text(doc))
    check_space(path, model)


@settings(FUZZ, max_examples=150 * SCALE)
@given(cuts=st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=3)), min_size=1, max_size=4),
       truncate=st.one_of(st.none(), st.integers(0, 10**6)))
def test_the_default_space_mangled_at_random_bytes_loads_or_fails_cleanly(tmp_path_factory, cuts, truncate):
    raw = mangled(DEFAULT_SPACE.read_bytes(), cuts, truncate)
    path = tmp_path_factory.mktemp("mangled") / "space.toml"
    path.write_bytes(raw)
    check_space(path, "lstm")


RECIPE = b"""[model]
name = "lstm"
[model.params]
units = 4
[data]
data = "synthetic"
[window]
lookback = "1d"
horizons = "6h"
[training]
epochs = 2
lr = 0.001
"""


@settings(FUZZ, max_examples=150 * SCALE)
@given(cuts=st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=3)), min_size=1, max_size=4),
       truncate=st.one_of(st.none(), st.integers(0, 10**6)))
def test_a_recipe_file_mangled_at_random_bytes_loads_or_fails_cleanly(tmp_path_factory, cuts, truncate):
    """Both readers of recipe files: Recipe.from_toml (the library's) and read_recipe (train --config's)."""
    raw = mangled(RECIPE, cuts, truncate)
    path = tmp_path_factory.mktemp("recipe") / "recipe.toml"
    path.write_bytes(raw)
    for read in (Recipe.from_toml, read_recipe):
        try:
            read(path)
            event(f"{read.__name__}: read")
        except ForecastlabError as err:
            assert str(path) in (err.where or ""), err.paragraph()
            event(f"{read.__name__}: refused")
