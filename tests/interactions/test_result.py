"""Methods of Interactions: construction, salience, order strengths, eta, Shapley values, selection."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
import torch
from torch import nn

from lit_interactions.interactions import Interactions
from lit_interactions.interactions.salient_readings import InteractionRecord
from lit_interactions.interactions.subsets import subset_masks

F64 = torch.float64


def hand_game() -> Interactions:
    """n = 3 with known effects (dyadic, so exact). Orders: 1, 2, 4 -> 1; 3, 5, 6 -> 2; 7 -> 3.

    AND: {0} (1) = 1, {0,1} (3) = 2, {2} (4) = -0.5, {0,1,2} (7) = 0.0625.
    OR:  {1} (2) = 0.75, {0,2} (5) = -1.5, {1,2} (6) = 0.015625.
    """
    and_effects = torch.tensor([0, 1, 0, 2, -0.5, 0, 0, 0.0625], dtype=F64)
    or_effects = torch.tensor([0, 0, 0.75, 0, 0, -1.5, 0.015625, 0], dtype=F64)
    return Interactions.from_effects(and_effects, or_effects, bias=0.5, settings={"source": "hand"})


def test_from_effects_reproduces_the_effects_and_matches_the_rewards():
    game = hand_game()
    assert torch.equal(game.and_effects, torch.tensor([0, 1, 0, 2, -0.5, 0, 0, 0.0625], dtype=F64))
    assert torch.equal(game.or_effects, torch.tensor([0, 0, 0.75, 0, 0, -1.5, 0.015625, 0], dtype=F64))
    # v({0}) = b + I_and{0} + OR effects meeting {0}: {0,2} -> 0.5 + 1 - 1.5 = 0.
    assert game.rewards[1].item() == 0.0
    assert game.bias.item() == 0.5 and game.settings == {"source": "hand"}
    assert torch.equal(game.reconstruct(), game.rewards)


def test_salient_by_absolute_threshold():
    and_mask, or_mask = hand_game().salient(0.1)
    assert and_mask.tolist() == [False, True, False, True, True, False, False, False]
    assert or_mask.tolist() == [False, False, True, False, False, True, False, False]


def test_salient_by_top_k_per_type():
    and_mask, or_mask = hand_game().salient(top_k=2)
    assert torch.nonzero(and_mask).flatten().tolist() == [1, 3]
    assert torch.nonzero(or_mask).flatten().tolist() == [2, 5]
    # Only three OR effects are nonzero: top 5 keeps those three and never the empty set.
    _, or_mask = hand_game().salient(top_k=5)
    assert torch.nonzero(or_mask).flatten().tolist() == [2, 5, 6]


def test_salient_relative_to_the_largest_effect_of_both_types():
    # max |I| = 2 -> |I| > 0.8: AND 2 and 1, OR -1.5.
    and_mask, or_mask = hand_game().salient(relative=0.4)
    assert torch.nonzero(and_mask).flatten().tolist() == [1, 3]
    assert torch.nonzero(or_mask).flatten().tolist() == [5]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, "exactly one selection rule"),
        ((0.1,), {"top_k": 2}, "exactly one selection rule"),
        ((), {"top_k": 0}, "top_k must be an int in 1..7"),
        ((), {"top_k": 8}, "top_k must be an int in 1..7"),
        ((), {"relative": 1.5}, "relative must be in"),
        ((-0.1,), {}, "threshold must be >= 0"),
        ((torch.tensor([0.1, 0.2]),), {}, "does not match the batch shape"),
    ],
)
def test_salient_refuses_bad_rules(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        hand_game().salient(*args, **kwargs)


def test_strength_by_order_and_eta():
    game = hand_game()
    # tau = 0.1: order 1: +1 (AND {0}) +0.75 (OR {1}), -0.5 (AND {2}); order 2: +2 (AND {0,1}), -1.5 (OR {0,2}).
    pos, neg = game.strength_by_order(0.1)
    assert pos.tolist() == [0, 1.75, 2, 0] and neg.tolist() == [0, -0.5, -1.5, 0]
    # eta = (1 * 2.25 + 2 * 3.5) / (2.25 + 3.5) = 9.25 / 5.75 = 37 / 23.
    assert game.eta(0.1).item() == pytest.approx(37 / 23, abs=1e-12)
    # tau = 0.05 adds the order-3 AND effect 0.0625: eta = (9.25 + 3 * 0.0625) / (5.75 + 0.0625).
    pos, _ = game.strength_by_order(0.05)
    assert pos.tolist() == [0, 1.75, 2, 0.0625]
    assert game.eta(0.05).item() == pytest.approx(9.4375 / 5.8125, abs=1e-12)
    single = game.to(dtype=torch.float32).eta(0.1)
    assert single.dtype == torch.float32 and single.item() == pytest.approx(37 / 23, abs=1e-6)


def test_eta_of_order_two_only_is_two_and_of_nothing_salient_is_zero():
    effects = torch.zeros(2, 16, dtype=F64)
    effects[0, 0b0011] = 3.0  # order 2
    effects[0, 0b1100] = -1.0  # order 2
    effects[1, 0b0001] = 0.01  # below the threshold of sample 1
    result = Interactions.from_effects(effects, torch.zeros_like(effects))
    # One threshold per sample: a tensor shaped like the batch.
    assert result.eta(torch.tensor([0.5, 0.5])).tolist() == [2.0, 0.0]
    assert result.eta(top_k=1).tolist() == [2.0, 1.0]


def _exact_shapley(v: torch.Tensor, n: int) -> torch.Tensor:
    """Average marginal contribution over all n! orderings (subset index = bit mask)."""
    phi = torch.zeros(n, dtype=v.dtype)
    for order in itertools.permutations(range(n)):
        present = 0
        for player in order:
            phi[player] += v[present | (1 << player)] - v[present]
            present |= 1 << player
    return phi / math.factorial(n)


def test_shapley_values_of_a_small_network_match_the_permutation_formula():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1)).to(F64)
    x = torch.randn(5, dtype=F64)
    with torch.no_grad():
        v = model(subset_masks(5).to(F64) * x).squeeze(-1)  # players outside S take the baseline 0
    result = Interactions.from_decomposition(v, noise=0.01 * torch.randn(32, dtype=F64))
    phi = result.shapley()
    assert phi.shape == (5,)
    assert torch.allclose(phi, _exact_shapley(v, 5), atol=1e-9, rtol=0)
    assert phi.sum().item() == pytest.approx((v[-1] - v[0]).item(), abs=1e-9)


def _batch() -> Interactions:
    """Two models x three samples, n = 3, with the sample ids as per-sample extra."""
    v = torch.randn(2, 3, 8, dtype=F64, generator=torch.Generator().manual_seed(1))
    result = Interactions.from_decomposition(v, gamma=0.3 * v)
    return dataclasses.replace(result, extra={"ids": torch.arange(6).reshape(2, 3)})


def test_select_and_getitem_take_batch_entries():
    batch = _batch()
    one = batch[1, 2]
    assert one.batch_shape == () and one.extra["ids"].item() == 5
    assert torch.equal(one.and_effects, batch.and_effects[1, 2]) and torch.equal(one.gamma, batch.gamma[1, 2])
    assert torch.allclose(one.reconstruct(), batch.rewards[1, 2], atol=1e-12)
    row = batch.select(0)
    assert row.batch_shape == (3,) and row.extra["ids"].tolist() == [0, 1, 2]
    picked = batch[torch.tensor([1, 0])]
    assert picked.extra["ids"][:, 0].tolist() == [3, 0] and torch.equal(picked.bias[0], batch.bias[1])
    with pytest.raises(IndexError, match="batch dimension"):
        batch[..., 0]
    with pytest.raises(IndexError, match="no batch dimension"):
        one[0]


def test_to_changes_floating_dtype_and_keeps_integer_extras():
    batch = _batch()
    small = batch.to(dtype=torch.float32)
    assert small.and_effects.dtype == torch.float32 and small.bias.dtype == torch.float32
    assert small.extra["ids"].dtype == torch.int64
    assert torch.allclose(small.reconstruct(), batch.rewards.float(), atol=1e-5)
    with pytest.raises(ValueError, match="floating-point"):
        batch.to(dtype=torch.int32)


def test_strongest_lists_interactions_by_strength():
    game = hand_game()
    assert game.strongest(3) == [
        InteractionRecord("AND", 3, (0, 1), 2.0),
        InteractionRecord("OR", 5, (0, 2), -1.5),
        InteractionRecord("AND", 1, (0,), 1.0),
    ]
    assert len(game.strongest(100)) == 7  # only the nonzero effects
    with pytest.raises(ValueError, match="select a sample first"):
        _batch().strongest(2)


def test_inconsistent_fields_are_refused():
    game = hand_game()
    fields = dict(game.__dict__)
    with pytest.raises(ValueError, match="gamma has shape"):
        Interactions(**{**fields, "gamma": torch.zeros(4, dtype=F64)})
    with pytest.raises(ValueError, match="bias has shape"):
        Interactions(**{**fields, "bias": torch.zeros(2, dtype=F64)})
    with pytest.raises(ValueError, match="extra\\['ids'\\] must be a tensor whose leading dimensions"):
        dataclasses.replace(_batch(), extra={"ids": torch.arange(3)})
    with pytest.raises(ValueError, match="must end with 2\\^n = 16"):
        Interactions(**{**fields, "n_players": 4})
