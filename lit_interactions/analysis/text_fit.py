"""Wrap a figure's titles and axis labels to the room they have, so that a long run name is never clipped.

Matplotlib's own ``wrap=True`` breaks only at spaces, and run names (``recipe/20261128-220432-592650``) have none:
here lines break after a space, ``/``, ``-``, ``_`` or ``,``, and inside a word only when nothing else fits.
Widths are measured with the text's own font (``TextToPath``), in inches.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from matplotlib.textpath import TextToPath

_MEASURE = TextToPath()
_BREAKS = re.compile(r"(?<=[ /_,-])")  # break opportunities: after these characters
_MARGIN_INCHES = 0.1  # kept free at the figure's edges


def text_width(text: str, font: FontProperties) -> float:
    """The width of one line of ``text`` in ``font``, in inches."""
    width, _, _ = _MEASURE.get_text_width_height_descent(text, font, ismath=False)
    return width / 72


def wrap_to_width(text: str, font: FontProperties, width: float) -> str:
    """``text`` with line breaks so that every line is at most ``width`` inches wide (at least a character a line).

    Breaks after a space, ``/``, ``-``, ``_`` or ``,`` where it can, else inside a word; existing line breaks stay.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _BREAKS.split(paragraph):
            if text_width(line + token, font) <= width or not line.strip():
                line += token
            else:
                lines.append(line.rstrip())
                line = token.lstrip()
            while len(line) > 1 and text_width(line.rstrip(), font) > width:  # one token wider than the room
                cut = max(1, max(i for i in range(1, len(line) + 1) if text_width(line[:i], font) <= width or i == 1))
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line.rstrip())
    return "\n".join(lines)


def _texts(fig: Figure) -> Iterator[tuple[Text, Axes | None, str]]:
    """Every axes title and axis label, and the suptitle, with their axes and the direction they run in."""
    for ax in fig.axes:
        yield ax.title, ax, "x"
        yield ax.xaxis.label, ax, "x"
        yield ax.yaxis.label, ax, "y"
    suptitle = getattr(fig, "_suptitle", None)  # matplotlib keeps no public handle on the Text
    if isinstance(suptitle, Text):
        yield suptitle, None, "x"


def _room(fig: Figure, ax: Axes | None, direction: str) -> float:
    """Inches available: the figure's width for the suptitle, else the axes' width (height for a y label)."""
    width, height = fig.get_size_inches()
    if ax is None:
        return width - 2 * _MARGIN_INCHES
    box = ax.get_position()
    return box.width * width if direction == "x" else box.height * height


def _too_wide(fig: Figure, text: Text, ax: Axes | None, direction: str, slack: float = 1.0) -> bool:
    """Whether a line of ``text`` is wider than ``slack`` times its room."""
    content = text.get_text()
    if not content or "$" in content:  # mathtext is measured and drawn differently: left as written
        return False
    limit = slack * _room(fig, ax, direction)
    return any(text_width(line, text.get_fontproperties()) > limit for line in content.split("\n"))


def fit_texts(fig: Figure) -> Figure:
    """Wrap every title and axis label of ``fig`` that is wider than its axes (the suptitle: than the figure).

    Axes sizes before the layout (the subplot parameters) are close to the final ones: only when a text comes
    within 10 % of its room there is the layout computed once (``draw_without_rendering``) to wrap to the final
    sizes, so figures whose texts fit cost nothing more. Returns ``fig``.
    """
    if not any(_too_wide(fig, text, ax, direction, slack=0.9) for text, ax, direction in _texts(fig)):
        return fig
    fig.draw_without_rendering()  # the constrained layout's final axes sizes
    for text, ax, direction in _texts(fig):
        if _too_wide(fig, text, ax, direction):
            text.set_text(wrap_to_width(text.get_text(), text.get_fontproperties(), _room(fig, ax, direction)))
    return fig
