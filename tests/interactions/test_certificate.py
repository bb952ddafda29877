"""Tests of the lower bounds (``_certificate.py``): the swept repair of a one-model dual estimate."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from lit_interactions.interactions import games, solver
from lit_interactions.interactions._certificate import SweepTransforms, lower_bound, swept_bound, swept_dual
from lit_interactions.interactions._crossover import crossover
from lit_interactions.interactions.lp_oracle import solve_lp
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
    assert torch.allclose(ops.rows(torch.stack((lam, lam.flip(-1))))[1], disjoint, atol=1e-12)


@pytest.mark.parametrize("size", [1e-2, 1.0, 100.0])
def test_swept_dual_is_dual_feasible(size: float) -> None:
    """Whatever the estimate, the swept point has sum 0 and its AND and OR values within [-1, 1]."""
    n = 6
    ops = SweepTransforms.build(n, torch.device("cpu"))
    lam = size * torch.randn(20, 2**n, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    for shrink in (0.0, 0.4, 0.8):
        point = swept_dual(ops, lam - lam.mean(dim=-1, keepdim=True), shrink)
        assert point.sum(-1).abs().max() < 1e-12
        rows = ops.rows(torch.stack((point, point.flip(-1))))[..., 1:]
        assert rows.abs().max() <= 1 + 1e-12


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
    return (lower_bound(transforms.rows, lam, lam, v, noise_bound, None, 0.0),
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
    fewer = plain.extra["iterations"] - swept.extra["iterations"]
    assert bool((fewer >= 0).all()) and bool((fewer > 0).any()), fewer
    optima = np.array([solve_lp(v.numpy()).objective for v in rewards])
    for result in (plain, swept):
        assert result.settings["converged"] and result.settings["duality_gap_max"] <= 1e-3
        objective = result.objective().numpy()
        assert np.all(objective <= optima * (1 + 1e-3) + 1e-12) and np.all(objective >= optima * (1 - 1e-6))
