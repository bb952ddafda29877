"""Pictures and tables of one sample's interactions: patches on the image or words in the sentence.

Used by the monitor's callbacks during training and by the reports (``lit_interactions.reports``) afterwards.

Patch boxes come from :meth:`ImagePatchPlayers.patch_map` of the feature map the players were chosen on;
for an intermediate layer the cell bounds are scaled to input pixels (``floor`` of the start, ``ceil`` of
the end), so a box covers every pixel whose receptive-field cell belongs to the patch's grid cell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from lit_interactions.analysis.figures_samples import (
    image_interactions_figure,
    sentence_interactions_figure,
)
from lit_interactions.interactions import Interactions
from lit_interactions.interactions.salient_readings import InteractionRecord
from lit_interactions.interactions.subsets import subset_players
from lit_interactions.players import ImagePatchPlayers


def patch_boxes(
    players: ImagePatchPlayers, patches: Sequence[int] | Tensor, feature_hw: Sequence[int], input_hw: Sequence[int]
) -> np.ndarray:
    """``[n, 4]`` pixel boxes ``(y0, y1, x0, x1)`` (half-open) of the players' patches on the input image.

    Args:
        players: the player type (its grid and crop define the patches).
        patches: patch index of each player (a row of ``PlayerSelection.players``).
        feature_hw: ``(h, w)`` of the feature map the patches split (the input's for ``layer=None``).
        input_hw: ``(H, W)`` of the input image.
    """
    h, w = int(feature_hw[0]), int(feature_hw[1])
    big_h, big_w = int(input_hw[0]), int(input_hw[1])
    patch_map = players.patch_map(h, w)
    boxes = []
    for patch in torch.as_tensor(patches).tolist():
        rows, cols = torch.nonzero(patch_map == patch, as_tuple=True)
        if rows.numel() == 0:
            raise ValueError(f"patch {patch} is not in the {players.grid}x{players.grid} grid of a {h}x{w} map")
        r0, r1, c0, c1 = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
        boxes.append([
            math.floor(r0 * big_h / h), min(math.ceil(r1 * big_h / h), big_h),
            math.floor(c0 * big_w / w), min(math.ceil(c1 * big_w / w), big_w),
        ])
    return np.array(boxes, dtype=np.int64)


def strongest_by_kind(result: Interactions, k: int) -> list[InteractionRecord]:
    """The ``k`` strongest nonzero AND and the ``k`` strongest nonzero OR interactions of one sample."""
    if result.batch_shape:
        raise ValueError("select one sample first (result[i])")
    records = []
    for kind, effects in (("AND", result.and_effects), ("OR", result.or_effects)):
        values = effects.detach().cpu().double()
        order = torch.argsort(values[1:].abs(), descending=True, stable=True)[:k] + 1
        records += [
            InteractionRecord(kind, int(s), subset_players(int(s)), float(values[s]))
            for s in order.tolist()
            if values[s] != 0
        ]
    return records


def salient_rows(
    result: Interactions, tau: float, labels: Sequence[str], epoch: int, sample_id: int, limit: int = 50
) -> list[list[Any]]:
    """Table rows ``[epoch, sample_id, kind, players, members, order, effect]`` of a sample's salient interactions.

    ``labels[i]`` names player ``i`` (its word, or ``patch <index>``); strongest first, at most ``limit`` rows.
    """
    and_mask, or_mask = result.salient(tau)
    rows: list[list[Any]] = []
    for kind, effects, mask in (("AND", result.and_effects, and_mask), ("OR", result.or_effects, or_mask)):
        for subset in torch.nonzero(mask).reshape(-1).tolist():
            members = subset_players(subset)
            rows.append([
                epoch, sample_id, kind, str(list(members)), " ".join(labels[p] for p in members),
                len(members), float(effects[subset]),
            ])
    rows.sort(key=lambda row: -abs(row[-1]))
    return rows[:limit]


def sample_figure(
    image_or_words: Tensor | Sequence[str],
    players: Any,
    player_row: Tensor,
    feature_hw: Sequence[int] | None,
    records: Sequence[InteractionRecord],
) -> Figure:
    """The probe sample with its strongest interactions: patches on the image, or words in the sentence."""
    if isinstance(players, ImagePatchPlayers):
        image = image_or_words
        assert isinstance(image, Tensor)
        hw = feature_hw if feature_hw is not None else image.shape[-2:]
        boxes = patch_boxes(players, player_row, hw, image.shape[-2:])
        return image_interactions_figure(image, boxes, records)
    return sentence_interactions_figure(list(image_or_words), player_row.tolist(), records)


def player_labels(players: Any, player_row: Tensor, words: Sequence[str] | None) -> list[str]:
    """A readable name per player: its word, or ``patch <index>``."""
    if isinstance(players, ImagePatchPlayers) or words is None:
        return [f"patch {p}" for p in player_row.tolist()]
    return [words[p] for p in player_row.tolist()]


def loss_eta_figure(
    loss: np.ndarray, eta: np.ndarray, hard: np.ndarray, relabelled: np.ndarray, title: str
) -> Figure:
    """Scatter of training loss (x) against eta^avg (y): hard samples in red, easy in grey, relabelled as x."""
    fig = Figure(figsize=(5.6, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for group, color, label in ((hard, "tab:red", "hard"), (~hard, "0.45", "easy (random)")):
        for marks, marker, suffix in ((~relabelled, "o", ""), (relabelled, "x", ", relabelled")):
            chosen = group & marks
            if chosen.any():
                ax.scatter(loss[chosen], eta[chosen], c=color, marker=marker, s=22, label=label + suffix)
    ax.set(xlabel="training loss averaged over epochs", ylabel="eta^avg", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig
