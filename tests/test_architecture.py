"""The import graph runs one way, down the data flow (see forecastlab/__init__.py): every import of every
module under src/forecastlab, at module level or inside a function, is read with `ast` and checked."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "forecastlab"

# Lowest first: a layer may import its own modules and those of the layers before it, never one after.
LAYERS = ["data", "windows", "models", "evaluation", "reporting", "training", "tasks", "reproduce", "deploy", "tuning",
          "cli"]
# Importable from anywhere; they import only each other (the package root holds __version__).
CROSS_CUTTING = {"forecastlab", "forecastlab.atomic", "forecastlab.errors", "forecastlab.console"}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def imports_of(path: Path, known: set[str], root: Path = PACKAGE) -> set[str]:
    """The forecastlab modules `path` imports, anywhere in the file. `from pkg import name` counts as an
    import of pkg.name when that is a module, else of pkg; the parent packages an import loads on the way
    are not counted (importing a.b.c runs a/__init__ too, but a module cannot avoid that)."""
    own = module_name(path, root)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {_existing(alias.name, known) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(_existing(f"{base}.{alias.name}", known) or _existing(base, known))
    return {m for m in found if m} - {own}


def _existing(name: str, known: set[str]) -> str | None:
    """`name`, or its longest prefix that is a forecastlab module (`forecastlab.x.attr` -> `forecastlab.x`)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    found = modules(root)
    return {name: imports_of(path, set(found), root) for name, path in found.items()}


def layer(module: str) -> str | None:
    """The layer of a module (None: cross-cutting); `forecastlab.__main__` belongs to the CLI."""
    if module in CROSS_CUTTING:
        return None
    top = module.split(".")[1]
    return "cli" if top == "__main__" else top


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first search meets, each as the path that closes it."""
    found, state, path = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def violations(edges: dict[str, set[str]]) -> list[str]:
    """Each import that goes up the layers, or from a cross-cutting module into a layer."""
    bad = []
    for module, targets in sorted(edges.items()):
        for target in sorted(targets):
            source_layer, target_layer = layer(module), layer(target)
            if target_layer is None:
                continue
            if source_layer is None:
                bad.append(f"{module} (cross-cutting) imports {target} ({target_layer})")
            elif LAYERS.index(target_layer) > LAYERS.index(source_layer):
                bad.append(f"{module} ({source_layer}) imports {target}, a higher layer ({target_layer})")
    return bad


@pytest.fixture(scope="module")
def edges():
    return graph()


def test_every_module_belongs_to_a_layer(edges):
    assert {layer(m) for m in edges} - {None} == set(LAYERS)


def test_no_import_cycles_between_modules_or_layers(edges):
    assert cycles(edges) == []
    by_layer: dict[str, set[str]] = {}
    for module, targets in edges.items():
        if layer(module) is not None:
            by_layer.setdefault(layer(module), set()).update(
                layer(t) for t in targets if layer(t) not in (None, layer(module)))
    assert cycles(by_layer) == []


def test_each_layer_imports_only_itself_and_the_layers_below(edges):
    assert violations(edges) == []


def test_reporting_never_imports_training(edges):
    assert not [(m, t) for m, targets in edges.items() if layer(m) == "reporting" for t in targets
                if layer(t) == "training"]


def test_the_checks_catch_an_upward_import_even_inside_a_function(tmp_path):
    """A copy of the package with one lazy upward import (windows -> training) and one lazy cycle
    (data.jena <-> data.download, as there once was) fails the checks."""
    import shutil

    root = tmp_path / "forecastlab"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
    spec = root / "windows" / "spec.py"
    late = "\n\ndef _late():\n    from {} import {}  # noqa\n"
    spec.write_text(spec.read_text() + late.format("forecastlab.training", "train"))
    download = root / "data" / "download.py"
    download.write_text(download.read_text() + late.format("forecastlab.data.jena", "JENA_CSV"))
    edges = graph(root)
    assert "forecastlab.windows.spec (windows) imports forecastlab.training, a higher layer (training)" in \
        violations(edges)
    assert any({"forecastlab.data.download", "forecastlab.data.jena"} == set(c) for c in cycles(edges))


def test_the_tests_mirror_the_package():
    """tests/<part>/ for each subpackage of forecastlab (data, windows, models, ...), and no other folders."""
    tests = Path(__file__).resolve().parent
    parts = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    folders = {p.name for p in tests.iterdir() if p.is_dir() and p.name not in ("fixtures", "__pycache__")}
    assert folders <= parts, folders - parts  # every test folder names a part of the package
    assert parts <= folders, parts - folders  # and every part of the package has its tests
    for folder in folders:
        assert list((tests / folder).glob("test_*.py")), folder
