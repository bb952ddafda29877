"""Salience threshold, generalizability against a baseline DNN, transferability and sharing by order."""

from __future__ import annotations

import pytest
import torch

from lit_interactions.interactions import Interactions, generalization_by_order, salience_threshold, transferability
from lit_interactions.interactions.generalization import generalizable_mask
from lit_interactions.interactions.transfer import shared_by_order

F64 = torch.float64


def effects_game(and_effects: list[list[float]] | list[float], or_effects: list[list[float]] | list[float]):
    return Interactions.from_effects(torch.tensor(and_effects, dtype=F64), torch.tensor(or_effects, dtype=F64))


def test_salience_threshold_averages_over_all_given_samples():
    rewards = torch.zeros(3, 4, dtype=F64)
    rewards[:, 0] = torch.tensor([1.0, 1.0, 0.0])
    rewards[:, -1] = torch.tensor([3.0, -3.0, 6.0])  # |v(N) - v({})| = 2, 4, 6 -> mean 4
    assert salience_threshold(rewards).item() == pytest.approx(0.08, abs=1e-15)
    assert salience_threshold(rewards, ratio=0.5).item() == 2.0
    with pytest.raises(ValueError, match="ratio must be positive"):
        salience_threshold(rewards, ratio=0.0)


def main_and_baseline() -> tuple[Interactions, Interactions]:
    # n = 2; subsets 1 = {0}, 2 = {1} (order 1), 3 = {0, 1} (order 2).
    main = effects_game([0, 1.0, -2.0, 0.5], [0, 0.3, 0, -1.0])
    baseline = effects_game([0, 0.8, 2.0, 0.5], [0, -0.3, 0.05, -0.6])
    return main, baseline


def test_generalizable_mask_needs_salience_in_both_and_the_same_sign():
    main, baseline = main_and_baseline()
    # tau_main = 0.25: AND 1, 2, 3 and OR 1, 3 salient. tau_base = 0.4: AND 1, 2, 3 and OR 3.
    # AND 2 flips sign; OR 1 is not salient for the baseline (0.3 <= 0.4).
    g_and, g_or = generalizable_mask(main, baseline, 0.25, 0.4)
    assert g_and.tolist() == [False, True, False, True]
    assert g_or.tolist() == [False, False, False, True]
    # With the baseline's own tau at 0.6 its AND {0,1} = 0.5 is no longer salient.
    g_and, _ = generalizable_mask(main, baseline, 0.25, 0.6)
    assert g_and.tolist() == [False, True, False, False]


def test_generalization_by_order_hand_computed():
    main, baseline = main_and_baseline()
    by_order = generalization_by_order(main, baseline, 0.25, 0.4)
    # I_pos: order 1: AND{0} 1 + OR{0} .3; order 2: AND{0,1} .5. I_neg: order 1: AND{1} -2; order 2: OR{0,1} -1.
    # J keeps AND{0} (1), AND{0,1} (.5) and OR{0,1} (-1).
    assert torch.allclose(by_order.I_pos, torch.tensor([0, 1.3, 0.5], dtype=F64), atol=1e-12)
    assert torch.allclose(by_order.I_neg, torch.tensor([0, -2.0, -1.0], dtype=F64), atol=1e-12)
    assert torch.allclose(by_order.J_pos, torch.tensor([0, 1.0, 0.5], dtype=F64), atol=1e-12)
    assert torch.allclose(by_order.J_neg, torch.tensor([0, 0, -1.0], dtype=F64), atol=1e-12)
    # H = (1 + .5 + 1) / (1.3 + .5 + 2 + 1) = 2.5 / 4.8; H_low covers orders 1..2 = all of them here.
    assert by_order.H.item() == pytest.approx(2.5 / 4.8, abs=1e-12)
    assert by_order.H_low.item() == pytest.approx(2.5 / 4.8, abs=1e-12)
    assert by_order.ratio([1]).item() == pytest.approx(1.0 / 3.3, abs=1e-12)
    with pytest.raises(ValueError, match="only n = 2 players"):
        by_order.H_high


