"""Batched graph-form ADMM (Douglas-Rachford) for the sparsest AND-OR decomposition, with a dual certificate.

Problem (one model is the case K = 1, the joint problem K >= 2; docs/solver.md), per sample, for models
k = 1..K with rewards v_k:

    minimise   sum_{T nonempty} P(a[:, T]) + P(o[:, T])     a_k = mobius(s_k),  o_k = mobius(complement(t_k))
    subject to |v_k - s_k - t_k| <= noise_bound_k            (noise delta_k = v_k - s_k - t_k)
               exists g: |(s_k - t_k) / 2 - g| <= beta_k     (gamma_k = (s_k - t_k) / 2, shared part g; K >= 2)

where ``s_k = u_and`` and ``t_k = u_or`` of Theorem 1 of paper 2 (docs/conventions.md; so ``a = I_and`` and
``o = -I_or`` on nonempty subsets) and
``P(z) = (1 - alpha) max_k |z_k| + alpha sum_k |z_k|`` (``P = |.|`` for K = 1). In graph form the variable
``x = (s, t)`` carries the constraint set ``C`` (a per-subset projection, ``_prox.py``), ``y = A x`` carries the
penalty (a per-subset prox) and the graph ``{y = A x}`` is projected onto exactly: ``A^T A`` is a Kronecker
product, so ``(I + A^T A)^-1`` is diagonal in a Kronecker eigenbasis (eigenvalues ``1 + phi^(2n - 4|S|)``) and
costs four fast transforms (``_kron.py``). An iteration is those transforms plus elementwise work, batched over
samples and models.

Every ``check_every`` iterations, in float64 (``_certificate.py``): a point of ``C`` gives an upper bound (its
objective, once rounded as the caller returns it: ``Problem.rounding``) and multipliers repaired into a feasible
point of the Fenchel dual give a lower bound. Upper bounds
are taken at the last iterate and at a running average of iterates, lower bounds at the average (which
certifies far earlier than the last iterate). A sample stops when ``(upper - lower) / upper <= tol`` and leaves
the batch, so its result does not depend on the others. Per sample, the penalty parameter is rebalanced every
``adapt_every`` iterations (PDLP's primal weight); float32 iterations are re-based on their current iterate
every ``rebase_every`` iterations and move to float64 if they still stall.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor

from lit_interactions.interactions._certificate import (
    SweepTransforms,
    centred_estimate,
    dual_estimates,
    lower_bound,
    penalty,
    swept_bound,
)
from lit_interactions.interactions._crossover import crossover, exact_decomposition
from lit_interactions.interactions._kron import KronTransform
from lit_interactions.interactions._prox import project_offsets
from lit_interactions.interactions._repair import lp_repaired_bound
from lit_interactions.interactions.subsets import subset_orders

_TINY = 1e-300
# With rounding (Problem.rounding), the unrounded objective is evaluated at every 10th check (one more forward
# transform per candidate point). A sample whose rounding alone takes half of tol and whose returned gap has not
# improved by 5% for _ROUNDING_PATIENCE iterations stops once its unrounded point is certified.
_UNROUNDED_EVERY, _ROUNDING_PATIENCE = 10, 1000


# (sample indices [b], gamma [K, b, N], noise [K, b, N]) -> the decomposition as returned, in float64.
Rounding = Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]


@dataclass
class Problem:
    """One batch of problems in float64: rewards ``[K, B, 2^n]``, bounds ``[K, B]`` (``beta`` None if K = 1).

    ``rounding`` (None: the result is returned in float64) maps a decomposition to the one the caller will
    return, e.g. cast to float32 rewards' dtype: upper bounds are the objectives of rounded points, so a sample
    stops when the result it returns is certified (at n >= 13 the Moebius transform amplifies the rounding of
    ``gamma`` and the noise enough to move a relative gap by several 1e-5).
    """

    rewards: Tensor
    noise_bound: Tensor
    beta: Tensor | None
    alpha: float
    rounding: Rounding | None = None


@dataclass
class Start:
    """A warm start in float64: a feasible primal point ``x0 = (s, t)`` ``[2, K, B, 2^n]`` and optionally the
    multipliers ``mu`` ``[2, K, B, 2^n]`` of ``y = A x`` (scale-free: the penalty's dual norm bounds them) and
    the penalty parameter relative to the rewards' scale ``rho_scale`` ``[B]``."""

    x0: Tensor
    mu: Tensor | None = None
    rho_scale: Tensor | None = None


@dataclass
class Settings:
    """Iteration settings (see ``solver.extract`` for their meaning)."""

    tol: float
    max_iter: int
    check_every: int
    relaxation: float
    rho_scale: float
    average_rate: float  # rate of the exponential moving averages used for the bounds
    compute_dtype: torch.dtype
    stall_iterations: int  # a float32 sample whose gap does not improve by 5% for this long moves to float64
    adapt_every: int  # iterations between two rho adaptations (0: never)
    rebase_every: int  # iterations between two moves of the base point of float32 iterations
    order_scale: float = 1.0  # the iterations see effects of order |T| multiplied by order_scale^|T|
    crossover_at: int = 0  # iteration at which samples of one or two models try the exact crossover (0: never)
    crossover_effects: int = 0  # the crossover gives up beyond this many effects in its restricted LP
    sweep_window: float = 0.0  # samples within this many tol of certified also try the swept bound (0: never)
    sweep_every: int = 0  # iterations between two swept bounds (0: at every check)
    # One model: samples within repair_window tol of certified try the LP repair of their dual estimate with
    # repair_subsets corrected subsets, at most every repair_every iterations (repair_subsets 0: never).
    repair_subsets: int = 0
    repair_window: float = 0.0
    repair_every: int = 0


@dataclass
class Solution:
    """Best feasible point per sample: ``s, t`` ``[K, B, 2^n]`` (float64) and its certificate ``[B]``."""

    s: Tensor
    t: Tensor
    upper: Tensor  # objective of the best point as returned (Problem.rounding)
    lower: Tensor
    gap: Tensor
    iterations: Tensor
    promoted: Tensor
    mu: Tensor  # [2, K, B, 2^n] averaged multipliers of y = A x where the lower bound was best (warm starts)
    rho_scale: Tensor  # [B] last penalty parameter relative to the rewards' scale (warm starts)
    crossed: Tensor  # [B] finished exactly by the crossover
    exact_gap: Tensor  # [B] certified gap of the best point before the rounding to the rewards' dtype (else = gap)


@dataclass
class _Data:
    """Per-sample data in float64; the state is stored as offsets from the base point ``(x0, y0 = A x0)``.

    With ``x0 = (s0, t0)``, the constraint set on the offsets is ``lo <= ds + dt <= hi`` and ``gamma0 + (ds -
    dt) / 2`` shared within ``beta``.
    """

    v: Tensor  # [K, B, N]
    noise_bound: Tensor  # [K, B, 1]
    beta: Tensor | None  # [K, B, 1]
    rho: Tensor  # [B]
    x0: Tensor  # [2, K, B, N]
    y0: Tensor  # [2, K, B, N]
    lo: Tensor  # [K, B, N]
    hi: Tensor  # [K, B, N]
    gamma0: Tensor  # [K, B, N]

    def select(self, keep: Tensor) -> _Data:
        """The data of the samples at indices ``keep``."""
        def pick(name: str, value: Tensor | None) -> Tensor | None:
            if value is None:
                return None
            dim = 0 if name == "rho" else (2 if name in ("x0", "y0") else 1)
            return value.index_select(dim, keep)

        picked: dict[str, Any] = {f.name: pick(f.name, getattr(self, f.name)) for f in fields(self)}
        return _Data(**picked)


class _Operators:
    """The fast transforms for one ``(n, dtype, device)`` and one per-order scaling ``c`` of the effects.

    The iterations work on scaled effects ``y = D A x``, ``D = diag(c^|T|)`` (a Kronecker product, so the
    graph projection stays exact); ``forward`` and the adjoints are those of the unscaled ``A`` (certificates).
    """

    def __init__(self, n: int, dtype: torch.dtype, device: torch.device, order_scale: float = 1.0) -> None:
        m = torch.tensor([[1.0, 0.0], [-1.0, 1.0]], dtype=torch.float64)  # Moebius, one player
        j = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)  # complement, one player
        ms = torch.diag(torch.tensor([1.0, order_scale], dtype=torch.float64)) @ m  # scaled Moebius
        evals, q = torch.linalg.eigh(ms.T @ ms)  # for c = 1: [[2, -1], [-1, 1]], eigenvalues phi^-2, phi^2
        mq, jq = ms @ q, j @ q

        def cast(matrix: Tensor) -> Tensor:
            return matrix.to(dtype=dtype, device=device)

        # State slices: (x_and = s, x_or = t, y_and = mobius(s), y_or = mobius(complement(t))).
        self.to_eigen = KronTransform(cast(torch.stack((q.T, jq.T, mq.T, mq.T))), n)
        self.from_eigen = KronTransform(cast(torch.stack((q, jq, mq, mq))), n)
        self.forward = KronTransform(cast(torch.stack((m, m @ j))), n)  # (s, t) -> (a, o)
        self.scaled = KronTransform(cast(torch.stack((ms, ms @ j))), n)  # (s, t) -> D (a, o)
        self.adjoint = KronTransform(cast(torch.stack((m.T, m.T))), n)  # superset Moebius
        inv = torch.linalg.inv(m.T)  # superset sum
        self.inverse_adjoint = KronTransform(cast(torch.stack((inv, inv))), n)
        orders = subset_orders(n, device).to(torch.float64)
        self.order_weight = cast(order_scale**orders)  # D
        lam = evals[0].item() ** (n - orders) * evals[1].item() ** orders
        self.graph_diag = cast(1.0 / (1.0 + lam))

    def project_graph(self, u: Tensor) -> Tensor:
        """Euclidean projection of ``u = [x_and, x_or, y_and, y_or]`` onto ``{y = A x}``."""
        v = self.to_eigen(u)
        r = (v[:2] + v[2:]) * self.graph_diag
        return self.from_eigen(torch.cat((r, r), dim=0))


