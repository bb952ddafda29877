"""Tests of the exact crossover (``_crossover.py``): its transforms, its vertex against the LP, and `extract` with it."""

from __future__ import annotations

import warnings

import highspy
import numpy as np
import pytest
import torch
from scipy.optimize import linprog

from lit_interactions.interactions import SolverOptions, _crossover, _graph_admm, games, solver
from lit_interactions.interactions._crossover import crossover, exact_decomposition, meets_sum, subset_sum, superset_sum
from lit_interactions.interactions.lp_oracle import solve_lp
from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.solver import extract, extract_joint, joint_objective


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
        a, o, d = vertex.and_effects[0], vertex.or_effects[0], vertex.empty_noise[0]
        objective = np.abs(a[1:]).sum() + np.abs(o[1:]).sum()
        assert objective == pytest.approx(solve_lp(v).objective, rel=1e-8)
        # Primal feasible: universal matching's residual is a noise within the bound, on every subset.
        noise = (v - v[0]) - subset_sum(a) - meets_sum(o) + d
        assert np.abs(noise[1:]).max() <= bound * (1 + 1e-7) and abs(d) <= bound
        # Dual feasible, and its objective equals the primal one (strong duality proves the optimum).
        y = vertex.dual[0]
        assert abs(y.sum()) < 1e-12
        assert np.abs(superset_sum(y)[1:]).max() <= 1 + 1e-7 and np.abs(meets_sum(y)[1:]).max() <= 1 + 1e-7
        assert y @ v - bound * np.abs(y).sum() == pytest.approx(objective, rel=1e-7)


def _joint_dual_norm(mu: np.ndarray, alpha: float) -> np.ndarray:
    """``max(max_k |mu_k|, sum_k |mu_k| / (1 + alpha))`` per subset (two models on dimension 0)."""
    return np.maximum(np.abs(mu).max(0), np.abs(mu).sum(0) / (1.0 + alpha))


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.5, 1.0])
def test_an_effects_least_atom_weight_is_its_penalty(alpha: float) -> None:
    # The joint LP writes each effect as a nonnegative combination of its penalty's unit-ball vertices.
    atoms = _crossover._atoms(2, alpha)
    effects = np.concatenate(([[1.0, 0.0], [0.0, -2.0], [1.0, 1.0], [3.0, -1.0]],
                              np.random.default_rng(0).normal(size=(20, 2))))
    for a in effects:
        fit = linprog(np.ones(len(atoms)), A_eq=atoms.T, b_eq=a, bounds=(0, None), method="highs")
        assert fit.status == 0
        assert fit.fun == pytest.approx((1 - alpha) * np.abs(a).max() + alpha * np.abs(a).sum(), rel=1e-9)
    assert _crossover._atoms(1, alpha).tolist() == [[1.0], [-1.0]]


@pytest.mark.parametrize(("kind", "alpha"), [("planted", 0.1), ("mlp", 0.1), ("planted", 0.0), ("mlp", 1.0)])
def test_joint_vertex_is_the_lp_optimum_with_a_dual_proof(kind: str, alpha: float) -> None:
    n = 7
    first = games.planted_rewards(n, 2, seed=3)[0] if kind == "planted" else games.mlp_rewards(n, 2, seed=3)
    second = 1.1 * first + 0.05 * games.mlp_rewards(n, 2, seed=4) if kind == "planted" else games.mlp_rewards(n, 2, seed=5)
    rewards = torch.stack((first, second))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # uncertified on purpose
        early = extract_joint(rewards, alpha=alpha, max_iter=200, crossover=False)
    for b in range(2):
        v = rewards[:, b].numpy()
        span = np.abs(v[:, -1] - v[:, 0])
        bound, beta = 0.01 * span, 0.5 * span
        guesses = (early.and_effects[:, b].numpy(), early.or_effects[:, b].numpy(), early.noise[:, b].numpy())
        vertex = crossover(v, bound, *guesses, 2 ** (n + 2), beta, alpha, early.gamma[:, b].numpy())
        assert vertex is not None
        a, o = vertex.and_effects[:, 1:], vertex.or_effects[:, 1:]
        objective = sum(((1 - alpha) * np.abs(e).max(0) + alpha * np.abs(e).sum(0)).sum() for e in (a, o))
        assert objective == pytest.approx(solve_lp(v, alpha=alpha).objective, rel=1e-8)
        # Primal feasible: noise within each model's bound, the two gammas within beta_0 + beta_1.
        u_and, noise, lam_and, lam_or = exact_decomposition(v, bound, vertex)
        assert (np.abs(noise) <= bound[:, None]).all()
        gamma = u_and - 0.5 * (v - noise)
        assert np.abs(gamma[0] - gamma[1]).max() <= beta.sum() * (1 + 1e-9)
        # The shift (gamma_0 - gamma_1 on the empty set, free in the objective) is the feasible one closest to 0.
        diff = gamma[0] - gamma[1]
        closest = _crossover._smallest_shift(diff - vertex.shift, float(beta.sum()) * (1 + 1e-9), np.nan)
        assert vertex.shift == pytest.approx(closest, abs=1e-9 * float(beta.sum()))
        # Dual feasible (the penalty's dual norm of mu = A^-T (l, r) at most 1, sum_k (l_k - r_k) = 0), and its
        # objective equals the primal one.
        assert np.abs((lam_and - lam_or).sum(0)).max() < 1e-12
        mu_and, mu_or = superset_sum(lam_and)[:, 1:], superset_sum(lam_or[:, ::-1])[:, 1:]
        assert _joint_dual_norm(mu_and, alpha).max() <= 1 + 1e-7 and _joint_dual_norm(mu_or, alpha).max() <= 1 + 1e-7
        avg = 0.5 * (lam_and + lam_or)
        dual = (avg * v).sum() - bound @ np.abs(avg).sum(1) - beta @ np.abs(lam_and - lam_or).sum(1)
        assert dual == pytest.approx(objective, rel=1e-7)


