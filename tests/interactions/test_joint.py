"""Tests of `extract_joint` and `joint_objective` (the joint problem): optimality, bounds, invariances, input checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from lit_interactions.interactions import games
from lit_interactions.interactions.lp_oracle import solve_lp
from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.solver import extract, extract_joint, joint_objective

TOL = 1e-3
ALPHA = 0.1


def _exact_objective(result: Interactions, rewards: torch.Tensor, alpha: float) -> np.ndarray:
    """Joint objective of the returned decomposition evaluated in float64."""
    exact = Interactions.from_decomposition(rewards.double(), result.gamma.double(), result.noise.double())
    return joint_objective(exact, alpha).reshape(-1).numpy()


def _check_optimal(result: Interactions, rewards: torch.Tensor, alpha: float = ALPHA, shared_bound: float = 0.5):
    flat = rewards.double().reshape(rewards.shape[0], -1, rewards.shape[-1])
    opt = np.array([solve_lp(flat[:, b].numpy(), 0.01, alpha, shared_bound).objective for b in range(flat.shape[1])])
    obj = _exact_objective(result, rewards, alpha)
    scale = np.maximum(opt, 1e-12)
    assert np.all(obj <= opt + TOL * scale), (obj, opt)
    assert np.all(obj >= opt - 1e-6 * scale), (obj, opt)
    assert result.settings["converged"] is True and result.settings["duality_gap_max"] <= TOL


def _pair(n: int, batch: int, seed: int) -> torch.Tensor:
    return torch.stack((games.mlp_rewards(n, batch, seed=seed), games.mlp_rewards(n, batch, seed=seed + 50)))


@pytest.mark.parametrize(("kind", "n"), [("random", 4), ("mlp", 5), ("mlp", 6), ("planted", 5)])
def test_two_models_match_lp_oracle(kind: str, n: int) -> None:
    if kind == "random":
        rewards = torch.stack((games.random_rewards(n, 2, seed=1), games.random_rewards(n, 2, seed=2)))
    elif kind == "mlp":
        rewards = _pair(n, 2, seed=n)
    else:  # the same planted game seen by two models with different small noise
        planted = games.planted_rewards(n, 2, noise=1e-3, seed=4)[0]
        rewards = torch.stack((planted, planted * 1.1))
    result = extract_joint(rewards)
    assert result.and_effects.shape == rewards.shape
    _check_optimal(result, rewards)


def test_three_models_and_other_weights_match_lp_oracle() -> None:
    rewards = torch.stack([games.mlp_rewards(4, 2, seed=s) for s in (1, 2, 3)])
    _check_optimal(extract_joint(rewards), rewards)
    pair = _pair(4, 2, seed=7)
    _check_optimal(extract_joint(pair, alpha=0.5, shared_bound=0.1), pair, alpha=0.5, shared_bound=0.1)


def test_identical_models_cost_one_plus_alpha_times_single() -> None:
    single_rewards = games.mlp_rewards(5, 2, seed=3)
    single = extract(single_rewards).objective().numpy()
    joint = joint_objective(extract_joint(torch.stack((single_rewards, single_rewards))), ALPHA).numpy()
    np.testing.assert_allclose(joint, (1 + ALPHA) * single, rtol=3 * TOL)


def test_planted_game_effects_are_recovered_by_both_models() -> None:
    # Samples 0 and 3 of this planted game have a unique single-model optimum (see test_solver.py); two
    # identical models then have a unique joint optimum, the planted effects for both.
    rewards, and_true, or_true = games.planted_rewards(6, 4, n_effects=5, noise=0.0, seed=3)
    pair = torch.stack((rewards[[0, 3]], rewards[[0, 3]]))
    result = extract_joint(pair, noise_ratio=0.0)
    for k in range(2):
        assert torch.allclose(result.and_effects[k], and_true[[0, 3]], atol=1e-2)
        assert torch.allclose(result.or_effects[k], or_true[[0, 3]], atol=1e-2)


def test_alpha_one_with_loose_sharing_decouples_models() -> None:
    rewards = _pair(5, 2, seed=2)
    joint = joint_objective(extract_joint(rewards, alpha=1.0, shared_bound=1e3), 1.0).numpy()
    singles = extract(rewards[0]).objective().numpy() + extract(rewards[1]).objective().numpy()
    np.testing.assert_allclose(joint, singles, rtol=3 * TOL)


def test_bounds_hold_exactly_and_universal_matching() -> None:
    rewards = _pair(6, 3, seed=5).float()
    result = extract_joint(rewards, noise_ratio=0.02, shared_bound=0.3)
    span = (rewards[..., -1] - rewards[..., 0]).abs().unsqueeze(-1)
    assert bool((result.noise.abs() <= 0.02 * span).all())
    # gamma^(k) = g + gamma_k with |gamma_k| <= bound_k  <=>  the intervals [gamma^(k) -+ bound_k] intersect.
    bound = 0.3 * span
    lo, hi = (result.gamma - bound).amax(dim=0), (result.gamma + bound).amin(dim=0)
    assert bool((lo <= hi + 1e-6 * (1 + result.gamma.abs().amax(dim=0))).all())
    assert torch.allclose(result.reconstruct(), rewards - result.noise, atol=1e-4, rtol=1e-5)
    assert result.and_effects.dtype == torch.float32


def test_joint_objective_definition() -> None:
    and_effects = torch.tensor([[[0.0, 1.0, -2.0, 0.5]], [[0.0, -3.0, 0.0, 0.5]]])
    or_effects = torch.tensor([[[0.0, 0.0, 1.0, 0.0]], [[0.0, 2.0, 0.0, 0.0]]])
    result = Interactions.from_effects(and_effects, or_effects)
    # AND: T=1: max 3, sum 4; T=2: max 2, sum 2; T=3: max .5, sum 1. OR: T=1: 2, 2; T=2: 1, 1.
    expected = 0.75 * (3 + 2 + 0.5 + 2 + 1) + 0.25 * (4 + 2 + 1 + 2 + 1)
    assert joint_objective(result, 0.25).shape == (1,)
    assert joint_objective(result, 0.25).item() == pytest.approx(expected)
    # It matches the LP oracle's objective at the oracle's own decomposition.
    rewards = _pair(4, 1, seed=9)[:, 0]
    sol = solve_lp(rewards.numpy(), 0.01, ALPHA, 0.5)
    at_oracle = Interactions.from_decomposition(rewards, torch.tensor(sol.gamma), torch.tensor(sol.noise))
    assert joint_objective(at_oracle, ALPHA).item() == pytest.approx(sol.objective, rel=1e-9)


def test_scale_batch_and_permutation_invariance() -> None:
    rewards = _pair(5, 3, seed=8)
    base = joint_objective(extract_joint(rewards), ALPHA).numpy()
    scaled = joint_objective(extract_joint(rewards * 1e3), ALPHA).numpy() / 1e3
    np.testing.assert_allclose(scaled, base, rtol=2 * TOL)
    alone = joint_objective(extract_joint(rewards[:, 1:2]), ALPHA).numpy()
    np.testing.assert_allclose(alone, base[1:2], rtol=2 * TOL)
    perm = [3, 1, 4, 0, 2]
    idx = torch.arange(32)
    old = torch.zeros_like(idx)
    for i, p in enumerate(perm):
        old |= ((idx >> i) & 1) << p
    permuted = joint_objective(extract_joint(rewards[..., old]), ALPHA).numpy()
    np.testing.assert_allclose(permuted, base, rtol=2 * TOL)


def test_settings_and_extras_keep_the_model_dimension() -> None:
    rewards = torch.stack((games.mlp_rewards(4, 4, seed=1), games.mlp_rewards(4, 4, seed=2))).reshape(2, 2, 2, 16)
    result = extract_joint(rewards, alpha=0.2, shared_bound=0.4)
    s = result.settings
    assert s["problem"] == "joint" and s["alpha"] == 0.2 and s["shared_bound"] == 0.4 and s["n_models"] == 2
    assert result.batch_shape == (2, 2, 2)
    assert result.extra["duality_gap"].shape == (2, 2, 2)
    assert torch.equal(result.extra["duality_gap"][0], result.extra["duality_gap"][1])
    assert joint_objective(result, 0.2).shape == (2, 2)


def test_the_returned_joint_decomposition_is_certified_in_the_rewards_dtype() -> None:
    """As for one model: in float16 (rounding after the shared projection) every returned sample is certified at
    tol; certifying the unrounded point returned 10 of these 16 samples above it."""
    rewards = torch.stack((games.mlp_rewards(8, 16, seed=5), games.mlp_rewards(8, 16, seed=6))).half()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = extract_joint(rewards, tol=1e-2)
    assert result.settings["converged"] and result.settings["duality_gap_max"] <= 1e-2


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="K >= 2"):
        extract_joint(games.mlp_rewards(3, 2, seed=1)[:1])
    with pytest.raises(ValueError, match="K >= 2"):
        extract_joint(torch.zeros(8))
    with pytest.raises(ValueError, match="alpha"):
        extract_joint(torch.zeros(2, 8), alpha=1.5)
    with pytest.raises(ValueError, match="shared_bound"):
        extract_joint(torch.zeros(2, 8), shared_bound=-1.0)
    with pytest.raises(ValueError, match="1 <= n <= 16"):
        extract_joint(torch.zeros(2, 2**17))
    single = extract(torch.zeros(1, 8))
    with pytest.raises(ValueError, match="alpha"):
        joint_objective(single, -0.1)

