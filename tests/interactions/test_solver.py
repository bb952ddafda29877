"""Tests of `extract` (one model): optimality against an exact LP, bounds, invariances, input checks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from lit_interactions.interactions import games
from lit_interactions.interactions._kron import KronTransform, chunk_sizes
from lit_interactions.interactions._prox import project_shared
from lit_interactions.interactions.lp_oracle import solve_lp
from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.solver import extract
from lit_interactions.interactions.subsets import (
    complement,
    mobius,
    superset_mobius,
    superset_sum,
    zeta,
)

TOL = 1e-3


def _optimum(rewards: torch.Tensor, noise_ratio: float = 0.01) -> np.ndarray:
    flat = rewards.double().reshape(-1, rewards.shape[-1])
    return np.array([solve_lp(v.numpy(), noise_ratio).objective for v in flat])


def _check_optimal(result, rewards: torch.Tensor, noise_ratio: float = 0.01) -> None:
    """Objective within TOL of the exact LP optimum (and never below it); certificate recorded.

    The objective is that of the returned decomposition evaluated in float64 (float32 effects round it).
    """
    opt = _optimum(rewards, noise_ratio)
    exact = Interactions.from_decomposition(rewards.double(), result.gamma.double(), result.noise.double())
    obj = exact.objective().reshape(-1).numpy()
    scale = np.maximum(opt, 1e-12)
    assert np.all(obj <= opt + TOL * scale + 1e-12), (obj, opt)
    assert np.all(obj >= opt - 1e-6 * scale - 1e-12), (obj, opt)
    assert result.settings["converged"] is True
    assert result.settings["duality_gap_max"] <= TOL


def _permute_players(values: torch.Tensor, perm: list[int]) -> torch.Tensor:
    """Vector over subsets for players renamed by ``perm``: new player i is old player ``perm[i]``."""
    n = len(perm)
    idx = torch.arange(2**n)
    old = torch.zeros_like(idx)
    for i, p in enumerate(perm):
        old |= ((idx >> i) & 1) << p
    return values[..., old]


HAND_MADE = {
    # One AND effect of order 3 on a constant: the optimum keeps exactly this effect (objective 2).
    "single_and": torch.tensor([0.0, 0, 0, 0, 0, 0, 0, 2.0]) + 1.0,
    # v(S) = 1 if S meets {0, 1}: one OR effect of order 2, objective 1 (an AND view needs 3).
    "single_or": torch.tensor([0.0, 1, 1, 1, 0, 1, 1, 1]),
    # A mixture on 4 players with a singleton.
    "mixed": torch.tensor([0.0, 0.5, 0, 0.5, 0, 0.5, 0, 0.5, 1, 1.5, 1, 2.5, 1, 1.5, 1, 2.5]),
}


@pytest.mark.parametrize("name", sorted(HAND_MADE))
def test_hand_made_games_are_optimal(name: str) -> None:
    rewards = HAND_MADE[name].double()
    result = extract(rewards, noise_ratio=0.0)
    _check_optimal(result, rewards, noise_ratio=0.0)


def test_hand_made_single_effects_are_recovered() -> None:
    result = extract(HAND_MADE["single_and"].double(), noise_ratio=0.0)
    expected = torch.zeros(8, dtype=torch.float64)
    expected[7] = 2.0
    assert torch.allclose(result.and_effects, expected, atol=5e-3)
    assert result.or_effects.abs().max() < 5e-3
    result = extract(HAND_MADE["single_or"].double(), noise_ratio=0.0)
    expected = torch.zeros(8, dtype=torch.float64)
    expected[3] = 1.0
    assert torch.allclose(result.or_effects, expected, atol=5e-3)
    assert result.and_effects.abs().max() < 5e-3


@pytest.mark.parametrize(
    ("kind", "n"),
    [("random", 4), ("random", 6), ("planted", 6), ("mlp", 6), ("mlp", 7), ("cnn", 6), ("cnn", 8)],
)
def test_matches_lp_oracle(kind: str, n: int) -> None:
    if kind == "random":
        rewards = games.random_rewards(n, 3, seed=n)
    elif kind == "planted":
        rewards = games.planted_rewards(n, 3, noise=1e-3, seed=n)[0]
    elif kind == "mlp":
        rewards = games.mlp_rewards(n, 3, seed=n)
    else:
        rewards = games.cnn_rewards(n, 2, seed=n)
    result = extract(rewards)
    _check_optimal(result, rewards)


def test_float64_compute_and_float32_input_match_oracle() -> None:
    rewards = games.mlp_rewards(6, 2, seed=11)
    _check_optimal(extract(rewards, compute_dtype="float64"), rewards)
    result32 = extract(rewards.float())
    assert result32.and_effects.dtype == torch.float32 and result32.noise.dtype == torch.float32
    _check_optimal(result32, rewards)


def test_stalled_float32_samples_continue_in_float64(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gap of 1e-7 is below what float32 iterations resolve: stalled samples finish in float64, certified."""
    from lit_interactions.interactions import solver

    rewards = games.mlp_rewards(5, 4, seed=11)
    result = extract(rewards, compute_dtype="float32", tol=1e-7)
    assert result.settings["compute_dtype"] == "float32" and result.settings["n_promoted_to_float64"] >= 1
    assert result.settings["converged"] and result.settings["duality_gap_max"] <= 1e-7
    _check_optimal(result, rewards)
    monkeypatch.setattr(solver, "_STALL_ITERATIONS", 200)  # a shorter window moves them sooner
    sooner = extract(rewards, compute_dtype="float32", tol=1e-7)
    assert sooner.settings["n_promoted_to_float64"] >= result.settings["n_promoted_to_float64"]
    assert sooner.settings["converged"] and sooner.settings["iterations_max"] < result.settings["iterations_max"]


