"""Which of a model's interactions a baseline DNN does not share (paper 2 App. D), for the regularizer.

Both salience thresholds ``tau`` come from probe samples (``probe_samples`` of them), each model on the same
players, not from the few samples of a training step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from lit_interactions.interactions.generalization import non_generalizable_mask
from lit_interactions.interactions.options import SolverOptions
from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.salience import salience_threshold
from lit_interactions.interactions.solver import extract
from lit_interactions.modules.batches import take_rows, usable_rows
from lit_interactions.players import Players, compute_rewards, masked_rewards
from lit_interactions.players.base import eval_mode


class BaselineComparison:
    """The baseline DNN, the probe samples and the non-generalizable masks of a step's interactions.

    Args:
        n_players: players per sample.
        solver: settings of the baseline's decomposition solve.
        salience_ratio: ``tau = salience_ratio * mean |v(x_N) - v(x_empty)|`` over the probe samples.
        probe_samples: probe samples kept by :meth:`attach_probe`.
    """

    def __init__(self, n_players: int, solver: SolverOptions, salience_ratio: float, probe_samples: int) -> None:
        self.n_players, self.solver = n_players, solver
        self.salience_ratio, self.probe_samples = salience_ratio, probe_samples
        self.baseline: nn.Module | None = None
        self.probe: dict[str, Any] | None = None

    def attach_baseline(self, baseline: nn.Module) -> None:
        """Set the baseline DNN that decides which interactions generalize (frozen, eval mode)."""
        baseline.eval().requires_grad_(False)
        self.baseline = baseline

    def attach_probe(self, batch: dict[str, Any]) -> None:
        """Set the probe samples whose rewards give the salience thresholds (only their first ``probe_samples``)."""
        size = len(batch["ids"])
        keep = torch.arange(min(size, self.probe_samples))
        self.probe = {key: take_rows(value, keep, size) for key, value in batch.items()}

    def check(self, remove: str) -> None:
        """Raise before training unless the baseline DNN and the probe samples are attached."""
        if self.baseline is None:
            raise ValueError(
                f"remove={remove!r} needs a baseline DNN: set the classifier's regularizer.baseline to the "
                f"checkpoint of the same model trained on the baseline split (train_subset=1)"
            )
        if self.probe is None:
            raise ValueError(
                f"remove={remove!r} takes its salience thresholds from probe samples: train with a data module "
                f"of lit_interactions.data (it has a probe set), or call attach_probe(batch) first"
            )

    def probe_thresholds(self, model: nn.Module, players: Players) -> tuple[Tensor, Tensor]:
        """``(tau of the model, tau of the baseline)`` on the probe samples, players chosen by ``model`` now.

        ``tau = salience_ratio * mean |v(x_N) - v(x_empty)|`` over the probe samples (paper 2 Eq. 6), each model on
        the same players; only the two end masks are evaluated (no gradients).
        """
        if self.probe is None or self.baseline is None:
            raise RuntimeError("probe_thresholds needs attach_probe(batch) and attach_baseline(model) first")
        rows = usable_rows(self.probe, players, self.n_players)
        if len(rows) < 1:
            raise ValueError(
                f"no probe sample has {self.n_players} eligible players: use fewer n_players or other probe samples"
            )
        device = next(iter(model.parameters()), torch.zeros(())).device
        size = len(self.probe["ids"])
        probe = {key: take_rows(value, rows, size) for key, value in self.probe.items()}
        probe = {key: value.to(device) if torch.is_tensor(value) else value for key, value in probe.items()}
        ends = [0, (1 << self.n_players) - 1]
        with eval_mode(model), torch.no_grad():
            selection = players.select(model, probe)
            main = masked_rewards(model, probe, players, selection, ends)
            base = masked_rewards(self.baseline, probe, players, selection, ends)
        # [B, 2] rewards on (empty, N): salience_threshold reads exactly these two columns.
        return salience_threshold(main, self.salience_ratio), salience_threshold(base, self.salience_ratio)

    def masks(
        self, model: nn.Module, solved: Interactions, batch: dict[str, Tensor], players: Players, selection: Any
    ) -> tuple[Tensor, Tensor]:
        """Boolean ``(AND, OR)`` masks of the model's salient interactions the baseline does not share."""
        assert self.baseline is not None
        base_rewards, _ = compute_rewards(self.baseline, batch, players, selection)
        base = extract(base_rewards.double(), self.solver)
        tau_main, tau_base = self.probe_thresholds(model, players)
        return non_generalizable_mask(solved, base, tau_main.double().cpu(), tau_base.double().cpu())
