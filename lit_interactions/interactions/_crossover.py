"""Crossover: finish one sample of the sparsest AND-OR problem exactly, from the effects an iteration found.

A first-order iteration finds the support of a sparse optimum (which effects are nonzero, which noise entries
sit at their bound) long before it certifies a small gap. This solves the problem of one model exactly with
the simplex (HiGHS) on a restricted LP over those effects and rows, and grows it by row and column generation:

    minimise    sum_{T in W_and} |a_T| + sum_{T in W_or} |o_T|
    subject to  |w_S - sum_{T in W_and, T subset S} a_T - sum_{T in W_or, T meets S} o_T + d| <= noise_bound
                for S in R (nonempty),   |d| <= noise_bound,

with ``w_S = v_S - v_empty`` and ``d`` the noise on the empty set. After each solve, the rows of all ``2^n``
subsets are checked with two fast subset-sum transforms (violated rows join ``R``, with their AND effect so
the restricted LP stays feasible) and the dual multipliers ``y`` are priced against every effect (an effect
whose ``|sum_{S superset T} y_S|`` or ``|sum_{S meets T} y_S|`` exceeds 1 joins ``W``). When neither finds
anything the restricted optimum is the optimum of the full problem: a vertex, with a dual point ``y`` that
proves it. The caller certifies the result with the same bounds as the iteration's.

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

from lit_interactions.interactions.subsets import superset_sum as _superset_sum
from lit_interactions.interactions.subsets import zeta

_ROW_FRACTION = 0.99  # a noise entry this close to its bound marks a candidate active row
_EFFECT_FRACTION = 1e-3  # an effect this large relative to the largest marks a candidate nonzero
_ROWS_PER_EFFECT = 8  # give up without trying beyond this many candidate rows per effect of the budget
_ADD_PER_ROUND = 32  # rows, AND effects and OR effects added per round at most
_MAX_ROUNDS = 60
_FEASIBILITY = 1e-10  # HiGHS's primal and dual feasibility tolerances


@dataclass
class Vertex:
    """Exact optimum of one sample: effects ``[2^n]`` (index 0 unused), the empty set's noise, the dual point.

    ``dual[S]`` is the multiplier of universal matching on ``S`` (0 on the empty set and on rows the LP never
    needed); ``rounds`` and ``simplex_iterations`` say what the crossover cost.
    """

    and_effects: np.ndarray
    or_effects: np.ndarray
    empty_noise: float
    dual: np.ndarray
    rounds: int
    simplex_iterations: int


def subset_sum(x: np.ndarray) -> np.ndarray:
    """``out[S] = sum_{T subset S} x[T]`` (:func:`~lit_interactions.interactions.subsets.zeta` on a numpy vector)."""
    return zeta(torch.from_numpy(np.asarray(x, dtype=np.float64))).numpy()


def superset_sum(x: np.ndarray) -> np.ndarray:
    """``out[T] = sum_{S superset T} x[S]`` (:func:`~lit_interactions.interactions.subsets.superset_sum`)."""
    return _superset_sum(torch.from_numpy(np.asarray(x, dtype=np.float64))).numpy()


def meets_sum(x: np.ndarray) -> np.ndarray:
    """``out[T] = sum_{S meets T} x[S]`` (``S`` and ``T`` share a player); ``out[empty] = 0``."""
    sums = subset_sum(x)
    full = x.shape[-1] - 1
    return sums[..., full : full + 1] - sums[..., full ^ np.arange(x.shape[-1])]


class _Restricted:
    """The restricted LP in HiGHS: column 0 is ``d``, effect ``e`` has columns ``1 + 2e`` (+) and ``2 + 2e`` (-)."""

    def __init__(self, w: np.ndarray, bound: float, simplex_limit: int) -> None:
        self.w, self.bound = w, bound
        self.lp = _new_highs()
        self.iterations = 0
        for name, value in (("output_flag", False), ("threads", 1), ("primal_feasibility_tolerance", _FEASIBILITY),
                            ("dual_feasibility_tolerance", _FEASIBILITY), ("simplex_iteration_limit", simplex_limit)):
            self.lp.setOptionValue(name, value)
        self.lp.addCol(0.0, -bound, bound, 0, np.zeros(0, np.int32), np.zeros(0))
        size = len(w)
        self.rows = np.zeros(0, np.int64)
        self.effect_kind = np.zeros(0, np.int64)  # 0 AND, 1 OR
        self.effect_set = np.zeros(0, np.int64)
        self.has = np.zeros((3, size), bool)  # AND effect, OR effect, row

    @staticmethod
    def _hits(rows: np.ndarray, kinds: np.ndarray, sets: np.ndarray) -> np.ndarray:
        """``[rows, effects]``: whether effect (kind, T) enters universal matching on row S."""
        meet = rows[:, None] & sets[None, :]
        return np.where(kinds[None, :] == 0, meet == sets[None, :], meet != 0)

    def add_rows(self, sets: np.ndarray) -> None:
        sets = np.unique(sets[~self.has[2, sets]])
        if not len(sets):
            return
        hits = self._hits(sets, self.effect_kind, self.effect_set)
        r, e = np.nonzero(hits)
        cols = np.stack((1 + 2 * e, 2 + 2 * e), axis=1).reshape(-1)
        vals = np.tile(np.array([1.0, -1.0]), len(e))
        # Each row: -d + its effects; entries in row order.
        counts = 2 * np.bincount(r, minlength=len(sets)) + 1
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        index = np.empty(counts.sum(), np.int32)
        value = np.empty(counts.sum())
        index[starts], value[starts] = 0, -1.0
        slots = np.ones(counts.sum(), bool)
        slots[starts] = False
        index[slots], value[slots] = cols, vals
        w = self.w[sets]
        self.lp.addRows(len(sets), w - self.bound, w + self.bound, len(index), starts.astype(np.int32), index, value)
        self.rows = np.concatenate((self.rows, sets))
        self.has[2, sets] = True

    def add_effects(self, kind: int, sets: np.ndarray) -> None:
        sets = np.unique(sets[~self.has[kind, sets] & (sets > 0)])
        if not len(sets):
            return
        kinds = np.full(len(sets), kind)
        e, r = np.nonzero(self._hits(self.rows, kinds, sets).T)  # [effects, rows], in effect order
        per = np.bincount(e, minlength=len(sets))
        # Two columns per effect, (+, -), each with the effect's rows: repeat every effect's block twice.
        block = np.repeat(np.arange(len(sets)), 2)
        first = np.concatenate(([0], np.cumsum(per)[:-1]))
        starts = np.concatenate(([0], np.cumsum(per[block])[:-1]))
        index = np.concatenate([r[first[j] : first[j] + per[j]] for j in block]) if len(r) else r
        signs = np.tile(np.array([1.0, -1.0]), len(sets))
        value = np.repeat(signs, per[block])
        m = 2 * len(sets)
        self.lp.addCols(m, np.ones(m), np.zeros(m), np.full(m, highspy.kHighsInf), len(index),
                        starts.astype(np.int32), index.astype(np.int32), value)
        self.effect_kind = np.concatenate((self.effect_kind, kinds))
        self.effect_set = np.concatenate((self.effect_set, sets))
        self.has[kind, sets] = True

    def solve(self) -> tuple[np.ndarray, np.ndarray, float, np.ndarray] | None:
        """``(a, o, d, y)`` at the restricted optimum (full-length vectors), None if HiGHS did not reach it."""
        self.lp.run()
        self.iterations += int(self.lp.getInfo().simplex_iteration_count)
        if self.lp.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        solution = self.lp.getSolution()
        x = np.asarray(solution.col_value)
        size = len(self.w)
        values = x[1::2] - x[2::2]
        a, o = np.zeros(size), np.zeros(size)
        a[self.effect_set[self.effect_kind == 0]] = values[self.effect_kind == 0]
        o[self.effect_set[self.effect_kind == 1]] = values[self.effect_kind == 1]
        y = np.zeros(size)
        y[self.rows] = np.asarray(solution.row_dual)
        return a, o, float(x[0]), y

    @property
    def n_effects(self) -> int:
        return len(self.effect_set)



def crossover(
    rewards: np.ndarray, noise_bound: float, and_guess: np.ndarray, or_guess: np.ndarray, noise_guess: np.ndarray,
    max_effects: int,
) -> Vertex | None:
    """Exact optimum of one sample (one model) started from an iterate's effects and noise, or None.

    Args:
        rewards: ``[2^n]`` float64.
        noise_bound: the bound of ``|noise|``.
        and_guess, or_guess, noise_guess: ``[2^n]`` an iterate's effects and noise (they only choose the start).
        max_effects: give up (None) when the restricted LP would need more effects than this, or without
            trying when the iterate has more than half as many candidate effects (or more than 8 candidate
            rows per effect); the simplex iteration limit per solve is ``20 * max_effects``.
    """
    # In units of the rewards' largest change, so that HiGHS's absolute tolerances mean the same at any scale.
    unit = float(np.abs(rewards - rewards[0]).max())
    if not unit > 0:
        return None
    w, bound = (rewards - rewards[0]) / unit, noise_bound / unit
    size = len(w)
    scale = float(np.abs(and_guess[1:]).max(initial=0.0))
    scale = max(scale, float(np.abs(or_guess[1:]).max(initial=0.0)))
    picked_and = np.nonzero(np.abs(and_guess) > _EFFECT_FRACTION * scale)[0]
    picked_or = np.nonzero(np.abs(or_guess) > _EFFECT_FRACTION * scale)[0]
    rows = np.nonzero(np.abs(noise_guess) >= _ROW_FRACTION * noise_bound)[0]
    # Leave the working set room to grow; many rows at their bound (e.g. a zero noise bound) make a large LP.
    if len(picked_and) + len(picked_or) > max_effects // 2 or len(rows) > _ROWS_PER_EFFECT * max_effects:
        return None
    lp = _Restricted(w, bound, 20 * max_effects)
    players = size.bit_length() - 1
    rows = np.concatenate((rows[rows > 0], [size - 1], 1 << np.arange(players)))
    lp.add_rows(rows)
    lp.add_effects(0, picked_and)
    lp.add_effects(1, picked_or)
    tol_row = 1e-9
    everything = np.arange(size)
    for rounds in range(1, _MAX_ROUNDS + 1):
        if lp.n_effects > max_effects:
            return None
        found = lp.solve()
        if found is None:
            return None
        a, o, d, y = found
        residual = w - subset_sum(a) - meets_sum(o)
        excess = np.abs(residual + d) - bound
        excess[0] = -np.inf
        price_and, price_or = np.abs(superset_sum(y)) - 1.0, np.abs(meets_sum(y)) - 1.0
        price_and[0] = price_or[0] = -np.inf
        bad_rows = everything[excess > tol_row]
        bad_and, bad_or = everything[price_and > 1e-9], everything[price_or > 1e-9]
        if not (len(bad_rows) or len(bad_and) or len(bad_or)):
            return Vertex(a * unit, o * unit, d * unit, y, rounds, lp.iterations)
        new_rows = _largest(bad_rows, excess)
        lp.add_rows(new_rows)
        lp.add_effects(0, np.concatenate((new_rows, _largest(bad_and, price_and))))
        lp.add_effects(1, _largest(bad_or, price_or))
    return None


def exact_decomposition(rewards: np.ndarray, noise_bound: float, vertex: Vertex) -> tuple[np.ndarray, ...]:
    """``(u_and, noise, dual)`` ``[2^n]`` of a vertex, in the solver's terms.

    ``u_and`` is the subset sums of the AND effects (its value on the empty set chosen so that ``gamma`` is 0
    there); the noise is universal matching's residual, clipped to the bound (it is within the LP's tolerance);
    ``u_or = rewards - noise - u_and``. ``dual`` is ``y`` as the Fenchel dual's ``lambda`` (one entry per
    subset, summing to 0).
    """
    w = rewards - rewards[0]
    noise = w - subset_sum(vertex.and_effects) - meets_sum(vertex.or_effects) + vertex.empty_noise
    noise[0] = vertex.empty_noise
    noise = np.clip(noise, -noise_bound, noise_bound)
    effects = vertex.and_effects.copy()
    effects[0] = 0.5 * (rewards[0] - noise[0])
    dual = vertex.dual.copy()
    dual[0] = -dual[1:].sum()
    return subset_sum(effects), noise, dual


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
