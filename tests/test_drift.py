"""The hand-written interface docs say what the code does: units/README.md's tables of
the names each unit defines, each unit.jinja's header (the files beside it), and the
repository README's list of copier.yml's computed values.

Nothing is rendered: the units are read with Jinja's own parser (the macros and sets
each ``unit.jinja`` defines at its top level), and the templates' uses of a unit are
found the same way, through the name a template imports it as (``session_facts``,
``concurrency_code``, ...): ``alias.name``, ``alias["prefix_" ~ answer]`` and
``hook(alias, "name")``. A macro added, removed or renamed without its row in
units/README.md fails here, naming the row to write.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2
import matrix
from jinja2 import nodes

ROOT = matrix.ROOT
UNITS = ROOT / "units"
UNITS_README = UNITS / "README.md"
#: The unit questions: units/<question>/<value>/unit.jinja.
QUESTIONS = sorted(path.name for path in UNITS.iterdir() if path.is_dir())
#: Every Jinja source of the template: what a render can reach.
SOURCES = sorted(
    path
    for folder in ("template", "units", "includes")
    for path in (ROOT / folder).rglob("*")
    if path.is_file() and path.suffix in {".jinja", ".mako"}
)
_PARSER = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
#: A name cell of units/README.md: `name` (a set) or `name(arg, ...)` (a macro).
LISTED_NAME = re.compile(r"`(\w+)(\(([\w, ]*)\))?`")
#: A Jinja comment at the very start of a file.
HEADER = re.compile(r"\A\{#-?(.*?)-?#\}", re.DOTALL)
#: A file name a header or a README names: word characters and dots, ending in .jinja.
JINJA_FILE = re.compile(r"[\w.]+\.jinja\b")


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# ---------------------------------------------------------------------------------------
# What the units define
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Definition:
    """A top-level name of a unit.jinja: a macro with its parameters, or a set (None)."""

    name: str
    params: tuple[str, ...] | None

    def __str__(self) -> str:
        return self.name if self.params is None else f"{self.name}({', '.join(self.params)})"


def parse(path: Path) -> nodes.Template:
    return _PARSER.parse(path.read_text(encoding="utf-8"), name=relative(path))


@cache
def unit_files() -> dict[str, list[Path]]:
    """``{question: [units/<question>/<value>/unit.jinja, ...]}``."""
    return {q: sorted((UNITS / q).glob("*/unit.jinja")) for q in QUESTIONS}


def top_level(body: list[nodes.Node]) -> Iterator[nodes.Node]:
    """The nodes of a template's body, those inside an ``{% if %}`` included (a unit may
    define a name one way or another by another question's answer)."""
    for node in body:
        if isinstance(node, nodes.If):
            yield from top_level(node.body)
            for branch in node.elif_:
                yield from top_level([branch])
            yield from top_level(node.else_)
        else:
            yield node


@cache
def definitions(unit: Path) -> dict[str, Definition]:
    found: dict[str, Definition] = {}
    for node in top_level(parse(unit).body):
        if isinstance(node, nodes.Macro):
            found[node.name] = Definition(node.name, tuple(arg.name for arg in node.args))
        elif isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name):
            found[node.target.name] = Definition(node.target.name, None)
    return found


def defined_in(question: str) -> dict[str, list[Path]]:
    """Every name any unit of ``question`` defines, with the units that define it."""
    where: dict[str, list[Path]] = defaultdict(list)
    for unit in unit_files()[question]:
        for name in definitions(unit):
            where[name].append(unit)
    return where


# ---------------------------------------------------------------------------------------
# What the templates use
# ---------------------------------------------------------------------------------------
def path_pattern(expression: nodes.Node) -> str:
    """The files an import or include expression can name, as a glob.

    copier.yml's computed unit paths (``session_unit`` is ``units/session/{{ ... }}``)
    are spelled out with their answer as ``*``; any other variable is ``*``.
    """
    if isinstance(expression, nodes.Const) and isinstance(expression.value, str):
        return expression.value
    if isinstance(expression, nodes.Name):
        default = matrix.questions().get(expression.name, {}).get("default")
        if isinstance(default, str) and default.startswith("units/"):
            return re.sub(r"\{\{.*?\}\}", "*", default)
        return "*"
    if isinstance(expression, nodes.Concat):
        return "".join(path_pattern(part) for part in expression.nodes)
    return "*"


