"""What a team typically does to a generated service, and what a template release changes.

``team_edit(project)`` applies, as plain text edits that fit every variant, the changes a
team makes in its first weeks: a new route in a new module (registered in ``main.py``,
with its own test), a changed service method, a README paragraph and a ``.env.example``
line. Applied to an old render and then updated, or applied to a fresh render of the
new version, it must give the same tree: that is what "the edits survive and everything
else is the new template" means, file by file.

``release_changes(template)`` is the template side: the edits that make release 0.2.0 of
a temporary clone differ from 0.1.0. They touch files the team also edits (in other
places) and files it does not.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import read_answers

#: The route the team adds, in a module of its own. Where the service declares the errors
#: every route can answer (``api/responses.py``), the team follows that convention.
VERSION_MODULE = '''\
"""The service's version, for deployment checks."""

from importlib.metadata import version

from fastapi import APIRouter
{import_responses}
router = APIRouter(tags=["meta"]{responses})


@router.get("/version")
def service_version() -> dict[str, str]:
    """The version of the installed distribution."""
    return {{"version": version("{dist}")}}
'''

VERSION_TEST = """\
from fastapi.testclient import TestClient


def test_version_is_the_installed_distribution(client: TestClient) -> None:
    response = client.get("/version")
    assert response.status_code == 200
    assert response.json() == {"version": "0.1.0"}
"""

README_NOTE = "Owned by the payments team; on call: #payments-oncall.\n"
ENV_NOTE = "# Team: the staging values are in the team vault, entry payments/staging.\n"
LIST_COMPREHENSION = "return [UserRead.model_validate(user) for user in users]"
LIST_MAP = (
    "# Team: validate with the bound method, no per-row lambda or comprehension.\n"
    "{indent}return list(map(UserRead.model_validate, users))"
)


def _replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: expected exactly one {old!r} to edit"
    path.write_text(text.replace(old, new))


def team_edit(project: Path, *, service_method: bool = True) -> None:
    """Apply the team's edits to a rendered ``project`` (any variant)."""
    slug = read_answers(project)["project_slug"]
    package = project / slug
    declares_errors = (package / "api" / "responses.py").is_file()
    (package / "api" / "version.py").write_text(
        VERSION_MODULE.format(
            dist=slug.replace("_", "-"),
            import_responses=(
                f"\nfrom {slug}.api.responses import ANY_ROUTE\n" if declares_errors else ""
            ),
            responses=", responses=ANY_ROUTE" if declares_errors else "",
        )
    )
    (project / "tests" / "test_version.py").write_text(VERSION_TEST)
    openapi_test = project / "tests" / "test_openapi.py"
    if openapi_test.is_file() and "\nDECLARED = {\n" in openapi_test.read_text():
        # The suite pins the routes and what each declares: the new one joins them.
        _replace_once(
            openapi_test,
            "\nDECLARED = {\n",
            '\nDECLARED = {\n    ("get", "/version"): {"200"} | ERRORS,\n',
        )
    main = package / "main.py"
    _replace_once(
        main,
        f"from {slug}.api import health, users\n",
        f"from {slug}.api import health, users, version\n",
    )
    _replace_once(
        main,
        "    app.include_router(users.router)\n",
        "    app.include_router(users.router)\n    app.include_router(version.router)\n",
    )
    if service_method:
        edit_service_method(package / "services.py")
    readme = project / "README.md"
    lines = readme.read_text().splitlines(keepends=True)
    # After the title and the description paragraph.
    assert lines[0].startswith("# "), lines[:3]
    assert lines[1] == "\n", lines[:3]
    end = lines.index("\n", 2)
    readme.write_text("".join([*lines[: end + 1], README_NOTE, "\n", *lines[end + 1 :]]))
    env = project / ".env.example"
    first, rest = env.read_text().split("\n", 1)
    env.write_text(f"{first}\n{ENV_NOTE}{rest}")


def edit_service_method(services: Path) -> None:
    """The team's change to ``UserService.list_page`` (any session pattern, sync or async)."""
    text = services.read_text()
    method = re.search(r"def list_page\(.*?\n(?=\n|\Z)", text, re.DOTALL)
    assert method, f"{services}: no list_page method to edit"
    body = method.group(0)
    line = re.search(rf"^( *){re.escape(LIST_COMPREHENSION)}$", body, re.MULTILINE)
    assert line, f"{services}: list_page does not end as expected:\n{body}"
    edited = body.replace(LIST_COMPREHENSION, LIST_MAP.format(indent=line.group(1)))
    services.write_text(text.replace(body, edited))


def resolve_with_the_template_side(path: Path) -> None:
    """Resolve copier's inline conflicts in ``path`` by keeping the updated template's lines."""
    kept: list[str] = []
    side = None
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith("<<<<<<< before updating"):
            side = "ours"
        elif side == "ours" and line.rstrip("\n") == "=======":
            side = "theirs"
        elif side == "theirs" and line.startswith(">>>>>>> after updating"):
            side = None
        elif side != "ours":
            kept.append(line)
    assert side is None, f"{path}: unterminated conflict"
    path.write_text("".join(kept))


# ---------------------------------------------------------------------------------------
# The template's side: release 0.2.0 of a temporary clone
# ---------------------------------------------------------------------------------------
DELETE_SIGNATURE = "def delete(self, user_id: int) -> None:\n"
DELETE_DOCSTRING = '        """Delete the user; their emails go with them (ON DELETE CASCADE)."""\n'
README_SECTION = (
    "\n## Support\n\nQuestions about this service go to {{ author_name }} ({{ author_email }}).\n"
)
ENV_SECTION = (
    "\n# Log level of the service's own loggers (not read by 0.2.0 yet).\n# LOG_LEVEL=INFO\n"
)
PYPROJECT_SECTION = '\n[tool.coverage.run]\nbranch = true\nsource = ["{{ project_slug }}"]\n'
OPERATIONS_DOC = (
    "# Operations\n\nRestart with `docker compose restart app`; migrate before a new release.\n"
)


def release_changes(template: Path) -> None:
    """Edit a template clone as release 0.2.0 does (the caller commits and tags)."""
    for services in sorted((template / "variants" / "session").glob("*/services.py.jinja")):
        text = services.read_text()
        assert text.count(DELETE_SIGNATURE) == 1, f"{services}: no single delete method"
        services.write_text(text.replace(DELETE_SIGNATURE, DELETE_SIGNATURE + DELETE_DOCSTRING))
    for name, section in (
        ("README.md.jinja", README_SECTION),
        (".env.example.jinja", ENV_SECTION),
        ("pyproject.toml.jinja", PYPROJECT_SECTION),
    ):
        path = template / "template" / name
        path.write_text(path.read_text().rstrip("\n") + "\n" + section)
    (template / "template" / "docs").mkdir(exist_ok=True)
    (template / "template" / "docs" / "operations.md").write_text(OPERATIONS_DOC)
