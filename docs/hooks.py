"""MkDocs hooks: code and results in the pages come from the template, never from a paste.

Markers, each alone on a line of a page's Markdown:

``[[code VARIANT PATH SYMBOL]]``
    The source of ``SYMBOL`` (a function, a class, or ``Class.method``) in ``PATH`` of the
    variant ``VARIANT`` (a name from ``scripts/matrix.py``), rendered from this checkout
    (uncommitted changes included) once per build. ``PATH`` starts with ``<slug>/``,
    which stands for the project's package. A variant, file or name that does not exist
    fails the build, so a page cannot keep showing code the template no longer has.
``[[code VARIANT PATH]]``
    The whole file.
``[[source PATH SYMBOL]]``
    The same for a file of this repository (``reference/...``).
``[[proof-matrix DATABASE]]``, ``[[proof-failures DATABASE]]``
    The table of ``docs/proof-matrix.json`` for a database, and the reason of every
    failing cell.
``[[include PATH]]``
    Another file under ``docs/`` if it exists (the benchmark's results), else a note
    saying how to produce it.
``[[pool-times DATABASE]]``
    How long each subject took for the matrix's concurrent slow calls.
``[[questions]]``
    copier.yml's questions as a table.

``DOCS_RENDERS=DIR`` makes the build use ``DIR/<variant>`` where it exists instead of
rendering (the template's tests pass the renders they have made anyway).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

# scripts/ holds the variant list, the code extractor and the harness that renders.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import matrix
import snippets
from harness import ROOT
from harness.render import render_variant

SLUG = "example_service"
MARKER = re.compile(
    r"^(?P<indent>[ \t]*)\[\[(?P<kind>[a-z-]+)(?P<args>(?: +\S+)*)\]\][ \t]*$", re.MULTILINE
)
STATUS = {"pass": "✅ pass", "fail": "❌ fail", "n/a": "—"}

_renders: dict[str, Path] = {}
_folder: Path | None = None


class MarkerError(Exception):
    """A marker that names something that does not exist: the build must fail."""


def on_pre_build(config: Any) -> None:
    global _folder
    _renders.clear()
    _folder = Path(tempfile.mkdtemp(prefix="docs-renders-"))


def on_post_build(config: Any) -> None:
    if _folder is not None:
        shutil.rmtree(_folder, ignore_errors=True)


def rendered(variant: str) -> Path:
    """The render of ``variant`` for this build (rendered on first use)."""
    if variant not in _renders:
        variants = matrix.variants()
        if variant not in variants:
            raise MarkerError(f"unknown variant {variant!r}; known: {', '.join(variants)}")
        given = Path(os.environ.get("DOCS_RENDERS", "/nonexistent")) / variant
        if given.is_dir():
            _renders[variant] = given
            return given
        assert _folder is not None
        _renders[variant] = render_variant(variant, _folder / variant)
    return _renders[variant]


def extract(source: str, symbol: str, where: str) -> str:
    """The source of ``symbol`` (see scripts/snippets.py); a missing name fails the build."""
    code = snippets.definition(source, symbol)
    if code is None:
        owner, _, _ = symbol.rpartition(".")
        available = ", ".join(snippets.names(source, owner))
        raise MarkerError(f"{where} has no {symbol!r} (it defines: {available})")
    return code


def fence(code: str, title: str) -> str:
    return f'```python title="{title}"\n{code.rstrip()}\n```'


def code_block(args: list[str]) -> str:
    if len(args) not in (2, 3):
        raise MarkerError(f"[[code VARIANT PATH [SYMBOL]]] takes 2 or 3 arguments, got {args}")
    variant, path = args[0], args[1].replace("<slug>", SLUG)
    file = rendered(variant) / path
    if not file.is_file():
        raise MarkerError(f"variant {variant} has no file {path}")
    source = file.read_text(encoding="utf-8")
    if len(args) == 2:
        return fence(source, f"{path} ({variant})")
    return fence(extract(source, args[2], f"{path} of {variant}"), f"{path} ({variant})")


def source_block(args: list[str]) -> str:
    if len(args) not in (1, 2):
        raise MarkerError(f"[[source PATH [SYMBOL]]] takes 1 or 2 arguments, got {args}")
    file = ROOT / args[0]
    if not file.is_file():
        raise MarkerError(f"this repository has no file {args[0]}")
    source = file.read_text(encoding="utf-8")
    code = source if len(args) == 1 else extract(source, args[1], args[0])
    return fence(code, args[0])


def load_matrix(database: str) -> dict[str, Any]:
    path = ROOT / "docs" / "proof-matrix.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if database not in data:
        raise MarkerError(f"docs/proof-matrix.json has no results for {database!r}")
    result: dict[str, Any] = data[database]
    return result


def matrix_table(args: list[str]) -> str:
    result = load_matrix(args[0])
    behaviours = result["behaviours"]
    header = (
        "| subject | " + " | ".join(f"{b['contract']}. {b['title']}" for b in behaviours) + " |"
    )
    rule = "|---|" + "---|" * len(behaviours)
    lines = [header, rule]
    for row in result["subjects"]:
        kind = "offered" if row["kind"] == "offered" else "**counter-example**"
        cells = []
        for behaviour in behaviours:
            cell = row["cells"][behaviour["id"]]
            cells.append(STATUS[cell["status"]])
        lines.append(f"| `{row['id']}`<br>{row['label']}, {kind} | " + " | ".join(cells) + " |")
    versions = ", ".join(f"{name} {version}" for name, version in result["versions"].items())
    settings = ", ".join(f"`{key}={value}`" for key, value in result["settings"].items())
    lines += [
        "",
        f"Measured on {args[0]} with {versions}; every subject ran with {settings}. "
        f"The run took {result['seconds']} s.",
    ]
    return "\n".join(lines)


def matrix_failures(args: list[str]) -> str:
    result = load_matrix(args[0])
    titles = {b["id"]: f"{b['contract']}. {b['title']}" for b in result["behaviours"]}
    lines = []
    for row in result["subjects"]:
        failures = [
            (titles[behaviour], cell["detail"])
            for behaviour, cell in row["cells"].items()
            if cell["status"] == "fail"
        ]
        if not failures:
            continue
        lines.append(f"**`{row['id']}`** ({row['label']}, `{row['source']}`):")
        lines.append("")
        lines += [f"- *{title}*: {escape(detail)}" for title, detail in failures]
        lines.append("")
    return "\n".join(lines) if lines else "No cell fails."


def pool_times(args: list[str]) -> str:
    """How long each subject took to answer the pool probe's concurrent slow calls."""
    result = load_matrix(args[0])
    lines = [
        "| subject | 18 concurrent `process` calls took | all answered 200 |",
        "|---|---|---|",
    ]
    for row in result["subjects"]:
        seconds = row.get("measured", {}).get("pool_seconds")
        if seconds is None:
            continue
        passed = STATUS[row["cells"]["pool"]["status"]]
        lines.append(f"| `{row['id']}` ({row['label']}) | {seconds:.1f} s | {passed} |")
    return "\n".join(lines)


