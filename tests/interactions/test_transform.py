"""AND-OR transform and subset butterflies on hand-computed games and against brute force."""

from __future__ import annotations

import pytest
import torch

from lit_interactions.interactions import Interactions, and_or_transform
from lit_interactions.interactions.subsets import mobius, superset_mobius, superset_sum, zeta
from lit_interactions.interactions.transform import bias, logical_model

F64 = torch.float64


def test_two_player_game_without_decomposition():
    # Subsets: 0 = {}, 1 = {0}, 2 = {1}, 3 = {0, 1}. v = [1, 3, 4, 10], gamma = noise = 0: u_and = u_or = v/2.
    # I_and: {0}: 1.5 - 0.5 = 1; {1}: 2 - 0.5 = 1.5; {0,1}: 5 - 1.5 - 2 + 0.5 = 2.
    # c[L] = u_or[N \ L] = [5, 2, 1.5, 0.5]; I_or[T] = -Moebius(c)[T]:
    # {0}: -(2 - 5) = 3; {1}: -(1.5 - 5) = 3.5; {0,1}: -(0.5 - 2 - 1.5 + 5) = -2.
    v = torch.tensor([1.0, 3.0, 4.0, 10.0], dtype=F64)
    and_effects, or_effects = and_or_transform(v)
    assert torch.equal(and_effects, torch.tensor([0.0, 1.0, 1.5, 2.0], dtype=F64))
    assert torch.equal(or_effects, torch.tensor([0.0, 3.0, 3.5, -2.0], dtype=F64))
    assert bias(v).item() == 1.0


def test_two_player_game_with_gamma_and_noise():
    # v = [1, 3, 4, 10], gamma = [0, .5, -1, 1], noise = [.25, 0, 0, -.5] (dyadic, so exact in binary).
    # v - noise = [.75, 3, 4, 10.5]; half = [.375, 1.5, 2, 5.25].
    # u_and = half + gamma = [.375, 2, 1, 6.25] -> I_and = [0, 1.625, .625, 6.25 - 2 - 1 + .375 = 3.625].
    # u_or = half - gamma = [.375, 1, 3, 4.25]; c = u_or[N \ L] = [4.25, 3, 1, .375]
    # -> I_or = [0, -(3 - 4.25) = 1.25, -(1 - 4.25) = 3.25, -(.375 - 3 - 1 + 4.25) = -.625]; b = .75.
    # Check S = N: .75 + (1.625 + .625 + 3.625) + (1.25 + 3.25 - .625) = 10.5 = v[N] - noise[N].
    v = torch.tensor([1.0, 3.0, 4.0, 10.0], dtype=F64)
    gamma = torch.tensor([0.0, 0.5, -1.0, 1.0], dtype=F64)
    noise = torch.tensor([0.25, 0.0, 0.0, -0.5], dtype=F64)
    result = Interactions.from_decomposition(v, gamma, noise)
    assert torch.equal(result.and_effects, torch.tensor([0.0, 1.625, 0.625, 3.625], dtype=F64))
    assert torch.equal(result.or_effects, torch.tensor([0.0, 1.25, 3.25, -0.625], dtype=F64))
    assert result.bias.item() == 0.75
    assert torch.equal(result.reconstruct(), v - noise)


def test_three_player_game():
    # v(S) = 1 + 2 [0 in S and 1 in S] + 3 [2 in S]; indices 0..7 -> v = [1, 1, 1, 3, 4, 4, 4, 6].
    # gamma = 0: I_and = Harsanyi(v) / 2 -> {0,1} (index 3): 1, {2} (index 4): 1.5.
    # w(L) = v(N \ L) = 1 + 2 [L misses 0 and 1] + 3 [2 not in L] has dividends
    # {}: 6, {0}: -2, {1}: -2, {0,1}: 2, {2}: -3, so I_or = -w / 2 off the empty set:
    # {0}: 1, {1}: 1, {0,1}: -1, {2}: 1.5.
    v = torch.tensor([1.0, 1.0, 1.0, 3.0, 4.0, 4.0, 4.0, 6.0], dtype=F64)
    and_effects, or_effects = and_or_transform(v)
    assert torch.equal(and_effects, torch.tensor([0, 0, 0, 1, 1.5, 0, 0, 0], dtype=F64))
    assert torch.equal(or_effects, torch.tensor([0, 1, 1, -1, 1.5, 0, 0, 0], dtype=F64))


