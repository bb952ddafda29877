"""Crossover: finish one sample of the sparsest AND-OR problem exactly, from the effects an iteration found.

A first-order iteration finds the support of a sparse optimum (which effects are nonzero, which noise entries
sit at their bound) long before it certifies a small gap. This solves the problem exactly with the simplex
(HiGHS) on a restricted LP over those effects and rows, and grows it by row and column generation. For one
model (K = 1):

    minimise    sum_{T in W_and} |a_T| + sum_{T in W_or} |o_T|
    subject to  |w_S - sum_{T in W_and, T subset S} a_T - sum_{T in W_or, T meets S} o_T + d| <= noise_bound
                for S in R (nonempty),   |d| <= noise_bound,

with ``w_S = v_S - v_empty`` and ``d`` the noise on the empty set. For two models (the joint problem) each effect
``T`` has one value per model, the objective is ``(1 - alpha) max_k |a_kT| + alpha sum_k |a_kT|`` (written with
the eight vertices of its unit ball, :func:`_atoms`), the noise rows are per model, and the shared rows bound the
difference of the two models' ``gamma_k(L) = (AND_k(L) - OR_k(L)) / 2 + e_k`` (``AND``, ``OR`` the subset and
meet sums of the effects, ``e_k`` a free constant) by ``beta_0 + beta_1``: two gammas lie within ``beta_k`` of
one shared value exactly when they differ by at most ``beta_0 + beta_1``.

After each solve, the rows of all ``2^n`` subsets are checked with fast subset-sum transforms (violated rows
join ``R``) and the dual multipliers are priced against every effect (an effect whose prices lie outside the
unit ball of the penalty's dual norm joins ``W``). A restricted LP that turns out infeasible ends the try
(None), like one that outgrows its budget.
When neither finds anything the restricted optimum is the optimum of the full problem: a vertex, with a dual
point that proves it. The caller certifies the result with the same bounds as the iteration's.

The restricted matrix is dense (an AND effect of order 1 meets half the rows), so this pays only when the
optimum is sparse, e.g. a few dozen planted effects: :func:`crossover` gives up (returns None) when the
working set outgrows ``max_effects``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import highspy
import numpy as np
import torch

from lit_interactions.interactions._certificate import joint_dual_norm
from lit_interactions.interactions.subsets import superset_sum as _superset_sum
from lit_interactions.interactions.subsets import zeta

_ROW_FRACTION = 0.99  # a noise entry (or gamma difference) this close to its bound marks a candidate active row
_EFFECT_FRACTION = 1e-3  # an effect this large relative to the largest marks a candidate nonzero
_ROWS_PER_EFFECT = 8  # give up without trying beyond this many candidate rows per effect of the budget
_ADD_PER_ROUND = 32  # rows, AND effects and OR effects added per round at most
_MAX_ROUNDS = 60
_BLOCK_ENTRIES = 2_000_000  # new columns are built in dense [rows, effects * atoms] blocks of at most this size
# Give up once the simplex has done this much work (iterations times rows of the LP they ran on). The planted
# sparse games the crossover finishes took up to 3.6e6 (one model, n = 10..16) and 6.9e6 (planted pairs, n = 12); a
# trained CNN's dense optimum at n = 13 took 5.2e6 in its first solve and 206 s of HiGHS in all before giving up
# (docs/solver.md, "Crossover").
_SIMPLEX_WORK = 10_000_000
# Two models above n = 12: this many times the cap. Planted pairs that crossed took up to 6.9e6 at n = 12 and
# 1.4e7 at n = 13-16 (docs/solver.md, "Two models above n = 12").
_JOINT_WORK_FACTOR = 4
# A re-solve from the previous basis that takes more than this many simplex iterations per row of the LP restarts
# from scratch: warm re-solves of planted games took up to 0.75 per row (one model, n = 10..16) and 1.32 (planted
# pairs, n = 12), and one planted game at n = 13 stalled for 19,307 iterations on 895 rows from its warm basis where
# a solve from scratch took 259 (docs/solver.md, "Crossover").
_RESTART_AFTER = 2.0
_VERDICTS = (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible,
             highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible)
_FEASIBILITY = 1e-10  # HiGHS's primal and dual feasibility tolerances
_NOISE, _SHARED = 0, 1  # row kinds


@dataclass
class Vertex:
    """Exact optimum of one sample of K = 1 or 2 models, and the dual point that proves it.

    Attributes:
        and_effects, or_effects: ``[K, 2^n]`` (index 0 unused).
        empty_noise: ``[K]`` the noise on the empty set.
        shift: ``gamma_0 - gamma_1`` on the empty set (0 for one model).
        dual: ``[K, 2^n]`` multipliers of universal matching (0 on rows the LP never needed; the empty set's
            entry makes each model's sum 0, as for the Fenchel dual's ``lambda``).
        shared_dual: ``[2^n]`` multipliers of the shared rows, likewise (zeros for one model).
        rounds, simplex_iterations, simplex_work: what the crossover cost (work: simplex iterations times
            rows of the LP they ran on, summed).
        restarts: re-solves that stalled from the previous basis and started again from scratch.
    """

    and_effects: np.ndarray
    or_effects: np.ndarray
    empty_noise: np.ndarray
    shift: float
    dual: np.ndarray
    shared_dual: np.ndarray
    rounds: int
    simplex_iterations: int
    simplex_work: int
    restarts: int


def subset_sum(x: np.ndarray) -> np.ndarray:
    """``out[S] = sum_{T subset S} x[T]`` (:func:`~lit_interactions.interactions.subsets.zeta` on a numpy array)."""
    return zeta(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))).numpy()


def superset_sum(x: np.ndarray) -> np.ndarray:
    """``out[T] = sum_{S superset T} x[S]`` (:func:`~lit_interactions.interactions.subsets.superset_sum`)."""
    return _superset_sum(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))).numpy()


def meets_sum(x: np.ndarray) -> np.ndarray:
    """``out[T] = sum_{S meets T} x[S]`` (``S`` and ``T`` share a player); ``out[empty] = 0``."""
    sums = subset_sum(x)
    full = x.shape[-1] - 1
    return sums[..., full : full + 1] - sums[..., full ^ np.arange(x.shape[-1])]


def _signs(n_models: int) -> np.ndarray:
    """How each model's gamma enters the shared rows (``gamma_0 - gamma_1``)."""
    return np.array([1.0, -1.0])[:n_models]


