"""Pictures of one sample's strongest interactions: image patches or words (returned as ``Figure`` objects).

``interactions`` lists ``(kind, players, effect)`` with ``kind`` ``"and"`` or ``"or"`` (any case),
``players`` a tuple of player indices and ``effect`` the interaction's value; the
:class:`~lit_interactions.interactions.salient_readings.InteractionRecord` items of ``Interactions.strongest()`` work
as they are. Positive effects are drawn in red, negative ones in blue.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from lit_interactions.analysis._arrays import as_array
from lit_interactions.analysis.figures import NEGATIVE, POSITIVE
from lit_interactions.interactions.salient_readings import InteractionRecord

Record = tuple[str, tuple[int, ...], float]
_PANEL_INCHES = 2.2
_FONT_SIZE = 11
_CHAR_INCHES = 0.602 * _FONT_SIZE / 72  # advance of DejaVu Sans Mono, matplotlib's monospace font
_LINE_INCHES = 1.7 * _FONT_SIZE / 72


def _records(interactions: Iterable[Any], n_players: int) -> list[Record]:
    """Check and normalise the interactions to ``(KIND, players, effect)``."""
    records = []
    for i, item in enumerate(interactions):
        if isinstance(item, InteractionRecord):
            kind, players, effect = item.kind, item.players, item.effect
        elif isinstance(item, (tuple, list)) and len(item) == 3:
            kind, players, effect = item
        else:
            raise ValueError(f"interactions[{i}] must be (kind, players, effect) or an InteractionRecord, got {item!r}")
        if str(kind).lower() not in ("and", "or"):
            raise ValueError(f"interactions[{i}] has kind {kind!r}; use 'and' or 'or'")
        players = tuple(int(p) for p in players)
        if not players or len(set(players)) != len(players) or not all(0 <= p < n_players for p in players):
            raise ValueError(
                f"interactions[{i}] has players {players}; give distinct player indices in 0..{n_players - 1} "
                f"(there are {n_players} players)"
            )
        if not math.isfinite(float(effect)):
            raise ValueError(f"interactions[{i}] has the effect {effect}; effects must be finite")
        records.append((str(kind).upper(), players, float(effect)))
    return records


def _title(record: Record) -> str:
    kind, players, effect = record
    return f"{kind} {{{', '.join(map(str, players))}}}: {effect:+.3g}"


def _check_image(image: Any) -> np.ndarray:
    """``[C, H, W]`` in [0, 1] with C = 1 or 3, as an ``[H, W]`` or ``[H, W, 3]`` array for imshow."""
    array = as_array(image, "image")
    if array.ndim != 3 or array.shape[0] not in (1, 3):
        raise ValueError(f"image must be [C, H, W] with C = 1 (grayscale) or 3 (RGB), got shape {array.shape}")
    if not np.isfinite(array).all() or array.min() < -1e-6 or array.max() > 1 + 1e-6:
        raise ValueError(
            f"image values must be finite and in [0, 1] (pixel space), got [{array.min():g}, {array.max():g}]; "
            f"undo the normalisation first"
        )
    array = array.clip(0, 1)
    return array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)


def _check_boxes(player_boxes: Any, height: int, width: int) -> np.ndarray:
    """``[n, 4]`` integer boxes ``(y0, y1, x0, x1)``, half-open, inside the image."""
    boxes = as_array(player_boxes, "player_boxes")
    if boxes.ndim != 2 or boxes.shape[1] != 4 or boxes.shape[0] < 1:
        raise ValueError(f"player_boxes must be [n, 4] rows (y0, y1, x0, x1), got shape {boxes.shape}")
    if not np.array_equal(boxes, np.round(boxes)):
        raise ValueError("player_boxes must hold whole pixel coordinates")
    y0, y1, x0, x1 = boxes.T
    bad = (y0 < 0) | (y1 > height) | (y0 >= y1) | (x0 < 0) | (x1 > width) | (x0 >= x1)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(
            f"player_boxes[{row}] = {boxes[row].astype(int).tolist()} is not a box inside the {height}x{width} "
            f"image: need 0 <= y0 < y1 <= H and 0 <= x0 < x1 <= W (pixels y0..y1-1, x0..x1-1)"
        )
    return boxes.astype(int)


def _outline(ax: Any, box: np.ndarray, color: str, linewidth: float = 1.5) -> None:
    y0, y1, x0, x1 = box
    # Pixel (r, c) is centred at (c, r) in imshow coordinates, so its area starts at -0.5.
    ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=linewidth))


def image_interactions_figure(
    image: Any, player_boxes: Any, interactions: Sequence[Any], *, columns: int = 4
) -> Figure:
    """The image with its players outlined, then one panel per interaction highlighting its patches.

    Args:
        image: ``[C, H, W]`` in ``[0, 1]``, ``C = 1`` or ``3`` (tensor or array).
        player_boxes: ``[n, 4]`` the patch of each player as ``(y0, y1, x0, x1)`` pixel bounds, half-open
            (rows ``y0..y1-1``, columns ``x0..x1-1``).
        interactions: ``(kind, players, effect)`` items, e.g. ``result[i].strongest(7)``; the patches of each
            are shown at full brightness and outlined in the sign's colour, the rest dimmed.
        columns: panels per row.
    """
    if not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be a positive int (panels per row), got {columns}")
    picture = _check_image(image)
    height, width = picture.shape[:2]
    boxes = _check_boxes(player_boxes, height, width)
    records = _records(interactions, boxes.shape[0])
    panels = 1 + len(records)
    cols = min(columns, panels)
    rows = math.ceil(panels / cols)
    fig = Figure(figsize=(_PANEL_INCHES * cols, (_PANEL_INCHES + 0.3) * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    gray = {"cmap": "gray", "vmin": 0.0, "vmax": 1.0} if picture.ndim == 2 else {}
    axes[0].imshow(picture, **gray)
    for i, box in enumerate(boxes):
        _outline(axes[0], box, "gold", 1.0)
        axes[0].text(box[2], box[0], str(i), color="gold", fontsize=7, va="top", ha="left")
    axes[0].set_title(f"{boxes.shape[0]} players", fontsize="small")
    for ax, record in zip(axes[1:], records):
        keep = np.zeros((height, width), dtype=bool)
        for p in record[1]:
            y0, y1, x0, x1 = boxes[p]
            keep[y0:y1, x0:x1] = True
        light = np.where(keep, 1.0, 0.3)
        ax.imshow(picture * (light if picture.ndim == 2 else light[..., None]), **gray)
        color = POSITIVE if record[2] > 0 else NEGATIVE
        for p in record[1]:
            _outline(ax, boxes[p], color, 2.0)
        ax.set_title(_title(record), fontsize="small", color=color)
    for ax in axes:
        ax.set_axis_off()
    return fig


def _layout(words: Sequence[str], max_chars: int) -> list[tuple[int, int]]:
    """``(line, column)`` in characters of every word, wrapping lines at ``max_chars``."""
    places, line, column = [], 0, 0
    for word in words:
        if column > 0 and column + len(word) > max_chars:
            line, column = line + 1, 0
        places.append((line, column))
        column += len(word) + 1
    return places


def sentence_interactions_figure(
    words: Sequence[str], player_word_indices: Sequence[int], interactions: Sequence[Any], *, max_chars: int = 80
) -> Figure:
    """The sentence with its players underlined, then one block per interaction with its words highlighted.

    Args:
        words: the sentence's words.
        player_word_indices: ``[n]`` the word index of each player (player ``i`` is ``words[indices[i]]``).
        interactions: ``(kind, players, effect)`` items (players are player indices, not word indices).
        max_chars: wrap the sentence after this many characters.
    """
    if not words or not all(isinstance(w, str) and w for w in words):
        raise ValueError("words must be a nonempty list of nonempty strings")
    if not isinstance(max_chars, int) or max_chars < 1:
        raise ValueError(f"max_chars must be a positive int, got {max_chars}")
    players = [int(i) for i in player_word_indices]
    if not players or len(set(players)) != len(players) or not all(0 <= i < len(words) for i in players):
        raise ValueError(
            f"player_word_indices {players} must be distinct word indices in 0..{len(words) - 1} (one per player)"
        )
    records = _records(interactions, len(players))
    places = _layout(words, max(max_chars, max(len(w) for w in words)))
    lines = places[-1][0] + 1
    labels = ["players"] + [_title(r) for r in records]
    label_chars = max(len(label) for label in labels) + 2
    text_chars = max(column + len(word) for (_, column), word in zip(places, words))
    width_chars = 1 + label_chars + text_chars + 2  # room for the last player index
    height_lines = len(labels) * (lines + 0.6) + 0.4
    fig = Figure(figsize=(width_chars * _CHAR_INCHES, height_lines * _LINE_INCHES))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, width_chars), ylim=(height_lines, 0))
    ax.set_axis_off()
    player_of_word = {word_index: player for player, word_index in enumerate(players)}
    text: dict[str, Any] = {"family": "monospace", "fontsize": _FONT_SIZE, "va": "center", "ha": "left", "parse_math": False}
    for block, label in enumerate(labels):
        top = 0.7 + block * (lines + 0.6)
        record = records[block - 1] if block else None
        color = "k" if record is None else (POSITIVE if record[2] > 0 else NEGATIVE)
        ax.text(1, top, label, color=color, **text)
        highlighted = set() if record is None else {players[p] for p in record[1]}
        for index, ((line, column), word) in enumerate(zip(places, words)):
            x, y = 1 + label_chars + column, top + line
            if index in highlighted:
                ax.add_patch(Rectangle((x - 0.2, y - 0.5), len(word) + 0.4, 1.0, color=color, alpha=0.25, linewidth=0))
            is_player = index in player_of_word
            ax.text(x, y, word, color="k" if is_player else "0.45", **text)
            if is_player:
                ax.plot([x, x + len(word)], [y + 0.45, y + 0.45], color="k" if record is None else "0.6", linewidth=1)
                if record is None:
                    ax.text(x + len(word), y + 0.5, str(player_of_word[index]), fontsize=7, va="center", ha="left")
    return fig
