"""The shared split logic: probe set, halves, subsets, label noise, carved validation split."""

from __future__ import annotations

import numpy as np
import pytest

from lit_interactions.data.errors import DataOptionError
from lit_interactions.data.splits import carve_validation, evaluation_order, plan_splits

IDS = np.arange(1000, 1500)  # ids need not start at 0 (embedded sources keep file rows)
LABELS = IDS % 10


def plan(**options):
    defaults = dict(num_classes=10, split_seed=0, num_probe=50, train_subset=None, train_subset_size=None,
                    relabel_per_class=0, relabel_target=0, source="toy")
    return plan_splits(IDS, LABELS, **{**defaults, **options})


def test_probe_and_halves_partition_the_training_split():
    p = plan()
    assert len(p.probe_ids) == 50 and len(p.halves[0]) == 225 and len(p.halves[1]) == 225
    union = np.concatenate([p.probe_ids, *p.halves])
    assert sorted(union.tolist()) == IDS.tolist()  # disjoint and complete
    assert np.array_equal(p.train_ids, np.sort(np.concatenate(p.halves)))


def test_subsets_are_disjoint_prefixes_of_the_halves():
    s0 = plan(train_subset=0, train_subset_size=100)
    s1 = plan(train_subset=1, train_subset_size=100)
    assert len(s0.train_ids) == 100 and len(s1.train_ids) == 100
    assert not set(s0.train_ids) & set(s1.train_ids)
    assert not (set(s0.train_ids) | set(s1.train_ids)) & set(s0.probe_ids)
    assert set(s0.train_ids) <= set(s0.halves[0]) and set(s1.train_ids) <= set(s1.halves[1])
    assert set(plan(train_subset=0, train_subset_size=50).train_ids) < set(s0.train_ids)  # seeded order, prefix
    assert np.array_equal(plan(train_subset=0).train_ids, s0.halves[0])


def test_deterministic_for_a_seed_and_different_for_another():
    a, b, c = plan(train_subset=0, train_subset_size=80), plan(train_subset=0, train_subset_size=80), plan(
        split_seed=1, train_subset=0, train_subset_size=80)
    assert np.array_equal(a.probe_ids, b.probe_ids) and np.array_equal(a.train_ids, b.train_ids)
    assert not np.array_equal(a.probe_ids, c.probe_ids)
    assert not np.array_equal(a.train_ids, c.train_ids)


def test_probe_set_independent_of_subset_size_and_noise():
    reference = plan().probe_ids
    for options in ({"train_subset": 0}, {"train_subset": 1, "train_subset_size": 7},
                    {"train_subset_size": 300}, {"relabel_per_class": 3, "relabel_target": 4}):
        assert np.array_equal(plan(**options).probe_ids, reference), options


def test_label_noise_counts_and_targets():
    p = plan(relabel_per_class=3, relabel_target=0)
    assert len(p.relabelled_ids) == 27
    assert set(p.relabelled_ids) <= set(p.train_ids)
    positions = np.searchsorted(p.train_ids, p.relabelled_ids)
    assert (p.train_labels[positions] == 0).all()
    true_labels = p.relabelled_ids % 10
    assert np.array_equal(p.original_labels, true_labels)
    assert sorted(np.bincount(true_labels, minlength=10).tolist()) == [0] + [3] * 9
    others = np.setdiff1d(p.train_ids, p.relabelled_ids)
    assert np.array_equal(p.train_labels[np.searchsorted(p.train_ids, others)], others % 10)
    again = plan(relabel_per_class=3, relabel_target=0)
    assert np.array_equal(again.relabelled_ids, p.relabelled_ids)
    assert not np.array_equal(plan(relabel_per_class=3, split_seed=5).relabelled_ids, p.relabelled_ids)


def test_label_noise_only_in_the_chosen_part():
    p = plan(train_subset=1, train_subset_size=120, relabel_per_class=2, relabel_target=7)
    assert len(p.relabelled_ids) == 18 and set(p.relabelled_ids) <= set(p.train_ids)
    assert not set(p.relabelled_ids) & set(p.probe_ids)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_probe": 499}, "num_probe=499 does not fit toy: its training split has 500 samples"),
        ({"train_subset": 0, "train_subset_size": 226}, "train_subset_size=226 does not fit toy: half 0 has 225"),
        ({"train_subset_size": 451}, "the non-probe training data has 450"),
        ({"relabel_per_class": 3, "train_subset_size": 20}, "class 1 has only 2 samples"),
        ({"relabel_target": 10}, "relabel_target=10 is not a class of toy"),
    ],
)
def test_sizes_that_do_not_fit(options, message):
    with pytest.raises(DataOptionError, match=message):
        plan(**options)


def test_carve_validation():
    train, val = carve_validation(IDS, 100, split_seed=3, source="toy")
    assert len(val) == 100 and len(train) == 400 and not set(train) & set(val)
    assert sorted(np.concatenate([train, val]).tolist()) == IDS.tolist()
    assert np.array_equal(val, carve_validation(IDS, 100, 3, "toy")[1])
    assert not np.array_equal(val, carve_validation(IDS, 100, 4, "toy")[1])
    with pytest.raises(DataOptionError, match="num_val=498 does not fit toy: it has 500 samples"):
        carve_validation(IDS, 498, 0, "toy")


def test_evaluation_order_is_a_seeded_permutation_of_the_ids():
    order = evaluation_order(IDS, split_seed=3)
    assert sorted(order.tolist()) == IDS.tolist() and order.dtype == np.int64
    assert not np.array_equal(order, IDS)  # not id order
    assert np.array_equal(order, evaluation_order(IDS, 3))
    assert not np.array_equal(order, evaluation_order(IDS, 4))


def test_carving_too_few_samples_names_the_count_not_a_negative_bound():
    with pytest.raises(DataOptionError, match=r"toy has only 2 samples, too few .* needs at least 4") as info:
        carve_validation(IDS[:2], 1, 0, "toy")
    assert "<= -" not in str(info.value)
