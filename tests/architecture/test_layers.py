"""Imports only go down the layers of docs/architecture.md: a package never imports one of a higher layer."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "lit_interactions"

# Lowest first; a unit may import units of lower layers and its own package, nothing of its layer or above.
LAYERS: list[set[str]] = [
    {"io", "checks"},
    {"interactions"},
    {"players"},
    {"models", "data"},
    {"modules", "analysis", "explainer"},
    {"callbacks"},
    {"run", "reports"},
    {"resume"},
    {"cli", "__init__"},
]
LEVEL = {unit: level for level, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str:
    """``lit_interactions.players.image`` -> ``players``; ``lit_interactions.cli`` -> ``cli``."""
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, unit) of every import of the package in ``path``, type-checking-only imports included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lit_interactions":
            names = [a.name for a in node.names] if node.module == "lit_interactions" else [None]
            for name in names:
                found.append((node.lineno, name if name else unit_of(node.module)))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, unit_of(a.name)) for a in node.names if a.name.startswith("lit_interactions.")]
    return found


def violations() -> list[str]:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        unit = "__init__" if relative == Path("__init__.py") else relative.parts[0].removesuffix(".py")
        assert unit in LEVEL, f"{relative}: the package {unit!r} has no layer in LAYERS (add it, and to the doc)"
        for line, target in imports(path):
            if target == unit or target not in LEVEL:
                continue  # inside its own package, or a name of the top-level package
            if LEVEL[target] >= LEVEL[unit]:
                wrong.append(f"{relative}:{line} ({unit}, layer {LEVEL[unit]}) imports {target} (layer {LEVEL[target]})")
    return wrong


def test_imports_only_go_down_the_layers() -> None:
    assert violations() == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The check is not blind: an interactions module importing the callbacks is reported."""
    bad = tmp_path / "m.py"
    bad.write_text("from lit_interactions.callbacks.monitor import InteractionMonitor\nimport lit_interactions.io.atomic\n")
    assert imports(bad) == [(1, "callbacks"), (2, "io")]
    assert LEVEL["callbacks"] > LEVEL["interactions"]


def test_the_architecture_doc_names_every_layer() -> None:
    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    missing = [unit for unit in LEVEL if unit not in ("__init__", "checks", "run") and f"`{unit}" not in doc]
    assert missing == []


def test_benchmarks_import_no_test_files() -> None:
    """Benchmarks use the package's own fixtures (``interactions.games``, ``models.tiny_lms``), never ``tests``."""
    wrong = []
    for path in sorted((PACKAGE.parent / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            wrong += [f"{path.name}:{node.lineno} imports {n}" for n in names if n.split(".")[0] == "tests"]
    assert wrong == []
