"""Pull one definition out of a Python file by name, for the docs and the compare command.

A name is ``function``, ``Class``, ``CONSTANT`` (a module-level assignment) or
``Class.method``. Picking code by name, not by line numbers, keeps working when the
code around it moves.
"""

from __future__ import annotations

import ast


def defined_name(node: ast.stmt) -> str | None:
    """The name a statement defines (def, class, single-target assignment), or None."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    return None


def names(source: str, within: str = "") -> list[str]:
    """The names defined at the top of ``source`` (or of class ``within``)."""
    body: list[ast.stmt] = ast.parse(source).body
    if within:
        found = [node for node in body if defined_name(node) == within]
        body = getattr(found[0], "body", []) if found else []
    return sorted(filter(None, map(defined_name, body)))


def definition(source: str, symbol: str) -> str | None:
    """The source lines of ``symbol``, decorators included and dedented; None if absent."""
    body: list[ast.stmt] = ast.parse(source).body
    node: ast.stmt | None = None
    for part in symbol.split("."):
        matches = [child for child in body if defined_name(child) == part]
        if not matches:
            return None
        node = matches[0]
        body = getattr(node, "body", [])
    if node is None or node.end_lineno is None:
        return None
    decorators = getattr(node, "decorator_list", [])
    first = min([node.lineno, *(decorator.lineno for decorator in decorators)])
    lines = source.splitlines()[first - 1 : node.end_lineno]
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines)
