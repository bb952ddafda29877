"""Certificates of the sparse AND-OR problem: the objective (upper bounds) and Fenchel-dual lower bounds.

Notation of ``_graph_admm.py``: ``x = (s, t) = (u_and, u_or)`` per model, ``A = (mobius, mobius o complement)``,
effects ``[2, K, B, 2^n]`` (side, model, sample, subset).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from lit_interactions.interactions._kron import KronTransform
from lit_interactions.interactions.subsets import subset_orders

_TINY = 1e-300
# The swept bound first divides out one of these fractions of the excess dual norm and keeps the best (no one
# fraction is best at every n and stage of the iterations; docs/solver.md, "Beyond n = 12", item 5).
_SHRINKS = (0.4, 0.6, 0.8)


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


@dataclass(frozen=True)
class SweepTransforms:
    """The float64 transforms of :func:`swept_bound` for ``n`` players."""

    rows: KronTransform  # superset sums of (lambda, flipped lambda): the AND and OR dual constraints' values
    signed_subset_sum: KronTransform  # q_T = sum_{R subset of T} (-1)^|R| p_R: OR values from AND values
    superset_mobius: KronTransform  # lambda from its AND values p
    orders: Tensor  # |T| per subset

    @classmethod
    def build(cls, n: int, device: torch.device) -> SweepTransforms:
        """The transforms for ``n`` players on ``device``."""
        def kron(*per_bit: list[list[float]]) -> KronTransform:
            return KronTransform(torch.tensor(per_bit, dtype=torch.float64, device=device), n)

        return cls(kron([[1.0, 1.0], [0.0, 1.0]], [[1.0, 1.0], [0.0, 1.0]]), kron([[1.0, 0.0], [1.0, -1.0]]),
                   kron([[1.0, -1.0], [0.0, 1.0]]), subset_orders(n, device))


def swept_dual(ops: SweepTransforms, lam: Tensor, shrink: float) -> Tensor:
    """A dual feasible point ``[B, N]`` of one model near the centred estimate ``lam`` ``[B, N]`` (float64).

    :func:`lower_bound` divides the estimate by its largest dual norm, which costs the whole excess on every
    subset. Here, with ``p_T = sum_{S superset of T} lambda_S`` the AND values, the OR values are ``q_T =
    sum_{R subset of T} (-1)^|R| p_R``. Only a fraction ``shrink`` of the excess is divided out; then ``p`` is
    clipped to the unit box, and level by level (``|T| = 1..n``) each ``q_T`` beyond 1 is brought back through
    ``p_T`` (which moves ``q`` only on supersets of ``T``, at later levels). What still exceeds 1 (where
    ``p_T`` had to be clipped) is divided out at the end, so the point is dual feasible whatever the sweep did.
    """
    rows = ops.rows(torch.stack((lam, lam.flip(-1))))
    excess = rows[..., 1:].abs().amax(dim=(0, 2)).sub(1.0).clamp_min(0.0)
    p = (rows[0] / (1.0 + shrink * excess).unsqueeze(-1)).clamp(-1.0, 1.0)
    p[:, 0] = 0.0
    sign = 1.0 - 2.0 * (ops.orders % 2).to(p.dtype)
    for level in range(1, int(ops.orders.max()) + 1):
        q = ops.signed_subset_sum(p.unsqueeze(0))[0]
        fixed = (p - sign * (q - q.clamp(-1.0, 1.0))).clamp(-1.0, 1.0)
        p = torch.where(ops.orders == level, fixed, p)
    new = ops.superset_mobius(p.unsqueeze(0))[0]
    norm = ops.rows(torch.stack((new, new.flip(-1))))[..., 1:].abs().amax(dim=(0, 2))
    return new / norm.clamp_min(1.0).unsqueeze(-1)


def swept_bound(ops: SweepTransforms, lam_and: Tensor, lam_or: Tensor, rewards: Tensor, noise_bound: Tensor) -> Tensor:
    """Lower bound ``[B]`` of one model from a dual estimate ``(l, r)`` ``[1, B, N]``: the best dual objective at
    :func:`swept_dual` of the centred ``(l + r) / 2`` over ``_SHRINKS`` (rewards ``[1, B, N]``, noise bounds
    ``[1, B, 1]``)."""
    lam = 0.5 * (lam_and[0] + lam_or[0]).to(torch.float64)
    lam = lam - lam.mean(dim=-1, keepdim=True)
    best = torch.zeros(lam.shape[0], dtype=lam.dtype, device=lam.device)
    for shrink in _SHRINKS:
        new = swept_dual(ops, lam, shrink)
        best = torch.maximum(best, (new * rewards[0]).sum(-1) - noise_bound[0, :, 0] * new.abs().sum(-1))
    return best
