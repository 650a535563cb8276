"""Every Lambda handler traces with Powertools: Terraform turns X-Ray tracing on for every
function (modules/function: Active by default, with the X-Ray write permission) and sets
POWERTOOLS_TRACE_DISABLED when it is off, so the code side must always hold a Tracer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HANDLERS = sorted((Path(__file__).resolve().parents[2] / "lambdas").glob("*/handler.py"))


def _decorators(tree: ast.Module, function: str) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return [ast.unparse(decorator) for decorator in node.decorator_list]
    return []


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda path: path.parent.name)
def test_each_handler_has_a_module_tracer_around_its_entry_point(handler: Path) -> None:
    # GIVEN a function's handler module
    tree = ast.parse(handler.read_text())
    # WHEN its module-level assignments and its entry point's decorators are read
    tracers = [node for node in tree.body if isinstance(node, ast.Assign)
               and ast.unparse(node.value) == "Tracer()"]
    decorators = _decorators(tree, "lambda_handler")
    # THEN it creates one Tracer at module level and captures the handler with it
    assert len(tracers) == 1, f"{handler}: no module-level Tracer()"
    assert any(decorator.startswith("tracer.capture_lambda_handler")
               for decorator in decorators), f"{handler}: handler not traced"


def test_every_function_is_covered() -> None:
    # GIVEN the lambdas package WHEN its handlers are listed THEN every packaged function's
    # handler is checked (shardline/packaging.py FUNCTIONS)
    from shardline.packaging import FUNCTIONS

    assert sorted(path.parent.name for path in HANDLERS) == sorted(FUNCTIONS)