def test_float32_iterations_and_the_stall_window_follow_the_size() -> None:
    """float32 iterations by default up to n = 16; the stall window doubles with each player above n = 12."""
    from lit_interactions.interactions.options import SolverOptions
    from lit_interactions.interactions.solver import _settings

    settings = {n: _settings(2**n, SolverOptions(), 1.0, 1) for n in (10, 12, 13, 14, 16)}
    assert settings[10].compute_dtype == settings[16].compute_dtype == torch.float32
    window = {n: s.stall_iterations for n, s in settings.items()}
    assert window[10] == window[12] and [window[n] // window[12] for n in (13, 14, 16)] == [2, 4, 16]
    assert _settings(2**14, SolverOptions(compute_dtype="float64"), 1.0, 1).compute_dtype == torch.float64
    # The LP repair of the lower bound: one model, from n = 14.
    assert [settings[n].repair_subsets > 0 for n in (13, 14, 16)] == [False, True, True]
    assert _settings(2**14, SolverOptions(), 0.4, 2).repair_subsets == 0
    # The swept lower bound: at every check up to n = 13, every 400 iterations from n = 14.
    assert [settings[n].sweep_every for n in (12, 13, 14, 16)] == [0, 0, 400, 400]


@pytest.mark.parametrize("order_scale", [1.0, 1.2, 0.8])
def test_order_scaling_keeps_the_certified_optimum(order_scale: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """Iterating on effects scaled by c^|T| changes the path only: same certified optimum, warm start included."""
    from lit_interactions.interactions import solver

    monkeypatch.setattr(solver, "_ORDER_SCALE", order_scale)
    rewards = games.planted_rewards(6, 2, n_effects=3, seed=5)[0]
    result = extract(rewards)
    assert result.settings["order_scale"] == order_scale
    _check_optimal(result, rewards)
    _check_optimal(extract(rewards, warm_start=result), rewards)


def test_small_n_and_closed_form_n1() -> None:
    # n = 1: |a_1| + |o_1| >= |v1 - v0| - 2 noise_bound, and the split is free.
    rewards = torch.tensor([[0.3, 2.3], [1.0, -4.0], [2.0, 2.0]], dtype=torch.float64)
    result = extract(rewards, noise_ratio=0.1)
    span = (rewards[:, 1] - rewards[:, 0]).abs()
    expected = (span - 2 * 0.1 * span).clamp_min(0)
    assert torch.allclose(result.objective(), expected, rtol=TOL, atol=1e-12)
    rewards2 = games.random_rewards(2, 4, seed=2)
    _check_optimal(extract(rewards2), rewards2)


def test_bounds_and_universal_matching_hold_exactly() -> None:
    rewards = games.mlp_rewards(7, 4, seed=3).float()
    result = extract(rewards, noise_ratio=0.02)
    noise_bound = 0.02 * (rewards[:, -1] - rewards[:, 0]).abs()
    assert bool((result.noise.abs() <= noise_bound.unsqueeze(-1)).all())
    assert torch.allclose(result.reconstruct(), rewards - result.noise, atol=1e-4, rtol=1e-5)
    assert result.and_effects[:, 0].abs().max() == 0 and result.or_effects[:, 0].abs().max() == 0
    # With noise_ratio = 0 there is no noise at all.
    exact = extract(rewards.double(), noise_ratio=0.0)
    assert exact.noise.abs().max() == 0
    assert torch.allclose(exact.reconstruct(), rewards.double(), atol=1e-9)


@pytest.mark.parametrize("scale", [1e3, 1e-3])
def test_scale_free(scale: float) -> None:
    rewards = games.mlp_rewards(6, 3, seed=5)
    base = extract(rewards)
    scaled = extract(rewards * scale)
    assert scaled.settings["converged"] is True
    np.testing.assert_allclose(scaled.objective().numpy() / scale, base.objective().numpy(), rtol=2 * TOL)
    _check_optimal(scaled, rewards * scale)


def test_batch_invariance_and_leading_dims() -> None:
    rewards, and_true, or_true = games.planted_rewards(6, 4, n_effects=5, noise=0.0, seed=3)
    batch = extract(rewards, noise_ratio=0.0)
    for b in (0, 3):  # samples whose optimum is the planted game (checked by the LP oracle)
        sol = solve_lp(rewards[b].numpy(), 0.0)
        assert np.allclose(sol.and_effects[0], and_true[b].numpy(), atol=1e-9)
        alone = extract(rewards[b], noise_ratio=0.0)
        assert abs(alone.objective().item() - batch.objective()[b].item()) <= 2 * TOL * alone.objective().item()
        assert torch.allclose(alone.and_effects, batch.and_effects[b], atol=1e-2)
        assert torch.allclose(alone.or_effects, batch.or_effects[b], atol=1e-2)
        assert torch.allclose(alone.and_effects, and_true[b], atol=1e-2)
        assert torch.allclose(alone.or_effects, or_true[b], atol=1e-2)
    nested = extract(rewards.reshape(2, 2, -1), noise_ratio=0.0)
    assert nested.and_effects.shape == (2, 2, 64) and nested.extra["duality_gap"].shape == (2, 2)
    np.testing.assert_allclose(nested.objective().reshape(-1).numpy(), batch.objective().numpy(), rtol=2 * TOL)


def test_permutation_equivariance() -> None:
    perm = [2, 0, 5, 1, 4, 3]
    rewards, _, _ = games.planted_rewards(6, 4, n_effects=5, noise=0.0, seed=3)
    base = extract(rewards, noise_ratio=0.0)
    permuted = extract(_permute_players(rewards, perm), noise_ratio=0.0)
    np.testing.assert_allclose(permuted.objective().numpy(), base.objective().numpy(), rtol=2 * TOL)
    for b in (0, 3):  # unique optima (see test_batch_invariance_and_leading_dims)
        assert torch.allclose(permuted.and_effects[b], _permute_players(base.and_effects[b], perm), atol=1e-2)
        assert torch.allclose(permuted.or_effects[b], _permute_players(base.or_effects[b], perm), atol=1e-2)
    mlp = games.mlp_rewards(6, 2, seed=9)
    np.testing.assert_allclose(
        extract(_permute_players(mlp, perm)).objective().numpy(), extract(mlp).objective().numpy(), rtol=2 * TOL
    )


def test_settings_extras_and_constant_rewards() -> None:
    rewards = torch.stack((games.mlp_rewards(5, 1, seed=1)[0], torch.full((32,), 3.0, dtype=torch.float64)))
    result = extract(rewards, noise_ratio=0.02, tol=5e-4)
    s = result.settings
    assert s["solver"] == "graph-admm" and s["problem"] == "sparsest"
    assert s["noise_ratio"] == 0.02 and s["tol"] == pytest.approx(5e-4) and s["converged"] is True
    assert 0 <= s["duality_gap_max"] <= 5e-4 and s["iterations_max"] >= 1
    assert result.extra["duality_gap"].shape == (2,) and result.extra["iterations"].dtype == torch.int64
    assert result.objective()[1].item() == 0.0  # constant rewards: nothing to explain
    assert result.extra["duality_gap"][1].item() == 0.0


def test_empty_batch() -> None:
    result = extract(torch.zeros(0, 16))
    assert result.and_effects.shape == (0, 16) and result.settings["converged"] is True


def test_unconverged_samples_warn() -> None:
    rewards = games.random_rewards(7, 2, seed=4)
    with pytest.warns(RuntimeWarning, match="did not reach"):
        result = extract(rewards, max_iter=20, check_every=10)
    assert result.settings["converged"] is False and result.settings["n_unconverged"] == 2
    assert bool((result.extra["duality_gap"] > TOL).all())


def test_gradients_flow_to_rewards() -> None:
    rewards = games.mlp_rewards(4, 2, seed=1).requires_grad_(True)
    result = extract(rewards)
    result.objective().sum().backward()
    assert rewards.grad is not None and rewards.grad.abs().sum() > 0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="1 <= n <= 16"):
        extract(torch.zeros(2**17))
    with pytest.raises(ValueError, match="2\\^n"):
        extract(torch.zeros(12))
    with pytest.raises(TypeError, match="floating"):
        extract(torch.zeros(8, dtype=torch.int64))
    with pytest.raises(ValueError, match="NaN"):
        extract(torch.tensor([0.0, 1.0, math.nan, 2.0]))
    with pytest.raises(ValueError, match="noise_ratio"):
        extract(torch.zeros(4), noise_ratio=-0.1)
    with pytest.raises(ValueError, match="tol"):
        extract(torch.zeros(4), tol=0.0)
    with pytest.raises(ValueError, match="compute_dtype"):
        extract(torch.zeros(4), compute_dtype="half")  # type: ignore[arg-type]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_gpu() -> None:
    rewards = games.mlp_rewards(6, 2, seed=1)
    result = extract(rewards.cuda())
    assert result.and_effects.is_cuda
    _check_optimal(result.to("cpu"), rewards)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 11, 13])
