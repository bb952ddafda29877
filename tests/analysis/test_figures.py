"""Figures render to PNGs of the expected size, show the right data, and refuse bad input."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.ticker import MaxNLocator

from lit_interactions.analysis.agreement import eta_agreement
from lit_interactions.analysis.figures import (
    curves_figure,
    eta_histogram_figure,
    eta_scatter_figure,
    exact_number,
    order_distribution_figure,
    save_figure,
    transferability_figure,
)
from lit_interactions.analysis.figures_samples import (
    image_interactions_figure,
    sentence_interactions_figure,
)
from lit_interactions.interactions import Interactions


def saved_png(fig: Figure, tmp_path: Path, name: str = "figure.png") -> np.ndarray:
    """Save ``fig`` and check the file is a nonblank PNG, the only file in its directory, and ``fig`` cleared."""
    target = tmp_path / "figs" / name
    save_figure(fig, target)
    assert os.listdir(target.parent) == [name]
    assert fig.axes == []
    pixels = imread(target)
    assert pixels.ndim == 3 and pixels.shape[2] == 4
    assert pixels[..., :3].std() > 0.05, "the figure is blank"
    return pixels


def test_save_figure_refuses_an_unknown_format(tmp_path: Path):
    fig = Figure()
    with pytest.raises(ValueError, match=r"end the name with \.png, \.pdf or \.svg"):
        save_figure(fig, tmp_path / "figure.jpg")
    assert not (tmp_path / "figure.jpg").exists()


def test_curves_figure(tmp_path: Path):
    epochs = [0, 1, 2, 3]
    fig = curves_figure(epochs, {"train": [2.0, 1.0, 0.5, 0.3], "val": [2.1, 1.4, float("nan"), 1.6]}, "loss",
                        marks={"turn": 1, "gap widens": 2})
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["train", "val", "turn (1)", "gap widens (2)"]
    assert ax.lines[2].get_xdata() == [1, 1]
    assert saved_png(fig, tmp_path).shape[:2] == (400, 640)
    with pytest.raises(ValueError, match="epochs has 4 entries but series\\['x'\\] has 3"):
        curves_figure(epochs, {"x": [1.0, 2.0, 3.0]}, "t")
    with pytest.raises(ValueError, match="outside the plotted epochs 0..3"):
        curves_figure(epochs, {"x": [1.0, 2.0, 3.0, 4.0]}, "t", marks={"turn": 7})


def test_order_distribution_normalises_each_epoch(tmp_path: Path):
    # Two epochs, n = 2. Epoch 10: strengths 1 + 1 + 2 = 4; epoch 20: 2.
    I_pos = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 2.0]])  # noqa: N806
    I_neg = np.array([[0.0, 0.0, -2.0], [0.0, 0.0, 0.0]])  # noqa: N806
    fig = order_distribution_figure([10, 20], I_pos, I_neg, turn_epoch=20)
    positive, negative = fig.axes[0], fig.axes[1]  # the colour bars come after them
    # Rows are orders 1..2, columns epochs.
    assert positive.collections[0].get_array().reshape(2, 2).tolist() == [[0.25, 0.0], [0.25, 1.0]]
    assert negative.collections[0].get_array().reshape(2, 2).tolist() == [[0.0, 0.0], [0.5, 0.0]]
    assert positive.lines[0].get_xdata() == [20, 20]
    assert saved_png(fig, tmp_path).shape[:2] == (560, 640)
    raw = order_distribution_figure([10, 20], I_pos, I_neg, normalize=False)
    assert raw.axes[1].collections[0].get_array().reshape(2, 2).tolist() == [[0.0, 0.0], [2.0, 0.0]]


def test_order_distribution_refuses_bad_input():
    good = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"must both be \[epochs, n \+ 1\]"):
        order_distribution_figure([0, 1], good, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="epochs has 3 entries but I_pos has 2"):
        order_distribution_figure([0, 1, 2], good, good)
    with pytest.raises(ValueError, match="are they swapped"):
        order_distribution_figure([0, 1], -np.ones((2, 3)), good)
    with pytest.raises(ValueError, match="outside the plotted epochs"):
        order_distribution_figure([0, 1], good, good, turn_epoch=5)


def test_eta_histogram_counts_confusing_samples(tmp_path: Path):
    fig = eta_histogram_figure(torch.tensor([1.0, 2.0, 2.5, 4.0, 5.0]), confusing_threshold=3.0)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["> 3: 2 confusing"]
    assert saved_png(fig, tmp_path).shape[:2] == (400, 560)


def test_the_histogram_label_never_rounds_the_threshold():
    fig = eta_histogram_figure([3.9, 4.0043, 4.00431234, 4.6], confusing_threshold=4.004306170000001)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["> 4.004306170000001: 2 confusing"]
    fig.clear()
    assert exact_number(3.0) == "3" and exact_number(0.25) == "0.25" and exact_number(4.0043123) == "4.0043123"


def visible_ticks(axis: Axis) -> list[float]:
    """The major tick locations of ``axis`` inside its view limits, after drawing on an Agg canvas."""
    lo, hi = sorted(axis.get_view_interval())
    return [float(t) for t in axis.get_majorticklocs() if lo <= t <= hi]


def assert_integer_ticks(axis: Axis) -> None:
    locator = axis.get_major_locator()
    assert isinstance(locator, MaxNLocator) and locator._integer  # no public getter for the integer flag
    ticks = visible_ticks(axis)
    assert ticks and all(t == round(t) for t in ticks), ticks


def test_epoch_and_count_axes_tick_at_whole_numbers():
    # Two epochs: the heatmap cells span -0.5..1.5, where the default locator ticks every 0.5.
    good = np.array([[0.0, 1.0, 0.5], [0.0, 0.2, 2.0]])
    figures = {
        "order": order_distribution_figure([0, 1], good, -good, turn_epoch=1),
        "curves": curves_figure([0, 1], {"loss": [0.7, 0.4]}, "loss"),
        "histogram": eta_histogram_figure([1.0, 2.0, 2.0], confusing_threshold=1.5),  # bar heights 1 and 2
    }
    for fig in figures.values():
        FigureCanvasAgg(fig).draw()
    positive, negative = figures["order"].axes[:2]
    for axis in (positive.xaxis, negative.xaxis, figures["curves"].axes[0].xaxis,
                 figures["histogram"].axes[0].yaxis):
        assert_integer_ticks(axis)
    assert visible_ticks(negative.xaxis) == [0.0, 1.0]
    assert visible_ticks(figures["curves"].axes[0].xaxis) == [0.0, 1.0]
    assert visible_ticks(figures["histogram"].axes[0].yaxis) == [0.0, 1.0, 2.0]


def test_eta_scatter_has_the_diagonal_and_the_numbers(tmp_path: Path):
    a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    fig = eta_scatter_figure(a, a[::-1], labels=("ResNet", "VGG"))
    ax = fig.axes[0]
    assert ax.get_title().startswith("Pearson -1.00, Spearman -1.00, n = 10\ntop-q overlap: 10% 0.00")
    assert ax.get_xlabel() == "eta^avg, ResNet"
    assert ax.lines[0].get_xdata().tolist() == ax.lines[0].get_ydata().tolist()
    assert saved_png(fig, tmp_path).shape[:2] == (500, 500)
    with pytest.raises(ValueError, match="computed on 3 samples but 10 are plotted"):
        eta_scatter_figure(a, a, agreement=eta_agreement([1, 2, 3], [1, 2, 3]))
    with pytest.raises(ValueError, match="eta_a has 10 entries but eta_b has 9"):
        eta_scatter_figure(a, a[1:])


def test_transferability_figure(tmp_path: Path):
    fig = transferability_figure([0.05, 0.1, 0.15], {"AND": [0.2, 0.3, 0.4], "OR": [0.1, 0.2, 0.35]})
    assert [line.get_label() for line in fig.axes[0].lines] == ["AND", "OR"]
    assert saved_png(fig, tmp_path).shape[:2] == (400, 560)
    with pytest.raises(ValueError, match="ratios has 3 entries but curves\\['AND'\\] has 2"):
        transferability_figure([0.05, 0.1, 0.15], {"AND": [0.2, 0.3]})
    with pytest.raises(ValueError, match="curves is empty"):
        transferability_figure([0.05], {})


def grid_boxes() -> list[tuple[int, int, int, int]]:
    """Four 8x8 patches in the corners of a 16x16 image: (y0, y1, x0, x1)."""
    return [(0, 8, 0, 8), (0, 8, 8, 16), (8, 16, 0, 8), (8, 16, 8, 16)]


@pytest.mark.parametrize("channels", [1, 3])
def test_image_interactions_figure(tmp_path: Path, channels: int):
    image = torch.rand(channels, 16, 16, generator=torch.Generator().manual_seed(0))
    interactions = [("and", (0, 3), 0.5), ("OR", (1,), -0.25)]
    fig = image_interactions_figure(image, torch.tensor(grid_boxes()), interactions)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["4 players", "AND {0, 3}: +0.5", "OR {1}: -0.25"]
    shown = fig.axes[1].images[0].get_array()
    picture = image.numpy()[0] if channels == 1 else image.numpy().transpose(1, 2, 0)
    assert np.allclose(shown[0:8, 0:8], picture[0:8, 0:8])  # player 0 at full brightness
    assert np.allclose(shown[0:8, 8:16], 0.3 * picture[0:8, 8:16])  # player 1 dimmed
    assert saved_png(fig, tmp_path).shape[:2] == (250, 660)  # 3 panels of 2.2 x 2.5 inches


def test_image_figure_accepts_interaction_records(tmp_path: Path):
    and_effects = torch.zeros(4, dtype=torch.float64)
    and_effects[3] = 2.0
    records = Interactions.from_effects(and_effects, torch.zeros(4, dtype=torch.float64)).strongest(3)
    fig = image_interactions_figure(np.full((3, 16, 16), 0.5), [(0, 8, 0, 8), (0, 8, 8, 16)], records)
    assert [ax.get_title() for ax in fig.axes] == ["2 players", "AND {0, 1}: +2"]
    fig.clear()


@pytest.mark.parametrize(
    ("image", "boxes", "interactions", "error", "message"),
    [
        (np.zeros((2, 16, 16)), grid_boxes(), [], ValueError, "C = 1 .grayscale. or 3"),
        (np.full((1, 16, 16), 255.0), grid_boxes(), [], ValueError, r"in \[0, 1\]"),
        (np.zeros((1, 16, 16)), [(0, 8, 8, 17)], [], ValueError, r"player_boxes\[0\] = \[0, 8, 8, 17\] is not a box"),
        (np.zeros((1, 16, 16)), [(4, 4, 0, 8)], [], ValueError, "0 <= y0 < y1 <= H"),
        (np.zeros((1, 16, 16)), grid_boxes(), [("and", (0, 4), 1.0)], ValueError, r"in 0\.\.3"),
        (np.zeros((1, 16, 16)), grid_boxes(), [("xor", (0,), 1.0)], ValueError, "use 'and' or 'or'"),
        (np.zeros((1, 16, 16)), grid_boxes(), [("and", (0,))], ValueError, "must be .kind, players, effect."),
    ],
)
def test_image_figure_refuses_bad_input(image, boxes, interactions, error, message):
    with pytest.raises(error, match=message):
        image_interactions_figure(image, boxes, interactions)


def test_sentence_interactions_figure(tmp_path: Path):
    words = "the film costs $5 and is a dull , tedious mess".split()
    players = [1, 3, 7, 9, 10]
    fig = sentence_interactions_figure(words, players, [("and", (0, 2), 0.4), ("or", (3, 4, 1), -0.2)], max_chars=20)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts[0] == "players" and "AND {0, 2}: +0.4" in texts and "OR {3, 4, 1}: -0.2" in texts
    assert "$5" in texts  # shown literally, not as mathtext
    assert len(ax.patches) == 2 + 3  # one highlight per word of each interaction
    pixels = saved_png(fig, tmp_path)
    assert pixels.shape[1] > pixels.shape[0]
    with pytest.raises(ValueError, match=r"distinct word indices in 0\.\.10"):
        sentence_interactions_figure(words, [1, 11], [])
    with pytest.raises(ValueError, match=r"in 0\.\.1 \(there are 2 players\)"):
        sentence_interactions_figure(words, [1, 3], [("or", (2,), 1.0)])
    with pytest.raises(ValueError, match="nonempty list of nonempty strings"):
        sentence_interactions_figure([], [], [])
