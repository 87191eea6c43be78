"""The package's import graph: no circle, and every import points down the layers (docs/architecture.md).

Every import counts: at module level, inside functions and under ``if TYPE_CHECKING:``; an import of a
package counts as an import of its ``__init__``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "genre_models"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = PACKAGE) -> nx.DiGraph:
    """Module -> the package's modules it imports (resolved: ``from . import x`` is the module ``x`` when
    there is one, else the package)."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            else:
                continue
            for target in targets:
                if target in modules and target != name:
                    graph.add_edge(name, target)
    return graph


def test_the_package_has_no_import_circle():
    cycles = list(nx.simple_cycles(import_graph()))
    assert cycles == [], "import circles: " + "; ".join(" -> ".join(c + c[:1]) for c in cycles[:5])


def test_the_graph_sees_imports_inside_functions_and_a_circle_through_them(tmp_path):
    package = tmp_path / "genre_models"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models" / "__init__.py").write_text("")
    (package / "models" / "a.py").write_text("from . import b\n")
    (package / "models" / "b.py").write_text("def late():\n    from .a import thing\n")
    graph = import_graph(package)
    assert graph.has_edge("genre_models.models.a", "genre_models.models.b")
    assert graph.has_edge("genre_models.models.b", "genre_models.models.a")
    assert list(nx.simple_cycles(graph))


@pytest.mark.parametrize("lower, upper", [
    ("genre_models.models.families", "genre_models.models.predictors"),  # families build; predictors answer
    ("genre_models.models.registry", "genre_models.models.families"),
    ("genre_models.models", "genre_models.comparison"),
    ("genre_models.models", "genre_models.training"),
    ("genre_models.models", "genre_models.explain"),
    ("genre_models.models", "genre_models.cli"),
    ("genre_models.data", "genre_models.models"),
    ("genre_models.data", "genre_models.training"),
    ("genre_models.data", "genre_models.comparison"),
    ("genre_models.data", "genre_models.explain"),
    ("genre_models.data", "genre_models.cli"),
    ("genre_models.training", "genre_models.comparison"),
    ("genre_models.training", "genre_models.explain"),
    ("genre_models.training", "genre_models.cli"),
    ("genre_models.explain", "genre_models.training"),
    ("genre_models.explain", "genre_models.comparison"),
    ("genre_models.explain", "genre_models.cli"),
    ("genre_models.comparison", "genre_models.cli"),
    ("genre_models.errors", "genre_models.data"),
    ("genre_models.files", "genre_models.data"),
])
def test_imports_point_down(lower, upper):
    graph = import_graph()
    up = [(a, b) for a, b in graph.edges if (a == lower or a.startswith(lower + "."))
          and (b == upper or b.startswith(upper + "."))]
    assert up == [], f"{lower} must not import {upper}: {up}"