def test_kron_transforms_match_the_butterflies(n: int) -> None:
    m = torch.tensor([[1.0, 0.0], [-1.0, 1.0]], dtype=torch.float64)
    j = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    transform = KronTransform(torch.stack((m, m.T, torch.linalg.inv(m), torch.linalg.inv(m.T), m @ j)), n)
    x = torch.randn(5, 3, 2**n, dtype=torch.float64)
    out = transform(x)
    expected = (mobius(x[0]), superset_mobius(x[1]), zeta(x[2]), superset_sum(x[3]), mobius(complement(x[4])))
    for got, want in zip(out, expected):
        assert torch.allclose(got, want, atol=1e-10 * (1 + want.abs().max()))
    assert sum(chunk_sizes(n)) == n and max(chunk_sizes(n)) <= max(1, math.ceil(n / 2))


def test_shared_projection_is_the_nearest_feasible_point() -> None:
    gen = torch.Generator().manual_seed(0)
    for k in (2, 3, 4):
        d = torch.randn(k, 50, generator=gen, dtype=torch.float64)
        bound = 0.3 * torch.rand(k, 1, generator=gen, dtype=torch.float64)
        p = project_shared(d, bound)
        assert bool(((p - bound).amax(0) <= (p + bound).amin(0) + 1e-12).all())  # feasible
        # Optimality: no feasible point on a grid of shared values g is closer.
        grid = torch.linspace(-4, 4, 4001, dtype=torch.float64).view(-1, 1, 1)
        nearest = torch.minimum(torch.maximum(d, grid - bound), grid + bound)
        best = (nearest - d).square().sum(1).amin(0)
        assert bool(((p - d).square().sum(0) <= best + 1e-5).all())


