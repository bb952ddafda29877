"""Projections onto the constraint set of the sparse AND-OR problem (noise bound, shared decomposition).

Shapes: model index ``K`` on dimension 1 of ``[2, K, B, 2^n]`` tensors (slice 0 = AND side, 1 = OR side) and
per-sample parameters shaped ``[K, B, 1]`` or ``[B, 1]`` so that they broadcast over subsets.
"""

from __future__ import annotations

import torch
from torch import Tensor


def project_shared(d: Tensor, bound: Tensor) -> Tensor:
    """Euclidean projection of ``d`` (models on dimension 0) onto ``{d : exists g, |d_k - g| <= bound_k}``.

    The best ``g`` is the root of the nonincreasing piecewise-linear ``F(g) = sum_k soft(d_k - g, bound_k)``;
    its breakpoints are ``d_k +- bound_k``, so ``F`` is evaluated there and interpolated linearly.
    """
    n_models = d.shape[0]
    if n_models == 1:
        return d
    if n_models == 2:
        # Closed form: move both ends towards each other by half the excess distance.
        diff = d[0] - d[1]
        excess = (diff.abs() - bound[0] - bound[1]).clamp_min(0.0)
        shift = 0.5 * excess * torch.sign(diff)
        return torch.stack((d[0] - shift, d[1] + shift))
    cands = torch.cat((d - bound, d + bound), dim=0)  # [2K, ...]
    cands, _ = torch.sort(cands, dim=0)
    gaps = d.unsqueeze(0) - cands.unsqueeze(1)  # [2K, K, ...]
    b = bound.unsqueeze(0)
    f = (gaps - torch.clamp(gaps, min=-b, max=b)).sum(dim=1)  # soft thresholds summed over models: [2K, ...]
    nonneg = (f >= 0).to(torch.int64)
    order = torch.arange(cands.shape[0], device=d.device).view(-1, *([1] * (d.dim() - 1)))
    j = (nonneg * order).amax(dim=0, keepdim=True)
    j_next = (j + 1).clamp_max(cands.shape[0] - 1)
    c0, c1 = cands.gather(0, j), cands.gather(0, j_next)
    f0, f1 = f.gather(0, j), f.gather(0, j_next)
    denom = f0 - f1
    step = torch.where(denom > 0, f0 / torch.where(denom > 0, denom, torch.ones_like(denom)), torch.zeros_like(f0))
    g = c0 + step * (c1 - c0)
    return torch.maximum(torch.minimum(d, g + bound), g - bound)


def project_offsets(
    z: Tensor, lo: Tensor, hi: Tensor, gamma0: Tensor, beta: Tensor | None, out: Tensor | None = None
) -> Tensor:
    """Project offsets ``z = [ds, dt]`` from a base point ``x0`` onto ``C - x0``.

    With ``x0 = (s0, t0)``, ``C`` is ``lo <= ds + dt <= hi`` (the noise bound moved by ``x0``'s noise) and, for
    K >= 2, ``gamma0 + (ds - dt) / 2`` shared within ``beta`` (``gamma0 = (s0 - t0) / 2``).
    """
    out = torch.empty_like(z) if out is None else out
    w = z[0] + z[1]
    w_new = torch.clamp(w, min=lo, max=hi)
    if beta is None:
        torch.add(z, w_new.sub_(w).mul_(0.5), out=out)
        return out
    d = project_shared(gamma0 + 0.5 * (z[0] - z[1]), beta) - gamma0
    w_new.mul_(0.5)
    torch.add(w_new, d, out=out[0])
    torch.sub(w_new, d, out=out[1])
    return out