def test_h_high_and_h_low_on_seven_players():
    size = 2**7
    main_and, base_and = torch.zeros(size), torch.zeros(size)
    main_and[0b0000001], base_and[0b0000001] = 1.0, 1.0  # order 1, generalizable
    main_and[0b0111111], base_and[0b0111111] = 2.0, 3.0  # order 6, generalizable
    main_and[0b1111111], base_and[0b1111111] = -1.0, 1.0  # order 7, sign flips
    main = Interactions.from_effects(main_and.double(), torch.zeros(size, dtype=F64))
    baseline = Interactions.from_effects(base_and.double(), torch.zeros(size, dtype=F64))
    by_order = generalization_by_order(main, baseline, 0.1, 0.1)
    assert by_order.H_low.item() == 1.0
    assert by_order.H_high.item() == pytest.approx(2 / 3, abs=1e-12)  # orders 6..7: 2 / (2 + 1)
    assert by_order.H.item() == pytest.approx(3 / 4, abs=1e-12)


def test_generalization_broadcasts_epochs_against_one_baseline_and_checks_players():
    main, baseline = main_and_baseline()
    epochs = Interactions.from_effects(
        torch.stack((main.and_effects, -main.and_effects)), torch.stack((main.or_effects, main.or_effects))
    )
    by_order = generalization_by_order(epochs, baseline, 0.25, 0.4)
    # Epoch 1 flips every AND sign: AND{1} (now +2) agrees with the baseline, AND{0}, AND{0,1} do not.
    assert torch.allclose(by_order.J_pos, torch.tensor([[0, 1.0, 0.5], [0, 2.0, 0]], dtype=F64), atol=1e-12)
    assert torch.allclose(by_order.H, torch.tensor([2.5 / 4.8, 3.0 / 4.8], dtype=F64), atol=1e-12)
    other = effects_game([0] * 8, [0] * 8)
    with pytest.raises(ValueError, match="same players"):
        generalizable_mask(main, other, 0.1, 0.1)


def test_transferability_hand_computed():
    a = [0, 5, 4, 3, 2, 1, 0.5, 0.25]
    b = [0, 5, -4, 0.1, 3, 2, 1, 0.5]
    # k = 2: both {1, 2} -> 1. k = 4: A {1,2,3,4}, B {1,2,4,5} -> 3/4. k = 6: A {1..6}, B {1,2,4,5,6,7} -> 5/6.
    s = transferability(torch.tensor([a, b], dtype=F64), ratios=(0.25, 0.5, 0.75))
    assert torch.allclose(s, torch.tensor([1.0, 3 / 4, 5 / 6], dtype=F64), atol=1e-12)
    # Every model must hold the subset: a third model that drops {4} to zero loses it at k = 4.
    c = [0, 5, 4, 3, 0, 1, 0.5, 0.25]
    s3 = transferability(torch.tensor([a, b, c], dtype=F64), ratios=(0.5,))
    assert s3.tolist() == [2 / 4]


def test_transferability_identical_is_one_and_disjoint_is_zero():
    effects = torch.randn(4, 16, dtype=F64, generator=torch.Generator().manual_seed(3))
    identical = torch.stack((effects, effects))  # [K = 2, 4 samples, 16]
    assert torch.equal(transferability(identical), torch.ones(9, 4, dtype=F64))
    odd, even = effects.clone(), effects.clone()
    odd[:, 0::2] = 0.0
    even[:, 1::2] = 0.0
    assert torch.equal(transferability(torch.stack((odd, even))), torch.zeros(9, 4, dtype=F64))


def test_transferability_ignores_zero_effects_and_checks_inputs():
    sparse = torch.zeros(2, 8, dtype=F64)
    sparse[:, 1] = 1.0
    assert transferability(sparse, ratios=(0.5,)).tolist() == [1 / 4]  # k = 4, one real shared subset
    with pytest.raises(ValueError, match="K >= 2 models"):
        transferability(sparse[:1])
    with pytest.raises(ValueError, match="ratio must be a fraction"):
        transferability(sparse, ratios=(0.0,))


