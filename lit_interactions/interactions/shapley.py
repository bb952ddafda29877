"""Shapley values from Harsanyi dividends: every interaction shares its effect equally among its players."""

from __future__ import annotations

from torch import Tensor

from lit_interactions.interactions.subsets import (
    mobius,
    n_players_from_length,
    subset_masks,
    subset_orders,
)


def shapley_values(rewards: Tensor) -> Tensor:
    """Exact Shapley values of the game ``v`` on all ``2^n`` masks.

    ``phi_i = sum_{T containing i} I_h(T) / |T|`` with the Harsanyi dividends ``I_h = Moebius(v)``: the AND
    effects when all of ``v`` is put on the AND side (``gamma = v / 2``) and no noise is removed. Efficiency
    holds: ``sum_i phi_i = v(N) - v(empty)``.

    Args:
        rewards: ``[..., 2^n]`` rewards in the project's subset order.

    Returns:
        ``[..., n]`` Shapley value of each player.
    """
    n = n_players_from_length(rewards.shape[-1])
    dividends = mobius(rewards)[..., 1:]
    orders = subset_orders(n, device=rewards.device)[1:].to(rewards.dtype)
    membership = subset_masks(n, device=rewards.device)[1:].to(rewards.dtype)
    return (dividends / orders) @ membership
