"""Warm starts of `extract` / `extract_joint`: same certified optimum, fewer iterations, clear errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from lit_interactions.interactions import games
from lit_interactions.interactions.lp_oracle import solve_lp
from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.solver import extract, extract_joint, joint_objective

TOL = 1e-3


def _perturbed(rewards: torch.Tensor, relative: float, seed: int) -> torch.Tensor:
    """Rewards moved by Gaussian noise of ``relative * |v[N] - v[empty]|`` on every subset (a later epoch)."""
    gen = torch.Generator().manual_seed(seed)
    span = (rewards[..., -1:] - rewards[..., :1]).abs()
    return rewards + relative * span * torch.randn(rewards.shape, generator=gen, dtype=rewards.dtype)


def test_warm_start_reaches_the_same_optimum_in_fewer_iterations() -> None:
    n = 7
    before = games.planted_rewards(n, 6, n_effects=5, noise=1e-3, seed=3)[0]
    after = _perturbed(before, 1e-3, seed=4)
    previous = extract(before)
    cold = extract(after)
    warm = extract(after, warm_start=previous)
    assert warm.settings["converged"] and warm.settings["warm_start"] and not cold.settings["warm_start"]
    assert warm.settings["duality_gap_max"] <= TOL
    # Same optimum: both within the certified gap of the exact LP optimum.
    opt = np.array([solve_lp(v.numpy(), 0.01).objective for v in after])
    for result in (cold, warm):
        obj = result.objective().numpy()
        assert np.all(obj <= opt * (1 + TOL) + 1e-12) and np.all(obj >= opt * (1 - 1e-6) - 1e-12)
    assert warm.extra["iterations"].sum() < 0.8 * cold.extra["iterations"].sum()
    # Restarting on the same rewards from the full state (multipliers too) is nearly immediate.
    again = extract(before, warm_start=previous)
    assert again.extra["iterations"].sum() < 0.25 * previous.extra["iterations"].sum()
    # The primal decomposition alone (a result without the solver's extras) is a valid start too.
    primal = extract(after, warm_start=replace(previous, extra={}))
    assert primal.settings["converged"] and primal.settings["duality_gap_max"] <= TOL


def test_warm_start_state_is_scale_free_and_bounds_hold() -> None:
    rewards = games.mlp_rewards(6, 4, seed=2)
    first = extract(rewards)
    assert first.extra["dual"].shape == (4, 2, 64) and first.extra["rho_scale"].shape == (4,)
    assert float(first.extra["dual"].abs().max()) <= 1.0 + 1e-5  # multipliers of |.|: dual norm at most 1
    scaled = extract(1000.0 * rewards)
    assert torch.allclose(scaled.extra["dual"], first.extra["dual"], atol=1e-4)
    # A start whose noise violates the new bound is clipped into it: the result respects the bound exactly.
    shrunk = extract(rewards, noise_ratio=0.001, warm_start=first)
    noise_bound = 0.001 * (rewards[..., -1:] - rewards[..., :1]).abs()
    assert bool((shrunk.noise.abs() <= noise_bound).all()) and shrunk.settings["converged"]


def test_joint_warm_start() -> None:
    pair = torch.stack((games.mlp_rewards(6, 3, seed=5), games.mlp_rewards(6, 3, seed=55)))
    previous = extract_joint(pair)
    later = _perturbed(pair, 1e-3, seed=6)
    cold, warm = extract_joint(later), extract_joint(later, warm_start=previous)
    assert warm.settings["converged"] and warm.settings["duality_gap_max"] <= TOL
    assert warm.extra["dual"].shape == (2, 3, 2, 64)
    gap = torch.tensor(TOL) * joint_objective(cold, 0.1)
    assert bool(((joint_objective(warm, 0.1) - joint_objective(cold, 0.1)).abs() <= 2 * gap + 1e-9).all())
    assert warm.extra["iterations"][0].sum() < cold.extra["iterations"][0].sum()


def test_bad_warm_start_is_refused() -> None:
    rewards = games.mlp_rewards(5, 3, seed=1)
    other = extract(rewards[:2])
    with pytest.raises(ValueError, match="same samples, players"):
        extract(rewards, warm_start=other)
    with pytest.raises(TypeError, match="warm_start must be an Interactions"):
        extract(rewards, warm_start=other.gamma)  # type: ignore[arg-type]
    assert isinstance(extract(rewards, warm_start=extract(rewards)), Interactions)
