"""What the callbacks read from any LightningModule: its network, its logged losses, its per-sample losses.

The protocol (docs/custom_modules.md):

- **network**: the monitor evaluates ``pl_module.interaction_network()`` when the module defines it, else the
  package's classifiers' ``model``, else the module itself; that network maps an input batch (images
  ``[B, C, H, W]``) to logits ``[B, classes]``.
- **losses**: the monitor's train/validation loss per epoch (for the gap-widening epoch) are the values the
  module logs with ``self.log`` under ``train_loss_key`` and ``val_loss_key``; a key that is not logged is an
  error naming it, never a silent gap.
- **per-sample losses** (HardSamples): a module either keeps a ``sample_losses`` recorder (the package's
  classifiers) or returns them from ``training_step`` as ``{"loss": loss, "sample_losses": per_sample}``
  (``[B]``, in the order of ``batch["ids"]``, or with the ids under ``"ids"``): :class:`SampleLossHook` records
  those.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from lightning import LightningModule, Trainer
from torch import Tensor, nn

from lit_interactions.modules.classifier import classifier_network
from lit_interactions.modules.sample_losses import SampleLossRecorder

AUTO = "auto"
AUTO_TRAIN_LOSS = ("train/clean_loss", "train/loss_epoch", "train/loss")  # the package's classifiers' keys


def network_of(pl_module: nn.Module) -> nn.Module:
    """The network the callbacks evaluate: ``interaction_network()`` if the module has it, else the classifier's."""
    hook = getattr(pl_module, "interaction_network", None)
    return hook() if callable(hook) else classifier_network(pl_module)


def logged_loss(trainer: Trainer, key: str | None, option: str, who: str) -> float | None:
    """The value logged under ``key`` (``"auto"``: the first of :data:`AUTO_TRAIN_LOSS`); None for ``key=None``.

    Raises:
        ValueError: when the key is not among the logged values, naming it, the logged keys and the fix.
    """
    if key is None:
        return None
    keys = AUTO_TRAIN_LOSS if key == AUTO else (key,)
    metrics = trainer.callback_metrics
    for name in keys:
        if name in metrics:
            return float(metrics[name])
    logged = ", ".join(sorted(metrics)) or "nothing"
    raise ValueError(
        f"{who}: {option}={key!r} but the module logged no {' or '.join(keys)} (logged: {logged}); set {option} to "
        f"the key your LightningModule logs the loss under with self.log(...), or {option}: null to skip it (no "
        f"train-validation gap then)"
    )


class SampleLossHook:
    """Per-sample training losses from ``training_step``'s outputs, for modules without a ``sample_losses`` recorder.

    Fed by a callback's ``on_train_batch_end`` and closed at each training epoch's end (gathered across ranks),
    it answers :meth:`mean_losses` like the classifiers' recorder.
    """

    def __init__(self, key: str, who: str) -> None:
        self.key = key
        self.who = who
        self.recorder = SampleLossRecorder()

    def record(self, outputs: Any, batch: Any) -> None:
        """Record a training batch's per-sample losses from the step's outputs.

        Raises:
            ValueError: when the outputs have no ``key`` or no ids come with them, naming the fix.
        """
        losses = outputs.get(self.key) if isinstance(outputs, dict) else None
        if losses is None:
            raise ValueError(
                f"{self.who} needs the per-sample training losses: return them from training_step as "
                f"{{'loss': loss, {self.key!r}: per_sample_losses}} (a [B] tensor, reduction='none'), or keep a "
                f"sample_losses recorder on the module as lit_interactions' classifiers do"
            )
        ids = outputs.get("ids") if isinstance(outputs.get("ids"), Tensor) else None
        if ids is None and isinstance(batch, dict):
            ids = batch.get("ids")
        if not isinstance(ids, Tensor) or ids.shape != losses.shape:
            raise ValueError(
                f"{self.who}: the per-sample losses {tuple(losses.shape)} need the samples' ids of the same shape, in "
                f"batch['ids'] (the data protocol's stable sample ids) or in training_step's outputs under 'ids'"
            )
        self.recorder.record(ids, losses)

    def end_epoch(self, pl_module: LightningModule, epoch: int) -> None:
        """Close the epoch with every rank's losses."""
        ids, losses = self.recorder.pending()
        if pl_module.trainer.world_size > 1:
            ids, losses = _gather_ragged(pl_module, ids.to(pl_module.device), losses.to(pl_module.device))
        self.recorder.end_epoch(epoch, ids.cpu(), losses.cpu())

    def mean_losses(self) -> tuple[Tensor, Tensor]:
        """``(ids, loss averaged over the recorded epochs)``."""
        return self.recorder.mean_losses()


def _gather_ragged(module: LightningModule, ids: Tensor, losses: Tensor) -> tuple[Tensor, Tensor]:
    """All-gather per-rank tensors of different lengths (padded to the longest, padding dropped)."""
    sizes = cast(Tensor, module.all_gather(torch.tensor([len(ids)], device=module.device))).flatten()
    pad = int(sizes.max()) - len(ids)
    ids_all = cast(Tensor, module.all_gather(F.pad(ids, (0, pad), value=-1))).reshape(-1)
    losses_all = cast(Tensor, module.all_gather(F.pad(losses, (0, pad)))).reshape(-1)
    keep = ids_all >= 0
    return ids_all[keep], losses_all[keep]