def test_crossover_rejects_other_model_counts() -> None:
    v = games.mlp_rewards(4, 3, seed=0).numpy()
    zeros = np.zeros_like(v)
    with pytest.raises(ValueError, match="one model, or two"):
        crossover(v, np.ones(3), zeros, zeros, zeros, 64, np.ones(3), 0.1, zeros)
    with pytest.raises(ValueError, match="one model, or two"):  # two models need their shared bound
        crossover(v[:2], np.ones(2), zeros[:2], zeros[:2], zeros[:2], 64)


def test_gives_up_when_the_optimum_is_not_sparse() -> None:
    rewards = games.mlp_rewards(7, 1, seed=3)
    and_guess, or_guess, noise_guess = _guess(rewards)
    v = rewards[0].numpy()
    guesses = (and_guess[0].numpy(), or_guess[0].numpy(), noise_guess[0].numpy())
    assert crossover(v, 0.01 * abs(v[-1] - v[0]), *guesses, max_effects=16) is None


def test_gives_up_past_its_simplex_work_and_the_solve_still_certifies(monkeypatch: pytest.MonkeyPatch) -> None:
    """One model: the simplex work (iterations times rows) is capped, so a try on a dense optimum costs little.
    With a cap too small for the LP, a planted game the crossover otherwise finishes is declined, and the
    iterations certify it instead."""
    rewards = games.planted_rewards(10, 2, seed=10)[0]
    and_guess, or_guess, noise_guess = _guess(rewards)
    v = rewards[0].numpy()
    args = (v, 0.01 * abs(v[-1] - v[0]), and_guess[0].numpy(), or_guess[0].numpy(), noise_guess[0].numpy(), 2**12)
    vertex = crossover(*args)
    assert vertex is not None and vertex.simplex_iterations > 10
    monkeypatch.setattr(_crossover, "_SIMPLEX_WORK", 10 * 2**10)  # fewer than 10 pivots on a 2^10-row LP
    assert crossover(*args) is None
    result = extract(rewards)
    assert result.settings["n_crossover"] == 0 and result.settings["converged"]
    assert result.settings["duality_gap_max"] <= 1e-3


def test_a_stalled_re_solve_restarts_from_scratch_at_the_same_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    rewards = games.planted_rewards(10, 2, seed=10)[0]
    and_guess, or_guess, noise_guess = _guess(rewards)
    v = rewards[0].numpy()
    args = (v, 0.01 * abs(v[-1] - v[0]), and_guess[0].numpy(), or_guess[0].numpy(), noise_guess[0].numpy(), 2**12)
    warm = crossover(*args)
    assert warm is not None and warm.rounds >= 2 and warm.restarts == 0
    monkeypatch.setattr(_crossover, "_RESTART_AFTER", 0.0)  # every re-solve that needs a pivot restarts
    cold = crossover(*args)
    assert cold is not None and cold.restarts >= 1
    objective = [np.abs(x.and_effects[:, 1:]).sum() + np.abs(x.or_effects[:, 1:]).sum() for x in (warm, cold)]
    assert objective[1] == pytest.approx(objective[0], rel=1e-9)


