"""Which interactions of one sample do K models share, and which are distinctive? (paper 1 Fig. 5)

An interaction (type and subset) is **shared** when it is salient in every model with the same sign; it is
**distinctive** for model ``k`` when it is salient in model ``k`` but not shared. Pure torch, no Lightning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.salient_readings import InteractionRecord
from lit_interactions.interactions.subsets import subset_players


@dataclass(frozen=True)
class SharedInteractions:
    """The shared and distinctive interactions of one sample, strongest first.

    Attributes:
        shared: interactions salient with the same sign in every model; ``effect`` is the mean over models.
        distinctive: per model, its salient interactions that are not shared (its own effect).
        num_shared: number of shared interactions (before keeping the strongest).
        num_salient: per model, its number of salient interactions.
    """

    shared: list[InteractionRecord]
    distinctive: list[list[InteractionRecord]]
    num_shared: int
    num_salient: list[int]


def _records(kind: str, mask: Tensor, effects: Tensor) -> list[InteractionRecord]:
    return [
        InteractionRecord(kind, s, subset_players(s), float(effects[s]))
        for s in torch.nonzero(mask).reshape(-1).tolist()
    ]


def _strongest(records: list[InteractionRecord], k: int) -> list[InteractionRecord]:
    return sorted(records, key=lambda r: (-abs(r.effect), r.kind, r.subset))[:k]


def shared_and_distinctive(models: Interactions, thresholds: Sequence[float] | Tensor | np.ndarray, k: int = 3) -> SharedInteractions:
    """Split one sample's salient interactions of ``K`` models into shared and distinctive ones.

    Args:
        models: one sample's interactions of ``K >= 2`` models, batch shape ``[K]`` (e.g. ``joint[:, b]``).
        thresholds: ``[K]`` salience threshold of each model (its tau).
        k: keep the ``k`` strongest of each list.

    Raises:
        ValueError: if ``models`` is not one sample of ``K >= 2`` models or the thresholds do not match ``K``.
    """
    if len(models.batch_shape) != 1 or models.batch_shape[0] < 2:
        raise ValueError(
            f"give one sample of K >= 2 models (batch shape [K]), got batch shape {tuple(models.batch_shape)}; "
            f"select the sample first, e.g. joint[:, b]"
        )
    n_models = models.batch_shape[0]
    tau = torch.as_tensor(thresholds, dtype=models.and_effects.dtype).reshape(-1)
    if tau.shape[0] != n_models:
        raise ValueError(f"thresholds has {tau.shape[0]} values but there are {n_models} models: one tau per model")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    masks = models.salient(tau)
    shared: list[InteractionRecord] = []
    distinctive: list[list[InteractionRecord]] = [[] for _ in range(n_models)]
    for kind, effects, mask in zip(("AND", "OR"), (models.and_effects, models.or_effects), masks):
        common = (mask & (effects > 0)).all(0) | (mask & (effects < 0)).all(0)
        shared += _records(kind, common, effects.mean(0))
        for model in range(n_models):
            distinctive[model] += _records(kind, mask[model] & ~common, effects[model])
    num_salient = [int(masks[0][m].sum() + masks[1][m].sum()) for m in range(n_models)]
    return SharedInteractions(
        shared=_strongest(shared, k),
        distinctive=[_strongest(records, k) for records in distinctive],
        num_shared=len(shared),
        num_salient=num_salient,
    )