def _project_two(
    z: Tensor, lo: Tensor, hi: Tensor, gamma_diff: Tensor, bound_sum: Tensor, out: Tensor, signs: Tensor
) -> None:
    """``out = z`` projected onto ``C - x0`` for two models, in closed form: clip ``s + t``, then move the two
    models' ``(s - t) / 2`` towards each other by half their distance beyond ``bound_0 + bound_1``.

    ``signs`` (``[[-1, 1], [1, -1]]`` shaped ``[2, 2, 1, 1]``) moves ``s_0, t_1`` down and ``t_0, s_1`` up by that
    half; the clip moves ``s`` and ``t`` alike, so it leaves ``(s - t) / 2`` unchanged.
    """
    w = z[0] + z[1]
    torch.add(z, torch.clamp(w, min=lo, max=hi).sub_(w), alpha=0.5, out=out)
    d = z[0] - z[1]  # twice each model's gamma offset
    diff = torch.sub(d[0], d[1]).mul_(0.5).add_(gamma_diff)
    excess = diff - torch.clamp(diff, min=-bound_sum, max=bound_sum)
    out.addcmul_(signs, excess, value=0.5)


class _Group:
    """Active samples iterated in one dtype: DR state (offsets from the base point), averages and data."""

    def __init__(
        self, index: Tensor, u: Tensor, averages: tuple[Tensor, Tensor, Tensor], data: _Data, alpha: float,
        ops: _Operators, start: int,
    ) -> None:
        self.index, self.ops, self.start, self.alpha = index, ops, start, alpha
        self.dtype = ops.graph_diag.dtype
        self.u = u.to(self.dtype).clone()
        # Running averages of the primal point x, the reflection on the x side and the clipped part on the y side.
        self.x_avg, self.refl_avg, self.clip_avg = (a.to(self.dtype).clone() for a in averages)
        self.x, self.refl, self.clip = self.x_avg, self.refl_avg, self.clip_avg  # the last ones
        self.data = data
        self.beta = None if data.beta is None else data.beta.to(self.dtype)
        self.bound_sum = None if self.beta is None else self.beta.sum(dim=0)
        self.signs = torch.tensor([[-1.0, 1.0], [1.0, -1.0]], dtype=self.dtype, device=u.device).view(2, 2, 1, 1)
        self.snapshot: tuple[Tensor, Tensor] | None = None  # (x, multipliers) at the last rho adaptation
        self._cast_base()
        self._set_rho(data.rho)

    # ------------------------------------------------------------------------------------------- iteration
    def run(self, steps: int, relaxation: float, average_rate: float) -> None:
        """``steps`` relaxed Douglas-Rachford iterations (in place), updating the running averages.

        ``u <- u + r (prox(2z - u) - z)`` with ``z = project_graph(u)``. The y-side prox is ``refl - clip``
        where ``clip = y - prox(y)`` at the absolute ``y = y0 + refl``. The averages are exponential moving
        averages (a running mean at first) updated every other iteration, which halves their cost.
        """
        ops, u, r = self.ops, self.u, relaxation
        p = torch.empty_like(u)
        refl = clip = u
        for _ in range(steps):
            self.start += 1
            z = ops.project_graph(u)
            refl = torch.lerp(u, z, 2.0)
            self._project_constraints(refl[:2], p[:2])
            clip = self._clipped(refl[2:])
            torch.sub(refl[2:], clip, out=p[2:])
            u.add_(p, alpha=r).sub_(z, alpha=r)
            if self.start % 2 == 0:
                weight = min(1.0, max(2.0 / self.start, 2.0 * average_rate))
                self.x_avg.lerp_(p[:2], weight)
                self.refl_avg.lerp_(refl[:2], weight)
                self.clip_avg.lerp_(clip, weight)
        self.x, self.refl, self.clip = p[:2], refl[:2], clip

    def _project_constraints(self, z: Tensor, out: Tensor) -> None:
        """``out = z`` projected onto ``C - x0`` (see :func:`project_offsets`)."""
        if self.beta is not None and z.shape[1] == 2:
            assert self.gamma_diff is not None and self.bound_sum is not None  # set whenever beta is, K = 2
            _project_two(z, self.lo, self.hi, self.gamma_diff, self.bound_sum, out, self.signs)
            return
        project_offsets(z, self.lo, self.hi, self.gamma0, self.beta, out)

    def _clipped(self, z: Tensor) -> Tensor:
        """``y - prox(y)`` at ``y = y0 + z`` for the penalty scaled by ``1 / rho`` (0 on the empty set)."""
        y = z + self.y0
        if z.shape[1] == 1:
            return torch.clamp(y, min=self.neg_sum_thr, max=self.sum_thr)
        # Penalty (1 - alpha) max_k + alpha sum_k: soft threshold by alpha / rho, then the max part's prox
        # clamp(a, -theta, theta), theta = max_j (sum of the j largest |a_k| - (1 - alpha) / rho) / j (>= 0).
        a = y - torch.clamp(y, min=self.neg_sum_thr, max=self.sum_thr)
        mag = a.abs()
        if z.shape[1] == 2:
            top = torch.maximum(mag[:, :1], mag[:, 1:]).sub_(self.max_thr)
            theta = torch.maximum(top, (mag[:, :1] + mag[:, 1:]).sub_(self.max_thr).mul_(0.5))
        else:
            ordered, _ = torch.sort(mag, dim=1, descending=True)
            j = torch.arange(1, z.shape[1] + 1, device=z.device, dtype=z.dtype).view(1, -1, 1, 1)
            theta = ((ordered.cumsum(dim=1) - self.max_thr) / j).amax(dim=1, keepdim=True)
        theta = theta.clamp_min_(0.0)
        return y.sub_(torch.clamp(a, min=-theta, max=theta))

    def multipliers(self, averaged: bool) -> tuple[Tensor, Tensor]:
        """``(nu, mu)``: multipliers of the constraint set (x side) and of the scaled ``y = D A x`` (y side)."""
        refl, x, clip = (self.refl_avg, self.x_avg, self.clip_avg) if averaged else (self.refl, self.x, self.clip)
        rho = self.rho.view(1, 1, -1, 1)
        return rho * (refl - x), rho * clip

    # ------------------------------------------------------------------------------------- maintenance
    def _cast_base(self) -> None:
        """Copies of the base-dependent data in the compute dtype."""
        d = self.data
        self.y0, self.lo, self.hi, self.gamma0 = (t.to(self.dtype) for t in (d.y0, d.lo, d.hi, d.gamma0))
        self.gamma_diff = self.gamma0[0] - self.gamma0[1] if self.gamma0.shape[0] == 2 else None

    def _set_rho(self, rho: Tensor) -> None:
        """Set the penalty parameter (float64 ``[B]``) and the prox thresholds derived from it.

        Thresholds are 0 on the empty set (left free) and otherwise 1 / (rho c^|T|) for K = 1, else alpha and
        (1 - alpha) times that (sum and max parts).
        """
        self.data.rho = rho
        self.rho = rho.to(self.dtype)
        thr = (1.0 / self.rho).view(-1, 1) / self.ops.order_weight.view(1, -1)  # penalty |y_T| / c^|T|
        thr[:, 0] = 0.0
        thr = thr.view(1, 1, *thr.shape)
        self.sum_thr = thr if self.u.shape[1] == 1 else self.alpha * thr
        self.neg_sum_thr = -self.sum_thr
        self.max_thr = (1.0 - self.alpha) * thr

    def select(self, mask: Tensor, ops: _Operators | None = None) -> _Group:
        """The samples where ``mask`` is true, in the dtype of ``ops`` (default: the same)."""
        keep = mask.nonzero().flatten()
        averages = (self.x_avg[:, :, keep], self.refl_avg[:, :, keep], self.clip_avg[:, :, keep])
        ops = self.ops if ops is None else ops
        group = _Group(self.index[keep], self.u[:, :, keep], averages, self.data.select(keep), self.alpha, ops,
                       self.start)
        group.x, group.refl, group.clip = (t[:, :, keep].to(group.dtype) for t in (self.x, self.refl, self.clip))
        if self.snapshot is not None and ops is self.ops:
            group.snapshot = (self.snapshot[0][:, :, keep], self.snapshot[1][:, :, keep])
        return group


