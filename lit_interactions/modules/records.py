"""What a classifier records besides its metrics: per-sample training losses, the train-validation loss gap, and the
position of the checkpoint it was evaluated from."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn
from torchmetrics import MeanMetric

from lit_interactions.modules.sample_losses import SampleLossRecorder, gather_ragged


class TrainingRecords(L.LightningModule):
    """Per-sample clean training losses by sample id (kept in checkpoints), ``gap/loss`` and ``checkpoint/*``.

    ``gap/loss`` is the validation loss minus the epoch's mean clean training loss (the overfitting signal, docs/conventions.md "Two-phase dynamics");
    ``checkpoint/epoch`` and ``checkpoint/step`` the position of the checkpoint a validate/test evaluates.

    Subclasses update ``train_loss_mean`` and ``sample_losses`` in their training step.
    """

    def __init__(self) -> None:
        super().__init__()
        self.train_loss_mean = MeanMetric()
        self.sample_losses = SampleLossRecorder()
        self._restored_position: tuple[int, int] | None = None

    def on_fit_start(self) -> None:
        """Forget a resumed checkpoint's position (what a later validate/test in this process evaluates is the
        trained weights, not that checkpoint)."""
        self._restored_position = None

    def on_train_epoch_end(self) -> None:
        ids, losses = self.sample_losses.pending()
        if self.trainer.world_size > 1:
            ids, losses = gather_ragged(self, ids.to(self.device), losses.to(self.device))
        self.sample_losses.end_epoch(self.current_epoch, ids.cpu(), losses.cpu())
        self.train_loss_mean.reset()

    def on_validation_epoch_end(self) -> None:
        if self.trainer.state.fn == TrainerFn.VALIDATING:
            self.log_checkpoint_position()
        if self.trainer.sanity_checking or self.train_loss_mean.update_count == 0:
            return
        val_loss = self.trainer.callback_metrics.get("val/loss")
        if val_loss is not None:
            self.log("gap/loss", val_loss.to(self.device) - self.train_loss_mean.compute(), sync_dist=True)

    def on_test_epoch_end(self) -> None:
        self.log_checkpoint_position()

    @property
    def restored_position(self) -> tuple[int, int] | None:
        """``(epoch, global step)`` of the checkpoint these weights were loaded from for validate/test/predict."""
        return self._restored_position

    def log_checkpoint_position(self) -> None:
        """Log ``checkpoint/epoch`` and ``checkpoint/step`` of the evaluated checkpoint (validate/test with
        ``ckpt_path``), whose rows the trainer itself stamps epoch 0, step 0."""
        if self._restored_position is not None:
            epoch, step = self._restored_position
            self.log_dict({"checkpoint/epoch": float(epoch), "checkpoint/step": float(step)})

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["sample_losses"] = self.sample_losses.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._restored_position = (int(checkpoint.get("epoch", -1)), int(checkpoint.get("global_step", -1)))
        if "sample_losses" in checkpoint:
            self.sample_losses.load_state_dict(checkpoint["sample_losses"])
