"""A tighter lower bound for one model: the dual estimate repaired by a small LP (docs/solver.md, "Beyond n = 12").

The solver's dual estimate ``lambda`` (``sum lambda = 0``) is nearly optimal but violates some of its ``2^(n + 1)``
dual constraints slightly (``|p_T| <= 1`` with ``p = superset_sum(lambda)``, and the same for the flipped
``lambda``, the OR side). Dividing by the largest violation, :func:`~._certificate.lower_bound`, costs the whole
excess. Here the point ``theta * lambda + delta``, with ``0 <= theta <= 2`` and ``delta`` on a few subsets ``D``
(the most violated ones and the empty set, so that the sum stays 0), is chosen by an LP (HiGHS) to maximise the dual
objective ``<lambda, v> - noise_bound |lambda|_1`` subject to every dual constraint, by row generation (the most
violated rows first, then any violated row, until none is). The result is checked on all constraints and divided by
its largest dual norm if that exceeds 1, so the bound is valid whatever the LP returns.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy.optimize import linprog

from lit_interactions.interactions.subsets import superset_sum

_SLACK = 1e-9  # a row counts as violated above 1 + _SLACK


def dual_values(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The AND values ``sum_{S superset of T} lambda_S`` and OR values ``sum_{S disjoint from T} lambda_S`` per T."""
    values = superset_sum(torch.from_numpy(np.stack((lam, lam[::-1].copy())))).numpy()
    return values[0], values[1]  # superset sums of the flipped lambda at T: the sum over subsets of N \ T


def _objective(lam: np.ndarray, v: np.ndarray, noise_bound: float) -> float:
    return float(lam @ v - noise_bound * np.abs(lam).sum())


def lp_repaired_bound(v: np.ndarray, noise_bound: float, lam: np.ndarray, top: int, rounds: int = 50) -> float:
    """A valid lower bound of one sample from a dual estimate ``lam`` ``[2^n]`` (float64, ``sum lam = 0``).

    Args:
        v: the rewards ``[2^n]``.
        noise_bound: the sample's noise bound.
        lam: the dual estimate; its AND and OR values may exceed 1 in absolute value.
        top: how many subsets (the most violated) carry a correction ``delta``; the empty set is added.
        rounds: at most this many LPs (row generation); a point still infeasible after them is rescaled.
    """
    size = len(v)
    p_and, p_or = dual_values(lam)
    index = np.arange(size)
    score = np.maximum(np.abs(p_and), np.abs(p_or)[::-1])  # the OR row at T is fixed through lambda at N \ T
    score[0] = np.inf
    d_set = np.union1d(np.argsort(-score, kind="stable")[: top + 1], [0])
    d = len(d_set)
    outside = np.ones(size, bool)
    outside[d_set] = False
    # Variables: theta, delta [d], |theta * lam + delta| on D [d] (epigraph); minimise the negated objective.
    cost = np.concatenate(([-(lam @ v - noise_bound * np.abs(lam[outside]).sum())], -v[d_set], np.full(d, noise_bound)))
    eye = np.eye(d)
    abs_rows = np.vstack((np.hstack((lam[d_set, None], eye, -eye)), np.hstack((-lam[d_set, None], -eye, -eye))))
    a_eq = np.concatenate(([0.0], np.ones(d), np.zeros(d)))[None, :]
    width = 2.0 * float(np.abs(lam).max()) + 2.0
    bounds = [(0.0, 2.0)] + [(-width, width)] * d + [(0.0, None)] * d

    def rows(sets: np.ndarray, side: int) -> np.ndarray:
        """Rows of the AND (0) or OR (1) constraints at ``sets``: ``theta * value + sum of delta over D inside``."""
        if side == 0:
            hit = (sets[:, None] & d_set[None, :]) == sets[:, None]
        else:
            hit = (sets[:, None] & d_set[None, :]) == 0
        base = (p_and if side == 0 else p_or)[sets, None]
        return np.hstack((base, hit.astype(float), np.zeros((len(sets), d))))

    ranked = np.argsort(-np.concatenate((np.abs(p_and[1:]), np.abs(p_or[1:]))), kind="stable")[: 4 * d]
    active = [ranked[ranked < size - 1] + 1, ranked[ranked >= size - 1] - (size - 1) + 1]
    new = lam
    for _ in range(rounds):
        block = np.vstack([rows(active[side], side) for side in (0, 1)])
        a_ub = sp.csr_matrix(np.vstack((block, -block, abs_rows)))
        b_ub = np.concatenate((np.ones(2 * len(block)), np.zeros(2 * d)))
        found = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[0.0], bounds=bounds, method="highs")
        if found.x is None:
            break
        new = found.x[0] * lam
        new[d_set] += found.x[1 : 1 + d]
        new_and, new_or = dual_values(new)
        added = False
        for side, values in ((0, new_and), (1, new_or)):
            bad = np.setdiff1d(index[1:][np.abs(values[1:]) > 1.0 + _SLACK], active[side])
            if len(bad):
                active[side] = np.union1d(active[side], bad[np.argsort(-np.abs(values[bad]))[: 4 * d]])
                added = True
        if not added:
            break
    new = new - new.mean()  # exact in exact arithmetic (sum delta = 0); removes the LP's rounding of the sum
    new_and, new_or = dual_values(new)
    worst = max(float(np.abs(new_and[1:]).max()), float(np.abs(new_or[1:]).max()), 1.0)
    return max(_objective(new, v, noise_bound) / worst, 0.0)