def escape(text: str) -> str:
    return text.replace("<", "&lt;").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def include(args: list[str]) -> str:
    path = ROOT / "docs" / args[0]
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return (
        f'!!! note "No results yet"\n    `docs/{args[0]}` is not in this checkout. '
        "The benchmark command below writes it; rebuild the site afterwards."
    )


def questions_table(args: list[str]) -> str:
    """copier.yml's questions (computed values left out), with their help and choices."""
    lines = ["| question | values | default | help |", "|---|---|---|---|"]
    for name, spec in matrix.questions().items():
        if spec.get("when") is False:
            continue
        values = (
            ", ".join(f"`{value}`" for value in matrix.choices(name))
            if "choices" in spec
            else spec.get("type", "str")
        )
        default = spec.get("default", "")
        default = f"`{default}`" if default != "" and "{" not in str(default) else "derived"
        asked = (
            ""
            if "when" not in spec
            else " Asked only when `" + str(spec["when"]).strip("{} ") + "`."
        )
        help_text = " ".join(str(spec.get("help", "")).split())
        lines.append(f"| `{name}` | {values} | {default} | {escape(help_text)}{asked} |")
    return "\n".join(lines)


HANDLERS = {
    "questions": questions_table,
    "code": code_block,
    "source": source_block,
    "proof-matrix": matrix_table,
    "proof-failures": matrix_failures,
    "pool-times": pool_times,
    "include": include,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        kind, args = match.group("kind"), match.group("args").split()
        handler = HANDLERS.get(kind)
        if handler is None:
            raise MarkerError(f"{page.file.src_path}: unknown marker [[{kind}]]")
        try:
            text = handler(args)
        except MarkerError as error:
            raise MarkerError(f"{page.file.src_path}: {error}") from None
        indent = match.group("indent")
        return "\n".join(indent + line if line else line for line in text.splitlines())

    return MARKER.sub(replace, markdown)
