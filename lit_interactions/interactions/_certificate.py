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


def centred_estimate(lam_and: Tensor, lam_or: Tensor) -> tuple[Tensor, Tensor]:
    """``(l, r)`` in float64 with the equality ``sum_k (l_k - r_k) = 0`` restored by splitting its residual and
    each vector centred (so that ``mu[empty] = 0``); K = 1 gives ``l = r``."""
    lam_and, lam_or = lam_and.to(torch.float64), lam_or.to(torch.float64)
    if lam_and.shape[0] == 1:
        lam_and = lam_or = 0.5 * (lam_and + lam_or)
    else:
        repair = (lam_and - lam_or).sum(dim=0, keepdim=True) / (2.0 * lam_and.shape[0])
        lam_and, lam_or = lam_and - repair, lam_or + repair
    return lam_and - lam_and.mean(dim=-1, keepdim=True), lam_or - lam_or.mean(dim=-1, keepdim=True)


def _dual_norms(mu: Tensor, alpha: float) -> Tensor:
    """The largest dual norm per sample ``[B]`` of ``mu`` ``[2, K, B, N]`` (sides, models) over sides and subsets."""
    if mu.shape[1] == 1:
        return mu.abs().amax(dim=(0, 1, 3))
    return joint_dual_norm(mu, alpha).amax(dim=(0, 2))


def _objective(lam_and: Tensor, lam_or: Tensor, rewards: Tensor, noise_bound: Tensor, beta: Tensor | None) -> Tensor:
    """The dual objective ``[B]`` at ``(l, r)`` ``[K, B, N]`` (rewards ``[K, B, N]``, bounds ``[K, B, 1]``)."""
    avg = 0.5 * (lam_and + lam_or)
    dual = ((avg * rewards).sum(-1) - noise_bound[..., 0] * avg.abs().sum(-1)).sum(0)
    if beta is not None:
        dual = dual - (beta[..., 0] * (lam_and - lam_or).abs().sum(-1)).sum(0)
    return dual


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
    lam_and, lam_or = centred_estimate(lam_and, lam_or)
    scale = _dual_norms(superset_sum(torch.stack((lam_and, lam_or.flip(-1))))[..., 1:], alpha)
    dual = _objective(lam_and, lam_or, rewards, noise_bound, beta)
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

    superset_sum: KronTransform  # the AND values p of lambda; of the flipped lambda, its OR values
    signed_subset_sum: KronTransform  # q_T = sum_{R subset of T} (-1)^|R| p_R: OR values from AND values
    superset_mobius: KronTransform  # lambda from its AND values p
    orders: Tensor  # |T| per subset

    @classmethod
    def build(cls, n: int, device: torch.device) -> SweepTransforms:
        """The transforms for ``n`` players on ``device``."""
        def kron(per_bit: list[list[float]]) -> KronTransform:
            return KronTransform(torch.tensor([per_bit], dtype=torch.float64, device=device), n)

        return cls(kron([[1.0, 1.0], [0.0, 1.0]]), kron([[1.0, 0.0], [1.0, -1.0]]), kron([[1.0, -1.0], [0.0, 1.0]]),
                   subset_orders(n, device))

    def values(self, lam_and: Tensor, lam_or: Tensor) -> Tensor:
        """The dual constraints' values ``mu`` ``[2, ...]`` of ``(l, r)``: superset sums of ``l`` and of the
        flipped ``r``."""
        return self.superset_sum(torch.stack((lam_and, lam_or.flip(-1))).unsqueeze(0))[0]


def _into_ball(z: Tensor, alpha: float) -> Tensor:
    """A point of the penalty's dual unit ball near ``z`` ``[K, B, N]``, per subset: ``z`` clipped to the unit box
    and, for K >= 2, divided by its joint dual norm where that still exceeds 1."""
    z = z.clamp(-1.0, 1.0)
    if z.shape[0] == 1:
        return z
    return z / joint_dual_norm(z.unsqueeze(0), alpha)[0].clamp_min(1.0)


