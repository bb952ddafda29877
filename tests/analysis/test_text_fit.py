"""Titles and axis labels wider than their axes are wrapped (never clipped); texts that fit are left alone."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from lit_interactions.analysis import save_figure, shared_by_order_figure
from lit_interactions.analysis.text_fit import fit_texts, text_width, wrap_to_width

LONG = "a-very-long-recipe-name-for-transplant/20261128-220432-592651"


def test_wrapping_breaks_at_separators_and_every_line_fits() -> None:
    font = Figure().add_subplot().title.get_fontproperties()
    wrapped = wrap_to_width(f"{LONG}: 41% of salient strength shared", font, 2.0)
    lines = wrapped.split("\n")
    assert len(lines) > 2 and all(text_width(line, font) <= 2.0 for line in lines)
    assert "".join(lines).replace(" ", "") == f"{LONG}:41%ofsalientstrengthshared"  # nothing lost
    assert lines[0].endswith(("-", "/"))  # broken after a separator, not inside a word
    assert wrap_to_width("x" * 40, font, 0.5).count("\n") >= 3  # no separator at all: cut inside the word
    assert wrap_to_width("short", font, 2.0) == "short"


def test_a_compare_figure_with_long_run_names_has_no_text_wider_than_its_room(tmp_path) -> None:
    rng = np.random.default_rng(0)
    total_pos, total_neg = rng.random((2, 6)), -rng.random((2, 6))
    fig = shared_by_order_figure(total_pos / 2, total_neg / 2, total_pos, total_neg, ["run/a", LONG], "own")
    too_wide = text_width(fig.axes[1].get_title(), fig.axes[1].title.get_fontproperties())
    assert too_wide > fig.get_figwidth()  # as drawn before: clipped on both sides
    fit_texts(fig)
    width = fig.get_figwidth()
    for ax in fig.axes:
        lines = ax.get_title().split("\n")
        room = ax.get_position().width * width
        assert all(text_width(line, ax.title.get_fontproperties()) <= room for line in lines), lines
    assert fig.axes[0].get_title() == "run/a: 50% of salient strength shared"  # it fitted: unchanged
    assert len(fig.axes[1].get_title().split("\n")) >= 2
    save_figure(fig, tmp_path / "shared.png")  # save_figure fits the texts itself


@pytest.mark.parametrize("label", ["eta^avg", "$\\eta^{avg}$ of " + LONG])
def test_short_and_math_texts_are_left_as_written(label: str) -> None:
    fig = Figure(figsize=(4, 3), layout="constrained")
    ax = fig.add_subplot()
    ax.set(title=label, xlabel=label)
    fit_texts(fig)
    assert ax.get_title() == label and ax.get_xlabel() == label
