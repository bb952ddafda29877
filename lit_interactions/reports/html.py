"""Render a report page (sections of text, tables and figures) to a self-standing HTML file with jinja2.

Figures are PNG files beside the page (``figures/``), referenced by relative paths; the page loads nothing
else (no script, no remote style, an empty inline favicon), so it opens offline and in any browser.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from lit_interactions.io.atomic import atomic_write_text

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass
class Table:
    """A table: column names and rows of cells (numbers are formatted when rendered)."""

    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""


@dataclass
class FigureRef:
    """A figure file, relative to the page, with its caption."""

    src: str
    caption: str = ""


@dataclass
class Section:
    """One section of a report: a heading, paragraphs, tables and figures, or why it is empty.

    Attributes:
        title: the heading (``<h2>``).
        anchor: the HTML id (for the table of contents).
        paragraphs: text before the tables (plain text, escaped).
        tables: tables.
        figures: figures.
        missing: when set, the section says this plainly instead (e.g. which file is absent and how to get it).
    """

    title: str
    anchor: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[FigureRef] = field(default_factory=list)
    missing: str | None = None


def format_cell(value: Any) -> str:
    """A table cell as text: floats with 4 significant digits, NaN and None as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "–" if not math.isfinite(value) else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_cell(v) for v in value)
    return str(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = format_cell
    return env


def render_page(title: str, subtitle: str, sections: list[Section]) -> str:
    """The HTML text of a report page."""
    return _environment().get_template("page.html.j2").render(
        title=title,
        subtitle=subtitle,
        sections=sections,
        generated=datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
    )


def write_page(path: str | os.PathLike[str], title: str, subtitle: str, sections: list[Section]) -> Path:
    """Render and write the page atomically; returns its path.

    Raises:
        FileNotFoundError: if a figure the page references is not beside it.
    """
    target = Path(path)
    for section in sections:
        for figure in section.figures:
            if not (target.parent / figure.src).is_file():
                raise FileNotFoundError(f"the report {target} references {figure.src}, which was not written")
    atomic_write_text(target, render_page(title, subtitle, sections))
    return target
