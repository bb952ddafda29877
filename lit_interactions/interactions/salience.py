"""Salient interactions, their strength per order and the average order eta (paper 2 Eq. 6-8).

Conventions of this module:
- An interaction is salient only if its effect is nonzero, and the empty set (index 0) never is.
- A threshold is a number or a tensor whose shape is a leading part of the batch shape (``[]``, ``[K]``,
  ``[K, B]``, size 1 allowed): one tau per model is a tensor of shape ``[K]``.
- A ratio whose denominator is empty (nothing salient) is 0, never NaN; the denominators are returned too.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lit_interactions.interactions.subsets import n_players_from_length, subset_orders


def salience_threshold(rewards: Tensor, ratio: float = 0.02) -> Tensor:
    """Salience threshold ``tau = ratio * mean |v(x_N) - v(x_empty)|`` of one model (Ren et al. 2024b).

    The mean is taken over every sample given, i.e. over all leading dimensions: pass the rewards of one
    model on its probe samples (for several models, call it once per model and stack the results).

    Args:
        rewards: ``[..., 2^n]`` rewards of one model on its probe samples.
        ratio: fraction of the mean output change; 0.02 in paper 2.

    Returns:
        A 0-dim tensor of the rewards' dtype and device.
    """
    n_players_from_length(rewards.shape[-1])
    if not ratio > 0:
        raise ValueError(f"ratio must be positive, got {ratio}; paper 2 uses 0.02")
    return ratio * (rewards[..., -1] - rewards[..., 0]).abs().mean()


def _threshold_like(threshold: float | Tensor, effects: Tensor) -> Tensor:
    """Reshape a threshold (scalar or leading part of the batch shape) to broadcast against ``effects``."""
    batch = effects.shape[:-1]
    tau = torch.as_tensor(threshold, dtype=effects.dtype, device=effects.device)
    if tau.dim() > len(batch) or any(t not in (1, b) for t, b in zip(tau.shape, batch)):
        raise ValueError(
            f"threshold of shape {tuple(tau.shape)} does not match the batch shape {tuple(batch)}: pass a number "
            f"or a tensor whose shape is the leading part of the batch shape (e.g. one tau per model: [K])"
        )
    if torch.isnan(tau).any() or (tau < 0).any():
        raise ValueError("threshold must be >= 0 and not NaN (an interaction is salient when |I| > threshold)")
    return tau.reshape(*tau.shape, *([1] * (effects.dim() - tau.dim())))


def _top_k_mask(effects: Tensor, top_k: int) -> Tensor:
    size = effects.shape[-1]
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= size - 1:
        raise ValueError(f"top_k must be an int in 1..{size - 1} (the number of nonempty subsets), got {top_k}")
    strength = effects.abs()
    ranked = torch.cat((torch.full_like(strength[..., :1], -1.0), strength[..., 1:]), dim=-1)
    mask = torch.zeros_like(effects, dtype=torch.bool)
    mask.scatter_(-1, ranked.topk(top_k, dim=-1).indices, True)
    return mask & (strength > 0)


def salient_masks(
    and_effects: Tensor,
    or_effects: Tensor,
    threshold: float | Tensor | None = None,
    *,
    top_k: int | None = None,
    relative: float | None = None,
) -> tuple[Tensor, Tensor]:
    """Boolean masks of the salient AND and OR interactions, by exactly one selection rule.

    Args:
        and_effects: ``[..., 2^n]`` AND effects.
        or_effects: ``[..., 2^n]`` OR effects.
        threshold: absolute rule ``|I| > threshold`` (e.g. from :func:`salience_threshold`).
        top_k: the ``top_k`` largest ``|I|`` of each type separately (nonzero ones only; ties broken by torch).
        relative: ``|I| > relative * max|I|``, the max taken over both types of the same batch entry
            (paper 1 uses 0.05).

    Returns:
        ``(and_mask, or_mask)``, boolean, shaped like the effects; index 0 is always False.
    """
    n_players_from_length(and_effects.shape[-1])
    if and_effects.shape != or_effects.shape:
        raise ValueError(f"AND effects {tuple(and_effects.shape)} and OR effects {tuple(or_effects.shape)} differ")
    rules = (("threshold", threshold), ("top_k", top_k), ("relative", relative))
    chosen = [name for name, value in rules if value is not None]
    if len(chosen) != 1:
        raise ValueError(
            f"give exactly one selection rule among threshold, top_k and relative (got {chosen or 'none'}); "
            f"e.g. salient(salience_threshold(rewards)), salient(top_k=20) or salient(relative=0.05)"
        )
    if top_k is not None:
        and_mask, or_mask = _top_k_mask(and_effects, top_k), _top_k_mask(or_effects, top_k)
    else:
        if relative is not None:
            if not 0 <= relative <= 1:
                raise ValueError(f"relative must be in [0, 1] (a fraction of the largest |I|), got {relative}")
            largest = torch.maximum(and_effects.abs().amax(-1), or_effects.abs().amax(-1))
            tau = (relative * largest).unsqueeze(-1)
        else:
            assert threshold is not None  # exactly one rule was given
            tau = _threshold_like(threshold, and_effects)
        # |I| > tau >= 0 already excludes zero effects.
        and_mask, or_mask = and_effects.abs() > tau, or_effects.abs() > tau
    and_mask[..., 0] = False
    or_mask[..., 0] = False
    return and_mask, or_mask


def order_strengths(
    and_effects: Tensor, or_effects: Tensor, and_mask: Tensor, or_mask: Tensor
) -> tuple[Tensor, Tensor]:
    """Per order ``k = 0..n``, the summed positive and summed negative effects under the masks.

    ``I_pos(k) = sum_{type} sum_{T in mask, |T| = k} max(I[T], 0)`` and ``I_neg(k)`` the same with ``min``
    (so ``I_neg <= 0``). Order 0 is always 0.

    Returns:
        ``(pos, neg)``, each ``[..., n + 1]``.
    """
    n = n_players_from_length(and_effects.shape[-1])
    kept = torch.stack(
        (torch.where(and_mask, and_effects, 0.0), torch.where(or_mask, or_effects, 0.0)), dim=0
    )
    orders = subset_orders(n, device=and_effects.device)
    by_order = torch.zeros(*kept.shape[:-1], n + 1, dtype=kept.dtype, device=kept.device)

    def per_order(values: Tensor) -> Tensor:
        return by_order.index_add(-1, orders, values).sum(0)

    return per_order(kept.clamp(min=0)), per_order(kept.clamp(max=0))


def eta_from_strengths(pos: Tensor, neg: Tensor) -> Tensor:
    """Average order ``eta = sum_k k (I_pos(k) + |I_neg(k)|) / sum_k (I_pos(k) + |I_neg(k)|)`` (paper 2 Eq. 8).

    A sample with no salient interaction has ``eta = 0``: a value no real eta takes (eta >= 1 otherwise),
    so it cannot be mistaken for a measurement and does not poison means with NaN. Filter it with ``eta > 0``.

    Args:
        pos: ``[..., n + 1]`` from :func:`order_strengths`.
        neg: ``[..., n + 1]`` from :func:`order_strengths`.

    Returns:
        ``[...]``
    """
    weight = pos + neg.abs()
    k = torch.arange(weight.shape[-1], dtype=weight.dtype, device=weight.device)
    total = weight.sum(-1)
    return torch.where(total > 0, (k * weight).sum(-1) / torch.where(total > 0, total, 1.0), 0.0)


class OrderVectors:
    """Base of results holding per-order strengths ``I_pos`` ``[..., n + 1]`` (order 0 first): their ``n``."""

    I_pos: Tensor

    @property
    def n_players(self) -> int:
        """Number of players ``n`` (the highest order)."""
        return self.I_pos.shape[-1] - 1
