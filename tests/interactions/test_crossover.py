"""Tests of the exact crossover (``_crossover.py``): its transforms, its vertex against the LP, and `extract` with it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from lit_interactions.interactions import SolverOptions, games
from lit_interactions.interactions._crossover import crossover, meets_sum, subset_sum, superset_sum
from lit_interactions.interactions.lp_oracle import solve_lp
from lit_interactions.interactions.solver import extract, extract_joint


def test_transforms_are_the_subset_sums() -> None:
    n = 4
    x = np.random.default_rng(0).normal(size=2**n)
    sets = range(2**n)
    assert np.allclose(subset_sum(x), [sum(x[t] for t in sets if s & t == t) for s in sets])
    assert np.allclose(superset_sum(x), [sum(x[s] for s in sets if s & t == t) for t in sets])
    assert np.allclose(meets_sum(x), [sum(x[s] for s in sets if s & t) for t in sets])


def _guess(rewards: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """An unfinished iterate: 200 iterations of the solver without the crossover."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # uncertified on purpose
        early = extract(rewards, max_iter=200, crossover=False)
    return early.and_effects, early.or_effects, early.noise


@pytest.mark.parametrize("kind", ["planted", "mlp"])
def test_vertex_is_the_lp_optimum_with_a_dual_proof(kind: str) -> None:
    n = 7
    rewards = games.planted_rewards(n, 2, seed=3)[0] if kind == "planted" else games.mlp_rewards(n, 2, seed=3)
    and_guess, or_guess, noise_guess = _guess(rewards)
    for b in range(2):
        v = rewards[b].numpy()
        bound = 0.01 * abs(v[-1] - v[0])
        vertex = crossover(v, bound, and_guess[b].numpy(), or_guess[b].numpy(), noise_guess[b].numpy(), 2**(n + 2))
        assert vertex is not None
        objective = np.abs(vertex.and_effects[1:]).sum() + np.abs(vertex.or_effects[1:]).sum()
        assert objective == pytest.approx(solve_lp(v).objective, rel=1e-8)
        # Primal feasible: universal matching's residual is a noise within the bound, on every subset.
        noise = (v - v[0]) - subset_sum(vertex.and_effects) - meets_sum(vertex.or_effects) + vertex.empty_noise
        assert np.abs(noise[1:]).max() <= bound * (1 + 1e-7) and abs(vertex.empty_noise) <= bound
        # Dual feasible, and its objective equals the primal one (strong duality proves the optimum).
        y = vertex.dual
        assert y[0] == 0 and np.abs(superset_sum(y)[1:]).max() <= 1 + 1e-7 and np.abs(meets_sum(y)[1:]).max() <= 1 + 1e-7
        dual_objective = y @ (v - v[0]) - bound * (np.abs(y).sum() + abs(y.sum()))
        assert dual_objective == pytest.approx(objective, rel=1e-7)


def test_gives_up_when_the_optimum_is_not_sparse() -> None:
    rewards = games.mlp_rewards(7, 1, seed=3)
    and_guess, or_guess, noise_guess = _guess(rewards)
    v = rewards[0].numpy()
    guesses = (and_guess[0].numpy(), or_guess[0].numpy(), noise_guess[0].numpy())
    assert crossover(v, 0.01 * abs(v[-1] - v[0]), *guesses, max_effects=16) is None


def test_declines_constant_rewards_and_too_many_rows() -> None:
    size = 2**7
    zeros = np.zeros(size)
    # Nothing changes: no unit to solve in.
    assert crossover(np.full(size, 2.0), 0.0, zeros, zeros, zeros, max_effects=256) is None
    # A zero noise bound puts all 128 rows at their bound (no candidate effects): more than 8 per effect of a
    # budget of 8, so it declines before building any LP.
    v = games.planted_rewards(7, 1, seed=1)[0][0].numpy()
    assert crossover(v, 0.0, zeros, zeros, zeros, max_effects=8) is None


def test_extract_finishes_planted_games_exactly() -> None:
    rewards = games.planted_rewards(10, 2, seed=10)[0]
    result = extract(rewards)
    assert result.settings["crossover"] is True and result.settings["n_crossover"] == 2
    assert result.extra["duality_gap"].tolist() == [0.0, 0.0] and result.extra["iterations"].tolist() == [500, 500]
    optimum = np.array([solve_lp(v.numpy()).objective for v in rewards])
    assert np.allclose(result.objective().numpy(), optimum, rtol=1e-8)
    bound = 0.01 * (rewards[:, -1] - rewards[:, 0]).abs().unsqueeze(-1)
    assert bool((result.noise.abs() <= bound).all())
    # The planted effects are the optimum here: the crossover returns them exactly (the iteration only within tol).
    plain = extract(rewards, crossover=False)
    assert plain.settings["n_crossover"] == 0 and 0 < plain.settings["duality_gap_max"] <= 1e-3
    assert bool((result.objective() <= plain.objective()).all())
    # A crossed result is a warm start like any other.
    warm = extract(rewards * 1.01, warm_start=result)
    assert warm.settings["converged"] and warm.settings["duality_gap_max"] <= 1e-3


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_crossover_is_scale_free(scale: float) -> None:
    rewards = games.planted_rewards(10, 2, seed=10)[0]
    base = extract(rewards)
    scaled = extract(rewards * scale)
    assert scaled.settings["n_crossover"] == 2 and scaled.settings["duality_gap_max"] == 0.0
    assert np.allclose(scaled.objective().numpy(), scale * base.objective().numpy(), rtol=1e-8)


def test_only_one_model_crosses_over() -> None:
    rewards = games.planted_rewards(9, 2, seed=9)[0]
    joint = extract_joint(torch.stack((rewards, 1.1 * rewards)))
    assert joint.settings["n_crossover"] == 0 and joint.settings["converged"]


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_crossover_option_is_a_bool(value: object) -> None:
    with pytest.raises(TypeError, match="crossover must be true or false"):
        SolverOptions(crossover=value)  # type: ignore[arg-type]