def two_models() -> Interactions:
    # n = 2; order 1: subsets 1, 2; order 2: subset 3.
    return effects_game(
        [[0, 1.0, -0.5, 2.0], [0, 0.5, -0.75, -1.0]],
        [[0, 0.25, 0, -1.0], [0, 0.5, 0.125, -2.0]],
    )


def test_shared_by_order_hand_computed():
    # tau = 0.2: both models have AND 1, 2, 3 and OR 1, 3 salient (OR{1} = .125 of model 1 is not).
    # Shared positive: AND{0}, OR{0}; AND{0,1} flips sign. Shared negative: AND{1}, OR{0,1}.
    shared = shared_by_order(two_models(), 0.2)
    assert shared.shared_pos.tolist() == [[0, 1.25, 0], [0, 1.0, 0]]
    assert shared.total_pos.tolist() == [[0, 1.25, 2.0], [0, 1.0, 0]]
    assert shared.shared_neg.tolist() == [[0, -0.5, -1.0], [0, -0.75, -2.0]]
    assert shared.total_neg.tolist() == [[0, -0.5, -1.0], [0, -0.75, -3.0]]
    assert shared.ratio_pos.tolist() == [[0, 1.0, 0], [0, 1.0, 0]]  # model 1 has no positive order-2 effect
    assert torch.allclose(shared.ratio_neg, torch.tensor([[0, 1.0, 1.0], [0, 1.0, 2 / 3]], dtype=F64))


def test_shared_by_order_with_one_threshold_per_model_and_three_models():
    # tau = [.2, .6]: model 1 loses AND{0} (.5) and OR{0} (.5), so nothing positive is shared.
    shared = shared_by_order(two_models(), torch.tensor([0.2, 0.6]))
    assert shared.shared_pos.abs().sum().item() == 0.0
    assert shared.shared_neg.tolist() == [[0, -0.5, -1.0], [0, -0.75, -2.0]]
    # A third model without OR{0}: model 0 keeps only AND{0} (1 of 1.25) shared at order 1.
    models = two_models()
    third_or = models.or_effects[0].clone()
    third_or[1] = 0.0
    three = Interactions.from_effects(
        torch.cat((models.and_effects, models.and_effects[:1])), torch.cat((models.or_effects, third_or[None]))
    )
    assert three.batch_shape == (3,)
    assert shared_by_order(three, 0.2).ratio_pos[0].tolist() == [0, 0.8, 0]
    with pytest.raises(ValueError, match="K >= 2 models"):
        shared_by_order(models[0], 0.2)


def test_per_sample_h_of_a_hand_made_pair_and_the_pooled_ratio():
    from lit_interactions.analysis import generalization_scalars, per_sample_H

    # Three samples of one pair (main model, baseline DNN), n = 2. Sample 0: the game above (H = 2.5 / 4.8).
    # Sample 1: one salient AND {0} = 1 that the baseline flips (H = 0). Sample 2: nothing salient (H undefined).
    main = effects_game([[0, 1.0, -2.0, 0.5], [0, 1.0, 0, 0], [0, 0, 0, 0]], [[0, 0.3, 0, -1.0], [0, 0, 0, 0], [0, 0, 0, 0]])
    baseline = effects_game(
        [[0, 0.8, 2.0, 0.5], [0, -1.0, 0, 0], [0, 1.0, 0, 0]], [[0, -0.3, 0.05, -0.6], [0, 0, 0, 0], [0, 0, 0, 0]]
    )
    by_order = generalization_by_order(main, baseline, 0.25, 0.4)
    per_sample = per_sample_H(by_order)
    assert per_sample[0] == pytest.approx(2.5 / 4.8, abs=1e-12)
    assert per_sample[1:] == [0.0, None]
    scalars = generalization_scalars(by_order, "g")
    assert scalars["g/H"] == pytest.approx(2.5 / 5.8, abs=1e-12)  # pooled: strengths summed over the samples
    assert scalars["g/H_per_sample_mean"] == pytest.approx((2.5 / 4.8 + 0.0) / 2, abs=1e-12)  # defined samples alike
