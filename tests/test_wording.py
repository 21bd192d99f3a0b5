"""A render's comments and docstrings speak only of its own variant, and its code keeps
no leftovers of the other concurrency.

Every variant talks to both SQLite and PostgreSQL (its tests run on both), so both
backends' drivers of its own concurrency are fair words; the other concurrency's are
not. The words come from the template itself: the drivers each database unit names
for ``sync`` and ``async``, and the values copier.yml computes for each concurrency
(``AsyncSession`` or ``Session``, ...). A comment may still name what its own file's
code uses (a sync render's exception handlers are ``async def``).
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import jinja2
import matrix
import pytest

from tests.support import VARIANT_NAMES, VARIANTS

CONCURRENCIES = matrix.choices("concurrency")
DATABASE_UNITS = sorted((matrix.ROOT / "units" / "database").glob("*/unit.jinja"))
#: Files of a render whose ``#`` comments are read (Python files are read with tokenize).
COMMENTED = {".toml", ".yml", ".yaml", ".ini", ".cfg", ".example"}
COMMENTED_NAMES = {"Dockerfile", ".gitignore", ".dockerignore"}
#: Words each concurrency has besides copier.yml's values and the drivers.
#: "In sync code, ..." is a sentence about the other variant.
EXTRA_WORDS = {
    "sync": ("run_in_threadpool", "in sync code"),
    "async": ("greenlet", "in async code"),
}


@cache
def words_of(concurrency: str) -> frozenset[str]:
    """What a render of ``concurrency`` may say that the other's may not: copier.yml's
    computed values for it, and the drivers the database units name for it."""
    values = {
        str(jinja2.Template(spec["default"]).render(concurrency=concurrency)).strip()
        for spec in matrix.questions().values()
        if spec.get("when") is False and "concurrency" in str(spec.get("default"))
    }
    loader = jinja2.Environment(loader=jinja2.FileSystemLoader(matrix.ROOT))
    names = ""
    for unit in DATABASE_UNITS:
        facts = loader.get_template(unit.relative_to(matrix.ROOT).as_posix()).make_module(
            {"project_slug": "x", "concurrency": concurrency}
        )
        drivers, labels = getattr(facts, "drivers"), getattr(facts, "driver_labels")  # noqa: B009
        # "postgresql+asyncpg" and "asyncpg"; "sqlite+pysqlite" and "pysqlite".
        names += f" {drivers[concurrency].split('+')[1]} {labels[concurrency]}"
    values |= set(re.findall(r"[A-Za-z_][\w.]*", names))
    values |= set(EXTRA_WORDS[concurrency])
    # Words of code only: not the unit paths or is_async's True and False.
    return frozenset(
        value.lstrip(".")
        for value in values
        if re.fullmatch(r"[\w. ]+", value) and value not in {"True", "False"}
    )


def foreign_words(concurrency: str) -> list[str]:
    """The other concurrency's words that are not also this one's."""
    others = (words_of(other) for other in CONCURRENCIES if other != concurrency)
    return sorted(frozenset().union(*others) - words_of(concurrency))


def word_pattern(word: str) -> re.Pattern[str]:
    """A word as code says it. A class name that is also an English word (``Session``,
    ``Engine``) counts only as code: in backticks, or followed by ``(``, ``[`` or an
    attribute."""
    word = re.escape(word.strip())
    if re.fullmatch(r"[A-Z][a-z]+", word):
        return re.compile(rf"(?<=`){word}(?!\w)|(?<![\w.]){word}(?=[`(\[]|\.\w)")
    return re.compile(rf"(?<![\w.]){word}(?!\w)", re.IGNORECASE if " " in word else 0)


# ---------------------------------------------------------------------------------------
# Reading a render: prose (comments, docstrings) apart from code
# ---------------------------------------------------------------------------------------
def python_prose(source: str) -> tuple[list[tuple[int, str]], str]:
    """``([(line, comment or docstring)], the code without them)``."""
    prose: list[tuple[int, str]] = []
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ) and (doc := ast.get_docstring(node, clean=False)):
            first = node.body[0]
            prose.append((first.lineno, doc))
            docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    code_lines = source.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            prose.append((token.start[0], token.string))
            row, col = token.start
            code_lines[row - 1] = code_lines[row - 1][:col]
    code = "\n".join(line for number, line in enumerate(code_lines, 1) if number not in docstrings)
    return prose, code


def hash_prose(source: str) -> tuple[list[tuple[int, str]], str]:
    prose, code = [], []
    for number, line in enumerate(source.splitlines(), 1):
        before, hash_, comment = line.partition("#")
        if hash_:
            prose.append((number, comment))
        code.append(before)
    return prose, "\n".join(code)


def prose_of(path: Path) -> tuple[list[tuple[int, str]], str] | None:
    if path.suffix == ".py":
        return python_prose(path.read_text(encoding="utf-8"))
    if path.suffix in COMMENTED or path.name in COMMENTED_NAMES:
        return hash_prose(path.read_text(encoding="utf-8"))
    if path.name == "README.md":
        text = path.read_text(encoding="utf-8")
        return [(1, text)], ""
    return None


def untrue_words(project: Path, concurrency: str) -> Iterator[str]:
    patterns = [(word, word_pattern(word)) for word in foreign_words(concurrency)]
    for path in sorted(project.rglob("*")):
        if not path.is_file() or ".venv" in path.parts:
            continue
        found = prose_of(path)
        if found is None:
            continue
        prose, code = found
        for word, pattern in patterns:
            if pattern.search(code):
                continue  # the file's own code uses it
            for line, text in prose:
                for match in pattern.finditer(text):
                    offset = text.count("\n", 0, match.start())
                    yield f"{path.relative_to(project)}:{line + offset}: {word!r}"


# ---------------------------------------------------------------------------------------
# Leftover syntax: parentheses that only made sense around an ``await``
# ---------------------------------------------------------------------------------------
def needless_parentheses(source: str) -> Iterator[tuple[int, str]]:
    """Grouping parentheses around a plain call, attribute or name that is then called,
    indexed or read from, as ``(session.scalars(query)).all()``: in async code they held
    an ``await``; in sync code they hold nothing."""
    tokens = [
        token
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type not in {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT}
    ]
    lines = source.splitlines()
    opened: list[tuple[int, bool]] = []
    for index, token in enumerate(tokens):
        if token.string in "([{" and token.type == tokenize.OP:
            before = tokens[index - 1] if index else None
            grouping = token.string == "(" and (
                before is None
                or (before.type == tokenize.OP and before.string not in ")]}")
                or (before.type == tokenize.NAME and keyword.iskeyword(before.string))
            )
            opened.append((index, grouping))
        elif token.string in ")]}" and token.type == tokenize.OP:
            start, grouping = opened.pop()
            after = tokens[index + 1] if index + 1 < len(tokens) else None
            if not grouping or after is None or after.string not in {".", "[", "("}:
                continue
            inner = text_between(lines, tokens[start].end, token.start)
            try:
                expression = ast.parse(inner.strip(), mode="eval").body
            except SyntaxError:
                continue
            if isinstance(expression, ast.Call | ast.Attribute | ast.Name | ast.Subscript):
                yield tokens[start].start[0], f"({inner.strip()}){after.string}"


def text_between(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    if start[0] == end[0]:
        return lines[start[0] - 1][start[1] : end[1]]
    middle = lines[start[0] : end[0] - 1]
    return "\n".join([lines[start[0] - 1][start[1] :], *middle, lines[end[0] - 1][: end[1]]])


# ---------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------
def test_each_concurrency_has_words_the_other_lacks() -> None:
    """The word lists are read from the template: they must find something to look for."""
    for concurrency in CONCURRENCIES:
        words = foreign_words(concurrency)
        assert words, f"no words of the other concurrency to look for in {concurrency}"
    assert "asyncpg" in foreign_words("sync")
    assert "AsyncSession" in foreign_words("sync")
    assert "psycopg" in foreign_words("async")


def test_finds_the_other_concurrencys_words_and_leftovers() -> None:
    """The readers see what they are meant to see."""
    source = (
        '"""Uses asyncpg."""\n\nimport x  # an AsyncSession\n\n\nasync def f() -> None:\n'
        "    return (x.y(1)).z\n"
    )
    prose, code = python_prose(source)
    assert [line for line, _ in prose] == [1, 3]
    assert "asyncpg" not in code
    assert "async def" in code
    assert list(needless_parentheses(source)) == [(7, "(x.y(1)).")]
    assert word_pattern("Session").search("a `Session` or Session(bind=x)")
    assert not word_pattern("Session").search("## Session pattern; an AsyncSession.")
    assert not list(needless_parentheses("(await x.y(1)).z\nf(a)(b)\nprint((a + b).c)\n"))


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_comments_speak_of_their_own_concurrency(
    variant: str, rendered: Callable[[str], Path]
) -> None:
    concurrency = VARIANTS[variant]["concurrency"]
    found = list(untrue_words(rendered(variant), concurrency))
    assert not found, (
        f"comments or docstrings of this {concurrency} render name the other "
        "concurrency's words:\n" + "\n".join(found)
    )


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_code_has_no_parentheses_left_from_await(
    variant: str, rendered: Callable[[str], Path]
) -> None:
    project = rendered(variant)
    found = [
        f"{path.relative_to(project)}:{line}: {text}"
        for path in sorted(project.rglob("*.py"))
        if ".venv" not in path.parts
        for line, text in needless_parentheses(path.read_text(encoding="utf-8"))
    ]
    assert not found, "grouping parentheses around a plain expression:\n" + "\n".join(found)
