"""AND-OR interactions from rewards for a given decomposition (Theorem 1 of paper 2; docs/conventions.md)."""

from __future__ import annotations

import torch
from torch import Tensor

from lit_interactions.interactions.checks import check_subset_vector
from lit_interactions.interactions.subsets import complement, mobius, zeta


def _broadcast(name: str, value: Tensor | None, rewards: Tensor) -> Tensor:
    if value is None:
        return torch.zeros_like(rewards)
    check_subset_vector(value, name)
    if value.shape[-1] != rewards.shape[-1]:
        raise ValueError(
            f"{name} has {value.shape[-1]} entries over subsets but rewards have {rewards.shape[-1]}; "
            f"both must be vectors over the same 2^n subsets"
        )
    return value.to(dtype=rewards.dtype, device=rewards.device).expand_as(rewards)


def and_or_transform(
    rewards: Tensor, gamma: Tensor | None = None, noise: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """AND and OR interaction effects of rewards on all ``2^n`` masks.

    ``u_and = (v - noise) / 2 + gamma`` and ``u_or = (v - noise) / 2 - gamma``;
    ``I_and = Moebius(u_and)``, ``I_or[T] = -sum_{L subset of T} (-1)^(|T|-|L|) u_or[N \\ L]``.
    Index 0 (the empty set) of both results is set to 0: the constant ``b = v[0] - noise[0]`` is
    reported separately (see :func:`bias`).

    Args:
        rewards: ``[..., 2^n]`` rewards ``v(x_S)`` in the project's subset order.
        gamma: decomposition parameters, broadcastable to ``rewards``; zero if omitted.
        noise: noise term ``delta``, broadcastable to ``rewards``; zero if omitted.

    Returns:
        ``(and_effects, or_effects)``, each shaped like ``rewards``.
    """
    check_subset_vector(rewards, "rewards")
    gamma_ = _broadcast("gamma", gamma, rewards)
    noise_ = _broadcast("noise", noise, rewards)
    half = 0.5 * (rewards - noise_)
    and_effects = mobius(half + gamma_)
    or_effects = -mobius(complement(half - gamma_))
    and_effects = torch.cat((torch.zeros_like(and_effects[..., :1]), and_effects[..., 1:]), dim=-1)
    or_effects = torch.cat((torch.zeros_like(or_effects[..., :1]), or_effects[..., 1:]), dim=-1)
    return and_effects, or_effects


def bias(rewards: Tensor, noise: Tensor | None = None) -> Tensor:
    """The constant ``b = v[empty] - noise[empty]`` of the logical model, shaped ``rewards.shape[:-1]``."""
    b = rewards[..., 0]
    return b if noise is None else b - noise[..., 0].to(rewards)


def logical_model(and_effects: Tensor, or_effects: Tensor, bias_: Tensor) -> Tensor:
    """Output of the AND-OR logical model on all ``2^n`` masks.

    ``h[S] = b + sum_{nonempty T subset of S} I_and[T] + sum_{T meets S} I_or[T]``; entries at index 0 of
    the effect vectors are ignored. Universal matching says ``h = rewards - noise``.
    """
    a = torch.cat((torch.zeros_like(and_effects[..., :1]), and_effects[..., 1:]), dim=-1)
    o = torch.cat((torch.zeros_like(or_effects[..., :1]), or_effects[..., 1:]), dim=-1)
    # Sum over T meeting S = (sum over all T) - (sum over T inside the complement of S).
    or_part = o.sum(-1, keepdim=True) - complement(zeta(o))
    return bias_.unsqueeze(-1) + zeta(a) + or_part