def test_the_planted_game_whose_warm_re_solve_stalled_crosses(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sample 1 of these planted games at n = 13: its third restricted solve ran 19,307 dual simplex iterations
    # from the previous basis (259 from scratch), so before restarts it ended at the work cap and iterated on.
    fresh = []
    pass_model = highspy.Highs.passModel

    def counted(self: highspy.Highs, *args: object) -> object:
        fresh.append(self.getNumRow())
        return pass_model(self, *args)

    monkeypatch.setattr(highspy.Highs, "passModel", counted)
    rewards = games.planted_rewards(13, 4, n_effects=6, noise=1e-3, seed=13)[0]
    result = extract(rewards)
    assert result.settings["n_crossover"] == 4 and result.extra["iterations"].tolist() == [500] * 4
    assert fresh == [895]  # the stalled LP, and only it, started again from scratch


def test_joint_tries_stop_at_the_simplex_work_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    first = games.planted_rewards(7, 1, seed=3)[0]
    rewards = torch.stack((first, 1.1 * first))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # uncertified on purpose
        early = extract_joint(rewards, max_iter=200, crossover=False)
    v = rewards[:, 0].numpy()
    span = np.abs(v[:, -1] - v[:, 0])
    guesses = (early.and_effects[:, 0].numpy(), early.or_effects[:, 0].numpy(), early.noise[:, 0].numpy())
    args = (v, 0.01 * span, *guesses, 2**9, 0.5 * span, 0.1, early.gamma[:, 0].numpy())
    vertex = crossover(*args)
    assert vertex is not None and vertex.simplex_work > 10 * 2**8
    monkeypatch.setattr(_crossover, "_SIMPLEX_WORK", 10 * 2**8)  # fewer than 10 pivots on a 2^8-row LP
    assert crossover(*args) is None


def test_the_shift_is_the_feasible_one_closest_to_zero() -> None:
    offsets = np.array([0.0, 0.5, -0.2, 1.5])
    # |offsets + s| <= 1 everywhere: s in [-1 - (-0.2), 1 - 1.5] = [-0.8, -0.5]
    assert _crossover._smallest_shift(offsets, 1.0, -0.8) == pytest.approx(-0.5)
    assert _crossover._smallest_shift(np.array([0.0, 0.3, -0.4]), 1.0, 1.0) == 0.0  # 0 is feasible
    assert _crossover._smallest_shift(np.array([0.0, 1.0 + 1e-12, -1.0]), 1.0, 0.25) == 0.25  # no interval left


def test_joint_tries_above_twelve_players_get_four_times_the_work_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    caps = []

    class Stop(Exception):
        pass

    def record(self: object, *args: object) -> None:
        caps.append(args[-1])
        raise Stop

    monkeypatch.setattr(_crossover._Restricted, "__init__", record)
    for n, n_models in ((12, 1), (14, 1), (12, 2), (13, 2), (16, 2)):
        v = games.planted_rewards(n, 1, seed=1)[0][0].numpy()
        v = np.stack([v] * n_models)
        guess = np.zeros_like(v)
        guess[:, 1] = 1.0
        beta = None if n_models == 1 else np.full(n_models, 1.0)
        with pytest.raises(Stop):
            crossover(v, np.full(n_models, 0.01), guess, guess, guess, 2**12, beta, 0.1,
                      None if n_models == 1 else guess)
    assert caps == [10**7, 10**7, 10**7, 4 * 10**7, 4 * 10**7]


def test_a_crossed_vertex_kept_above_tol_by_its_rounding_alone_at_max_iter_is_warned_about_the_rounding() -> None:
    # The crossover runs at iteration 500, here the last: the exact optima are certified, but rounded to float16 they
    # are 4.5-7.6% above them. The warning names the rounding (float64 rewards), not max_iter.
    rewards = games.planted_rewards(10, 2, seed=10)[0].half()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = extract(rewards, max_iter=500)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "2 of 2 samples were certified at tol=0.001 but did not reach it once rounded" in messages[0]
    assert "increase max_iter" not in messages[0]
    assert result.extra["iterations"].tolist() == [500, 500] and result.settings["n_unconverged"] == 2


def test_a_crossed_vertex_kept_above_tol_by_its_rounding_alone_lends_its_bounds_and_iterating_goes_on() -> None:
    # float16 rewards: the exact optimum, rounded to float16, is 4.5-7.6% above it. Another point may round better,
    # so the sample keeps the vertex's bounds, iterates on, and stops by the rounding rule, with its warning.
    rewards = games.planted_rewards(10, 2, seed=10)[0].half()
    exact = extract(rewards.double())
    assert exact.settings["n_crossover"] == 2 and exact.settings["duality_gap_max"] == 0.0
    gamma, noise = solver._finalise(rewards, exact.gamma, exact.noise, 0.01, None)
    rounded = Interactions.from_decomposition(rewards.double(), gamma.double(), noise.double()).objective()
    vertex_gap = 1.0 - exact.objective() / rounded
    with pytest.warns(RuntimeWarning, match="did not reach it once rounded to the rewards' dtype float16"):
        result = extract(rewards)
    assert result.settings["n_crossover"] == 0
    iterations = result.extra["iterations"]
    assert bool((iterations > 500).all()) and bool((iterations < result.settings["max_iter"]).all())
    # With the vertex's lower bound the first sample stops one rounding patience after the crossover (1,550
    # iterations; 3,350 without it).
    assert int(iterations.min()) <= 500 + _graph_admm._ROUNDING_PATIENCE + result.settings["check_every"]
    gaps = result.extra["duality_gap"].double()
    assert bool((gaps <= vertex_gap + 1e-12).all()) and bool((gaps < vertex_gap).any())


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


def test_extract_joint_finishes_planted_pairs_exactly() -> None:
    first = games.planted_rewards(12, 2, seed=12)[0]
    rewards = torch.stack((first, 1.1 * first))
    result = extract_joint(rewards)
    # Gap 0: the vertex's objective equals the lower bound of its dual point (the iteration's bound code).
    assert result.settings["n_crossover"] == 2 and result.settings["duality_gap_max"] == 0.0
    assert result.extra["iterations"][0].tolist() == [500, 500]
    # Feasible: noise within each model's bound, gammas within the shared bound of each other.
    span = (rewards[..., -1] - rewards[..., 0]).abs().unsqueeze(-1)
    assert bool((result.noise.abs() <= 0.01 * span).all())
    assert bool(((result.gamma[0] - result.gamma[1]).abs() <= 0.5 * (span[0] + span[1]) * (1 + 1e-6)).all())
    warm = extract_joint(rewards * 1.01, warm_start=result)
    assert warm.settings["converged"] and warm.settings["duality_gap_max"] <= 1e-3
    assert torch.allclose(joint_objective(warm, 0.1), 1.01 * joint_objective(result, 0.1), rtol=1e-3)


def test_joint_crossover_needs_twelve_players_and_two_models() -> None:
    first = games.planted_rewards(10, 1, seed=10)[0]
    pair = extract_joint(torch.stack((first, 1.1 * first)))
    assert pair.settings["n_crossover"] == 0 and pair.settings["converged"]
    first = games.planted_rewards(12, 1, seed=12)[0]
    with pytest.warns(RuntimeWarning, match="did not reach"):  # stopped on purpose, just after iteration 500
        three = extract_joint(torch.stack((first, 1.1 * first, 0.9 * first)), max_iter=600, tol=1e-3)
    assert three.settings["n_crossover"] == 0


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_crossover_option_is_a_bool(value: object) -> None:
    with pytest.raises(TypeError, match="crossover must be true or false"):
        SolverOptions(crossover=value)  # type: ignore[arg-type]


def test_a_float32_planted_pair_at_fourteen_players_stops_on_its_crossover_certificate() -> None:
    # This pair ran to the 100,000-iteration limit uncertified (gap 9.1e-3): its vertex, rounded to float32 with
    # the LP's shift at its bound, was 2.2e-3 above the optimum and was refused. Now its shift is the smallest, and
    # it stops one rounding patience after the crossover, 1.15e-3 above the optimum once rounded, with the warning.
    first = games.planted_rewards(14, 1, n_effects=6, noise=1e-3, seed=14)[0]
    pair = torch.stack((first, 1.1 * first)).float()
    with pytest.warns(RuntimeWarning, match="did not reach it once rounded to the rewards' dtype float32"):
        result = extract_joint(pair)
    assert result.extra["iterations"].flatten().tolist() == [500 + _graph_admm._ROUNDING_PATIENCE + 50] * 2
    assert 1e-3 < result.settings["duality_gap_max"] < 1.5e-3