def _adapt_rho(group: _Group) -> None:
    """Rebalance rho towards (distance moved by the multipliers) / (distance moved by x) since the last call.

    The primal-weight update of PDLP (Applegate et al., 2021): geometric mean of the old value and the
    target, at most a factor 2 per call. The DR state is rescaled so that the current primal point and
    multipliers are kept: ``u' = z + (rho / rho') (u - z)``, ``z = project_graph(u)``.
    """
    nu, mu = group.multipliers(False)
    x, dual = group.x.clone(), torch.cat((nu, mu), dim=0)
    if group.snapshot is not None:
        dx = (x - group.snapshot[0]).square().sum(dim=(0, 1, 3)).sqrt().double()
        dd = (dual - group.snapshot[1]).square().sum(dim=(0, 1, 3)).sqrt().double()
        rho = group.data.rho
        ok = (dx > 0) & (dd > 0) & torch.isfinite(dd / dx.clamp_min(_TINY))
        target = torch.where(ok, dd / dx.clamp_min(_TINY), rho)
        factor = torch.where(ok, (target / rho).sqrt().clamp(0.5, 2.0), torch.ones_like(rho))
        ratio = (1.0 / factor).to(group.dtype).view(1, 1, -1, 1)
        z = group.ops.project_graph(group.u)
        group.u = z.add_(group.u.sub(z).mul_(ratio))
        group.refl_avg = group.x_avg + ratio * (group.refl_avg - group.x_avg)
        group.refl = group.x + ratio * (group.refl - group.x)
        group.clip_avg, group.clip = group.clip_avg * ratio, group.clip * ratio
        group._set_rho(rho * factor)
    group.snapshot = (x, dual)


