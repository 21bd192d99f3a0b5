"""The documentation site builds with no warning, and shows code rendered from the template.

``mkdocs build --strict`` turns every warning (a broken link, a missing page) into a
failure; docs/hooks.py fails the build when a page names a variant, file or definition
the template does not have. The variants the pages show are the session's renders
(``rendered``), handed to the build through ``DOCS_RENDERS``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from tests.support import ROOT, VARIANTS, isolated_environ, run

MARKER = re.compile(r"\[\[code (\S+) ")


def hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shown_variants() -> set[str]:
    return {
        variant
        for page in (ROOT / "docs").rglob("*.md")
        for variant in MARKER.findall(page.read_text(encoding="utf-8"))
    }


def test_pages_show_only_offered_variants() -> None:
    assert shown_variants() <= set(VARIANTS)


def test_site_builds_strictly_with_rendered_code(
    rendered: Callable[[str], Path], tmp_path: Path
) -> None:
    renders = {rendered(variant).parent for variant in sorted(shown_variants())}
    assert len(renders) == 1, renders
    site = tmp_path / "site"
    result = run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", site],
        cwd=ROOT,
        env=isolated_environ(DOCS_RENDERS=str(renders.pop()), NO_MKDOCS_2_WARNING="1"),
        timeout=300,
    )
    assert result.returncode == 0, result.describe()
    assert "WARNING" not in result.output, result.describe()
    explicit = (site / "patterns" / "explicit" / "index.html").read_text(encoding="utf-8")
    # The definition as rendered (highlighted, so look for its words, not its markup).
    assert "process" in explicit
    assert "sessions" in explicit
    assert "[[code" not in explicit
    matrix_page = (site / "proof-matrix" / "index.html").read_text(encoding="utf-8")
    for variant, answers in VARIANTS.items():
        # Worker strategies are proven by their own suites, not by the matrix.
        if answers["database"] == "sqlite" and answers["background_tasks"] != "celery":
            assert variant in matrix_page, f"{variant} missing from the proof matrix page"
    questions = (site / "questions" / "index.html").read_text(encoding="utf-8")
    assert "session_style" in questions
    assert "commit_strategy" in questions


def test_a_page_naming_a_missing_definition_fails_the_build() -> None:
    module = hooks()
    source = "class UserService:\n    def process(self) -> None:\n        pass\n"
    assert "def process" in module.extract(source, "UserService.process", "services.py")
    with pytest.raises(module.MarkerError, match=r"has no 'UserService.create'.*process"):
        module.extract(source, "UserService.create", "services.py")
    with pytest.raises(module.MarkerError, match="unknown variant"):
        module.rendered("sqlite-sync-nonexistent-fastapi")
