"""What a user reads (README, docs/, configs, callback YAMLs, HTML templates and report text) is self-contained:
no pointer to the developers' spec or to files outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
USER_FILES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "configs").rglob("*.yaml")),
    *sorted((ROOT / "callbacks").glob("*.yaml")),
    *sorted((ROOT / "lit_interactions" / "reports").rglob("*.j2")),
    *sorted((ROOT / "lit_interactions" / "reports").glob("*.py")),  # report text is built there
]
OUTSIDE = re.compile(r"\.\./shared|/work/shared|\bSPEC\b")


def test_user_docs_never_point_at_the_developers_spec_or_outside_files() -> None:
    assert len(USER_FILES) > 20 and (ROOT / "docs" / "conventions.md") in USER_FILES
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in USER_FILES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert hits == []


def test_the_pattern_catches_what_it_must() -> None:
    for bad in ("see ../shared/SPEC.md", "salience (SPEC 5)", "/work/shared/papers"):
        assert OUTSIDE.search(bad)
    assert not OUTSIDE.search("SPECIAL tokens, spectral norm, spec")
