"""Order profiles, generalization scalars, smoothing and the turn / gap-widening rules on hand-made data."""

from __future__ import annotations

import pytest
import torch

from lit_interactions.analysis import OrderProfile, find_gap_widening, find_turn, generalization_scalars, moving_average
from lit_interactions.analysis.dynamics import default_high_from
from lit_interactions.interactions import Interactions, generalization_by_order

F64 = torch.float64


def as64(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=F64)


def three_samples() -> Interactions:
    """n = 3. Sample 0: AND{0} = 1 (order 1), AND{0,1,2} = -2 (order 3). Sample 1: OR{0,1} = 0.5 (order 2),
    OR{1,2} = 0.01 (below tau = 0.1). Sample 2: nothing salient."""
    and_effects = torch.zeros(3, 8, dtype=F64)
    or_effects = torch.zeros(3, 8, dtype=F64)
    and_effects[0, 1], and_effects[0, 7] = 1.0, -2.0
    or_effects[1, 3], or_effects[1, 6] = 0.5, 0.01
    or_effects[2, 5] = 0.05
    return Interactions.from_effects(and_effects, or_effects)


def test_order_profile_hand_computed():
    profile = OrderProfile.from_interactions(three_samples(), 0.1)
    # Means over 3 samples: I_pos = (0, 1/3, 0.5/3, 0), I_neg = (0, 0, 0, -2/3); total strength 3.5/3.
    assert torch.allclose(profile.I_pos, torch.tensor([0, 1 / 3, 0.5 / 3, 0], dtype=F64))
    assert torch.allclose(profile.I_neg, torch.tensor([0, 0, 0, -2 / 3], dtype=F64))
    assert profile.high_from == 2
    assert profile.high_order_share == pytest.approx(2.5 / 3.5)
    assert profile.mean_order == pytest.approx((1 + 2 * 0.5 + 3 * 2) / 3.5)
    assert profile.num_salient == pytest.approx(3 / 3)
    # eta: sample 0 (1 * 1 + 3 * 2) / 3 = 7/3, sample 1 = 2, sample 2 has none (0, left out of mean/std).
    assert torch.allclose(profile.eta, torch.tensor([7 / 3, 2.0, 0.0], dtype=F64))
    assert profile.eta_mean == pytest.approx(13 / 6)
    assert profile.eta_std == pytest.approx(1 / 6)
    assert profile.num_empty == 1


def test_high_from_moves_the_boundary():
    result = three_samples()
    assert OrderProfile.from_interactions(result, 0.1, high_from=3).high_order_share == pytest.approx(2 / 3.5)
    assert OrderProfile.from_interactions(result, 0.1, high_from=1).high_order_share == pytest.approx(1.0)
    assert [default_high_from(n) for n in (1, 3, 10)] == [1, 2, 6]
    with pytest.raises(ValueError, match=r"high_from must be an order in 1\.\.3"):
        OrderProfile.from_interactions(result, 0.1, high_from=4)


def test_single_sample_and_empty_profiles():
    single = OrderProfile.from_interactions(three_samples()[0], 0.1)
    assert single.eta.tolist() == pytest.approx([7 / 3])
    assert single.num_salient == 2.0
    empty = OrderProfile.from_interactions(three_samples()[2], 0.1)
    assert (empty.high_order_share, empty.mean_order, empty.eta_mean, empty.num_empty) == (0.0, 0.0, 0.0, 1)


def test_two_batch_dimensions_are_refused():
    stacked = Interactions.from_effects(torch.zeros(2, 3, 8, dtype=F64), torch.zeros(2, 3, 8, dtype=F64))
    with pytest.raises(ValueError, match=r"select one model first"):
        OrderProfile.from_interactions(stacked, 0.1)


def test_to_scalars_has_stable_keys():
    scalars = OrderProfile.from_interactions(three_samples(), 0.1).to_scalars("probe")
    expected_keys = {f"probe/order_{k}/I_{s}" for k in (1, 2, 3) for s in ("pos", "neg")} | {
        "probe/high_order_share",
        "probe/mean_order",
        "probe/num_salient",
        "probe/eta_mean",
        "probe/eta_std",
    }
    assert set(scalars) == expected_keys
    assert scalars["probe/order_3/I_neg"] == pytest.approx(-2 / 3)
    assert all(isinstance(v, float) for v in scalars.values())


def test_generalization_scalars_pool_samples():
    # n = 2, one sample (from tests/interactions/test_metrics.py): I = (1.3, 0.5 | -2, -1), J = (1, 0.5 | 0, -1).
    main = Interactions.from_effects(as64([0, 1.0, -2.0, 0.5]), as64([0, 0.3, 0, -1.0]))
    base = Interactions.from_effects(as64([0, 0.8, 2.0, 0.5]), as64([0, -0.3, 0.05, -0.6]))
    scalars = generalization_scalars(generalization_by_order(main, base, 0.25, 0.4))
    assert scalars == pytest.approx(
        {
            "interactions/order_1/J_pos": 1.0,
            "interactions/order_1/J_neg": 0.0,
            "interactions/order_2/J_pos": 0.5,
            "interactions/order_2/J_neg": -1.0,
            "interactions/H": 2.5 / 4.8,
            "interactions/H_low": 2.5 / 4.8,
            "interactions/H_per_sample_mean": 2.5 / 4.8,  # one sample: its own H
        }
    )


