"""Sparsity curves (paper 1 Fig. 2) and the alpha sweep of the joint extraction (paper 1 App. J).

Fig. 2: per model, the strengths ``|I|`` of all AND-OR interactions of all probe samples, pooled and sorted in
descending order, for three extractions: Harsanyi (``gamma = 0``, no noise: the AND and the OR interactions of
``v / 2``, i.e. the Harsanyi dividends of ``v / 2`` plus their OR counterpart; App. I doubles the Harsanyi
interactions this way so every curve has ``2 (2^n - 1)`` values per sample), the model's own sparsest
interactions and the joint extraction. The empty set (the bias) is left out of every curve.

App. J: the joint extraction repeated for several alphas (``alpha = 1`` separates into one sparsest extraction
per model, ``alpha = 0`` penalises only the largest ``|I|`` over models, Eq. 5); per alpha the transferability
curves and the pooled strength curve of all models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from lit_interactions.interactions import Interactions, SolverOptions, extract_joint, transferability
from lit_interactions.interactions.transform import and_or_transform

KINDS = ("AND", "OR")


def strength_curve(and_effects: torch.Tensor, or_effects: torch.Tensor) -> np.ndarray:
    """``|I|`` of every nonempty AND and OR interaction of ``[..., 2^n]`` effects, pooled, in descending order."""
    pooled = torch.cat([and_effects[..., 1:].reshape(-1), or_effects[..., 1:].reshape(-1)]).abs().double()
    return np.sort(pooled.numpy())[::-1].copy()


def harsanyi_effects(rewards: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """AND and OR effects of ``rewards`` with ``gamma = 0`` and no noise (the Harsanyi baseline, App. I)."""
    return and_or_transform(rewards.double())


def transfer_curves(result: Interactions, ratios: Sequence[float]) -> dict[str, np.ndarray]:
    """``{"AND" | "OR": [R]}`` transferability of a ``[K, B, 2^n]`` result, mean over samples."""
    return {
        kind: transferability(effects, ratios).mean(-1).numpy()
        for kind, effects in zip(KINDS, (result.and_effects, result.or_effects))
    }


@dataclass
class SparsityCurves:
    """Paper 1 Fig. 2: ``{extraction: [K] curves}`` of sorted ``|I|`` (extractions: harsanyi, own, joint)."""

    labels: list[str]
    curves: dict[str, list[np.ndarray]]

    @classmethod
    def from_results(cls, labels: Sequence[str], own: Interactions, joint: Interactions) -> SparsityCurves:
        """The three curves of every model from the stored (own) and the joint ``[K, B, 2^n]`` results."""
        harsanyi_and, harsanyi_or = harsanyi_effects(own.rewards)
        sources = {"harsanyi": (harsanyi_and, harsanyi_or), "own": (own.and_effects, own.or_effects),
                   "joint": (joint.and_effects, joint.or_effects)}
        curves = {name: [strength_curve(a[k], o[k]) for k in range(len(labels))]
                  for name, (a, o) in sources.items()}
        return cls(list(labels), curves)

    def to_json(self) -> dict[str, Any]:
        """``{extraction: {label: sorted |I|}}``."""
        return {name: {label: curve.tolist() for label, curve in zip(self.labels, curves)}
                for name, curves in self.curves.items()}


@dataclass
class AlphaStep:
    """The joint extraction at one alpha (App. J).

    Attributes:
        alpha: the weight of the sum over models.
        transfer: ``{"AND" | "OR": [R]}`` mean transferability over samples.
        strength: sorted ``|I|`` of every model's interactions, pooled over models and samples.
        objective_ratio: total ``|I|`` over the own interactions' total.
        duality_gap_max: the solver's certified relative duality gap.
    """

    alpha: float
    transfer: dict[str, np.ndarray]
    strength: np.ndarray
    objective_ratio: float
    duality_gap_max: float | None

    def to_json(self) -> dict[str, Any]:
        """The step as plain JSON data."""
        return {"alpha": self.alpha, "transferability": {k: v.tolist() for k, v in self.transfer.items()},
                "strength": self.strength.tolist(), "objective_ratio_joint_over_own": self.objective_ratio,
                "duality_gap_max": self.duality_gap_max}


def check_alphas(alphas: Sequence[float]) -> None:
    """Raise ``ValueError`` naming the swept alphas outside ``[0, 1]``."""
    bad = [a for a in alphas if not 0.0 <= a <= 1.0]
    if bad:
        raise ValueError(f"--alpha-sweep values must lie in [0, 1] (Eq. 6 weighs the max by 1 - alpha), got {bad}")


def alpha_sweep(
    own: Interactions, alphas: Sequence[float], ratios: Sequence[float], *, shared_bound: float,
    solver: SolverOptions,
) -> list[AlphaStep]:
    """Run :func:`extract_joint` on the stored rewards at each alpha (App. J), in the given order."""
    check_alphas(alphas)
    steps = []
    for alpha in tqdm(alphas, desc="alpha sweep", leave=False, unit="alpha"):
        joint = extract_joint(own.rewards, solver, alpha=float(alpha), shared_bound=shared_bound)
        gap = joint.settings.get("duality_gap_max")
        steps.append(AlphaStep(
            alpha=float(alpha), transfer=transfer_curves(joint, ratios),
            strength=strength_curve(joint.and_effects, joint.or_effects),
            objective_ratio=float(joint.objective().sum() / own.objective().sum()),
            duality_gap_max=None if gap is None else float(gap),
        ))
    return steps
