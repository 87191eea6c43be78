"""The modules of ``genre_models.training`` import one another in one direction only: no cycle, counting the
imports inside functions (read from the source, so a lazy import cannot hide one)."""
from __future__ import annotations

import ast
from pathlib import Path

import genre_models

ROOT = Path(genre_models.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, name: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that module ``name`` (its ``source``) imports anywhere: top level or in a
    function."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[:len(parts) - (node.level - 1)])
                base = ".".join(filter(None, (anchor, base)))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from . import parallel`
    return {m for m in found if m in known and m != name}


def import_graph(package: str) -> dict[str, set[str]]:
    paths = sorted((ROOT.parent / package.replace(".", "/")).rglob("*.py"))
    known = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p.read_text(), module_name(p), p.name == "__init__.py", known)
            for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as [a, b, ..., a], or [] when there is none (depth-first search)."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_reads_imports_inside_functions_and_finds_cycles():
    known = {"pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.sub", "pkg.sub.d"}
    source = ("from .b import thing\nfrom . import c\n"
              "def later():\n    from .sub.d import other\n    from .. import outside\n")
    assert imported_modules(source, "pkg.a", False, known) == {"pkg", "pkg.b", "pkg.c", "pkg.sub.d"}
    assert imported_modules("from ..a import x\n", "pkg.sub.d", False, known) == {"pkg.a"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_training_modules_form_no_import_cycle():
    graph = import_graph("genre_models.training")
    assert len(graph) > 10
    assert find_cycle(graph) == []


def test_the_cache_and_the_process_group_meet_only_in_extract():
    # parallel's ranks and the cache's own loop share extract.py; either importing the other is how the
    # old circle began
    graph = import_graph("genre_models.training")
    cache, parallel, extract = (f"genre_models.training.{m}" for m in ("feature_cache", "parallel", "extract"))
    assert parallel not in graph[cache] and cache not in graph[parallel]
    assert extract in graph[cache] and extract in graph[parallel]
