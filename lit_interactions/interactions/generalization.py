"""Generalizability of a model's interactions against a baseline DNN (paper 2 Eq. 5-7, App. C).

An interaction of the main model is generalizable (``G[T] = 1``) iff it is salient for the main model and for
the baseline DNN (each with its own tau) with the same sign, per type. ``J_pos``/``J_neg`` are ``I_pos``/
``I_neg`` restricted to ``G = 1``, and ``H`` is a ratio of sums over orders (the project's convention;
paper 2 App. C prints a sum of per-order ratios, see docs/conventions.md). ``H`` is defined per sample (App. C:
"for each sample") and, pooled, for a set of samples (their summed strengths).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.salience import OrderVectors, order_strengths

LOW_ORDERS = range(1, 3)
HIGH_ORDERS = range(6, 11)


def generalizable_mask(
    main: Interactions, baseline: Interactions, tau_main: float | Tensor, tau_baseline: float | Tensor
) -> tuple[Tensor, Tensor]:
    """``(G_and, G_or)``: salient for both models (own thresholds) with the same sign.

    Args:
        main: interactions of the main model.
        baseline: interactions of the baseline DNN on the same samples and players (batch shapes broadcast).
        tau_main: the main model's threshold (see :func:`~lit_interactions.interactions.salience.salient_masks`).
        tau_baseline: the baseline DNN's threshold.

    Returns:
        Two boolean tensors of the broadcast shape ``[..., 2^n]``.
    """
    if main.n_players != baseline.n_players:
        raise ValueError(
            f"main has {main.n_players} players but the baseline has {baseline.n_players}: evaluate both models "
            f"on the same players of the same samples"
        )
    try:
        torch.broadcast_shapes(main.batch_shape, baseline.batch_shape)
    except RuntimeError as error:
        raise ValueError(
            f"batch shapes {tuple(main.batch_shape)} (main) and {tuple(baseline.batch_shape)} (baseline) do not "
            f"broadcast: both must hold the same samples"
        ) from error
    main_and, main_or = main.salient(tau_main)
    base_and, base_or = baseline.salient(tau_baseline)
    base_and_effects = baseline.and_effects.to(main.and_effects)
    base_or_effects = baseline.or_effects.to(main.or_effects)
    g_and = main_and & base_and.to(main_and.device) & (main.and_effects * base_and_effects > 0)
    g_or = main_or & base_or.to(main_or.device) & (main.or_effects * base_or_effects > 0)
    return g_and, g_or


def non_generalizable_mask(
    main: Interactions, baseline: Interactions, tau_main: float | Tensor, tau_baseline: float | Tensor
) -> tuple[Tensor, Tensor]:
    """``(and, or)``: the main model's salient interactions that the baseline DNN does not share (paper 2 App. D).

    Salient for the main model (``|I| > tau_main``) and not generalizable (:func:`generalizable_mask` is False:
    not salient for the baseline, or salient with the other sign). Effects that are not salient for the main
    model are not in it, although their ``G`` is 0 too. Arguments are those of :func:`generalizable_mask`.
    """
    g_and, g_or = generalizable_mask(main, baseline, tau_main, tau_baseline)
    salient_and, salient_or = main.salient(tau_main)
    return salient_and & ~g_and, salient_or & ~g_or


@dataclass
class GeneralizationByOrder(OrderVectors):
    """Strength of salient (``I``) and generalizable (``J``) interactions per order ``k = 0..n``.

    Attributes:
        I_pos: ``[..., n + 1]`` summed positive salient effects (AND and OR) of order ``k``.
        I_neg: ``[..., n + 1]`` summed negative salient effects (``<= 0``).
        J_pos: ``[..., n + 1]`` the part of ``I_pos`` that is generalizable.
        J_neg: ``[..., n + 1]`` the part of ``I_neg`` that is generalizable.
    """

    I_pos: Tensor
    I_neg: Tensor
    J_pos: Tensor
    J_neg: Tensor

    def ratio(self, orders: Iterable[int]) -> Tensor:
        """``sum_k (J_pos + |J_neg|) / sum_k (I_pos + |I_neg|)`` over the given orders; 0 where nothing is salient.

        Raises:
            ValueError: if an order is outside ``1..n`` or no order is given.
        """
        ks = sorted(set(orders))
        if not ks or ks[0] < 1 or ks[-1] > self.n_players:
            raise ValueError(f"orders must be a nonempty set within 1..{self.n_players} (n players), got {ks}")
        index = torch.tensor(ks, device=self.I_pos.device)
        generalizable = (self.J_pos - self.J_neg).index_select(-1, index).sum(-1)
        salient = (self.I_pos - self.I_neg).index_select(-1, index).sum(-1)
        return torch.where(salient > 0, generalizable / torch.where(salient > 0, salient, 1.0), 0.0)

    def has_salient(self, orders: Iterable[int] | None = None) -> Tensor:
        """Where some interaction of the given orders (default ``1..n``) is salient: where a ratio is defined."""
        ks = sorted(set(orders)) if orders is not None else list(range(1, self.n_players + 1))
        index = torch.tensor(ks, device=self.I_pos.device)
        return (self.I_pos - self.I_neg).index_select(-1, index).sum(-1) > 0

    @property
    def H(self) -> Tensor:  # noqa: N802 (the papers' name)
        """Share of generalizable strength over all orders ``1..n``."""
        return self.ratio(range(1, self.n_players + 1))

    @property
    def H_low(self) -> Tensor:  # noqa: N802
        """Share of generalizable strength over orders 1..2 (order 2 is skipped when n = 1)."""
        return self.ratio(LOW_ORDERS[: self.n_players])

    @property
    def H_high(self) -> Tensor:  # noqa: N802
        """Share of generalizable strength over orders ``6..min(10, n)``.

        Raises:
            ValueError: when ``n < 6``: there are no high orders; use :meth:`ratio` with orders of your choice.
        """
        if self.n_players < HIGH_ORDERS.start:
            raise ValueError(
                f"H_high covers orders 6..10 but there are only n = {self.n_players} players; "
                f"use ratio(orders) with the orders you consider high"
            )
        return self.ratio(range(HIGH_ORDERS.start, min(HIGH_ORDERS.stop, self.n_players + 1)))


def generalization_by_order(
    main: Interactions, baseline: Interactions, tau_main: float | Tensor, tau_baseline: float | Tensor
) -> GeneralizationByOrder:
    """``I_pos, I_neg, J_pos, J_neg`` per order of the main model, against a baseline DNN (paper 2 Eq. 6-7).

    Arguments are those of :func:`generalizable_mask`.
    """
    g_and, g_or = generalizable_mask(main, baseline, tau_main, tau_baseline)
    and_mask, or_mask = main.salient(tau_main)
    i_pos, i_neg = order_strengths(main.and_effects, main.or_effects, and_mask, or_mask)
    j_pos, j_neg = order_strengths(main.and_effects, main.or_effects, g_and, g_or)
    shape = g_and.shape[:-1] + i_pos.shape[-1:]
    return GeneralizationByOrder(
        I_pos=i_pos.expand(shape), I_neg=i_neg.expand(shape), J_pos=j_pos, J_neg=j_neg
    )
