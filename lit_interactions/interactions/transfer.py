"""Interactions shared by K >= 2 models on the same samples (paper 1 Definition 1 and Fig. 4).

The models' results are stacked along the first batch dimension ``K`` (as :func:`extract_joint` returns them,
or ``torch.stack`` of single-model effects); further batch dimensions (samples) are kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.salience import order_strengths
from lit_interactions.interactions.subsets import n_players_from_length

TRANSFER_RATIOS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45)


def _check_models(n_models: int) -> None:
    if n_models < 2:
        raise ValueError(
            f"sharing needs K >= 2 models stacked along the first dimension, got K = {n_models}; "
            f"stack the models' effects with torch.stack"
        )


def transferability(effects: Tensor, ratios: Sequence[float] = TRANSFER_RATIOS) -> Tensor:
    """Transferability ``s = |intersection over models of top-k sets| / k`` for each ratio (paper 1 Def. 1).

    Each model's top-k set holds the ``k = round(ratio * 2^n)`` nonempty subsets of largest ``|I|``
    (at least 1; halves round up). A subset whose effect is zero counts for no model, so a sparse model
    shares no subsets by accident. Call it separately for the AND and the OR effects.

    Args:
        effects: ``[K, ..., 2^n]`` effects of one type of ``K >= 2`` models on the same samples.
        ratios: fractions of ``2^n``; paper 1 uses 0.05, 0.10, ..., 0.45.

    Returns:
        ``[len(ratios), ...]`` (the model dimension is reduced), dtype of ``effects``.
    """
    size = effects.shape[-1]
    n_players_from_length(size)
    _check_models(effects.shape[0] if effects.dim() > 1 else 0)
    strength = effects.abs()
    ranked = torch.cat((torch.full_like(strength[..., :1], -1.0), strength[..., 1:]), dim=-1)
    values = []
    for ratio in ratios:
        if not 0 < ratio <= 1:
            raise ValueError(f"each ratio must be a fraction in (0, 1], got {ratio}")
        k = min(max(math.floor(ratio * size + 0.5), 1), size - 1)
        top = torch.zeros_like(effects, dtype=torch.bool)
        top.scatter_(-1, ranked.topk(k, dim=-1).indices, True)
        shared = (top & (strength > 0)).all(0)
        values.append(shared.sum(-1).to(effects.dtype) / k)
    return torch.stack(values)


@dataclass
class SharedByOrder:
    """Per model and order, the strength of salient interactions shared by all models (paper 1 Fig. 4).

    Attributes:
        shared_pos: ``[K, ..., n + 1]`` summed positive salient effects of model ``k`` that are salient and
            positive in every model.
        shared_neg: ``[K, ..., n + 1]`` the same for negative effects (``<= 0``).
        total_pos: ``[K, ..., n + 1]`` summed positive salient effects of model ``k``.
        total_neg: ``[K, ..., n + 1]`` summed negative salient effects of model ``k`` (``<= 0``).
    """

    shared_pos: Tensor
    shared_neg: Tensor
    total_pos: Tensor
    total_neg: Tensor

    @staticmethod
    def _ratio(part: Tensor, whole: Tensor) -> Tensor:
        return torch.where(whole != 0, part / torch.where(whole != 0, whole, 1.0), 0.0)

    @property
    def ratio_pos(self) -> Tensor:
        """``shared_pos / total_pos`` per model and order; 0 where the model has no salient positive effect."""
        return self._ratio(self.shared_pos, self.total_pos)

    @property
    def ratio_neg(self) -> Tensor:
        """``shared_neg / total_neg`` per model and order; 0 where the model has no salient negative effect."""
        return self._ratio(self.shared_neg, self.total_neg)


def shared_by_order(
    models: Interactions,
    threshold: float | Tensor | None = None,
    *,
    top_k: int | None = None,
    relative: float | None = None,
) -> SharedByOrder:
    """Strength of each model's salient interactions that every model shares with the same sign, per order.

    An AND (OR) interaction ``T`` is shared-positive when it is salient and positive in all ``K`` models,
    shared-negative likewise; AND and OR are summed per order as in :meth:`Interactions.strength_by_order`.

    Args:
        models: interactions with the model index first, batch shape ``[K, ...]``, ``K >= 2``.
        threshold: salience rule (exactly one of the three; see :meth:`Interactions.salient`); a per-model
            tau is a tensor of shape ``[K]``.
        top_k: salience rule.
        relative: salience rule.
    """
    _check_models(models.batch_shape[0] if models.batch_shape else 0)
    and_mask, or_mask = models.salient(threshold, top_k=top_k, relative=relative)
    a, o = models.and_effects, models.or_effects
    pos_and, pos_or = (and_mask & (a > 0)).all(0), (or_mask & (o > 0)).all(0)
    neg_and, neg_or = (and_mask & (a < 0)).all(0), (or_mask & (o < 0)).all(0)
    shared_pos, _ = order_strengths(a, o, pos_and.expand_as(a), pos_or.expand_as(o))
    _, shared_neg = order_strengths(a, o, neg_and.expand_as(a), neg_or.expand_as(o))
    total_pos, total_neg = order_strengths(a, o, and_mask, or_mask)
    return SharedByOrder(shared_pos, shared_neg, total_pos, total_neg)
