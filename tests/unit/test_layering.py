"""One package per process, dependencies pointing down only (checked on the source, not by convention).

sga          engines: content, answers, checklists, scenarios, search, outcomes. No Rasa.
actions      the action server (rasa-sdk): may use sga.
rasa_addons  what the Rasa server loads (channels, NLU components): may use sga and Rasa.
sga_tools    tools people and CI run: may use anything; nothing imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set

import pytest

from sga.settings import PROJECT_ROOT

PACKAGES = ("sga", "actions", "rasa_addons", "sga_tools")
FORBIDDEN = {
    "sga": {"rasa", "rasa_sdk", "sanic", "spacy", "tensorflow", "actions", "rasa_addons", "sga_tools"},
    "actions": {"rasa", "spacy", "tensorflow", "rasa_addons", "sga_tools"},
    "rasa_addons": {"rasa_sdk", "actions", "sga_tools"},
    "sga_tools": {"actions", "rasa_addons"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Set[str]:
    """Every module imported anywhere in the file (top level or inside functions)."""
    found: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def project_modules() -> Dict[str, Set[str]]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            modules[module_name(path)] = imports_of(path)
    return modules


MODULES = project_modules()


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_its_process_may(package):
    wrong = {
        f"{module} imports {imported}"
        for module, imported_names in MODULES.items()
        if module.split(".")[0] == package
        for imported in imported_names
        if imported.split(".")[0] in FORBIDDEN[package]
    }
    assert not wrong, sorted(wrong)


def test_nothing_imports_the_tools():
    wrong = {
        f"{m} imports {i}"
        for m, names in MODULES.items()
        if not m.startswith("sga_tools")
        for i in names
        if i.split(".")[0] == "sga_tools"
    }
    assert not wrong, sorted(wrong)


def test_no_import_circles():
    graph = {m: {i for i in names if i in MODULES and i != m} for m, names in MODULES.items()}
    # A package's __init__ importing its own submodules is not a circle worth reporting.
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not (t.startswith(module + "."))}
    state: Dict[str, int] = {}
    path: list = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(target) :] + [target]))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_checker_sees_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from rasa.core.channels import channel\n", encoding="utf-8")
    assert "rasa.core.channels" in imports_of(sample)
