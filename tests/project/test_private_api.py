"""Canaries: each attribute of another library that the playground relies on without it being public
(``playground/_private_api.py`` lists them) still exists, with the shape relied on. When a release moves
one, the failing test's id names the library and the attribute, and its message says what changed."""

from __future__ import annotations

import ast
import pathlib

import pytest

import playground
from playground._private_api import RELIED_ON, Reliance

PACKAGE = pathlib.Path(playground.__file__).parent


@pytest.mark.parametrize("reliance", RELIED_ON, ids=lambda r: f"{r.library}:{r.attribute}")
def test_each_relied_on_attribute_still_has_its_shape(reliance: Reliance) -> None:
    reliance.check()


def test_every_entry_says_what_where_and_why() -> None:
    for reliance in RELIED_ON:
        assert reliance.shape and reliance.used_by and reliance.why


# Private names of other libraries that the package must reach only through playground/_private_api.py.
ELSEWHERE_FORBIDDEN = {"_task_states", "_parent_scope", "magics", "type_printers", "_get_running_loop",
                       "_content", "LifespanOn"}


def test_no_module_but_the_list_reaches_into_another_librarys_private_attributes() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_private_api.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = None
            if isinstance(node, ast.Attribute):
                name = node.attr
            elif isinstance(node, ast.alias):
                name = node.name.rsplit(".", 1)[-1]
            if name in ELSEWHERE_FORBIDDEN:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {name}")
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module != "__future__":
                private = [part for part in node.module.split(".") if part.startswith("_")]
                if private or any(alias.name.startswith("_") for alias in node.names):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: from {node.module} import ...")
    assert found == []
