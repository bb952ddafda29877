"""Per-sample training loss by sample id, per epoch: what hard-sample analysis (paper 2 App. I.6) needs."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


class SampleLossRecorder:
    """Collects the training loss of every sample id during an epoch and keeps one row per finished epoch.

    Rows are aligned to :attr:`ids`, the sorted union of all ids seen so far, so the history costs one float per
    sample per epoch; a sample not trained on in an epoch (a partial epoch, ``limit_train_batches``, a sample first
    seen later) has NaN there. :meth:`mean_losses` averages over the epochs that saw each sample.
    """

    def __init__(self) -> None:
        self.ids: Tensor | None = None
        self.epochs: list[int] = []
        self.losses: list[Tensor] = []
        self._pending_ids: list[Tensor] = []
        self._pending_losses: list[Tensor] = []

    def record(self, ids: Tensor, losses: Tensor) -> None:
        """Add the per-sample losses of one training batch."""
        self._pending_ids.append(ids.detach().to("cpu", torch.long))
        self._pending_losses.append(losses.detach().to("cpu", torch.float32))

    def pending(self) -> tuple[Tensor, Tensor]:
        """Ids and losses recorded since the last finished epoch (for gathering across processes)."""
        if not self._pending_ids:
            return torch.empty(0, dtype=torch.long), torch.empty(0)
        return torch.cat(self._pending_ids), torch.cat(self._pending_losses)

    def end_epoch(self, epoch: int, ids: Tensor | None = None, losses: Tensor | None = None) -> None:
        """Close an epoch with the recorded (or given, e.g. gathered) ids and losses; a sample seen twice is averaged."""
        if ids is None or losses is None:
            ids, losses = self.pending()
        self._pending_ids, self._pending_losses = [], []
        if ids.numel() == 0:
            return
        unique, inverse = torch.unique(ids, return_inverse=True)
        sums = torch.zeros(len(unique)).index_add_(0, inverse, losses.float())
        counts = torch.zeros(len(unique)).index_add_(0, inverse, torch.ones_like(losses, dtype=torch.float32))
        row = sums / counts
        if self.ids is None:
            self.ids = unique
        elif not torch.equal(unique, self.ids):
            merged = torch.unique(torch.cat([self.ids, unique]))
            if len(merged) > len(self.ids):
                self.losses = [_align(self.ids, old, merged) for old in self.losses]
                self.ids = merged
            row = _align(unique, row, self.ids)
        if epoch in self.epochs:  # an epoch replayed after a resume replaces its earlier row
            index = self.epochs.index(epoch)
            self.losses[index] = row
        else:
            self.epochs.append(epoch)
            self.losses.append(row)

    def mean_losses(self) -> tuple[Tensor, Tensor]:
        """``(ids, loss averaged over recorded epochs)``; empty tensors before the first epoch ends."""
        if self.ids is None or not self.losses:
            return torch.empty(0, dtype=torch.long), torch.empty(0)
        return self.ids, torch.stack(self.losses).nanmean(0)

    def state_dict(self) -> dict[str, Any]:
        return {"ids": self.ids, "epochs": list(self.epochs), "losses": list(self.losses)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.ids = state["ids"]
        self.epochs = list(state["epochs"])
        self.losses = list(state["losses"])
        self._pending_ids, self._pending_losses = [], []


def _align(ids: Tensor, values: Tensor, onto: Tensor) -> Tensor:
    """``values`` (aligned to sorted ``ids``) placed on the sorted superset ``onto``, NaN where an id is absent."""
    aligned = torch.full((len(onto),), float("nan"))
    aligned[torch.searchsorted(onto, ids)] = values
    return aligned


def gather_ragged(module: Any, ids: Tensor, losses: Tensor) -> tuple[Tensor, Tensor]:
    """All-gather per-rank ids and losses of different lengths through a LightningModule's ``all_gather``."""
    size = torch.tensor([len(ids)], device=ids.device)
    sizes = module.all_gather(size).flatten()
    pad = int(sizes.max()) - len(ids)
    ids_all = module.all_gather(F.pad(ids, (0, pad), value=-1))
    losses_all = module.all_gather(F.pad(losses, (0, pad)))
    keep = ids_all.reshape(-1) >= 0
    return ids_all.reshape(-1)[keep], losses_all.reshape(-1)[keep]
