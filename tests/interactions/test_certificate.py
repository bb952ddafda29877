"""Tests of the lower bounds (``_certificate.py``): the swept repair of a dual estimate, one model and jointly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from lit_interactions.interactions import games, solver
from lit_interactions.interactions._certificate import (
    SweepTransforms,
    centred_estimate,
    joint_dual_norm,
    lower_bound,
    swept_bound,
    swept_dual,
)
from lit_interactions.interactions._crossover import crossover, exact_decomposition
from lit_interactions.interactions.lp_oracle import solve_lp
from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.solver import extract
from lit_interactions.interactions.subsets import superset_sum


def test_or_values_are_signed_subset_sums_of_and_values() -> None:
    """``sum_{S disjoint from T} lambda_S = sum_{R subset of T} (-1)^|R| p_R`` with ``p`` the superset sums."""
    n = 5
    ops = SweepTransforms.build(n, torch.device("cpu"))
    lam = torch.randn(3, 2**n, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    lam = lam - lam.mean(dim=-1, keepdim=True)
    p = superset_sum(lam)
    sets = range(2**n)
    disjoint = torch.stack([lam[:, [s for s in sets if s & t == 0]].sum(-1) for t in sets], dim=-1)
    assert torch.allclose(ops.signed_subset_sum(p.unsqueeze(0))[0], disjoint, atol=1e-12)
    assert torch.allclose(ops.values(lam, lam)[1], disjoint, atol=1e-12)


@pytest.mark.parametrize("size", [1e-2, 1.0, 100.0])
def test_swept_dual_is_dual_feasible(size: float) -> None:
    """Whatever the estimate, the swept point has sum 0 and its AND and OR values within [-1, 1]."""
    n = 6
    ops = SweepTransforms.build(n, torch.device("cpu"))
    lam = size * torch.randn(1, 20, 2**n, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    lam = lam - lam.mean(dim=-1, keepdim=True)
    for shrink in (0.0, 0.4, 0.8):
        point, same = swept_dual(ops, lam, torch.zeros_like(lam), shrink)
        assert torch.equal(point, same) and point.sum(-1).abs().max() < 1e-12
        assert ops.values(point, point)[..., 1:].abs().max() <= 1 + 1e-12


def _optimal_duals(kind: str, n: int) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Rewards ``[2, 2^n]``, an exact optimal dual point of each (the crossover's vertex) and the LP optima."""
    rewards = games.planted_rewards(n, 2, seed=3)[0] if kind == "planted" else games.mlp_rewards(n, 2, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # uncertified on purpose
        early = extract(rewards, max_iter=200, crossover=False)
    duals, optima = [], []
    for b in range(2):
        v = rewards[b].numpy()
        bound = 0.01 * abs(v[-1] - v[0])
        vertex = crossover(v, bound, early.and_effects[b].numpy(), early.or_effects[b].numpy(),
                           early.noise[b].numpy(), 2 ** (n + 2))
        assert vertex is not None
        duals.append(torch.from_numpy(vertex.dual[0]))
        optima.append(solve_lp(v).objective)
    return rewards, torch.stack(duals), optima


def _bounds(rewards: torch.Tensor, lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(rescaled, swept) lower bounds of the estimates ``lam`` ``[B, 2^n]`` (noise ratio 0.01)."""
    n = rewards.shape[-1].bit_length() - 1
    v = rewards.unsqueeze(0)
    noise_bound = 0.01 * (v[..., -1:] - v[..., :1]).abs()
    lam = lam.unsqueeze(0)
    transforms = SweepTransforms.build(n, torch.device("cpu"))
    return (lower_bound(transforms.superset_sum, lam, lam, v, noise_bound, None, 0.0),
            swept_bound(transforms, lam, lam, v, noise_bound))


@pytest.mark.parametrize("kind", ["planted", "mlp"])
def test_swept_bound_is_exact_at_an_optimal_dual_and_valid_near_it(kind: str) -> None:
    rewards, duals, optima = _optimal_duals(kind, 7)
    rescaled, swept = _bounds(rewards, duals)
    # A feasible dual point needs no repair: both bounds are its objective, the optimum (strong duality).
    assert swept.tolist() == pytest.approx(optima, rel=1e-7)
    assert rescaled.tolist() == pytest.approx(optima, rel=1e-7)
    # Perturbed points violate the dual constraints; every repaired bound stays below the optimum.
    gen = torch.Generator().manual_seed(1)
    for size in (1e-3, 1e-2, 1e-1, 1.0):
        for _ in range(5):
            noisy = duals * (1 + size) + size * duals.abs().mean() * torch.randn(duals.shape, generator=gen,
                                                                                dtype=torch.float64)
            rescaled, swept = _bounds(rewards, noisy)
            for b in range(2):
                assert 0.0 <= float(swept[b]) <= optima[b] * (1 + 1e-9)
                assert 0.0 <= float(rescaled[b]) <= optima[b] * (1 + 1e-9)


def test_sweep_only_stops_samples_earlier(monkeypatch: pytest.MonkeyPatch) -> None:
    """In float64 without the crossover the iterations do not depend on the bounds, so a second valid lower
    bound can only stop a sample earlier; both runs are certified within tol of the LP optimum."""
    rewards = games.mlp_rewards(7, 4, seed=2)
    options = {"compute_dtype": "float64", "crossover": False}
    monkeypatch.setattr(solver, "_SWEEP_WINDOW", 0.0)
    plain = extract(rewards, **options)
    monkeypatch.setattr(solver, "_SWEEP_WINDOW", 4.0)
    swept = extract(rewards, **options)
    assert swept.settings["sweep_window"] == 4.0 and plain.settings["sweep_window"] == 0.0
    assert_only_earlier_and_optimal(plain, swept, rewards)


@pytest.mark.parametrize("check_every", [50, 70])
def test_a_sparser_sweep_stops_between_none_and_every_check(check_every: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The swept bound tried only every 200 iterations (as every 400 from n = 14 on; forced here at n = 7), also when
    the checks do not fall on multiples of 200: samples stop no earlier than with it at every check and, some,
    earlier than without it; all certified at the LP optimum (the last two checked by
    :func:`assert_only_earlier_and_optimal`)."""
    rewards = games.mlp_rewards(7, 4, seed=2)
    options = {"compute_dtype": "float64", "crossover": False, "check_every": check_every}
    every_check = extract(rewards, **options)
    monkeypatch.setattr(solver, "_SWEEP_SPARSE_FROM", 1)
    monkeypatch.setattr(solver, "_SWEEP_EVERY", 200)
    sparse = extract(rewards, **options)
    monkeypatch.setattr(solver, "_SWEEP_WINDOW", 0.0)
    plain = extract(rewards, **options)
    assert every_check.settings["sweep_every"] == 0 and sparse.settings["sweep_every"] == 200
    assert bool((sparse.extra["iterations"] >= every_check.extra["iterations"]).all())
    assert_only_earlier_and_optimal(plain, sparse, rewards)


def assert_only_earlier_and_optimal(plain: Interactions, bounded: Interactions, rewards: torch.Tensor) -> None:
    """One model: ``bounded`` (an extra lower bound) stops no sample later than ``plain`` and some earlier, and
    both are certified within tol of the LP optimum."""
    fewer = plain.extra["iterations"] - bounded.extra["iterations"]
    assert bool((fewer >= 0).all()) and bool((fewer > 0).any()), fewer
    optima = np.array([solve_lp(v.numpy()).objective for v in rewards])
    for result in (plain, bounded):
        assert result.settings["converged"] and result.settings["duality_gap_max"] <= 1e-3
        objective = result.objective().numpy()
        assert np.all(objective <= optima * (1 + 1e-3) + 1e-12) and np.all(objective >= optima * (1 - 1e-6))


@pytest.mark.parametrize("n_models", [2, 3])
def test_joint_swept_dual_is_dual_feasible(n_models: int) -> None:
    """Two or three models: the swept point keeps ``sum_k (l_k - r_k) = 0`` and centred vectors, and its AND and
    OR values have joint dual norm at most 1 on every nonempty subset, whatever the estimate."""
    n, alpha = 5, 0.1
    ops = SweepTransforms.build(n, torch.device("cpu"))
    gen = torch.Generator().manual_seed(5)
    for size in (1e-2, 1.0, 100.0):
        estimate = size * torch.randn(2, n_models, 12, 2**n, dtype=torch.float64, generator=gen)
        lam_and, lam_or = centred_estimate(*estimate)
        for shrink in (0.0, 0.4, 0.8):
            new_and, new_or = swept_dual(ops, lam_and, lam_and - lam_or, shrink, alpha)
            assert (new_and - new_or).sum(0).abs().max() <= 1e-12 * size
            assert new_and.sum(-1).abs().max() <= 1e-12 * size and new_or.sum(-1).abs().max() <= 1e-12 * size
            assert joint_dual_norm(ops.values(new_and, new_or)[..., 1:], alpha).max() <= 1 + 1e-12


def test_joint_swept_bound_is_exact_at_an_optimal_dual_and_valid_near_it() -> None:
    """At the joint crossover's exact optimal dual point the swept bound is the joint LP optimum; perturbed
    points (which violate the dual constraints) never give a bound above it. The shared bound is small enough
    to be active, so the optimal ``l_k - r_k`` is not zero and the sweep's offset matters."""
    n, alpha, shared = 6, 0.1, 0.1
    rewards = torch.stack((games.mlp_rewards(n, 2, seed=6), games.mlp_rewards(n, 2, seed=56)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # uncertified on purpose
        early = solver.extract_joint(rewards, max_iter=200, crossover=False, shared_bound=shared)
    span = (rewards[..., -1] - rewards[..., 0]).abs()  # [K, B]
    duals, optima = [], []
    for b in range(2):
        v, bound, beta = rewards[:, b].numpy(), 0.01 * span[:, b].numpy(), shared * span[:, b].numpy()
        vertex = crossover(v, bound, early.and_effects[:, b].numpy(), early.or_effects[:, b].numpy(),
                           early.noise[:, b].numpy(), 2 ** (n + 3), beta, alpha, early.gamma[:, b].numpy())
        assert vertex is not None
        duals.append([torch.from_numpy(x) for x in exact_decomposition(v, bound, vertex)[2:]])
        optima.append(solve_lp(v, 0.01, alpha, shared).objective)
    lam_and, lam_or = (torch.stack([d[i] for d in duals], dim=1) for i in (0, 1))  # [K, B, N]
    assert float((lam_and - lam_or).abs().amax(dim=(0, 2)).min()) > 0.5
    v, noise_bound, beta = rewards, 0.01 * span.unsqueeze(-1), shared * span.unsqueeze(-1)
    transforms = SweepTransforms.build(n, torch.device("cpu"))

    def bounds(l_and: torch.Tensor, l_or: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (lower_bound(transforms.superset_sum, l_and, l_or, v, noise_bound, beta, alpha),
                swept_bound(transforms, l_and, l_or, v, noise_bound, beta, alpha))

    rescaled, swept = bounds(lam_and, lam_or)
    assert swept.tolist() == pytest.approx(optima, rel=1e-7)
    assert rescaled.tolist() == pytest.approx(optima, rel=1e-7)
    gen, raised = torch.Generator().manual_seed(2), 0
    for size in (1e-3, 1e-2, 1e-1):
        for _ in range(5):
            noise = [size * lam.abs().mean() * torch.randn(lam.shape, generator=gen, dtype=torch.float64)
                     for lam in (lam_and, lam_or)]
            rescaled, swept = bounds(lam_and * (1 + size) + noise[0], lam_or * (1 + size) + noise[1])
            for b in range(2):
                assert 0.0 <= float(rescaled[b]) and 0.0 <= float(swept[b]) <= optima[b] * (1 + 1e-9)
            raised += int((swept > rescaled).sum())
    assert raised > 0  # the sweep does repair some perturbed points better than the division


def test_joint_sweep_only_stops_samples_earlier(monkeypatch: pytest.MonkeyPatch) -> None:
    """As for one model: in float64 without the crossover the swept bound can only stop a joint sample earlier,
    and both runs are certified within tol of the joint LP optimum."""
    rewards = torch.stack((games.mlp_rewards(6, 4, seed=6), games.mlp_rewards(6, 4, seed=56)))
    options = {"compute_dtype": "float64", "crossover": False}
    monkeypatch.setattr(solver, "_SWEEP_WINDOW", 0.0)
    plain = solver.extract_joint(rewards, **options)
    monkeypatch.setattr(solver, "_SWEEP_WINDOW", 4.0)
    swept = solver.extract_joint(rewards, **options)
    fewer = plain.extra["iterations"][0] - swept.extra["iterations"][0]
    assert bool((fewer >= 0).all()) and bool((fewer > 0).any()), fewer
    optima = np.array([solve_lp(rewards[:, b].numpy()).objective for b in range(4)])
    for result in (plain, swept):
        assert result.settings["converged"] and result.settings["duality_gap_max"] <= 1e-3
        objective = solver.joint_objective(result, 0.1).numpy()
        assert np.all(objective <= optima * (1 + 1e-3) + 1e-12) and np.all(objective >= optima * (1 - 1e-6))