def _rebase(group: _Group, ops64: _Operators) -> None:
    """Move the base point to the current graph point (in float64) and re-express the state from it.

    Exact in exact arithmetic (DR commutes with translations along the graph); in float32 it keeps the
    offsets, hence their rounding, as small as the remaining distance to the solution (mixed-precision
    refinement): neither the rewards' offset nor the size of the start's effects limits the accuracy.
    """
    u = group.u.double()
    shift_x = ops64.project_graph(u)[:2]
    d = group.data
    d.x0 = d.x0 + shift_x
    d.y0 = ops64.scaled(d.x0)
    d.lo, d.hi = d.lo - (shift_x[0] + shift_x[1]), d.hi - (shift_x[0] + shift_x[1])
    d.gamma0 = d.gamma0 + 0.5 * (shift_x[0] - shift_x[1])
    group.u = (u - torch.cat((shift_x, ops64.scaled(shift_x)), dim=0)).to(group.dtype)
    sx = shift_x.to(group.dtype)
    moved = (t - sx for t in (group.x_avg, group.refl_avg, group.x, group.refl))
    group.x_avg, group.refl_avg, group.x, group.refl = moved
    if group.snapshot is not None:
        group.snapshot = (group.snapshot[0] - sx, group.snapshot[1])
    group._cast_base()


