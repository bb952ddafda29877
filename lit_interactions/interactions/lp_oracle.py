"""Exact LP oracle for the sparsest AND-OR interactions (docs/conventions.md, "Sparsest interactions"), solved with scipy HiGHS.

Used by the tests and the benchmark to check the first-order solver against the exact optimum. It builds a
sparse LP over the effects themselves (``a = I_and``, ``o = I_or`` on nonempty subsets, split into positive and
negative parts) and the noise ``delta``; the rows are universal matching

    for every nonempty S:  sum_{nonempty T subset S} a_T + sum_{T meets S} o_T + delta_S - delta_empty = v_S - v_empty

with the OR part written as ``Y - sum_{nonempty T subset N\\S} o_T`` and one extra row ``Y = sum_T o_T`` so that
the matrix has about ``3^n`` nonzeros per model. For K >= 2 models (the joint objective) it adds the max variables of the
joint objective and the shared-decomposition rows ``gamma^(k) = g + e_k``, ``|e_k| <= bound_k``, where
``gamma^(k)_L = sum_{nonempty T subset L} a^(k)_T + c_k - (v^(k)_L - delta^(k)_L) / 2`` and ``c_k`` is the free
``u_and[empty]`` (it only moves the empty-set entries, which the objective ignores).
Practical up to n = 8 in tests (n = 10 takes seconds per sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog


@dataclass
class LPSolution:
    """Optimum of one sample: objective value, effects ``[K, 2^n]`` (index 0 = 0), noise and gamma ``[K, 2^n]``."""

    objective: float
    and_effects: np.ndarray
    or_effects: np.ndarray
    noise: np.ndarray
    gamma: np.ndarray


def _subset_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """All pairs ``(S, T)`` with ``T`` a nonempty subset of ``S`` (rows S, columns T)."""
    idx = np.arange(2**n)
    rows, cols = [], []
    for t in range(1, 2**n):
        s = idx[(idx & t) == t]
        rows.append(s)
        cols.append(np.full_like(s, t))
    return np.concatenate(rows), np.concatenate(cols)


def solve_lp(
    rewards: np.ndarray,
    noise_ratio: float = 0.01,
    alpha: float = 0.1,
    shared_bound: float = 0.5,
) -> LPSolution:
    """Exact optimum for one sample.

    Args:
        rewards: ``[2^n]`` (one model) or ``[K, 2^n]`` (K models; K >= 2 uses the joint objective).
        noise_ratio: ``noise_bound_k = noise_ratio * |v_k[N] - v_k[empty]|``.
        alpha: weight of the sum term of the joint objective (ignored for one model).
        shared_bound: ``|gamma_k| <= shared_bound * |v_k[N] - v_k[empty]|`` (ignored for one model).
    """
    v = np.atleast_2d(np.asarray(rewards, dtype=np.float64))
    n_models, size = v.shape
    n = int(round(np.log2(size)))
    if 2**n != size:
        raise ValueError(f"rewards must have length 2^n, got {size}")
    m = size - 1  # nonempty subsets
    full = size - 1
    pair_s, pair_t = _subset_pairs(n)  # T nonempty subset of S (S nonempty too)
    span = np.abs(v[:, full] - v[:, 0])
    noise_bound = noise_ratio * span
    joint = n_models >= 2

    # Per-model block of variables: a+ a- o+ o- (m each), delta (size), Y (1), c (1).
    nv_model = 4 * m + size + 2
    n_shared = (size + 2 * m) if joint else 0  # g (size), max_and (m), max_or (m)
    nv = n_models * nv_model + n_shared
    shared0 = n_models * nv_model

    eq_rows, eq_cols, eq_vals, b_eq = [], [], [], []
    ub_rows, ub_cols, ub_vals = [], [], []
    row = 0
    ub_row = 0
    bounds: list[tuple[float | None, float | None]] = [(0.0, None)] * nv
    cost = np.zeros(nv)
    for k in range(n_models):
        base = k * nv_model
        ap, am, op, om = base, base + m, base + 2 * m, base + 3 * m
        dl, yv, cv = base + 4 * m, base + 4 * m + size, base + 4 * m + size + 1
        for j in range(size):
            bounds[dl + j] = (-noise_bound[k], noise_bound[k])
        bounds[yv] = (None, None)
        bounds[cv] = (None, None)
        # Universal matching rows, S = 1..2^n-1 -> row offset row + S - 1.
        r = row + pair_s - 1
        eq_rows += [r, r]
        eq_cols += [ap + pair_t - 1, am + pair_t - 1]
        eq_vals += [np.ones(len(r)), -np.ones(len(r))]
        # OR part: Y - sum_{nonempty T subset N\S} o_T  (N\S = full ^ S; S = full gives no T).
        comp = full ^ pair_s  # rows are complements: T subset of S' means row index full ^ S'
        keep = comp != 0
        r2 = row + comp[keep] - 1
        eq_rows += [r2, r2]
        eq_cols += [op + pair_t[keep] - 1, om + pair_t[keep] - 1]
        eq_vals += [-np.ones(keep.sum()), np.ones(keep.sum())]
        s_all = np.arange(1, size)
        eq_rows += [row + s_all - 1, row + s_all - 1, row + s_all - 1]
        eq_cols += [np.full(m, yv), dl + s_all, np.full(m, dl)]
        eq_vals += [np.ones(m), np.ones(m), -np.ones(m)]
        b_eq += list(v[k, 1:] - v[k, 0])
        row += m
        # Y = sum_T o_T.
        eq_rows += [np.full(2 * m + 1, row)]
        eq_cols += [np.concatenate(([yv], op + np.arange(m), om + np.arange(m)))]
        eq_vals += [np.concatenate(([1.0], -np.ones(m), np.ones(m)))]
        b_eq.append(0.0)
        row += 1
        if not joint:
            cost[ap : dl] = 1.0
            continue
        # Joint: weights alpha on the sum, (1 - alpha) on the max variables.
        cost[ap:dl] = alpha
        mx_and, mx_or = shared0 + size, shared0 + size + m
        for first, mx in ((ap, mx_and), (op, mx_or)):
            rr = ub_row + np.arange(m)
            ub_rows += [rr, rr, rr]
            ub_cols += [first + np.arange(m), first + m + np.arange(m), mx + np.arange(m)]
            ub_vals += [np.ones(m), np.ones(m), -np.ones(m)]
            ub_row += m
        # gamma^(k)_L - g_L in [-beta, beta]:  sum_{T subset L} a_T + c + delta_L / 2 - g_L  in  v_L / 2 +- beta.
        beta = shared_bound * span[k]
        for sign in (1.0, -1.0):
            rl = ub_row + pair_s  # rows L = 0..size-1 (L = 0 has no T)
            ub_rows += [rl, rl]
            ub_cols += [ap + pair_t - 1, am + pair_t - 1]
            ub_vals += [sign * np.ones(len(rl)), -sign * np.ones(len(rl))]
            l_all = ub_row + np.arange(size)
            ub_rows += [l_all, l_all, l_all]
            ub_cols += [np.full(size, cv), dl + np.arange(size), shared0 + np.arange(size)]
            ub_vals += [sign * np.ones(size), sign * 0.5 * np.ones(size), -sign * np.ones(size)]
            ub_rows_b = 0.5 * v[k] * sign + beta
            ub_row += size
            if sign > 0:
                b_ub_plus = ub_rows_b
            else:
                b_ub_minus = ub_rows_b
        if k == 0:
            b_ub: list[float] = []
        b_ub += [0.0] * (2 * m) + list(b_ub_plus) + list(b_ub_minus)
    if joint:
        for j in range(size):
            bounds[shared0 + j] = (None, None)
        cost[shared0 + size :] = 1.0 - alpha

    a_eq = sp.csr_matrix(
        (np.concatenate(eq_vals), (np.concatenate(eq_rows), np.concatenate(eq_cols))), shape=(row, nv)
    )
    kwargs = {}
    if joint:
        kwargs["A_ub"] = sp.csr_matrix(
            (np.concatenate(ub_vals), (np.concatenate(ub_rows), np.concatenate(ub_cols))), shape=(ub_row, nv)
        )
        kwargs["b_ub"] = np.asarray(b_ub)
    res = linprog(cost, A_eq=a_eq, b_eq=np.asarray(b_eq), bounds=bounds, method="highs", **kwargs)
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed: {res.message}")
    x = res.x
    ands, ors, noises, gammas = [], [], [], []
    for k in range(n_models):
        base = k * nv_model
        a = np.concatenate(([0.0], x[base : base + m] - x[base + m : base + 2 * m]))
        o = np.concatenate(([0.0], x[base + 2 * m : base + 3 * m] - x[base + 3 * m : base + 4 * m]))
        delta = x[base + 4 * m : base + 4 * m + size]
        c = x[base + 4 * m + size + 1] if joint else 0.0
        u_and = _zeta(np.concatenate(([c], a[1:])))
        ands.append(a)
        ors.append(o)
        noises.append(delta)
        gammas.append(u_and - 0.5 * (v[k] - delta))
    return LPSolution(float(res.fun), np.array(ands), np.array(ors), np.array(noises), np.array(gammas))


def _zeta(values: np.ndarray) -> np.ndarray:
    """Subset sums ``out[S] = sum_{T subset S} values[T]`` (numpy butterfly)."""
    out = values.copy()
    n = int(round(np.log2(len(out))))
    for i in range(n):
        view = out.reshape(2 ** (n - 1 - i), 2, 2**i)
        view[:, 1, :] += view[:, 0, :]
    return out