def test_float32_keeps_dtype_and_values():
    v = torch.tensor([1.0, 1.0, 1.0, 3.0, 4.0, 4.0, 4.0, 6.0])
    result = Interactions.from_decomposition(v)
    assert result.and_effects.dtype == torch.float32 and result.or_effects.dtype == torch.float32
    assert torch.equal(result.and_effects, torch.tensor([0, 0, 0, 1, 1.5, 0, 0, 0]))
    assert torch.allclose(result.reconstruct(), v, atol=1e-6)


@pytest.mark.parametrize("n", range(1, 11))
def test_universal_matching_for_random_decompositions(n):
    generator = torch.Generator().manual_seed(n)
    v, gamma, noise = torch.randn(3, 2, 2**n, dtype=F64, generator=generator)
    result = Interactions.from_decomposition(v, gamma, 0.1 * noise)
    assert torch.allclose(result.reconstruct(), v - 0.1 * noise, atol=1e-9, rtol=0)
    assert torch.all(result.and_effects[..., 0] == 0) and torch.all(result.or_effects[..., 0] == 0)
    direct = logical_model(result.and_effects, result.or_effects, result.bias)
    assert torch.equal(direct, result.reconstruct())


def test_pure_and_game_gives_one_and_effect():
    # v(S) = 1 iff S = N. With gamma = v / 2 all of v is on the AND side (u_and = v, u_or = 0):
    # the Harsanyi dividend of the unanimity game is 1 at N and 0 elsewhere.
    n = 4
    v = torch.zeros(2**n, dtype=F64)
    v[-1] = 1.0
    and_effects, or_effects = and_or_transform(v, gamma=v / 2)
    expected = torch.zeros(2**n, dtype=F64)
    expected[-1] = 1.0
    assert torch.equal(and_effects, expected)
    assert torch.equal(or_effects, torch.zeros(2**n, dtype=F64))


def test_pure_or_game_gives_one_or_effect_of_the_full_set():
    # v(S) = 1 iff S nonempty; gamma = -v / 2 -> u_and = 0, u_or = v.
    # c[L] = v(N \ L) = 1 - [L = N]; Moebius(1) = [T = {}], Moebius([L = N]) = [T = N],
    # so I_or[T] = -([T = {}] - [T = N]) = [T = N] on nonempty T; b = v({}) = 0.
    n = 3
    v = torch.ones(2**n, dtype=F64)
    v[0] = 0.0
    result = Interactions.from_decomposition(v, gamma=-v / 2)
    assert torch.equal(result.and_effects, torch.zeros(2**n, dtype=F64))
    assert torch.equal(result.or_effects, torch.tensor([0, 0, 0, 0, 0, 0, 0, 1], dtype=F64))
    assert result.bias.item() == 0.0


def _dense(n: int, entry) -> torch.Tensor:
    """Matrix M[row, col] = entry(row, col) by a plain double loop over subsets."""
    size = 2**n
    return torch.tensor([[entry(r, c) for c in range(size)] for r in range(size)], dtype=F64)


def _sign(t: int, s: int) -> float:
    return (-1.0) ** (bin(t).count("1") - bin(s).count("1"))


@pytest.mark.parametrize("n", range(1, 7))
def test_butterflies_against_brute_force(n):
    x, y = torch.randn(2, 2**n, dtype=F64, generator=torch.Generator().manual_seed(10 + n))
    moebius_matrix = _dense(n, lambda t, s: _sign(t, s) if s & t == s else 0.0)
    zeta_matrix = _dense(n, lambda t, s: 1.0 if s & t == s else 0.0)
    assert torch.allclose(mobius(x), moebius_matrix @ x, atol=1e-12)
    assert torch.allclose(zeta(x), zeta_matrix @ x, atol=1e-12)
    assert torch.allclose(zeta(mobius(x)), x, atol=1e-12)
    assert torch.allclose(mobius(zeta(x)), x, atol=1e-12)
    # Transposes: <zeta(x), y> = <x, superset_sum(y)>, <mobius(x), y> = <x, superset_mobius(y)>.
    assert torch.allclose(superset_sum(y), zeta_matrix.T @ y, atol=1e-12)
    assert torch.allclose(zeta(x) @ y, x @ superset_sum(y), atol=1e-12)
    assert torch.allclose(mobius(x) @ y, x @ superset_mobius(y), atol=1e-12)


def test_seventeen_players_are_refused():
    with pytest.raises(ValueError, match="n_players=17 is not supported"):
        and_or_transform(torch.zeros(2**17))


def test_gamma_of_another_length_is_refused():
    with pytest.raises(ValueError, match="gamma has 4 entries over subsets but rewards have 8"):
        and_or_transform(torch.zeros(8), gamma=torch.zeros(4))
