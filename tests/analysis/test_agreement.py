"""Agreement of two eta vectors and overlap of id sets, against hand-computed values."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from lit_interactions.analysis.agreement import (
    eta_agreement,
    set_overlap,
    top_count,
    top_fraction,
)


def test_reversed_order_has_correlations_minus_one_and_no_overlap():
    a = list(range(1, 11))
    agreement = eta_agreement(a, a[::-1])
    assert agreement.n == 10
    assert agreement.pearson == pytest.approx(-1.0)
    assert agreement.spearman == pytest.approx(-1.0)
    assert agreement.overlap == {0.1: 0.0, 0.2: 0.0, 0.3: 0.0}
    assert agreement.chance == pytest.approx({0.1: 0.1, 0.2: 0.2, 0.3: 0.3})
    assert agreement.note == ""


def test_pearson_and_spearman_hand_computed():
    # Deviations (-1.5, -.5, .5, 1.5) and (-1.75, -.75, .25, 2.25): r = 6.5 / sqrt(5 * 8.75); same ranks.
    agreement = eta_agreement(torch.tensor([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 5.0]), qs=(0.5,))
    assert agreement.pearson == pytest.approx(6.5 / math.sqrt(43.75))
    assert agreement.spearman == pytest.approx(1.0)
    assert agreement.overlap == {0.5: 1.0}


def test_top_q_overlap_hand_computed():
    a = [0.9, 0.8, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.0]  # top 1/2/3 = {0}, {0,1}, {0,1,8}
    b = [0.8, 0.1, 0.9, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.0]  # top 1/2/3 = {2}, {2,0}, {2,0,8}
    agreement = eta_agreement(a, b)
    assert agreement.overlap == pytest.approx({0.1: 0.0, 0.2: 0.5, 0.3: 2 / 3})


def test_chance_is_the_exact_set_fraction():
    # n = 5: q = 0.1 -> k = 1 (at least one), q = 0.3 -> k = round(1.5) = 2.
    agreement = eta_agreement([1, 2, 3, 4, 5], [1, 2, 3, 5, 4], qs=(0.1, 0.3))
    assert agreement.chance == pytest.approx({0.1: 0.2, 0.3: 0.4})
    assert agreement.overlap == pytest.approx({0.1: 0.0, 0.3: 1.0})
    assert [top_count(5, q) for q in (0.1, 0.3, 1.0)] == [1, 2, 5]


def test_constant_eta_gives_nan_with_a_reason_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agreement = eta_agreement([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    assert math.isnan(agreement.pearson) and math.isnan(agreement.spearman)
    assert "eta_a constant" in agreement.note


def test_to_scalars_keys_and_values():
    scalars = eta_agreement(list(range(1, 11)), list(range(10, 0, -1)), qs=(0.2,)).to_scalars()
    assert scalars == pytest.approx(
        {
            "eta_agreement/n": 10.0,
            "eta_agreement/pearson": -1.0,
            "eta_agreement/spearman": -1.0,
            "eta_agreement/top_0.2/overlap": 0.0,
            "eta_agreement/top_0.2/chance": 0.2,
        }
    )


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "message"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0], {}, "eta_a has 3 entries but eta_b has 2"),
        ([1.0, float("nan"), 3.0], [1.0, 2.0, 3.0], {}, "non-finite"),
        ([1.0], [1.0], {}, "at least 2"),
        ([[1.0, 2.0]], [[1.0, 2.0]], {}, "one-dimensional"),
        ([1.0, 2.0], [2.0, 1.0], {"qs": (0.0,)}, r"q must be a fraction in \(0, 1\]"),
    ],
)
def test_bad_input_is_refused(a, b, kwargs, message):
    with pytest.raises(ValueError, match=message):
        eta_agreement(a, b, **kwargs)


def test_top_fraction_breaks_ties_by_position_and_maps_ids():
    values = [1.0, 3.0, 3.0, 2.0]
    assert top_fraction(values, 0.25).tolist() == [1]
    assert top_fraction(values, 0.5, ids=torch.tensor([10, 11, 12, 13])).tolist() == [11, 12]
    with pytest.raises(ValueError, match="one id per sample"):
        top_fraction(values, 0.5, ids=[1, 2])


def test_set_overlap_hand_computed():
    overlap = set_overlap(torch.tensor([4, 1, 2, 3]), [3, 4, 5])
    assert (overlap.size_a, overlap.size_b, overlap.intersection) == (4, 3, 2)
    assert overlap.jaccard == pytest.approx(2 / 5)
    assert overlap.shared == (3, 4)
    assert overlap.fraction_of_a == pytest.approx(0.5)
    assert overlap.fraction_of_b == pytest.approx(2 / 3)


def test_set_overlap_edge_cases_and_errors():
    empty = set_overlap([], [])
    assert empty.intersection == 0 and math.isnan(empty.jaccard) and math.isnan(empty.fraction_of_a)
    assert set_overlap([1, 2], []).jaccard == 0.0
    with pytest.raises(ValueError, match=r"repeats the id\(s\) \[2\]"):
        set_overlap([1, 2, 2], [1])
    with pytest.raises(TypeError, match="integer sample ids"):
        set_overlap([1.5, 2.0], [1])
