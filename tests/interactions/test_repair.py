"""The LP repair of a dual estimate (one model): exact at an optimal dual, valid and no worse than the rescaled
bound near it, and inside the solver it only stops samples earlier."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lit_interactions.interactions import games, solver
from lit_interactions.interactions._repair import dual_values, lp_repaired_bound
from lit_interactions.interactions.solver import extract
from tests.interactions.test_certificate import _bounds, _optimal_duals, assert_only_earlier_and_optimal


def test_dual_values_are_the_and_and_or_sums() -> None:
    """AND value at T: sum of lambda over the supersets of T; OR value: over the subsets disjoint from T."""
    gen = torch.Generator().manual_seed(0)
    lam = torch.randn(2**4, generator=gen, dtype=torch.float64).numpy()
    p_and, p_or = dual_values(lam)
    for t in range(16):
        assert p_and[t] == pytest.approx(sum(lam[s] for s in range(16) if s & t == t))
        assert p_or[t] == pytest.approx(sum(lam[s] for s in range(16) if s & t == 0))


@pytest.mark.parametrize("kind", ["planted", "mlp"])
def test_lp_repair_is_exact_at_an_optimal_dual_and_valid_near_it(kind: str) -> None:
    rewards, duals, optima = _optimal_duals(kind, 7)
    v = rewards.double().numpy()
    bounds = 0.01 * np.abs(v[:, -1] - v[:, 0])
    for b in range(2):  # a feasible optimal point needs no repair: the bound is the optimum (strong duality)
        lam = duals[b].numpy() - duals[b].numpy().mean()
        assert lp_repaired_bound(v[b], float(bounds[b]), lam, 32) == pytest.approx(optima[b], rel=1e-7)
    gen = torch.Generator().manual_seed(1)
    gained = 0
    for size in (1e-3, 1e-2, 1e-1, 1.0):
        for _ in range(4):
            noisy = duals * (1 + size) + size * duals.abs().mean() * torch.randn(duals.shape, generator=gen,
                                                                                dtype=torch.float64)
            noisy = noisy - noisy.mean(dim=-1, keepdim=True)
            rescaled = _bounds(rewards, noisy)[0]
            for b in range(2):
                repaired = lp_repaired_bound(v[b], float(bounds[b]), noisy[b].numpy(), 32)
                assert 0.0 <= repaired <= optima[b] * (1 + 1e-9)  # valid whatever the estimate
                assert repaired >= float(rescaled[b]) * (1 - 1e-9)  # theta = 1 / norm, delta = 0 is a candidate
                gained += repaired > float(rescaled[b]) * (1 + 1e-3)
    assert gained >= 8, gained  # and it is usually tighter than dividing by the largest violation


def test_lp_repair_is_valid_whatever_the_lp_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The returned point is checked on every dual constraint and rescaled: an LP answer that doubles a feasible
    point (theta = 2, no correction) still gives the optimum, not twice it."""
    from types import SimpleNamespace

    from lit_interactions.interactions import _repair

    rewards, duals, optima = _optimal_duals("mlp", 7)
    v = rewards.double().numpy()

    def doubling(cost: np.ndarray, **_: object) -> SimpleNamespace:
        return SimpleNamespace(x=np.concatenate(([2.0], np.zeros(len(cost) - 1))))

    monkeypatch.setattr(_repair, "linprog", doubling)
    for b in range(2):
        lam = duals[b].numpy() - duals[b].numpy().mean()
        bound = lp_repaired_bound(v[b], 0.01 * abs(v[b, -1] - v[b, 0]), lam, 8)
        assert bound == pytest.approx(optima[b], rel=1e-7)


def test_lp_repair_only_stops_samples_earlier(monkeypatch: pytest.MonkeyPatch) -> None:
    """In float64 without the crossover the iterations do not depend on the bounds, so the repaired bound can
    only stop a sample earlier; both runs are certified within tol of the LP optimum."""
    rewards = games.mlp_rewards(7, 4, seed=2)
    options = {"compute_dtype": "float64", "crossover": False}
    monkeypatch.setattr(solver, "_REPAIR_MIN_PLAYERS", 7)
    monkeypatch.setattr(solver, "_REPAIR_SUBSETS", 0)
    plain = extract(rewards, **options)
    monkeypatch.setattr(solver, "_REPAIR_SUBSETS", 32)
    monkeypatch.setattr(solver, "_REPAIR_EVERY", 100)
    repaired = extract(rewards, **options)
    assert plain.settings["repair_subsets"] == 0 and repaired.settings["repair_subsets"] == 32
    assert_only_earlier_and_optimal(plain, repaired, rewards)