@dataclass
class Uses:
    """How the templates use the units of one question."""

    #: name (or glob, for ``alias["prefix_" ~ answer]``) -> [(file, units it may be)]
    direct: dict[str, list[tuple[str, list[Path]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    #: name -> files that ask for it with hook() (or ``alias.name | default(...)``)
    hooks: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def unit_imports(template: nodes.Template) -> dict[str, list[Path]]:
    """``{alias: [unit.jinja files the import may load]}`` for imports of units."""
    every_unit = [unit for units in unit_files().values() for unit in units]
    aliases = {}
    for node in template.find_all(nodes.Import):
        pattern = path_pattern(node.template)
        units = [unit for unit in every_unit if fnmatch.fnmatch(relative(unit), pattern)]
        if units:
            aliases[node.target] = units
    return aliases


def key_pattern(key: nodes.Node) -> str | None:
    if isinstance(key, nodes.Const) and isinstance(key.value, str):
        return key.value
    if isinstance(key, nodes.Concat | nodes.Add):
        parts = key.nodes if isinstance(key, nodes.Concat) else [key.left, key.right]
        return "".join(key_pattern(part) or "*" for part in parts)
    return None


def unit_uses(template: nodes.Template) -> Iterator[tuple[str, str, bool]]:
    """``(alias, name or glob, optional)`` for each use of an imported unit's name."""
    aliases = unit_imports(template)
    for call in template.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "hook" and call.args:
            unit, name = call.args[0], call.args[-1]
            if isinstance(unit, nodes.Name) and unit.name in aliases:
                assert isinstance(name, nodes.Const), "hook(unit, name) needs a literal name"
                yield unit.name, name.value, True
    # ``alias.name | default(...)``: an optional name, like a hook.
    optional = {id(node.node) for node in template.find_all(nodes.Filter) if node.name == "default"}
    for attr in template.find_all(nodes.Getattr):
        if isinstance(attr.node, nodes.Name) and attr.node.name in aliases:
            yield attr.node.name, attr.attr, id(attr) in optional
    for item in template.find_all(nodes.Getitem):
        if isinstance(item.node, nodes.Name) and item.node.name in aliases:
            pattern = key_pattern(item.arg)
            assert pattern, f"{item.node.name}[...] needs a literal key"
            yield item.node.name, pattern, False


@cache
def uses() -> dict[str, Uses]:
    """``{question: Uses}`` over every Jinja source of the template."""
    question_of = {unit: q for q, units in unit_files().items() for unit in units}
    found: dict[str, Uses] = defaultdict(Uses)
    for source in SOURCES:
        template = parse(source)
        aliases = unit_imports(template)
        for alias, name, optional in unit_uses(template):
            entry = found[question_of[aliases[alias][0]]]
            if optional:
                entry.hooks[name].append(relative(source))
            else:
                entry.direct[name].append((relative(source), aliases[alias]))
    return found


# ---------------------------------------------------------------------------------------
# What units/README.md lists
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    names: tuple[tuple[str, tuple[str, ...] | None], ...]
    kind: str
    line: str

    @property
    def only(self) -> tuple[str, ...]:
        """The units a row is about ("`sqlite` only", "`postgresql`, `mariadb` only"), or
        none."""
        match = re.fullmatch(r"((?:`?\w+`?, )*`?\w+`?) only", self.kind.strip())
        return tuple(value.strip("` ") for value in match[1].split(",")) if match else ()


def readme_sections() -> dict[str, str]:
    """units/README.md's text under each ``## `question` ...`` heading."""
    text = UNITS_README.read_text(encoding="utf-8")
    parts = re.split(r"^## `(\w+)`.*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def readme_rows(section: str) -> list[Row]:
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or cells[0] in {"name", ""}:
            continue
        if set(cells[0]) <= {"-", ":"}:
            continue
        names = tuple(
            (
                match[1],
                tuple(p.strip() for p in match[3].split(",") if p.strip()) if match[2] else None,
            )
            for match in LISTED_NAME.finditer(cells[0])
        )
        rows.append(Row(names, cells[1], line))
    return rows


def listed(question: str) -> dict[str, tuple[Row, tuple[str, ...] | None]]:
    return {
        name: (row, params)
        for row in readme_rows(readme_sections()[question])
        for name, params in row.names
    }


def unit_named(question: str, value: str) -> Path:
    return UNITS / question / value / "unit.jinja"


# ---------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------
def test_units_readme_has_a_section_per_question() -> None:
    assert sorted(readme_sections()) == QUESTIONS


def test_every_name_a_unit_defines_has_its_row() -> None:
    missing = {
        f"{question}: {definitions(units[0])[name]} (in {', '.join(u.parent.name for u in units)})"
        for question in QUESTIONS
        for name, units in defined_in(question).items()
        if name not in listed(question)
    }
    assert not missing, (
        "units/README.md has no row for these names the units define; add them to the "
        "question's table (required, a hook, or '`<value>` only'):\n" + "\n".join(sorted(missing))
    )


def test_every_row_is_what_the_units_define() -> None:
    """Each listed name exists where its kind says, as a set or a macro with those
    parameters; a required name is in every unit of its question."""
    problems = []
    for question in QUESTIONS:
        for name, (row, params) in listed(question).items():
            if row.only:
                units = [unit_named(question, value) for value in row.only]
            elif "hook" in row.kind:
                units = defined_in(question).get(name, [])
                if not units:
                    problems.append(f"{question}: hook {name} is defined by no unit")
            elif "required" in row.kind:
                units = unit_files()[question]
            else:
                problems.append(
                    f"{question}: kind {row.kind!r} is not required, hook(s) or '`<value>` only'"
                )
                continue
            for unit in units:
                found = definitions(unit).get(name) if unit.exists() else None
                if found is None:
                    problems.append(f"{relative(unit)} does not define {name} ({row.kind})")
                elif found.params != params:
                    written = str(Definition(name, params))
                    problems.append(
                        f"{relative(unit)} defines {found}, units/README.md says {written}"
                    )
    assert not problems, "\n".join(problems)


def test_names_the_templates_use_are_listed_and_defined() -> None:
    """A name used as ``alias.name`` must be defined by every unit the alias may be, and
    listed as required (or for that one unit); a name asked with hook() must be listed
    as a hook and defined by some unit."""
    problems = []
    for question, found in uses().items():
        rows = listed(question)
        for pattern, places in found.direct.items():
            names = [name for name in rows if fnmatch.fnmatch(name, pattern)]
            if not names:
                problems.append(f"{question}: {pattern} (used in {places[0][0]}) has no row")
            for name in names:
                kind = rows[name][0].kind
                if "hook" in kind:
                    problems.append(
                        f"{question}: {name} is used directly in {places[0][0]}, listed as {kind}"
                    )
            # A name some units only define is used through an alias that can only be one
            # of them (database.py's ``server``: PostgreSQL's or MariaDB's unit).
            only = {value for name in names for value in rows[name][0].only}
            for source, units in places:
                for unit in units:
                    if only and unit.parent.name not in only:
                        continue
                    if not any(fnmatch.fnmatch(name, pattern) for name in definitions(unit)):
                        problems.append(
                            f"{source} uses {pattern}, which {relative(unit)} does not define"
                        )
        for name, sources in found.hooks.items():
            if name not in rows or "hook" not in rows[name][0].kind:
                problems.append(
                    f"{question}: {name} is optional in {sources[0]} but not listed as a hook"
                )
            if name not in defined_in(question):
                problems.append(
                    f"{question}: hook {name} (asked in {sources[0]}) is defined by no unit"
                )
    assert not problems, "\n".join(problems)


def test_every_listed_name_is_used() -> None:
    """A row for a name no template asks for is a leftover."""
    unused = []
    for question in QUESTIONS:
        found = uses()[question]
        used = set(found.hooks) | {
            name
            for name in defined_in(question)
            for pattern in found.direct
            if fnmatch.fnmatch(name, pattern)
        }
        unused += [f"{question}: {name}" for name in listed(question) if name not in used]
    assert not unused, "units/README.md lists names no template uses:\n" + "\n".join(unused)


def test_unit_headers_name_the_files_beside_them() -> None:
    """Each unit.jinja starts with a comment that names every file beside it, and
    names no file that is not there."""
    problems = []
    for units in unit_files().values():
        for unit in units:
            header = HEADER.match(unit.read_text(encoding="utf-8"))
            named = set(JINJA_FILE.findall(header[1])) if header else set()
            beside = {path.name for path in unit.parent.iterdir() if path.name != unit.name}
            problems += [
                f"{relative(unit)}'s header does not name {name}" for name in sorted(beside - named)
            ]
            problems += [
                f"{relative(unit)}'s header names {name}, which is not beside it"
                for name in sorted(named - beside - {"unit.jinja"})
            ]
    assert not problems, "\n".join(problems)


def test_every_file_of_a_unit_reaches_a_render() -> None:
    """A file beside a unit.jinja is included or imported by some template (its stub in
    template/, or another file of the unit): none is left behind."""
    reached: set[str] = set()
    for source in SOURCES:
        template = parse(source)
        for node in template.find_all((nodes.Include, nodes.Import, nodes.FromImport)):
            assert isinstance(node, nodes.Include | nodes.Import | nodes.FromImport)
            reached.add(path_pattern(node.template))
    orphans = [
        relative(path)
        for path in sorted(UNITS.rglob("*.jinja"))
        if path.name != "unit.jinja"
        and not any(fnmatch.fnmatch(relative(path), pattern) for pattern in reached)
    ]
    assert not orphans, "no template includes or imports these unit files:\n" + "\n".join(orphans)


def test_docs_name_only_files_that_exist() -> None:
    """Every ``*.jinja`` file README.md and units/README.md name exists in the template."""
    existing = {
        path.name
        for folder in ("template", "units", "includes")
        for path in (ROOT / folder).rglob("*.jinja")
    }
    problems = [
        f"{doc} names {name}"
        for doc in ("README.md", "units/README.md")
        for name in re.findall(r"`([\w.]+\.jinja)`", (ROOT / doc).read_text(encoding="utf-8"))
        if name not in existing
    ]
    assert not problems, "these files do not exist:\n" + "\n".join(problems)


def computed_values() -> set[str]:
    return {name for name, spec in matrix.questions().items() if spec.get("when") is False}


def test_readme_lists_every_computed_value() -> None:
    """README.md's paragraph on what copier.yml computes names each computed value, and
    nothing else in backticks that looks like one."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraphs = [p for p in readme.split("\n\n") if p.startswith("copier.yml computes")]
    assert len(paragraphs) == 1, "README.md has no paragraph starting 'copier.yml computes'"
    named = set(re.findall(r"`(\w+)`", paragraphs[0]))
    assert named == computed_values(), (
        f"computed by copier.yml but not in README.md: {sorted(computed_values() - named)}; "
        f"in README.md but not computed: {sorted(named - computed_values())}"
    )


def test_every_computed_value_is_used() -> None:
    """Each is used by a template, or by another computed value."""
    texts = [path.read_text(encoding="utf-8") for path in SOURCES]
    texts += [str(matrix.questions()[name]["default"]) for name in computed_values()]
    text = "\n".join(texts)
    unused = sorted(name for name in computed_values() if not re.search(rf"\b{name}\b", text))
    assert not unused, f"copier.yml computes values no template uses: {unused}"


QUICK_LOOP_COMMAND = "python -m pytest -n 2 -m quick"


def test_quick_loop_is_documented_and_selects_what_it_lists() -> None:
    """The README and docs/contributing.md give the quick loop's command, and each
    entry of conftest's QUICK_LOOP still names tests (a renamed test would otherwise
    drop out of the loop unnoticed)."""
    from tests.conftest import QUICK_LOOP

    for doc in ("README.md", "docs/contributing.md"):
        assert QUICK_LOOP_COMMAND in (ROOT / doc).read_text(encoding="utf-8"), doc
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    empty = [entry for entry in QUICK_LOOP if not any(f"/{entry}" in line for line in collected)]
    assert not empty, f"QUICK_LOOP entries that select no test: {empty}"