def test_unconverged_message_names_the_cause() -> None:
    from lit_interactions.interactions.solver import _unconverged_message

    gap = torch.tensor([5e-4, 3e-3, 1.02e-3, 2e-3], dtype=torch.float64)
    iterations = torch.tensor([900, 1000, 700, 1000])
    exact = torch.tensor([5e-4, 2.9e-3, 9e-4, 8e-4], dtype=torch.float64)  # before the rounding to float32
    message = _unconverged_message(gap, iterations, 1e-3, 1000, torch.float32, exact)
    assert "1 of 4 samples did not reach the relative duality gap tol=0.001 within max_iter=1000 (largest gap 0.003)" in message
    # The last one met max_iter, but its unrounded point was certified: the rounding is the cause, not max_iter.
    assert "2 of 4 samples were certified at tol=0.001 but did not reach it once rounded to the rewards' dtype float32" in message
    assert "(largest gap 0.002); pass float64 rewards" in message
    assert "rounded" not in _unconverged_message(gap[:2], iterations[:2], 1e-3, 1000, torch.float32, exact[:2])


def test_the_returned_decomposition_is_certified_in_the_rewards_dtype() -> None:
    """Upper bounds are those of the decomposition rounded to the rewards' dtype. In float16 the rounding moves a
    gap by up to about 1e-3 at n = 8: certifying the unrounded point returned 7 of these 16 samples above tol."""
    rewards = games.mlp_rewards(8, 16, seed=5).half()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "did not reach it once rounded" warning
        result = extract(rewards, tol=1e-2)
    assert result.and_effects.dtype == torch.float16
    assert result.settings["converged"] and result.settings["duality_gap_max"] <= 1e-2
    # Where the rounding takes about half of tol, samples go on until their returned point is certified.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tighter = extract(games.mlp_rewards(8, 8, seed=5).half(), tol=5e-3)
    assert tighter.settings["converged"] and tighter.settings["duality_gap_max"] <= 5e-3


