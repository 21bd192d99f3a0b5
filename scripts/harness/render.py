"""Rendering the template with copier: the one place that calls ``copier.run_copy``."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import copier
import matrix
from copier.errors import DirtyLocalWarning

from harness import ROOT


def render(
    answers: Mapping[str, Any],
    dst: Path,
    *,
    template: Path = ROOT,
    vcs_ref: str | None = "HEAD",
    overwrite: bool = False,
) -> Path:
    """Render ``template`` into ``dst`` as ``copier copy --defaults --data ...`` would.

    ``vcs_ref="HEAD"`` renders the committed template plus any uncommitted changes of
    the checkout (copier includes them for a local HEAD, from a draft commit it makes),
    so what is rendered is the working tree; ``None`` renders the newest release tag.
    ``unsafe=False``: no answer may need ``--trust``. A rejected answer raises copier's
    ``ValueError`` and leaves ``dst`` as it was.
    """
    with warnings.catch_warnings():
        # Uncommitted changes are what a template author wants rendered while working.
        warnings.simplefilter("ignore", DirtyLocalWarning)
        copier.run_copy(
            str(template),
            str(dst),
            data=dict(answers),
            defaults=True,
            vcs_ref=vcs_ref,
            quiet=True,
            unsafe=False,
            overwrite=overwrite,
        )
    return dst


def render_variant(name: str, dst: Path, *, vcs_ref: str | None = "HEAD") -> Path:
    """Render the variant ``name`` of ``scripts/matrix.py`` into ``dst``."""
    variants = matrix.variants()
    if name not in variants:
        raise LookupError(f"unknown variant {name!r}; known: {', '.join(variants)}")
    return render(variants[name], dst, vcs_ref=vcs_ref)
