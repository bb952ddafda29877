"""How a result's salient interactions are read: one selection rule, order strengths, eta^avg, the strongest ones.

:class:`SalientReadings` holds the methods :class:`~lit_interactions.interactions.result.Interactions` has for
this (it derives from it), so the result class keeps its data, construction, indexing and files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, TypedDict

import torch
from torch import Tensor

from lit_interactions.interactions.salience import eta_from_strengths, order_strengths, salient_masks
from lit_interactions.interactions.subsets import subset_players

if TYPE_CHECKING:
    from typing_extensions import Unpack


class SalienceRule(TypedDict, total=False):
    """The other two ways to pick salient interactions (at most one of three): see :meth:`Interactions.salient`."""

    top_k: int | None
    relative: float | None


class InteractionRecord(NamedTuple):
    """One interaction: its type (``"AND"`` or ``"OR"``), subset index, players and effect."""

    kind: str
    subset: int
    players: tuple[int, ...]
    effect: float


class SalientReadings:
    """Readings of the salient interactions of a result with AND / OR effects ``[..., 2^n]`` (and its rewards)."""

    and_effects: Tensor
    or_effects: Tensor
    rewards: Tensor

    def salient(self, threshold: float | Tensor | None = None, **rule: Unpack[SalienceRule]) -> tuple[Tensor, Tensor]:
        """Boolean masks ``(and_mask, or_mask)`` of the salient interactions, by exactly one rule.

        ``threshold``: ``|I| > threshold`` (a number, or one per leading batch entry, e.g. ``[K]``);
        ``top_k``: the ``top_k`` largest nonzero ``|I|`` per type; ``relative``: ``|I| > relative * max|I|``
        with the max over both types (paper 1: 0.05). Index 0 is never salient. See
        :func:`~lit_interactions.interactions.salience.salient_masks`.
        """
        return salient_masks(self.and_effects, self.or_effects, threshold, **rule)

    def strength_by_order(
        self, threshold: float | Tensor | None = None, **rule: Unpack[SalienceRule]
    ) -> tuple[Tensor, Tensor]:
        """``(I_pos, I_neg)``, each ``[..., n + 1]``: summed positive / negative salient effects per order.

        AND and OR are summed together; order 0 is 0 and ``I_neg <= 0``. Selection as in :meth:`salient`.
        """
        return order_strengths(self.and_effects, self.or_effects, *self.salient(threshold, **rule))

    def eta(self, threshold: float | Tensor | None = None, **rule: Unpack[SalienceRule]) -> Tensor:
        """Average order ``eta^avg`` of the salient interactions, shaped like the batch (paper 2 Eq. 8).

        It is 0 for a sample with no salient interaction (a real eta is >= 1). Selection as in :meth:`salient`.
        """
        return eta_from_strengths(*self.strength_by_order(threshold, **rule))

    def strongest(self, k: int = 10) -> list[InteractionRecord]:
        """The ``k`` interactions of largest ``|I|`` over both types, strongest first (nonzero ones only).

        Raises:
            ValueError: for a batched result; select one sample first (``result[i].strongest(k)``).
        """
        if self.rewards.dim() > 1:
            raise ValueError(
                f"strongest() lists one sample's interactions but the batch shape is {tuple(self.rewards.shape[:-1])}; "
                f"select a sample first, e.g. result[0].strongest({k})"
            )
        return strongest_records(self.and_effects, self.or_effects, k)


def strongest_records(and_effects: Tensor, or_effects: Tensor, k: int) -> list[InteractionRecord]:
    """The ``k`` nonzero interactions of largest ``|I|`` of one sample's ``[2^n]`` effects, strongest first."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    effects = torch.cat((and_effects[1:], or_effects[1:])).detach().cpu()
    order = torch.argsort(effects.abs(), descending=True, stable=True)[:k]
    size = and_effects.shape[-1] - 1
    records = []
    for position in order.tolist():
        effect = float(effects[position])
        if effect == 0.0:
            break
        subset = position % size + 1
        kind = "AND" if position < size else "OR"
        records.append(InteractionRecord(kind, subset, subset_players(subset), effect))
    return records