@dataclass
class _Record:
    """Best bounds and point found so far for every sample of the batch."""

    best_x: Tensor
    upper: Tensor
    lower: Tensor
    gap: Tensor
    iterations: Tensor
    improved_at: Tensor
    promoted: Tensor
    floor: Tensor  # gaps below float64 rounding of the rewards count as closed
    mu: Tensor  # multipliers of y = A x where the lower bound was best
    rho: Tensor  # last penalty parameter
    crossed: Tensor  # samples finished by the exact crossover
    sweep: SweepTransforms | None  # the swept bound's transforms (None: off)
    window: float  # relative gap below which a sample also tries the swept bound
    sweep_every: int  # iterations between two swept bounds (0: at every check)
    repaired_at: Tensor  # iteration of each sample's last LP repair (-1: none)
    tol: float  # certified relative gap at which a sample stops
    repair: tuple[int, float, int] = (0, 0.0, 0)  # LP repair: (subsets, window, every); subsets 0: off
    rounding: Rounding | None = None  # the decomposition as returned (Problem.rounding): upper bounds are its objective
    unrounded: Tensor | None = None  # with rounding: the best objective of an unrounded point (every few checks)
    check_every: int = 1

    def certify(self, group: _Group, ops64: _Operators, alpha: float, it: int) -> Tensor:
        """Update the bounds of the group's samples; return their current relative gaps."""
        d, idx = group.data, group.index
        for cand in (group.x, group.x_avg):
            x_feas = d.x0 + project_offsets(cand.to(torch.float64), d.lo, d.hi, d.gamma0, d.beta)
            up = penalty(ops64.forward(self.as_returned(x_feas, d.v, idx)), alpha)
            better = up < self.upper[idx]
            self.upper[idx[better]] = up[better]
            self.best_x[:, :, idx[better]] = x_feas[:, :, better]
            if self.unrounded is not None and _crossed(it, self.check_every, _UNROUNDED_EVERY * self.check_every):
                self.unrounded[idx] = torch.minimum(self.unrounded[idx], penalty(ops64.forward(x_feas), alpha))
        # Lower bounds from the averaged multipliers (the last iterate's were never better, measured).
        nu, mu = group.multipliers(averaged=True)
        mu = mu * group.ops.order_weight  # multipliers of the unscaled y = A x
        estimates, bounds = dual_estimates(ops64.adjoint, nu, mu), []
        for lam_and, lam_or in estimates:
            lb = lower_bound(ops64.inverse_adjoint, lam_and, lam_or, d.v, d.noise_bound, d.beta, alpha)
            better = lb > self.lower[idx]
            self.lower[idx[better]] = lb[better]
            self.mu[:, :, idx[better]] = mu[:, :, better].to(torch.float64)
            bounds.append(lb)
        if self.sweep is not None and (self.sweep_every <= 0 or _crossed(it, self.check_every, self.sweep_every)):
            self._sweep(group, estimates, bounds, alpha)
        if self.repair[0] > 0 and d.v.shape[0] == 1:
            self._repair(group, estimates, bounds, it)
        self.rho[idx] = d.rho
        g = self._gap(self.upper[idx], idx)
        g_stop = g if self.unrounded is None else self._rounding_limited(g, idx, it)
        self.improved_at[idx] = torch.where(g < 0.95 * self.gap[idx], it, self.improved_at[idx])
        self.gap[idx] = torch.minimum(self.gap[idx], g_stop)
        self.iterations[idx] = it
        return g_stop

    def _rounding_limited(self, g: Tensor, idx: Tensor, it: int) -> Tensor:
        """The gaps ``g`` (of the points as returned), except for samples whose rounding alone takes half of tol and
        whose gap has not improved for ``_ROUNDING_PATIENCE`` iterations: their unrounded gap, so that they stop
        once their unrounded point is certified (the caller warns that the rounding is what exceeds tol)."""
        assert self.unrounded is not None
        exact, ub = self.unrounded[idx], self.upper[idx]
        g_exact = self._gap(exact, idx)
        stuck = it - self.improved_at[idx] >= _ROUNDING_PATIENCE
        hopeless = (g > self.tol) & (g_exact <= self.tol) & (ub - exact >= 0.5 * self.tol * ub) & stuck
        return torch.where(hopeless, g_exact, g)

    def _gap(self, upper: Tensor, idx: Tensor) -> Tensor:
        """Relative gaps of ``upper`` over the samples' lower bounds."""
        return _relative_gap(upper, self.lower[idx], self.floor[idx])

    def as_returned(self, x: Tensor, v: Tensor, idx: Tensor) -> Tensor:
        """The point ``x = (s, t)`` ``[2, K, b, N]`` of the samples ``idx`` (rewards ``v``) as it will be returned."""
        if self.rounding is None:
            return x
        gamma, noise = self.rounding(idx, 0.5 * (x[0] - x[1]), v - x[0] - x[1])
        half = 0.5 * (v - noise)
        return torch.stack((half + gamma, half - gamma))

    def _sweep(self, group: _Group, estimates: list[tuple[Tensor, Tensor]], bounds: list[Tensor], alpha: float) -> None:
        """Raise the lower bounds of the samples close to certified with :func:`swept_bound` of the estimate
        (``[K, B, N]`` each side) whose rescaled bound was the better one."""
        assert self.sweep is not None
        idx, up = group.index, self.upper[group.index]
        near = ((up - self.lower[idx]) <= self.window * up).nonzero().flatten()
        if near.numel() == 0:
            return
        first = (bounds[0][near] >= bounds[1][near]).view(1, -1, 1)
        lam_and, lam_or = (torch.where(first, a[:, near], b[:, near]) for a, b in zip(*estimates))
        d, at = group.data, idx[near]
        beta = None if d.beta is None else d.beta[:, near]
        lb = swept_bound(self.sweep, lam_and, lam_or, d.v[:, near], d.noise_bound[:, near], beta, alpha)
        self.lower[at] = torch.maximum(self.lower[at], lb)

    def _repair(self, group: _Group, estimates: list[tuple[Tensor, Tensor]], bounds: list[Tensor], it: int) -> None:
        """Raise the lower bounds of one model's samples close to certified, and not repaired for ``repair_every``
        iterations, with :func:`lp_repaired_bound` of the estimate whose rescaled bound was the better one."""
        (subsets, window, every), tol = self.repair, self.tol
        idx, up = group.index, self.upper[group.index]
        last, excess = self.repaired_at[idx], up - self.lower[idx]
        # Not for samples the cheaper bounds of this check already certify. The repaired point is not kept as
        # multipliers (self.mu): a warm start from this result starts from the iteration's own.
        due = (excess <= window * up) & (excess > tol * up) & ((last < 0) | (it - last >= every))
        d = group.data
        for j in due.nonzero().flatten().tolist():
            pick = 0 if bool(bounds[0][j] >= bounds[1][j]) else 1
            lam = centred_estimate(estimates[pick][0][:, j : j + 1], estimates[pick][1][:, j : j + 1])[0][0, 0]
            lb = lp_repaired_bound(d.v[0, j].double().cpu().numpy(), float(d.noise_bound[0, j, 0]),
                                   lam.cpu().numpy(), subsets)
            b = int(idx[j])
            self.lower[b] = max(float(self.lower[b]), lb)
            self.repaired_at[b] = it


