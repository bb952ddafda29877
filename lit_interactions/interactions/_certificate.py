"""Certificates of the sparse AND-OR problem: the objective (upper bounds) and Fenchel-dual lower bounds.

Notation of ``_graph_admm.py``: ``x = (s, t) = (u_and, u_or)`` per model, ``A = (mobius, mobius o complement)``,
effects ``[2, K, B, 2^n]`` (side, model, sample, subset).
"""

from __future__ import annotations

import torch
from torch import Tensor

from lit_interactions.interactions._kron import KronTransform

_TINY = 1e-300


def joint_dual_norm(mu: Tensor, alpha: float) -> Tensor:
    """Dual norm over dimension 1 (models) of ``(1 - alpha) * ||.||_inf + alpha * ||.||_1``.

    Its unit ball's extreme points are ``c * (signed indicator of j models)`` with ``c = 1 / (1 - alpha +
    alpha * j)``, hence ``max_j (sum of the j largest |mu_k|) / (1 - alpha + alpha * j)``.
    """
    mag = mu.abs()
    if mu.shape[1] == 2:
        return torch.maximum(mag.amax(dim=1), mag.sum(dim=1) / (1.0 + alpha))
    ordered, _ = torch.sort(mag, dim=1, descending=True)
    j = torch.arange(1, mu.shape[1] + 1, device=mu.device, dtype=mu.dtype).view((1, -1) + (1,) * (mu.dim() - 2))
    return (ordered.cumsum(dim=1) / (1.0 - alpha + alpha * j)).amax(dim=1)


def penalty(effects: Tensor, alpha: float) -> Tensor:
    """``sum_{T nonempty} P(effects[side, :, b, T])`` summed over sides, per sample: ``[2, K, B, N] -> [B]``."""
    mag = effects[..., 1:].abs()
    if effects.shape[1] == 1:
        return mag.sum(dim=(0, 1, 3))
    return ((1.0 - alpha) * mag.amax(dim=1) + alpha * mag.sum(dim=1)).sum(dim=(0, 2))


def lower_bound(
    superset_sum: KronTransform,
    lam_and: Tensor,
    lam_or: Tensor,
    rewards: Tensor,
    noise_bound: Tensor,
    beta: Tensor | None,
    alpha: float,
) -> Tensor:
    """Lower bound ``[B]`` from any dual estimate ``(l, r) = (lam_and, lam_or)`` ``[K, B, N]`` (float64 inside).

    With ``A = (mobius, mobius o complement)``, the Fenchel dual is: maximise ``sum_k <(l_k + r_k) / 2, v_k> -
    noise_bound_k |(l_k + r_k) / 2|_1 - beta_k |l_k - r_k|_1`` over ``(l_k, r_k) = A^T mu`` with ``sum_k (l_k - r_k) =
    0``, ``mu`` zero on the empty set and the penalty's dual norm of ``mu`` at most 1 on every subset (K = 1:
    ``l = r``, no beta term). The estimate is repaired into this set: the equality restored by splitting its
    residual, each vector centred (so ``mu[empty] = 0``), then divided by the largest dual norm of ``mu =
    A^-T (l, r)``. The dual objective is positively homogeneous, so its value there is a valid bound.
    """
    lam_and, lam_or = lam_and.to(torch.float64), lam_or.to(torch.float64)
    n_models = lam_and.shape[0]
    repair = (lam_and - lam_or).sum(dim=0, keepdim=True) / (2.0 * n_models)
    lam_and, lam_or = lam_and - repair, lam_or + repair
    lam_and = lam_and - lam_and.mean(dim=-1, keepdim=True)
    lam_or = lam_or - lam_or.mean(dim=-1, keepdim=True)
    mu = superset_sum(torch.stack((lam_and, lam_or.flip(-1))))[..., 1:]
    if n_models == 1:
        scale = mu.abs().amax(dim=(0, 1, 3))
    else:
        scale = joint_dual_norm(mu, alpha).amax(dim=(0, 2))
    avg = 0.5 * (lam_and + lam_or)
    dual = ((avg * rewards).sum(-1) - noise_bound[..., 0] * avg.abs().sum(-1)).sum(0)
    if beta is not None:
        dual = dual - (beta[..., 0] * (lam_and - lam_or).abs().sum(-1)).sum(0)
    return torch.where(scale > 0, dual / scale.clamp_min(_TINY), torch.zeros_like(dual)).clamp_min(0.0)


def dual_estimates(superset_mobius: KronTransform, nu: Tensor, mu: Tensor) -> list[tuple[Tensor, Tensor]]:
    """Two estimates of ``(l, r)``: ``-nu`` (multipliers of the constraint set, ``= A^T mu`` at a solution) and
    ``A^T mu`` (multipliers of ``y = A x``). The first is the sharper for K >= 2 in float64; the second has no
    cancellation in float32 (``mu`` is a clipped value, ``nu`` a small difference of large ones)."""
    mu = mu.to(torch.float64).clone()
    mu[..., 0] = 0.0
    lam = superset_mobius(mu)
    return [(-nu[0], -nu[1]), (lam[0], lam[1].flip(-1))]
