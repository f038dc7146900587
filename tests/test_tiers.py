"""The fast tier's lists in `conftest.py` name tests and modules that exist, so a renamed test
cannot leave a stale entry behind (it would silently join `make test-fast`)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import SESSION_MODULES, SLOW_MODULES, SLOW_TESTS

TESTS = Path(__file__).resolve().parent


def functions_of(module: str) -> set[str]:
    tree = ast.parse((TESTS / f"{module}.py").read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


def test_every_listed_module_exists() -> None:
    listed = SLOW_MODULES | SESSION_MODULES | set(SLOW_TESTS)
    assert sorted(m for m in listed if not (TESTS / f"{m}.py").is_file()) == []


def test_every_listed_test_exists_in_its_module() -> None:
    missing = {
        module: sorted(names - functions_of(module))
        for module, names in SLOW_TESTS.items()
        if (TESTS / f"{module}.py").is_file()
    }
    assert {module: names for module, names in missing.items() if names} == {}


def test_a_module_is_listed_whole_or_by_test_not_both() -> None:
    assert (SLOW_MODULES | SESSION_MODULES) & set(SLOW_TESTS) == set()