def _atoms(n_models: int, alpha: float) -> np.ndarray:
    """``[atoms, K]`` the vertices of the unit ball of an effect's penalty: one column per vertex, cost 1.

    One model: ``+-1``. Two: the penalty ``(1 - alpha) max_k |a_k| + alpha sum_k |a_k|`` equals
    ``max(|a_0| + alpha |a_1|, alpha |a_0| + |a_1|)``, whose unit ball is the octagon with vertices ``(+-1, 0)``,
    ``(0, +-1)`` and ``(+-c, +-c)``, ``c = 1 / (1 + alpha)``. An effect is a nonnegative combination of them, and
    the least total weight is its penalty, so the LP needs no max variables and no rows to define them (1.9-4.5x
    fewer simplex iterations than that form on planted pairs at n = 12: docs/solver.md, "Crossover").
    """
    if n_models == 1:
        return np.array([[1.0], [-1.0]])
    c = 1.0 / (1.0 + alpha)
    return np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [c, c], [c, -c], [-c, c], [-c, -c]])


class _Restricted:
    """The restricted LP in HiGHS, for K = 1 or 2 models.

    Columns: ``d_k`` (the empty set's noise, ``k < K``), then for K = 2 the shift ``e_0 - e_1``, then per effect
    group ``(kind, T)`` one nonnegative column per atom of :func:`_atoms` (its values for the K models, cost 1).
    Rows: noise rows ``(k, S)`` and, for K = 2, shared rows ``L``.
    """

    def __init__(
        self, w: np.ndarray, bound: np.ndarray, beta: np.ndarray | None, alpha: float, simplex_limit: int,
        work_limit: int,
    ) -> None:
        self.w, self.bound, self.alpha = w, bound, alpha
        self.n_models, size = w.shape
        self.joint = self.n_models == 2
        self.atoms = _atoms(self.n_models, alpha)
        self.lp = _new_highs()
        self.iterations, self.simplex_limit = 0, simplex_limit
        self.work, self.work_limit = 0, work_limit  # simplex iterations times rows, summed over the solves
        self.solves, self.restarts = 0, 0  # restarts: re-solves that stalled and started again from scratch
        for name, value in (("output_flag", False), ("threads", 1), ("primal_feasibility_tolerance", _FEASIBILITY),
                            ("dual_feasibility_tolerance", _FEASIBILITY)):
            self.lp.setOptionValue(name, value)
        for k in range(self.n_models):
            self.lp.addCol(0.0, -bound[k], bound[k], 0, np.zeros(0, np.int32), np.zeros(0))
        self.shared_bound = 0.0
        if self.joint:
            assert beta is not None
            self.shared_bound = float(beta.sum())
            self.lp.addCol(0.0, -self.shared_bound, self.shared_bound, 0, np.zeros(0, np.int32), np.zeros(0))
        self.n_cols = self.lp.getNumCol()
        # Rows of the LP in order: kind (noise / shared), model (noise rows), set.
        self.row_kind = np.zeros(0, np.int64)
        self.row_model = np.zeros(0, np.int64)
        self.row_set = np.zeros(0, np.int64)
        self.effect_kind = np.zeros(0, np.int64)  # 0 AND, 1 OR
        self.effect_set = np.zeros(0, np.int64)
        self.effect_col = np.zeros(0, np.int64)  # the effect's first atom column; the others follow
        self.has_effect = np.zeros((2, size), bool)
        self.has_row = np.zeros((self.n_models + 1, size), bool)  # noise rows per model, then shared rows

    def _coefficients(
        self, kinds: np.ndarray, models: np.ndarray, sets: np.ndarray, effect_kinds: np.ndarray,
        effect_sets: np.ndarray,
    ) -> np.ndarray:
        """``[rows, effects * atoms]`` coefficients of the atom columns of effects ``(effect_kinds, effect_sets)`` in
        noise or shared rows."""
        meet = sets[:, None] & effect_sets[None, :]
        hit = np.where(effect_kinds[None, :] == 0, meet == effect_sets[None, :], meet != 0).astype(float)
        # Per model k: 1 in model k's noise rows; gamma_k = (AND_k - OR_k) / 2 + e_k enters a shared row as sign_k
        # gamma_k.
        kind_sign = np.where(effect_kinds == 0, 1.0, -1.0)[None, :]
        per_model = np.stack(
            [np.where((kinds == _NOISE) & (models == k), 1.0, 0.0)[:, None]
             + np.where(kinds == _SHARED, 0.5 * _signs(self.n_models)[k], 0.0)[:, None] * kind_sign
             for k in range(self.n_models)], axis=-1,
        )  # [rows, effects, K]
        return ((hit[:, :, None] * per_model) @ self.atoms.T).reshape(len(sets), -1)

    def add_rows(self, kind: int, model: int, sets: np.ndarray) -> None:
        """Noise rows of ``model`` (``kind`` 0) or shared rows (``kind`` 1) at ``sets``."""
        slot = model if kind == _NOISE else self.n_models
        sets = np.unique(sets[(sets > 0) & ~self.has_row[slot, sets]])
        if not len(sets):
            return
        n_rows = len(sets)
        kinds, models = np.full(n_rows, kind), np.full(n_rows, model)
        coef = self._coefficients(kinds, models, sets, self.effect_kind, self.effect_set)
        columns = (self.effect_col[:, None] + np.arange(len(self.atoms))[None, :]).reshape(-1)
        r, e = np.nonzero(coef)
        fixed_col = model if kind == _NOISE else self.n_models  # d_model (-1) or the shift (+1)
        fixed_val = -1.0 if kind == _NOISE else 1.0
        counts = np.bincount(r, minlength=n_rows) + 1
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        index = np.empty(counts.sum(), np.int32)
        value = np.empty(counts.sum())
        index[starts], value[starts] = fixed_col, fixed_val
        slots = np.ones(counts.sum(), bool)
        slots[starts] = False
        index[slots], value[slots] = columns[e], coef[r, e]
        if kind == _NOISE:
            w = self.w[model, sets]
            lower, upper = w - self.bound[model], w + self.bound[model]
        else:
            lower, upper = np.full(n_rows, -self.shared_bound), np.full(n_rows, self.shared_bound)
        self.lp.addRows(n_rows, lower, upper, len(index), starts.astype(np.int32), index, value)
        self.row_kind = np.concatenate((self.row_kind, kinds))
        self.row_model = np.concatenate((self.row_model, models))
        self.row_set = np.concatenate((self.row_set, sets))
        self.has_row[slot, sets] = True

    def add_effects(self, kind: int, sets: np.ndarray) -> None:
        """Effect groups ``(kind, T)`` for ``T`` in ``sets``: one column per atom."""
        sets = np.unique(sets[(sets > 0) & ~self.has_effect[kind, sets]])
        block = max(1, _BLOCK_ENTRIES // (max(len(self.row_set), 1) * len(self.atoms)))  # bounds its memory
        for first in range(0, len(sets), block):
            self._add_effect_block(kind, sets[first : first + block])

    def _add_effect_block(self, kind: int, sets: np.ndarray) -> None:
        n_new, n_atoms = len(sets), len(self.atoms)
        coef = self._coefficients(self.row_kind, self.row_model, self.row_set, np.full(n_new, kind), sets)
        matrix = coef.T  # [new columns, rows], column-major for HiGHS
        c, r = np.nonzero(matrix)
        m = n_new * n_atoms
        starts = np.searchsorted(c, np.arange(m)).astype(np.int32)
        self.lp.addCols(m, np.ones(m), np.zeros(m), np.full(m, highspy.kHighsInf), len(c), starts,
                        r.astype(np.int32), matrix[c, r])
        self.effect_kind = np.concatenate((self.effect_kind, np.full(n_new, kind)))
        self.effect_set = np.concatenate((self.effect_set, sets))
        self.effect_col = np.concatenate((self.effect_col, self.n_cols + n_atoms * np.arange(n_new)))
        self.n_cols += m
        self.has_effect[kind, sets] = True

    def solve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray, np.ndarray] | None:
        """``(a, o, d, shift, y, z)`` at the restricted optimum (``[K, 2^n]`` effects and noise-row multipliers,
        ``[K]`` empty-set noise, ``[2^n]`` shared-row multipliers), None if HiGHS did not reach it."""
        rows = max(self.lp.getNumRow(), 1)
        budget = self._budget(rows)
        # A re-solve starts from the previous basis; one that stalls (degenerate pivots) restarts from scratch.
        warm = self.solves > 0 and _RESTART_AFTER * rows < budget
        self.solves += 1
        self._run(int(_RESTART_AFTER * rows) if warm else budget, rows)
        if warm and self.lp.getModelStatus() not in _VERDICTS:
            self.restarts += 1
            self.lp.passModel(self.lp.getLp())  # from scratch: no basis, nor the first solve's scale factors
            self._run(self._budget(rows), rows)
        if self.lp.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = self.lp.getSolution()
        x = np.asarray(solution.col_value)
        n_models, size = self.w.shape
        a, o = np.zeros((n_models, size)), np.zeros((n_models, size))
        weights = x[self.effect_col[:, None] + np.arange(len(self.atoms))[None, :]]  # [effects, atoms]
        values = weights @ self.atoms  # [effects, K]
        for kind, out in ((0, a), (1, o)):
            pick = self.effect_kind == kind
            out[:, self.effect_set[pick]] = values[pick].T
        row_dual = np.asarray(solution.row_dual)
        y, z = np.zeros((n_models, size)), np.zeros(size)
        noise = self.row_kind == _NOISE
        y[self.row_model[noise], self.row_set[noise]] = row_dual[noise]
        shared = self.row_kind == _SHARED
        z[self.row_set[shared]] = row_dual[shared]
        shift = float(x[n_models]) if self.joint else 0.0
        return a, o, x[:n_models].copy(), shift, y, z

    def _budget(self, rows: int) -> int:
        """Simplex iterations left within both caps, on an LP of ``rows`` rows."""
        return min(self.simplex_limit - self.iterations, (self.work_limit - self.work) // rows)

    def _run(self, limit: int, rows: int) -> None:
        """Run the simplex for at most ``limit`` iterations and count them."""
        self.lp.setOptionValue("simplex_iteration_limit", max(limit, 0))
        self.lp.run()
        done = int(self.lp.getInfo().simplex_iteration_count)
        self.iterations, self.work = self.iterations + done, self.work + done * rows

    @property
    def n_effects(self) -> int:
        return len(self.effect_set)


def dual_norm(prices: np.ndarray, alpha: float) -> np.ndarray:
    """Per column, the penalty's dual norm over models (dimension 0 of ``[K, 2^n]``): ``|.|`` for one model
    (:func:`~lit_interactions.interactions._certificate.joint_dual_norm` on a numpy array)."""
    return joint_dual_norm(torch.from_numpy(np.ascontiguousarray(prices))[None], alpha)[0].numpy()


def crossover(
    rewards: np.ndarray, noise_bound: np.ndarray, and_guess: np.ndarray, or_guess: np.ndarray,
    noise_guess: np.ndarray, max_effects: int, beta: np.ndarray | None = None, alpha: float = 0.0,
    gamma_guess: np.ndarray | None = None,
) -> Vertex | None:
    """Exact optimum of one sample (one model, or two jointly) started from an iterate, or None.

    Args:
        rewards: ``[K, 2^n]`` float64, K = 1 or 2.
        noise_bound: ``[K]`` the bounds of ``|noise|``.
        and_guess, or_guess, noise_guess: ``[K, 2^n]`` an iterate's effects and noise (they only choose the
            start).
        max_effects: give up (None) when the restricted LP would need more effects than this, or without
            trying when the iterate has more than half as many candidate effects (or more than 8 candidate
            rows per effect), or when its simplex solves together take more than ``20 * max_effects``
            iterations or more than ``_SIMPLEX_WORK`` iterations times rows (``_JOINT_WORK_FACTOR`` times that
            for two models above 12 players).
        beta: ``[K]`` the bounds of the model-specific gamma (two models).
        alpha: the joint objective's weight of the sum over models (two models).
        gamma_guess: ``[K, 2^n]`` the iterate's gamma (two models: it chooses the starting shared rows).
    """
    rewards, noise_bound = np.atleast_2d(rewards), np.atleast_1d(np.asarray(noise_bound, dtype=np.float64))
    n_models, size = rewards.shape
    if n_models not in (1, 2) or (n_models == 2) != (beta is not None and gamma_guess is not None):
        raise ValueError(f"crossover solves one model, or two with beta and gamma_guess; got {n_models} models")
    # In units of the rewards' largest change, so that HiGHS's absolute tolerances mean the same at any scale.
    w_raw = rewards - rewards[:, :1]
    unit = float(np.abs(w_raw).max())
    if not unit > 0:
        return None
    w, bound = w_raw / unit, noise_bound / unit
    shared_bound = None if beta is None else np.asarray(beta, dtype=np.float64) / unit
    and_guess, or_guess = np.atleast_2d(and_guess), np.atleast_2d(or_guess)
    noise_guess = np.atleast_2d(noise_guess)
    scale = max(float(np.abs(and_guess[:, 1:]).max(initial=0.0)), float(np.abs(or_guess[:, 1:]).max(initial=0.0)))
    picked_and = np.nonzero((np.abs(and_guess) > _EFFECT_FRACTION * scale).any(axis=0))[0]
    picked_or = np.nonzero((np.abs(or_guess) > _EFFECT_FRACTION * scale).any(axis=0))[0]
    rows = [np.nonzero(np.abs(noise_guess[k]) >= _ROW_FRACTION * noise_bound[k])[0] for k in range(n_models)]
    shared_rows = np.zeros(0, np.int64)
    if beta is not None and gamma_guess is not None:
        diff = gamma_guess[0] - gamma_guess[1]
        shared_rows = np.nonzero(np.abs(diff) >= _ROW_FRACTION * float(np.sum(beta)))[0]
    n_rows = sum(len(r) for r in rows) + len(shared_rows)
    # Leave the working set room to grow; many rows at their bound (e.g. a zero noise bound) make a large LP.
    if len(picked_and) + len(picked_or) > max_effects // 2 or n_rows > _ROWS_PER_EFFECT * max_effects:
        return None
    players = size.bit_length() - 1
    work = _SIMPLEX_WORK * (_JOINT_WORK_FACTOR if n_models == 2 and players > 12 else 1)
    lp = _Restricted(w, bound, shared_bound, alpha, 20 * max_effects, work)
    always = np.concatenate(([size - 1], 1 << np.arange(players)))
    for k in range(n_models):
        lp.add_rows(_NOISE, k, np.concatenate((rows[k], always)))
    if shared_bound is not None:
        lp.add_rows(_SHARED, 0, shared_rows)
    lp.add_effects(0, picked_and)
    lp.add_effects(1, picked_or)
    tol = 1e-9
    everything = np.arange(size)
    signs = _signs(n_models)[:, None]
    for rounds in range(1, _MAX_ROUNDS + 1):
        if lp.n_effects > max_effects:
            return None
        found = lp.solve()
        if found is None:
            return None
        a, o, d, shift, y, z = found
        ands, ors = subset_sum(a), meets_sum(o)
        excess = np.abs(w - ands - ors + d[:, None]) - bound[:, None]
        excess[:, 0] = -np.inf
        bad_rows = [everything[excess[k] > tol] for k in range(n_models)]
        bad_shared = np.zeros(0, np.int64)
        shared_excess = np.zeros(size)
        if shared_bound is not None:
            diff = 0.5 * ((ands[0] - ors[0]) - (ands[1] - ors[1])) + shift
            shared_excess = np.abs(diff) - float(shared_bound.sum())
            shared_excess[0] = -np.inf
            bad_shared = everything[shared_excess > tol]
        price_and = dual_norm(superset_sum(y) + 0.5 * signs * superset_sum(z), alpha) - 1.0
        price_or = dual_norm(meets_sum(y) - 0.5 * signs * meets_sum(z), alpha) - 1.0
        price_and[0] = price_or[0] = -np.inf
        bad_and, bad_or = everything[price_and > tol], everything[price_or > tol]
        if not (sum(len(r) for r in bad_rows) or len(bad_shared) or len(bad_and) or len(bad_or)):
            y[:, 0] = -y[:, 1:].sum(axis=1)
            z[0] = -z[1:].sum()
            if shared_bound is not None:
                shift = _smallest_shift(diff - shift, float(shared_bound.sum()), shift)
            return Vertex(a * unit, o * unit, d * unit, shift * unit, y, z, rounds, lp.iterations, lp.work,
                          lp.restarts)
        for k in range(n_models):
            lp.add_rows(_NOISE, k, _largest(bad_rows[k], excess[k]))
        if shared_bound is not None:
            lp.add_rows(_SHARED, 0, _largest(bad_shared, shared_excess))
        lp.add_effects(0, _largest(bad_and, price_and))
        lp.add_effects(1, _largest(bad_or, price_or))
    return None


def exact_decomposition(
    rewards: np.ndarray, noise_bound: np.ndarray, vertex: Vertex
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(u_and, noise, lam_and, lam_or)`` ``[K, 2^n]`` of a vertex, in the solver's terms.

    ``u_and`` is the subset sums of the AND effects, its value on the empty set chosen so that ``gamma`` is 0
    there for one model and ``+- shift / 2`` for two; the noise is universal matching's residual, clipped to
    the bound (it is within the LP's tolerance); ``u_or = rewards - noise - u_and``. ``(lam_and, lam_or)`` are
    the multipliers as the Fenchel dual's ``(l_k, r_k)``: ``(l_k + r_k) / 2`` is model k's universal-matching
    multiplier and ``l_k - r_k`` its sign times the shared rows' one.
    """
    rewards = np.atleast_2d(rewards)
    n_models = rewards.shape[0]
    bound = np.atleast_1d(np.asarray(noise_bound, dtype=np.float64))[:, None]
    w = rewards - rewards[:, :1]
    d = vertex.empty_noise[:, None]
    noise = np.clip(w - subset_sum(vertex.and_effects) - meets_sum(vertex.or_effects) + d, -bound, bound)
    noise[:, 0] = vertex.empty_noise
    offsets = 0.5 * vertex.shift * _signs(n_models)
    effects = vertex.and_effects.copy()
    # gamma(empty) = u_and(empty) - (v(empty) - noise(empty)) / 2 = offset_k.
    effects[:, 0] = 0.5 * (rewards[:, 0] - noise[:, 0]) + offsets
    half = 0.5 * _signs(n_models)[:, None] * vertex.shared_dual[None, :]
    return subset_sum(effects), noise, vertex.dual + half, vertex.dual - half


def _smallest_shift(offsets: np.ndarray, bound: float, shift: float) -> float:
    """The shift ``gamma_0 - gamma_1`` on the empty set closest to 0 that keeps ``|offsets + shift| <= bound`` on
    every set (``offsets[0]`` is 0): the objective does not depend on it, but the simplex leaves it at a vertex, often
    at ``+-bound``, and a large common offset in gamma costs precision when the result is cast to float32.
    ``shift`` (feasible up to the LP's tolerance) is kept if rounding leaves no such interval."""
    low, high = float((-bound - offsets).max()), float((bound - offsets).min())
    return min(max(0.0, low), high) if low <= high else shift


def _largest(candidates: np.ndarray, score: np.ndarray) -> np.ndarray:
    """At most ``_ADD_PER_ROUND`` of ``candidates`` with the largest ``score``."""
    if len(candidates) <= _ADD_PER_ROUND:
        return candidates
    return candidates[np.argsort(-score[candidates], kind="stable")[:_ADD_PER_ROUND]]


_BANNER_SHOWN = False


def _new_highs() -> highspy.Highs:
    """A HiGHS model; the first one of a process is made with stdout silenced (HiGHS prints a banner then)."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return highspy.Highs()
    with _quiet_stdout():
        lp = highspy.Highs()
    _BANNER_SHOWN = True
    return lp


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null (C++ output bypasses ``sys.stdout``)."""
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