def _relative_gap(upper: Tensor, lower: Tensor, floor: Tensor) -> Tensor:
    """``(upper - lower) / upper``, 0 where the excess is below ``floor`` (float64 rounding of the rewards)."""
    excess = (upper - lower).clamp_min(0.0)
    return torch.where(excess <= floor, torch.zeros_like(upper), excess / upper.clamp_min(_TINY))


def _crossed(it: int, steps: int, every: int) -> bool:
    """Whether a multiple of ``every`` lies in ``(it - steps, it]``."""
    return every > 0 and it // every > (it - steps) // every


def _cross_over(
    group: _Group, pending: Tensor, record: _Record, ops64: _Operators, tol: float, max_effects: int, alpha: float
) -> Tensor:
    """Try the exact crossover (``_crossover.py``) on the group's ``pending`` samples (one or two models), started
    from their best feasible point. A sample whose vertex certifies at ``tol`` as returned (same bounds as the
    iteration's) is recorded and marked done; one kept above ``tol`` only by the rounding to the rewards' dtype
    lends its bounds (and its point, if it rounds better) and goes on iterating, like the others. Returns the
    done mask over the group."""
    d, idx = group.data, group.index
    done = torch.zeros_like(pending)
    n_models, size = d.v.shape[0], d.v.shape[-1]
    for j in pending.nonzero().flatten().tolist():
        b = int(idx[j])
        x = record.best_x[:, :, b]  # [2, K, N]
        effects = ops64.forward(x.unsqueeze(2)).squeeze(2).cpu().numpy()
        v = d.v[:, j]
        v_np, bound = v.cpu().numpy(), d.noise_bound[:, j, 0].cpu().numpy()
        beta = None if d.beta is None else d.beta[:, j, 0].cpu().numpy()
        noise, gamma = (v - x[0] - x[1]).cpu().numpy(), (0.5 * (x[0] - x[1])).cpu().numpy()
        vertex = crossover(v_np, bound, effects[0], effects[1], noise, max_effects, beta, alpha,
                           None if beta is None else gamma)
        if vertex is None:
            continue
        s_and, noise_exact, lam_and, lam_or = (
            torch.as_tensor(a, dtype=torch.float64, device=v.device)
            for a in exact_decomposition(v_np, bound, vertex)
        )
        x_new = torch.stack((s_and, v - noise_exact - s_and)).view(2, n_models, 1, size)
        if d.beta is not None:  # gamma within the shared bound exactly (the LP's is up to its tolerance)
            x_new = project_offsets(x_new, d.v[:, j : j + 1] - d.noise_bound[:, j : j + 1],
                                    d.v[:, j : j + 1] + d.noise_bound[:, j : j + 1],
                                    torch.zeros_like(x_new[0]), d.beta[:, j : j + 1])
        upper = penalty(ops64.forward(record.as_returned(x_new, v.unsqueeze(1), idx[j : j + 1])), alpha)
        exact = penalty(ops64.forward(x_new), alpha)
        lower = lower_bound(ops64.inverse_adjoint, lam_and.unsqueeze(1), lam_or.unsqueeze(1), v.unsqueeze(1),
                            d.noise_bound[:, j : j + 1], None if d.beta is None else d.beta[:, j : j + 1], alpha)
        gap, gap_exact = (_relative_gap(up, lower, record.floor[b]) for up in (upper, exact))
        mu_vertex = ops64.inverse_adjoint(torch.stack((lam_and, lam_or.flip(-1))))
        if float(gap) > tol:
            # Only the rounding to the rewards' dtype may keep the exact optimum above tol, and another point may
            # round better: keep the vertex's bounds (and its point if it rounds better) and go on iterating; the
            # iteration's rounding rule then stops the sample on its unrounded certificate.
            if float(gap_exact) <= tol and record.unrounded is not None:
                record.unrounded[b] = torch.minimum(record.unrounded[b], exact[0])
                if lower[0] > record.lower[b]:
                    record.lower[b], record.mu[:, :, b] = lower[0], mu_vertex
                if upper[0] < record.upper[b]:
                    record.best_x[:, :, b], record.upper[b] = x_new[:, :, 0], upper[0]
            continue
        record.best_x[:, :, b] = x_new[:, :, 0]
        record.upper[b], record.lower[b], record.gap[b] = upper[0], lower[0], gap[0]
        if record.unrounded is not None:
            record.unrounded[b] = torch.minimum(record.unrounded[b], exact[0])
        record.mu[:, :, b] = mu_vertex
        record.crossed[b] = True
        done[j] = True
    return done