def test_rounding_beyond_half_of_tol_stops_with_its_warning() -> None:
    """In bfloat16 the rounding alone exceeds tol: once their returned gap stops improving, the samples stop with
    their unrounded point certified, and the warning names the rounding (iterating to max_iter could not help)."""
    rewards = games.mlp_rewards(8, 4, seed=5).bfloat16()
    with pytest.warns(RuntimeWarning, match="once rounded to the rewards' dtype bfloat16"):
        result = extract(rewards, tol=3e-3)
    assert result.settings["iterations_max"] < result.settings["max_iter"] // 4
    assert result.settings["n_unconverged"] == 4


def test_settings_as_options_mapping_or_keywords() -> None:
    from lit_interactions.interactions import SolverOptions

    rewards = games.random_rewards(5, 2, seed=1)
    by_options = extract(rewards, SolverOptions(noise_ratio=0.02, tol=1e-4))
    by_mapping = extract(rewards, {"noise_ratio": 0.02, "tol": 1e-4})
    by_keywords = extract(rewards, noise_ratio=0.02, tol=1e-4)
    overridden = extract(rewards, SolverOptions(noise_ratio=0.5), noise_ratio=0.02, tol=1e-4)
    for result in (by_mapping, by_keywords, overridden):
        assert torch.equal(result.gamma, by_options.gamma) and result.settings["tol"] == pytest.approx(1e-4)
    assert by_options.settings["noise_ratio"] == 0.02 and by_options.settings["rho_scale"] == 1.0
    with pytest.raises(ValueError, match=r"solver options have unknown keys \['tolerance'\]; known: .*'tol'"):
        extract(rewards, tolerance=1e-4)
    with pytest.raises(ValueError, match=r"tol is a relative duality gap and must be in \(0, 1\), got 1.5"):
        extract(rewards, tol=1.5)
