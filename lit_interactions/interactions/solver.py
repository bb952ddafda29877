"""The sparsest AND-OR interactions of one model and of K models jointly, certified (docs/solver.md).

Both problems are convex and piecewise linear. :func:`extract` and :func:`extract_joint` solve them with a
batched graph-form ADMM (Douglas-Rachford splitting) whose linear step is exact and costs a few fast
Kronecker transforms (``_graph_admm.py``), and stop each sample on a certified relative duality gap
``(objective - lower bound) / objective <= tol``: the returned objective is within ``tol`` of the optimum.
There is no learning rate: the penalty parameter is set from the rewards' own scale, so rewards scaled by any
positive factor give the same effects scaled by that factor. See ``docs/solver.md`` for the method, the
choices and the measurements.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from lit_interactions.checks import check_int
from lit_interactions.interactions._certificate import penalty
from lit_interactions.interactions._graph_admm import Problem, Settings, Start, solve
from lit_interactions.interactions._prox import project_shared
from lit_interactions.interactions.checks import check_real, check_subset_vector
from lit_interactions.interactions.options import SolverOptions
from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.subsets import n_players_from_length

SOLVER_NAME = "graph-admm"
# float32 iterations (re-based on float64) by default up to this many players, today the engine's limit: measured to
# certify trained-CNN, random-MLP and planted rewards at n = 13, 14 and 16 (docs/solver.md, "Beyond n = 12", item 7).
_FLOAT32_MAX_PLAYERS = 16
# Stop just inside tol: the solver's float64 objective and the result's differ by float64 rounding only (upper bounds
# are those of the decomposition as returned, rounded to the rewards' dtype).
_STOP_FRACTION = 0.999
_SWEEP_WINDOW = 4.0  # samples within 4 tol of certified also try the swept lower bound (docs/solver.md)
# From _SWEEP_SPARSE_FROM players on the swept bound (n float64 transforms) is tried every _SWEEP_EVERY iterations, not at
# every check: at n = 16 it took an eighth of a solve's CPU when tried every 50 (docs/solver.md, "Beyond n = 12", item 11).
_SWEEP_SPARSE_FROM, _SWEEP_EVERY = 14, 400
# One model from _REPAIR_MIN_PLAYERS on: samples within _REPAIR_WINDOW tol of certified try the LP repair of their dual
# estimate (_REPAIR_SUBSETS corrected subsets) at most every _REPAIR_EVERY iterations (docs/solver.md, "Beyond n = 12",
# item 8).
_REPAIR_MIN_PLAYERS, _REPAIR_SUBSETS, _REPAIR_WINDOW, _REPAIR_EVERY = 14, 128, 3.0, 2000
# A float32 sample whose certified gap has not improved by 5% for this many iterations continues in float64. Above
# n = 12 the window doubles with each player, as the iterations a sample needs about do (at n = 14 a dense sample's
# gap can sit still for a third of its iterations; docs/solver.md, "Beyond n = 12", item 7).
_STALL_ITERATIONS = 3000
_SINGLE_RHO, _JOINT_RHO = 1.0, 0.4  # default rho_scale of one model and of the joint solve (measured: docs/solver.md)
# Iterations on effects scaled by _ORDER_SCALE^|T|. 1.2 saves 14-23% of the iterations at n = 12 on average but
# made single samples 3.7x slower (n = 11) and n = 14 uncertified (docs/solver.md, "Beyond n = 12"): off.
_ORDER_SCALE = 1.0
# A sample still uncertified after _CROSSOVER_AT iterations tries the exact crossover, from n = 10 on for one model and
# n = 12 for two (below, the iteration is cheap and a failed try costs more than it saves; docs/solver.md, "Crossover").
_CROSSOVER_AT, _CROSSOVER_MIN_PLAYERS, _JOINT_CROSSOVER_MIN_PLAYERS = 500, 10, 12


def extract(
    rewards: Tensor,
    options: SolverOptions | dict[str, Any] | None = None,
    *,
    warm_start: Interactions | None = None,
    **settings: Any,
) -> Interactions:
    """Sparsest AND-OR interactions of rewards (paper 2's LASSO-like loss), batched over any leading dimensions.

    Minimises ``sum_{T nonempty} |I_and[T]| + |I_or[T]|`` over ``gamma`` (free) and the noise ``delta`` with
    ``|delta[L]| <= noise_bound = noise_ratio * |v[N] - v[empty]|`` (per sample).

    Args:
        rewards: ``[..., 2^n]`` rewards ``v(x_S)`` in the project's subset order, ``1 <= n <= 16``.
        options: the solver's settings (:class:`SolverOptions` or a mapping of its fields; None = defaults:
            noise ratio 0.01, certified gap 1e-3, ``rho_scale`` 1.0). docs/solver.md explains each one.
        warm_start: a result of this solver for the same samples and players (same batch shape and ``n``),
            e.g. the previous epoch's: the solve starts from its decomposition (noise clipped to the new bound)
            and, when it has them, its ``extra["dual"]`` multipliers and ``extra["rho_scale"]``. The result
            is certified exactly as without it; only the iterations change.
        **settings: :class:`SolverOptions` fields by name (``noise_ratio=0.02, tol=1e-4``), replacing the
            values of ``options``.

    Returns:
        ``Interactions.from_decomposition(rewards, gamma, noise)`` with the solver's settings (gap and
        iteration summaries) in ``settings`` and, per sample in ``extra``: ``duality_gap``, ``iterations``,
        ``dual`` (``[..., 2, 2^n]`` multipliers of the AND and OR effects) and ``rho_scale`` (the last
        penalty parameter relative to the rewards' scale), the last two for warm starts.
    """
    opts = SolverOptions.merged(options, settings)
    leading = _check_rewards(rewards, "rewards")
    v = rewards.detach().to(torch.float64).reshape(1, -1, rewards.shape[-1])
    problem = Problem(v, _bound(rewards, opts.noise_ratio).double().reshape(1, -1), None, 0.0)
    return _solve(
        rewards, problem, opts, _SINGLE_RHO, None, Interactions.objective,
        leading, {"problem": "sparsest", "noise_ratio": opts.noise_ratio}, _start(warm_start, rewards, problem),
    )


def extract_joint(
    rewards: Tensor,
    options: SolverOptions | dict[str, Any] | None = None,
    *,
    alpha: float = 0.1,
    shared_bound: float = 0.5,
    warm_start: Interactions | None = None,
    **settings: Any,
) -> Interactions:
    """Generalizable interactions shared by K >= 2 models on the same samples and players (paper 1).

    ``gamma^(k) = gamma_shared + gamma_k`` with ``|gamma_k[L]| <= shared_bound * |v^(k)[N] - v^(k)[empty]|``
    and ``|delta^(k)[L]| <= noise_ratio * |v^(k)[N] - v^(k)[empty]|``; minimises, for AND and for OR
    separately, ``sum_{T nonempty} (1 - alpha) max_k |I^(k)[T]| + alpha sum_k |I^(k)[T]|``.

    Args:
        rewards: ``[K, ..., 2^n]``: model ``k``'s rewards on the same samples (any leading batch dimensions).
        options: as in :func:`extract`; its ``rho_scale`` None means 0.4 here (the joint problem converges
            faster with a smaller one, measured).
        alpha: weight of the sum over models (paper 1 default 0.1); ``1 - alpha`` weighs the max.
        shared_bound: bound of the model-specific decomposition relative to ``|v^(k)[N] - v^(k)[empty]|``.
        warm_start: as in :func:`extract`, a joint result with the same ``[K, ...]`` batch shape (its gamma
            is projected onto the new shared bound).
        **settings: as in :func:`extract`.

    Returns:
        ``Interactions`` with leading dimension ``K`` (``gamma[k]`` is ``gamma^(k)``); settings and extras as
        in :func:`extract`, the certificate being that of the joint objective (:func:`joint_objective`).
    """
    if not isinstance(rewards, Tensor) or rewards.dim() < 2 or rewards.shape[0] < 2:
        shape = tuple(rewards.shape) if isinstance(rewards, Tensor) else type(rewards).__name__
        raise ValueError(
            f"extract_joint needs rewards [K, ..., 2^n] of K >= 2 models on the same samples, got {shape}; "
            f"stack the models' rewards on a new first dimension (torch.stack([v1, v2]))"
        )
    opts = SolverOptions.merged(options, settings)
    leading = _check_rewards(rewards, "rewards")[1:]
    _check_fraction("alpha", alpha)
    if not check_real("shared_bound", shared_bound) >= 0:
        raise ValueError(f"shared_bound must be a finite number >= 0, got {shared_bound}")
    n_models = rewards.shape[0]
    v = rewards.detach().to(torch.float64).reshape(n_models, -1, rewards.shape[-1])
    info = {"problem": "joint", "noise_ratio": opts.noise_ratio, "alpha": alpha, "shared_bound": shared_bound,
            "n_models": n_models}
    noise_bound, beta = (
        _bound(rewards, ratio).double().reshape(n_models, -1) for ratio in (opts.noise_ratio, shared_bound)
    )
    problem = Problem(v, noise_bound, beta, alpha)
    return _solve(
        rewards, problem, opts, _JOINT_RHO, shared_bound, lambda result: joint_objective(result, alpha),
        leading, info, _start(warm_start, rewards, problem),
    )


def joint_objective(interactions: Interactions, alpha: float) -> Tensor:
    """The joint objective of a result with leading model dimension ``K``: one value per sample, shape ``[...]``.

    ``sum_{T nonempty} (1 - alpha) max_k |I^(k)[T]| + alpha sum_k |I^(k)[T]|``, for AND plus for OR.
    """
    _check_fraction("alpha", alpha)
    if len(interactions.batch_shape) < 1:
        raise ValueError("joint_objective needs a result with a leading model dimension K (from extract_joint)")
    effects = torch.stack((interactions.and_effects, interactions.or_effects))
    flat = effects.reshape(2, effects.shape[1], -1, effects.shape[-1])
    return penalty(flat, alpha).reshape(interactions.batch_shape[1:])


def _solve(
    rewards: Tensor, problem: Problem, opts: SolverOptions, default_rho: float, shared_bound: float | None,
    objective: Callable[[Interactions], Tensor], leading: torch.Size, info: dict[str, Any], start: Start | None,
) -> Interactions:
    """Solve, build the result in the rewards' dtype and record its certificate."""
    v = problem.rewards
    noise_ratio = opts.noise_ratio
    settings = _settings(v.shape[-1], opts, default_rho, v.shape[0])
    if rewards.dtype != torch.float64:  # certify the decomposition as it is returned, in the rewards' dtype
        flat = rewards.detach().reshape(v.shape)

        def rounding(idx: Tensor, gamma: Tensor, noise: Tensor) -> tuple[Tensor, Tensor]:
            rounded = _finalise(flat[:, idx], gamma, noise, noise_ratio, shared_bound)
            return rounded[0].double(), rounded[1].double()

        problem = replace(problem, rounding=rounding)
    with torch.no_grad(), _threads(opts.num_threads):
        sol = solve(problem, settings, start)
        gamma = (0.5 * (sol.s - sol.t)).reshape(rewards.shape)
        noise = (v - sol.s - sol.t).reshape(rewards.shape)
        gamma, noise = _finalise(rewards, gamma, noise, noise_ratio, shared_bound)
    result = Interactions.from_decomposition(rewards, gamma, noise)
    with torch.no_grad():
        # The certificate is that of the returned decomposition, evaluated in float64.
        exact = Interactions.from_decomposition(v.reshape(rewards.shape), gamma.double(), noise.double())
        value = objective(exact).reshape(-1)
    result = _annotate(result, sol.lower, value, v, sol.iterations, sol.promoted, leading, settings, info,
                       sol.exact_gap)
    result.settings["warm_start"] = start is not None
    result.settings["crossover"] = opts.crossover
    result.settings["n_crossover"] = int(sol.crossed.sum())
    device = result.rewards.device
    # Warm-start state: multipliers [2, K, B, N] -> [K, B, 2, N] in the result's batch shape, and rho.
    dual = sol.mu.permute(1, 2, 0, 3).reshape(*result.batch_shape, 2, v.shape[-1])
    result.extra["dual"] = dual.to(device=device, dtype=torch.float32).contiguous()
    result.extra["rho_scale"] = sol.rho_scale.reshape(leading).to(device).expand(result.batch_shape).contiguous()
    return result


def _start(warm: Interactions | None, rewards: Tensor, problem: Problem) -> Start | None:
    """The solver's start from a previous result: its decomposition made feasible for ``problem``, its multipliers.

    The decomposition is scaled by the slope of the rewards' change (an exact start if they only changed scale
    and offset). The noise is clipped to the new bound and, jointly, gamma projected onto the new shared bound, so the start
    is feasible; the multipliers (``extra["dual"]``) and penalty (``extra["rho_scale"]``) are used if present.
    """
    if warm is None:
        return None
    if not isinstance(warm, Interactions):
        raise TypeError(f"warm_start must be an Interactions result of this solver, got {type(warm).__name__}")
    if tuple(warm.rewards.shape) != tuple(rewards.shape):
        raise ValueError(
            f"warm_start has the shape {tuple(warm.rewards.shape)} but the rewards have {tuple(rewards.shape)}; "
            f"pass a previous result for the same samples, players (and models), in the same order"
        )
    v = problem.rewards
    shape = v.shape
    gamma = warm.gamma.detach().to(device=v.device, dtype=torch.float64).reshape(shape)
    noise = warm.noise.detach().to(device=v.device, dtype=torch.float64).reshape(shape)
    # The solution is positively homogeneous and shift-invariant in the rewards: rescale the old decomposition by
    # the slope of the least-squares fit new ~ slope * old + offset (per sample and model), e.g. growing logits.
    old = warm.rewards.detach().to(device=v.device, dtype=torch.float64).reshape(shape)
    old_c, new_c = old - old.mean(-1, keepdim=True), v - v.mean(-1, keepdim=True)
    var = old_c.square().sum(-1, keepdim=True)
    slope = (old_c * new_c).sum(-1, keepdim=True) / var.clamp_min(1e-300)
    slope = torch.where((var > 0) & (slope > 0) & torch.isfinite(slope), slope, torch.ones_like(slope))
    gamma, noise = slope * gamma, slope * noise
    noise_bound = problem.noise_bound.unsqueeze(-1)
    noise = torch.maximum(torch.minimum(noise, noise_bound), -noise_bound)
    if problem.beta is not None:
        gamma = project_shared(gamma, problem.beta.unsqueeze(-1))
    half = 0.5 * (v - noise)
    x0 = torch.stack((half + gamma, half - gamma))
    mu = rho = None
    dual = warm.extra.get("dual")
    if dual is not None and tuple(dual.shape) == (*warm.batch_shape, 2, shape[-1]):
        mu = dual.detach().to(device=v.device, dtype=torch.float64).reshape(shape[0], shape[1], 2, shape[-1])
        mu = mu.permute(2, 0, 1, 3).contiguous()
    scale = warm.extra.get("rho_scale")
    if scale is not None and tuple(scale.shape) == tuple(warm.batch_shape):
        rho = scale.detach().to(device=v.device, dtype=torch.float64).reshape(shape[0], shape[1])[0]
        rho = torch.where(torch.isfinite(rho), rho, torch.zeros_like(rho))
    return Start(x0, mu, rho)


@contextmanager
def _threads(num_threads: int | None) -> Iterator[None]:
    """Run with ``num_threads`` CPU threads (``None``: unchanged), restoring the previous setting."""
    previous = torch.get_num_threads()
    if num_threads is None or num_threads == previous:
        yield
        return
    check_int("num_threads", num_threads, 1)
    torch.set_num_threads(int(num_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_rewards(rewards: Tensor, name: str) -> torch.Size:
    """Validate rewards ``[..., 2^n]`` and return their leading (batch) shape."""
    return check_subset_vector(rewards, name).shape[:-1]


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= check_real(name, value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")


def _stall_iterations(n: int) -> int:
    """Iterations without a 5% better certified gap after which a float32 sample of ``n`` players continues in
    float64: ``_STALL_ITERATIONS`` up to n = 12, doubled for each player above."""
    return _STALL_ITERATIONS * 2 ** max(0, n - 12)


def _settings(size: int, opts: SolverOptions, default_rho: float, n_models: int) -> Settings:
    """The iteration's settings for ``2^n = size`` and ``n_models`` models from the user's options (``rho_scale``
    None = ``default_rho``)."""
    n = n_players_from_length(size)
    cross_from = _CROSSOVER_MIN_PLAYERS if n_models == 1 else _JOINT_CROSSOVER_MIN_PLAYERS
    if opts.compute_dtype == "auto":
        dtype = torch.float32 if n <= _FLOAT32_MAX_PLAYERS else torch.float64
    else:
        dtype = torch.float32 if opts.compute_dtype == "float32" else torch.float64
    return Settings(
        tol=_STOP_FRACTION * float(opts.tol),
        max_iter=int(opts.max_iter or (20_000 if n <= 10 else 100_000)),
        check_every=int(opts.check_every),
        relaxation=float(opts.relaxation),
        rho_scale=float(default_rho if opts.rho_scale is None else opts.rho_scale),
        average_rate=0.005,
        compute_dtype=dtype,
        stall_iterations=_stall_iterations(n),
        adapt_every=500,
        rebase_every=250,
        order_scale=_ORDER_SCALE,
        crossover_at=_CROSSOVER_AT if opts.crossover and n >= cross_from and n_models <= 2 else 0,
        crossover_effects=max(256, min(2048, 2**n // 8)),
        sweep_window=_SWEEP_WINDOW,
        sweep_every=_SWEEP_EVERY if n >= _SWEEP_SPARSE_FROM else 0,
        repair_subsets=_REPAIR_SUBSETS if n_models == 1 and n >= _REPAIR_MIN_PLAYERS else 0,
        repair_window=_REPAIR_WINDOW,
        repair_every=_REPAIR_EVERY,
    )


def _bound(rewards: Tensor, ratio: float) -> Tensor:
    """``ratio * |v[N] - v[empty]|`` per sample, in the rewards' dtype: the bounds the returned result meets exactly,
    and (in float64) those the solver certifies against, so both are the same numbers."""
    v = rewards.detach()
    return ratio * (v[..., -1] - v[..., 0]).abs()


def _finalise(
    rewards: Tensor, gamma: Tensor, noise: Tensor, noise_ratio: float, shared_bound: float | None
) -> tuple[Tensor, Tensor]:
    """Cast to the rewards' dtype and enforce the bounds exactly there (clip the noise, project gamma)."""
    v = rewards.detach()
    noise_bound = _bound(v, noise_ratio).unsqueeze(-1)
    noise = torch.maximum(torch.minimum(noise.to(v), noise_bound), -noise_bound)
    gamma = gamma.to(v)
    if shared_bound is not None:
        bound = _bound(v, shared_bound).unsqueeze(-1)
        shared = 0.5 * ((gamma - bound).amax(dim=0) + (gamma + bound).amin(dim=0))
        gamma = shared + torch.maximum(torch.minimum(gamma - shared, bound), -bound)
    return gamma, noise


def _annotate(
    result: Interactions, lower: Tensor, objective: Tensor, rewards64: Tensor, iterations: Tensor,
    promoted: Tensor, leading: torch.Size, settings: Settings, problem: dict[str, Any], exact_gap: Tensor,
) -> Interactions:
    """Record the certificate of the returned result in ``settings`` (summary) and ``extra`` (per sample).

    ``objective`` is the float64 objective of the returned decomposition; a gap below float64 rounding of the
    rewards' magnitude counts as zero (e.g. constant rewards, whose optimum is 0). ``exact_gap`` is the solver's
    certified gap before the rounding to the rewards' dtype (it tells the warning which cause to name).
    """
    excess = (objective - lower).clamp_min(0.0)
    floor = 1e-12 * rewards64.abs().sum(dim=(0, 2))
    gap = torch.where(excess <= floor, torch.zeros_like(excess), excess / objective.clamp_min(1e-300))
    tol = settings.tol / _STOP_FRACTION
    unconverged = int((gap > tol).sum())
    if unconverged:
        message = _unconverged_message(gap, iterations.reshape(-1), tol, settings.max_iter, result.rewards.dtype,
                                       exact_gap)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    result.settings.update(problem)
    result.settings.update(
        {
            "solver": SOLVER_NAME,
            "tol": tol,
            "max_iter": settings.max_iter,
            "check_every": settings.check_every,
            "relaxation": settings.relaxation,
            "rho_scale": settings.rho_scale,
            "order_scale": settings.order_scale,
            "sweep_window": settings.sweep_window,
            "sweep_every": settings.sweep_every,
            "repair_subsets": settings.repair_subsets,
            "compute_dtype": str(settings.compute_dtype).replace("torch.", ""),
            "n_promoted_to_float64": int(promoted.sum()),
            "converged": unconverged == 0,
            "n_unconverged": unconverged,
            "duality_gap_max": float(gap.max()) if gap.numel() else 0.0,
            "duality_gap_mean": float(gap.mean()) if gap.numel() else 0.0,
            "iterations_max": int(iterations.max()) if iterations.numel() else 0,
            "iterations_mean": float(iterations.double().mean()) if iterations.numel() else 0.0,
        }
    )
    batch_shape = result.batch_shape
    device = result.rewards.device
    result.extra["duality_gap"] = gap.reshape(leading).to(device).expand(batch_shape).contiguous()
    result.extra["iterations"] = iterations.reshape(leading).to(device).expand(batch_shape).contiguous()
    return result


def _unconverged_message(
    gap: Tensor, iterations: Tensor, tol: float, max_iter: int, dtype: torch.dtype, exact_gap: Tensor
) -> str:
    """Why samples end above ``tol``: the iteration limit, or the rounding of a certified result to ``dtype``.

    The solver certifies the decomposition as returned, rounded to the rewards' dtype. A sample above ``tol`` whose
    unrounded point was certified (``exact_gap <= tol``) is one whose rounding alone took half of ``tol`` or more
    (half-precision rewards, or a ``tol`` near float32's resolution at large ``n``: the Moebius transform amplifies
    the rounding): it stopped once its gap had stopped improving, or it met ``max_iter`` first (e.g. a crossover's
    exact optimum at the last iteration); float64 rewards certify it at ``tol``, more iterations may not. The
    others met ``max_iter``.
    """
    over = gap > tol
    limited = over & (iterations.to(gap.device) >= max_iter) & (exact_gap.to(gap.device) > tol)
    parts = []
    if int(limited.sum()):
        parts.append(f"{int(limited.sum())} of {gap.numel()} samples did not reach the relative duality gap tol={tol:g} "
                     f"within max_iter={max_iter} (largest gap {gap[limited].max().item():.3g}); increase max_iter")
    rounded = over & ~limited
    if int(rounded.sum()):
        parts.append(f"{int(rounded.sum())} of {gap.numel()} samples were certified at tol={tol:g} but did not reach "
                     f"it once rounded to the rewards' dtype {str(dtype).replace('torch.', '')} (largest gap "
                     f"{gap[rounded].max().item():.3g}); pass float64 rewards (rewards.double()) for a result "
                     f"certified at tol")
    return "; ".join(parts)