def solve(problem: Problem, settings: Settings, start: Start | None = None) -> Solution:
    """Iterate until every sample's certified relative gap is ``<= tol`` (or ``max_iter`` iterations).

    Without ``start`` the iteration starts at ``gamma = 0, delta = 0`` with zero multipliers; with it, at
    ``start.x0`` (which must be feasible) and, if given, the multipliers ``start.mu`` and penalty
    ``start.rho_scale``: the DR state is the fixed point those would have, ``u = (x0, A x0) + (A^T mu, -mu) /
    rho``. Any start gives the same certificate (the bounds do not depend on it), only the iterations change.
    """
    v, alpha = problem.rewards, problem.alpha
    _, batch, size = v.shape
    n, device = int(round(math.log2(size))), v.device
    cold = torch.stack((0.5 * v, 0.5 * v))
    x0 = cold if start is None else start.x0
    if batch == 0:
        empty = torch.zeros(0, dtype=torch.float64, device=device)
        return Solution(x0[0], x0[1], empty, empty, empty, empty.long(), empty.bool(), x0.clone(), empty,
                        empty.bool(), empty)
    ops64 = _Operators(n, torch.float64, device, settings.order_scale)
    ops = ops64
    if settings.compute_dtype != torch.float64:
        ops = _Operators(n, settings.compute_dtype, device, settings.order_scale)

    # Scale-free penalty parameter: rho * (mean |Moebius effect| of the rewards) = rho_scale.
    typical = ops64.forward(cold)[0, ..., 1:].abs().mean(dim=(0, 2)) * 2.0
    fallback = v.abs().mean(dim=(0, 2))
    typical = torch.where(typical > 0, typical, torch.where(fallback > 0, fallback, torch.ones_like(fallback)))
    rho = settings.rho_scale / typical
    if start is not None and start.rho_scale is not None:
        rho = torch.where(start.rho_scale > 0, start.rho_scale, settings.rho_scale) / typical
    y0 = ops64.scaled(x0)
    noise_bound = problem.noise_bound.unsqueeze(-1)
    delta0 = v - x0[0] - x0[1]  # the start's noise: the offsets' bounds move by it
    data = _Data(
        v=v, noise_bound=noise_bound, beta=None if problem.beta is None else problem.beta.unsqueeze(-1),
        rho=rho, x0=x0, y0=y0, lo=delta0 - noise_bound, hi=delta0 + noise_bound, gamma0=0.5 * (x0[0] - x0[1]),
    )
    state = torch.zeros_like(torch.cat((x0, y0), dim=0))
    if start is not None and start.mu is not None:
        mu = start.mu.clone()
        mu[..., 0] = 0.0
        adjoint = ops64.adjoint(mu)
        scaled = (1.0 / rho).view(1, 1, -1, 1)
        state = torch.cat((adjoint[:1], adjoint[1:].flip(-1), -mu / ops64.order_weight), dim=0) * scaled
    zeros = torch.zeros_like(state[:2])
    groups = [_Group(torch.arange(batch, device=device), state, (zeros, zeros, zeros), data, alpha, ops, 0)]
    inf = torch.full((batch,), math.inf, dtype=torch.float64, device=device)
    record = _Record(
        best_x=x0.clone(), upper=penalty(ops64.forward(x0), alpha), lower=torch.zeros_like(inf), gap=inf,
        iterations=torch.zeros(batch, dtype=torch.int64, device=device),
        improved_at=torch.zeros(batch, dtype=torch.int64, device=device),
        promoted=torch.zeros(batch, dtype=torch.bool, device=device), floor=1e-12 * v.abs().sum(dim=(0, 2)),
        mu=torch.zeros_like(x0), rho=rho.clone(), crossed=torch.zeros(batch, dtype=torch.bool, device=device),
        sweep=SweepTransforms.build(n, device) if settings.sweep_window > 0 else None,
        window=settings.sweep_window * settings.tol, sweep_every=settings.sweep_every,
        repaired_at=torch.full((batch,), -1, dtype=torch.int64, device=device),
        tol=settings.tol, repair=(settings.repair_subsets, settings.repair_window * settings.tol, settings.repair_every),
        rounding=problem.rounding, check_every=settings.check_every,
    )
    if problem.rounding is not None:
        record.unrounded = record.upper.clone()
        record.upper = penalty(ops64.forward(record.as_returned(x0, v, groups[0].index)), alpha)

    it = 0
    while groups and it < settings.max_iter:
        steps = min(settings.check_every, settings.max_iter - it)
        it += steps
        next_groups = []
        for group in groups:
            group.run(steps, settings.relaxation, settings.average_rate)
            keep = record.certify(group, ops64, alpha, it) > settings.tol
            if v.shape[0] <= 2 and it - steps < settings.crossover_at <= it and bool(keep.any()):
                keep = keep & ~_cross_over(group, keep, record, ops64, settings.tol, settings.crossover_effects,
                                           alpha)
            stalled = keep & (it - record.improved_at[group.index] >= settings.stall_iterations)
            if group.dtype != torch.float64 and bool(stalled.any()):
                record.promoted[group.index[stalled]] = True
                next_groups.append(group.select(stalled, ops64))
                keep = keep & ~stalled
            if _crossed(it, steps, settings.adapt_every):
                _adapt_rho(group)
            if group.dtype != torch.float64 and _crossed(it, steps, settings.rebase_every):
                _rebase(group, ops64)
            if bool(keep.all()):
                next_groups.append(group)
            elif bool(keep.any()):
                next_groups.append(group.select(keep))
        groups = next_groups
    best = record.best_x
    exact_gap = record.gap if record.unrounded is None else _relative_gap(record.unrounded, record.lower, record.floor)
    return Solution(best[0], best[1], record.upper, record.lower, record.gap, record.iterations, record.promoted,
                    record.mu, record.rho * typical, record.crossed, exact_gap)
