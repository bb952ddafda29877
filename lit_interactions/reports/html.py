"""Render a report page (sections of text, tables and figures) to a self-standing HTML file with jinja2.

Figures are PNG files beside the page (``figures/``), referenced by relative paths. Interactive plots
(:class:`PlotRef`) are plotly figures as JSON data in the page, drawn by a script file written beside it
(``plotly.min.js``). Nothing is loaded from elsewhere (no CDN, no remote style, an empty inline favicon), so
every page opens offline and in any browser.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
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
class PlotRef:
    """An interactive plot: the plotly figure's JSON (``{"data": ..., "layout": ...}``) drawn into ``<div id>``."""

    anchor: str
    figure_json: str
    caption: str = ""

    def script_safe_json(self) -> str:
        """The JSON with ``<``, ``>`` and ``&`` escaped, so no text in it can close the ``<script>`` holding it."""
        return self.figure_json.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass
class Section:
    """One section of a report: a heading, paragraphs, tables and figures, or why it is empty.

    Attributes:
        title: the heading (``<h2>``).
        anchor: the HTML id (for the table of contents).
        paragraphs: text before the tables (plain text, escaped).
        tables: tables.
        figures: figures.
        plots: interactive plots (the page must load plotly, see :func:`write_page`'s ``scripts``).
        missing: when set, the section says this plainly instead (e.g. which file is absent and how to get it).
    """

    title: str
    anchor: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[FigureRef] = field(default_factory=list)
    plots: list[PlotRef] = field(default_factory=list)
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


def render_page(title: str, subtitle: str, sections: list[Section], scripts: Sequence[str] = ()) -> str:
    """The HTML text of a report page; ``scripts`` are script files beside it (relative paths)."""
    return _environment().get_template("page.html.j2").render(
        title=title,
        subtitle=subtitle,
        sections=sections,
        scripts=list(scripts),
        generated=datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
    )


def write_page(path: str | os.PathLike[str], title: str, subtitle: str, sections: list[Section],
               scripts: Sequence[str] = ()) -> Path:
    """Render and write the page atomically; returns its path.

    Args:
        scripts: script files the page loads, relative to it (``plotly.min.js`` for pages with plots).

    Raises:
        FileNotFoundError: if a figure or script the page references is not beside it.
    """
    target = Path(path)
    sources = [figure.src for section in sections for figure in section.figures] + list(scripts)
    for src in sources:
        if not (target.parent / src).is_file():
            raise FileNotFoundError(f"the report {target} references {src}, which was not written")
    atomic_write_text(target, render_page(title, subtitle, sections, scripts))
    return target
