"""Interaction-removal regularisation (paper 2 App. D): penalise non-generalizable interactions while training.

Every ``every_n_steps`` training steps (after ``warmup_steps``), a few samples of the training batch are masked on
``n`` players, their rewards on all ``2^n`` masks are computed *with* gradients, the AND-OR decomposition
``(gamma, noise)`` is solved on the detached rewards and held fixed, and the effects to remove are penalised:

- ``remove="high_order"``: effects of order ``>= min_order`` (complex interactions);
- ``remove="non_generalizable"``: the model's salient interactions that a baseline DNN (trained on held-out data)
  does not share (salient with the same sign), paper 2 App. D; both salience thresholds ``tau`` come from the probe
  samples (``probe_samples`` of them, attached by :meth:`InteractionRegularizer.attach_probe`), not from the few
  samples of a step; App. D gives no loss formula, so the share below is this project's choice;
- ``remove="both"``: the union.

The penalty of a sample is the L1 strength of those effects divided by the L1 strength of all its effects, so it is the
share of removable strength in ``[0, 1]`` and ``weight`` needs no tuning to the scale of the logits. By default
(``scale_invariant=True``) the whole ratio is differentiated, so only moving strength from removable to other effects
lowers it; ``scale_invariant=False`` detaches the denominator (an L1 penalty on the removable effects only: other
effects get no gradient), which the model can also lower by shrinking all its sensitivity to the input.
For word players only samples with at least ``n_players`` eligible words are drawn (a step without any is skipped).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import Tensor, nn

from lit_interactions.interactions.options import SolverOptions
from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.solver import extract
from lit_interactions.interactions.subsets import subset_orders
from lit_interactions.interactions.transform import and_or_transform
from lit_interactions.modules.baseline_comparison import BaselineComparison
from lit_interactions.modules.batches import seeded_rows
from lit_interactions.players import (
    Players,
    masked_rewards,
)
from lit_interactions.players.base import eval_mode
from lit_interactions.players.options import PlayerOptions

RemovalTarget = Literal["high_order", "non_generalizable", "both"]
DEFAULT_PLAYERS = PlayerOptions(n_players=8)


class InteractionRegularizer:
    """Penalty on the interactions to remove, differentiable through the model.

    Args:
        weight: factor of the penalty added to the training loss.
        remove: which effects to penalise: "high_order", "non_generalizable" (needs ``baseline``) or "both".
        min_order: lowest penalised order for "high_order".
        num_samples: samples of each training batch the penalty looks at.
        players: how players are chosen (:class:`~lit_interactions.players.options.PlayerOptions`; ``2^n`` masked
            forwards with gradients per sample: keep ``n_players`` small); its ``seed`` also seeds the per-step
            choice of samples.
        every_n_steps: apply the penalty on every n-th training step.
        warmup_steps: no penalty before this many training steps.
        solver: settings of the decomposition solve (:class:`~lit_interactions.interactions.options.SolverOptions`).
        salience_ratio: salience threshold ratio for the baseline comparison (docs/conventions.md, "Salience, eta, H").
        probe_samples: probe samples whose rewards set both thresholds ``tau`` of the baseline comparison.
        scale_invariant: differentiate the denominator (all strength) too (default), so scaling the rewards down
            does not lower the penalty; False detaches it (a plain L1 penalty on the removable effects).
    """

    def __init__(
        self,
        weight: float = 0.1,
        remove: RemovalTarget = "high_order",
        min_order: int = 3,
        num_samples: int = 2,
        players: PlayerOptions = DEFAULT_PLAYERS,
        every_n_steps: int = 1,
        warmup_steps: int = 0,
        solver: SolverOptions = SolverOptions(),  # noqa: B008 - frozen, so a shared default is safe
        salience_ratio: float = 0.02,
        scale_invariant: bool = True,
        probe_samples: int = 32,
    ) -> None:
        self.options = PlayerOptions.from_value(players)
        self.solver = SolverOptions.from_value(solver)
        n_players = self.options.n_players
        if remove not in ("high_order", "non_generalizable", "both"):
            raise ValueError(f"remove must be 'high_order', 'non_generalizable' or 'both', got {remove!r}")
        if weight < 0 or num_samples < 1 or every_n_steps < 1 or warmup_steps < 0 or probe_samples < 2:
            raise ValueError(
                "need weight >= 0, num_samples >= 1, every_n_steps >= 1, warmup_steps >= 0, probe_samples >= 2; got "
                f"weight={weight}, num_samples={num_samples}, every_n_steps={every_n_steps}, "
                f"warmup_steps={warmup_steps}, probe_samples={probe_samples}"
            )
        if not 1 <= min_order <= n_players:
            raise ValueError(f"min_order must be in 1..n_players={n_players}, got {min_order}")
        self.weight, self.remove, self.min_order, self.num_samples = weight, remove, min_order, num_samples
        self.n_players, self.layer, self.seed = n_players, self.options.layer, self.options.seed
        self.every_n_steps, self.warmup_steps, self.scale_invariant = every_n_steps, warmup_steps, scale_invariant
        self.comparison = BaselineComparison(n_players, self.solver, salience_ratio, probe_samples)

    def attach_baseline(self, baseline: nn.Module) -> None:
        """Set the baseline DNN that decides which interactions generalize (frozen, eval mode)."""
        self.comparison.attach_baseline(baseline)

    def attach_probe(self, batch: dict[str, Any]) -> None:
        """Set the probe samples whose rewards give the salience thresholds (only their first ``probe_samples``)."""
        self.comparison.attach_probe(batch)

    def check(self) -> None:
        """Raise before training if the configuration cannot work."""
        if self.remove != "high_order":
            self.comparison.check(self.remove)

    def active(self, step: int) -> bool:
        """Whether the penalty applies at this global training step."""
        return self.weight > 0 and step >= self.warmup_steps and (step - self.warmup_steps) % self.every_n_steps == 0

    def players(self, task: str, tokenizer: Any = None) -> Players:
        """The player type for a data task."""
        return self.options.build(task, tokenizer)

    def penalty(
        self, model: nn.Module, batch: dict[str, Tensor], players: Players, step: int
    ) -> tuple[Tensor, dict[str, float]]:
        """``(weighted penalty, log values)`` on ``num_samples`` samples of ``batch``; differentiable in ``model``.

        Log values: ``regularizer/share`` (removable share of strength, mean over the samples),
        ``regularizer/samples`` (samples used; 0 = skipped, no eligible sample) and ``regularizer/seconds``.
        """
        start = time.perf_counter()
        sub = seeded_rows(batch, players, self.n_players, self.num_samples, self.seed * 1_000_003 + step)
        if sub is None:
            zero = torch.zeros((), device=batch["ids"].device)
            return zero, {"regularizer/samples": 0.0, "regularizer/seconds": time.perf_counter() - start}
        with eval_mode(model), torch.no_grad():
            selection = players.select(model, sub)
        rewards = masked_rewards(model, sub, players, selection)
        solved = extract(rewards.detach().double(), self.solver)
        and_eff, or_eff = and_or_transform(
            rewards, solved.gamma.to(rewards.dtype), solved.noise.to(rewards.dtype)
        )
        and_mask, or_mask = self._removal_masks(model, solved, sub, players, selection, rewards)
        share = _removable_share(and_eff, or_eff, and_mask, or_mask, self.scale_invariant)
        logs = {
            "regularizer/share": float(share.detach()),
            "regularizer/samples": float(len(sub["ids"])),
            "regularizer/seconds": time.perf_counter() - start,
        }
        return self.weight * share, logs

    def _removal_masks(
        self, model: nn.Module, solved: Interactions, batch: dict[str, Tensor], players: Players, selection: Any,
        rewards: Tensor,
    ) -> tuple[Tensor, Tensor]:
        """Float ``(AND, OR)`` masks of the effects to remove (``remove``), in the rewards' dtype and device."""
        high = (subset_orders(solved.n_players, rewards.device) >= self.min_order).to(rewards.dtype).expand_as(rewards)
        if self.remove == "high_order":
            return high, high
        unshared = self.comparison.masks(model, solved, batch, players, selection)
        non_and, non_or = (mask.to(device=rewards.device, dtype=rewards.dtype) for mask in unshared)
        if self.remove == "non_generalizable":
            return non_and, non_or
        return torch.maximum(non_and, high), torch.maximum(non_or, high)


