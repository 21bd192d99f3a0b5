"""Every session pattern's service offers the same operations with the same signatures.

The patterns differ in where units of work begin and end, not in what a route can ask
of the service: a route written against one pattern's ``UserService`` must work against
another's. Read from each render's ``<slug>/services.py`` with ``ast`` (no environment
needed): the public methods of its public classes, each with its parameters (name,
kind, annotation and default as written) and return annotation. Async renders differ
only in that every operation is ``async def``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

PATTERNS = ("explicit", "service_commit", "dependency_commit")
CONCURRENCY = ("sync", "async")
#: Operations every service offers, whatever the background strategy.
COMMON_OPERATIONS = {
    "create",
    "list_page",
    "get",
    "update",
    "delete",
    "process",
    "list_emails",
    "import_users",
}
#: The welcome is the service's operation too: recorded by the route or by a background
#: task (send_welcome), or queued in the outbox for the Celery worker (queue_welcome).
WELCOME_OPERATIONS = {
    "none": {"send_welcome"},
    "fastapi": {"send_welcome"},
    "celery": {"queue_welcome"},
}


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str
    annotation: str | None
    default: str | None


@dataclass(frozen=True)
class Operation:
    is_async: bool
    parameters: tuple[Parameter, ...]
    returns: str | None

    def shape(self) -> tuple[tuple[Parameter, ...], str | None]:
        """The signature apart from ``async``."""
        return self.parameters, self.returns


def text(node: ast.expr | None) -> str | None:
    return None if node is None else ast.unparse(node)


def parameters(arguments: ast.arguments) -> tuple[Parameter, ...]:
    positional = [*arguments.posonlyargs, *arguments.args]
    # Defaults belong to the last positional parameters.
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    defaults += arguments.defaults
    kinds = ["positional-only"] * len(arguments.posonlyargs)
    kinds += ["positional-or-keyword"] * len(arguments.args)
    result = [
        Parameter(arg.arg, kind, text(arg.annotation), text(default))
        for arg, kind, default in zip(positional, kinds, defaults, strict=True)
    ]
    if arguments.vararg is not None:
        vararg = arguments.vararg
        result.append(Parameter(vararg.arg, "var-positional", text(vararg.annotation), None))
    result += [
        Parameter(arg.arg, "keyword-only", text(arg.annotation), text(default))
        for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
    ]
    if arguments.kwarg is not None:
        kwarg = arguments.kwarg
        result.append(Parameter(kwarg.arg, "var-keyword", text(kwarg.annotation), None))
    return tuple(result)


def service_operations(source: str) -> dict[str, dict[str, Operation]]:
    """Public class -> public method -> its operation, from a module's source."""
    classes: dict[str, dict[str, Operation]] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
            continue
        classes[node.name] = {
            method.name: Operation(
                isinstance(method, ast.AsyncFunctionDef),
                parameters(method.args),
                text(method.returns),
            )
            for method in node.body
            if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef)
            and not method.name.startswith("_")
        }
    return classes


def variant(pattern: str, concurrency: str, background: str) -> str:
    return f"sqlite-{concurrency}-{pattern}-{background}"


@pytest.mark.parametrize("background", sorted(WELCOME_OPERATIONS))
def test_every_pattern_offers_the_same_operations(
    background: str, rendered: Callable[[str], Path]
) -> None:
    services: dict[tuple[str, str], dict[str, dict[str, Operation]]] = {}
    for pattern in PATTERNS:
        for concurrency in CONCURRENCY:
            project = rendered(variant(pattern, concurrency, background))
            source = (project / "example_service" / "services.py").read_text()
            services[pattern, concurrency] = service_operations(source)

    reference_key = ("explicit", "sync")
    reference = services[reference_key]
    assert "UserService" in reference, f"no UserService in {sorted(reference)}"
    assert set(reference["UserService"]) == COMMON_OPERATIONS | WELCOME_OPERATIONS[background]
    shapes = {
        key: {
            cls: {name: operation.shape() for name, operation in methods.items()}
            for cls, methods in classes.items()
        }
        for key, classes in services.items()
    }
    for key, classes in services.items():
        assert shapes[key] == shapes[reference_key], (
            f"{key} differs from {reference_key}:\n{shapes[key]}\n!=\n{shapes[reference_key]}"
        )
        awaited = {
            f"{cls}.{name}"
            for cls, methods in classes.items()
            for name, operation in methods.items()
            if operation.is_async != (key[1] == "async")
        }
        assert not awaited, f"{key}: {sorted(awaited)} are not {key[1]} like the rest"


def test_signatures_tell_apart_what_a_caller_would_notice() -> None:
    """The comparison has teeth: each kind of difference changes what is compared."""
    base = "class S:\n    def op(self, user_id: int, *, limit: int = 5) -> str: ...\n"
    variants = {
        "async": base.replace("def op", "async def op"),
        "renamed parameter": base.replace("user_id", "uid"),
        "annotation": base.replace("user_id: int", "user_id: str"),
        "kind": base.replace("*, ", ""),
        "default": base.replace("= 5", "= 6"),
        "return": base.replace("-> str", "-> bytes"),
        "missing operation": "class S:\n    def other(self) -> None: ...\n",
    }
    [reference] = service_operations(base)["S"].values()
    assert reference.is_async is False
    assert [p.name for p in reference.parameters] == ["self", "user_id", "limit"]
    for change, source in variants.items():
        assert service_operations(source) != service_operations(base), change
    # A private helper or a private class is not part of what routes can call.
    private = base + "    def _helper(self) -> None: ...\n\n\nclass _Hidden:\n    pass\n"
    assert service_operations(private) == service_operations(base)
