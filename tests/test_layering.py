"""The package's imports run one way: core <- data/models <- eval <- train <- widgets/cli.

Every ``import`` of every module counts, at module top or inside a function (a lazy import is
still a dependency). The source is parsed, not imported, so this test is fast and needs no
optional dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import napari_clickseg

PACKAGE = "napari_clickseg"
ROOT = Path(napari_clickseg.__file__).resolve().parent

#: which layers each layer may import (its own included); ``api`` is the package's __init__
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "data": {"core", "data"},
    "models": {"core", "models"},
    "eval": {"core", "data", "models", "eval"},
    "train": {"core", "data", "models", "eval", "train"},
    "widgets": {"core", "data", "models", "eval", "train", "widgets"},
    "cli": {"core", "data", "models", "eval", "train", "widgets", "cli"},
    "api": {"core", "models"},
}

#: GUI libraries only the front ends may import
GUI = ("napari", "qtpy", "magicgui", "PyQt5", "PyQt6", "PySide2", "PySide6", "superqt")


def _module_name(path: Path) -> str:
    parts = (PACKAGE, *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)


def _imports(source: str, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """Modules of the package that module ``name`` (source text ``source``) imports.

    ``from . import x`` names module ``x``; ``from .m import f`` names module ``m``.
    """
    package = name if is_package else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # ``from pkg import module`` imports the module; ``from module import name`` the module
            targets = [t for t in (f"{mod}.{a.name}" for a in node.names) if t in modules] or [mod]
        else:
            continue
        for t in targets:
            while t and t not in modules and "." in t:
                t = t.rpartition(".")[0]
            if t in modules and t != name:
                out.add(t)
    return out


def _graph() -> dict[str, set[str]]:
    files = sorted(ROOT.rglob("*.py"))
    modules = {_module_name(f) for f in files}
    return {_module_name(f): _imports(f.read_text(), _module_name(f), f.name == "__init__.py", modules)
            for f in files}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"
    return parts[1]


def test_every_module_belongs_to_a_layer():
    unknown = sorted(m for m in _graph() if _layer(m) not in ALLOWED)
    assert not unknown, f"modules outside the layers {sorted(ALLOWED)}: {unknown}"


def test_no_module_imports_a_layer_above_it():
    bad = [
        f"{m} ({_layer(m)}) imports {t} ({_layer(t)})"
        for m, targets in _graph().items()
        for t in sorted(targets)
        if _layer(t) not in ALLOWED[_layer(m)]
    ]
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def test_there_is_no_import_cycle():
    graph = _graph()
    # drop edges into a package's own __init__ from its submodules: Python runs it first anyway
    edges = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("layer", ["core", "data", "models", "eval", "train"])
def test_gui_libraries_stay_in_the_front_ends(layer):
    bad = []
    for f in sorted((ROOT / layer).rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            bad += [f"{f.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in GUI]
    assert not bad, f"{layer} imports a GUI library: {bad}"


def test_the_checker_resolves_relative_and_lazy_imports():
    """A core module importing models and data (one of them lazily) is seen importing both."""
    modules = set(_graph())
    probe = "from ..models import registry\n\ndef f():\n    from ..data.readers import read_image\n"
    got = _imports(probe, f"{PACKAGE}.core._probe", False, modules)
    assert got == {f"{PACKAGE}.models.registry", f"{PACKAGE}.data.readers"}
    assert _layer(f"{PACKAGE}.models.registry") not in ALLOWED["core"]