def _removable_share(and_eff: Tensor, or_eff: Tensor, and_mask: Tensor, or_mask: Tensor, scale_invariant: bool) -> Tensor:
    """Mean over samples of the removable share of strength; ``scale_invariant`` differentiates the total too."""
    ones = torch.ones_like(and_eff)
    total = (_strength(and_eff, ones) + _strength(or_eff, ones)).clamp_min(1e-12)
    total = total if scale_invariant else total.detach()
    return ((_strength(and_eff, and_mask) + _strength(or_eff, or_mask)) / total).mean()


def _strength(effects: Tensor, mask: Tensor, dead_zone: float = 1e-3) -> Tensor:
    """``sum(mask * |effects|)`` whose gradient ignores effects the solve left at (numerically) zero.

    At the sparse optimum most effects are zero up to the solver's tolerance; the subgradient of ``|x|`` at 0 is
    taken as 0 there (instead of the sign of round-off), so only the interactions that exist are pushed down.
    """
    values = effects.detach()
    alive = values.abs() > dead_zone * values.abs().amax(-1, keepdim=True)
    return (effects * torch.sign(values) * alive * mask).sum(-1)


PenaltyFn = Callable[[nn.Module, dict[str, Tensor], Players, int], tuple[Tensor, dict[str, float]]]