def swept_dual(
    ops: SweepTransforms, lam: Tensor, diff: Tensor, shrink: float | Tensor, alpha: float = 0.0
) -> tuple[Tensor, Tensor]:
    """A dual feasible point ``(l, r)`` ``[K, B, N]`` near the repaired estimate ``(lam, lam - diff)`` (float64).

    :func:`lower_bound` divides the estimate by its largest dual norm, which costs the whole excess on every
    subset. Here ``d = l - r`` is kept (so the equality ``sum_k d_k = 0`` and the beta term stay as they are)
    and ``l`` moves: with ``p_T = sum_{S superset of T} l_S`` the AND values, the OR values are ``q_T =
    sum_{R subset of T} (-1)^|R| p_R - c_T``, ``c`` the superset sums of flipped ``d`` (``c = 0`` for one
    model). Only a fraction ``shrink`` (a number, or one per sample ``[B]``) of the excess is divided out; then
    ``p`` is brought into the penalty's dual ball subset by subset, and level by level (``|T| = 1..n``) each
    ``q_T`` outside it is brought back through ``p_T`` (which moves ``q`` only on supersets of ``T``, at later
    levels). What still exceeds 1 (where ``p_T`` had to be clipped) is divided out at the end, so the point is
    dual feasible whatever the sweep did.
    """
    values = ops.values(lam, lam - diff)
    scale = (1.0 + shrink * (_dual_norms(values[..., 1:], alpha) - 1.0).clamp_min(0.0)).unsqueeze(-1)
    p, diff = _into_ball(values[0] / scale, alpha), diff / scale
    p[..., 0] = 0.0
    offset = ops.superset_sum(diff.flip(-1).unsqueeze(0))[0]
    sign = 1.0 - 2.0 * (ops.orders % 2).to(p.dtype)
    q, top = ops.signed_subset_sum(p.unsqueeze(0))[0] - offset, int(ops.orders.max())
    for level in range(1, top + 1):
        fixed = torch.where(ops.orders == level, _into_ball(p - sign * (q - _into_ball(q, alpha)), alpha), p)
        if level < top and not torch.equal(fixed, p):  # q only changes where p did (often at few levels)
            q = ops.signed_subset_sum(fixed.unsqueeze(0))[0] - offset
        p = fixed
    new = ops.superset_mobius(p.unsqueeze(0))[0]
    norm = _dual_norms(ops.values(new, new - diff)[..., 1:], alpha).clamp_min(1.0).unsqueeze(-1)
    return new / norm, (new - diff) / norm


def swept_bound(
    ops: SweepTransforms,
    lam_and: Tensor,
    lam_or: Tensor,
    rewards: Tensor,
    noise_bound: Tensor,
    beta: Tensor | None = None,
    alpha: float = 0.0,
) -> Tensor:
    """Lower bound ``[B]`` from a dual estimate ``(l, r)`` ``[K, B, N]``: the best dual objective at
    :func:`swept_dual` of the repaired estimate (as in :func:`lower_bound`) over ``_SHRINKS`` (rewards ``[K, B,
    N]``, bounds ``[K, B, 1]``)."""
    lam_and, lam_or = centred_estimate(lam_and, lam_or)
    copies, batch = len(_SHRINKS), lam_and.shape[1]
    shrinks = torch.tensor(_SHRINKS, dtype=lam_and.dtype, device=lam_and.device).repeat_interleave(batch)

    def tiled(x: Tensor) -> Tensor:  # one copy of the batch per shrink, all swept in one pass
        return x.repeat(1, copies, 1)

    lam_and = tiled(lam_and)
    new_and, new_or = swept_dual(ops, lam_and, lam_and - tiled(lam_or), shrinks, alpha)
    dual = _objective(new_and, new_or, tiled(rewards), tiled(noise_bound), None if beta is None else tiled(beta))
    return dual.view(copies, batch).amax(dim=0).clamp_min(0.0)