def test_moving_average_shrinks_at_the_ends():
    assert moving_average([1, 2, 3, 4, 10], 3).tolist() == pytest.approx([1.5, 2, 3, 17 / 3, 7])
    assert moving_average([1, 2, 3], 1).tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="odd positive integer"):
        moving_average([1, 2, 3], 2)


def test_turn_of_a_u_shape():
    values = [(e - 5) ** 2 for e in range(11)]
    # Smoothed: s[0] = 20.5, s[5] = 2/3 (minimum), s[7] = 14/3 rises 4 > 0.1 * (20.5 - 2/3).
    assert find_turn(range(11), values) == 5
    assert find_turn(range(0, 22, 2), values) == 10  # the epoch number, not the index
    assert find_turn(range(11), values, smooth=1) == 5


def test_falling_curves_have_no_turn():
    assert find_turn(range(11), [10 - e for e in range(11)]) is None
    assert find_turn(range(3), [1.0, 2.0, 3.0]) is None  # never fell below its start
    assert find_turn(range(3), [1.0, 1.0, 1.0]) is None
    # Falls by 10 to epoch 6, then rebounds by 0.8: below 0.1 * 10, enough for 0.05 * 10.
    values = [10, 8, 6, 4, 2, 1, 0, 0.5, 0.8]
    assert find_turn(range(9), values, smooth=1) is None
    assert find_turn(range(9), values, smooth=1, min_rise=0.05) == 6
    # Noisy but still falling: the smoothed minimum is the last point; unsmoothed, the rebound 0.1 < 0.95.
    noisy = [10, 8, 8.3, 6, 6.2, 4, 4.1, 2, 2.1, 1, 0.5, 0.6]
    assert find_turn(range(12), noisy) is None
    assert find_turn(range(12), noisy, smooth=1) is None


def test_smoothing_ignores_a_single_noisy_dip():
    # U with its minimum 0.5 at epoch 5, and a noisy dip to 0 at epoch 4.
    values = [8, 6, 4, 2, 0, 0.5, 1, 2, 4, 6, 8]
    assert find_turn(range(11), values, smooth=1) == 4
    # Smoothed: s[4] = 2.5/3, s[5] = 1.5/3 (minimum), s[6] = 3.5/3.
    assert find_turn(range(11), values, smooth=3) == 5


def test_find_turn_refuses_bad_series():
    with pytest.raises(ValueError, match="epochs has 3 entries but values has 2"):
        find_turn([0, 1, 2], [1.0, 2.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        find_turn([0, 2, 1], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="non-finite"):
        find_turn([0, 1, 2], [1.0, float("nan"), 3.0])
    with pytest.raises(ValueError, match="min_rise must be >= 0"):
        find_turn([0, 1, 2], [3.0, 1.0, 2.0], min_rise=-0.1)


def test_gap_widening():
    train = [2.0, 1.5, 1.2, 1.0, 0.8, 0.6, 0.4]
    gap = [0.3, 0.2, 0.1, 0.05, 0.1, 0.3, 0.6]
    val = [t + g for t, g in zip(train, gap)]
    # Smoothed gap (0.25, 0.2, 0.35/3, 0.25/3, 0.15, 1/3, 0.45): minimum at epoch 3, later rise 0.37 > 0.05 * 2.0.
    assert find_gap_widening(range(7), train, val) == 3
    assert find_gap_widening(range(10, 17), train, val, smooth=1) == 13
    # Through epoch 4 the gap has risen by 0.05 only, below 0.05 * 2.3.
    assert find_gap_widening(range(5), train[:5], val[:5], smooth=1) is None
    # A gap widening from the first epoch is found there.
    assert find_gap_widening(range(3), [1.0, 0.8, 0.6], [1.0, 1.0, 1.0], smooth=1) == 0
    with pytest.raises(ValueError, match="train_loss has 2 entries but val_loss has 3"):
        find_gap_widening(range(3), [1.0, 2.0], [1.0, 2.0, 3.0])


def test_a_u_then_a_deeper_fall_keeps_its_turn():
    # Falls from 10 to 5 (epoch 3), rises to 8 (epoch 6), then falls deeper to 1: the global minimum is the last
    # point (never confirmed), but the U's bottom is a local minimum confirmed by a rise of 3 > 0.1 * (10 - 1).
    values = [10, 8, 6, 5, 6, 7, 8, 4, 2, 1]
    assert find_turn(range(10), values, smooth=1) == 3
    assert find_turn(range(0, 20, 2), values, smooth=1) == 6  # the epoch number
    # Smoothed (window 3): s = [9, 8, 6.33, 5.67, 6, 7, 6.33, 4.67, 2.33, 1.5]; the bottom of the U is s[3].
    assert find_turn(range(10), values) == 3
    # A rise smaller than 10 % of the whole fall is not a turn: 10 -> 5 -> 5.5 -> 1.
    assert find_turn(range(6), [10, 5, 5.5, 4, 2, 1], smooth=1) is None
    # A curve that rises first and only then falls and turns: the turn is below the start.
    assert find_turn(range(8), [5, 6, 7, 4, 2, 3, 5, 6], smooth=1) == 4
