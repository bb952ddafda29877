"""Write what ``lit-interactions predict`` computes into the run directory, one row per sample."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from lightning import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter

from lit_interactions.io.atomic import atomic_write_text


class PredictionCSVWriter(BasePredictionWriter):
    """Write ``predictions_epoch<E>_step<S>.csv`` (the checkpoint's epoch and step; ``predictions.csv`` when unknown;
    ``_rank<r>`` added per process under DDP) into the run directory: ``id, label, predicted, prob_0 ..
    prob_{C-1}`` for every sample of the predict loader, written atomically.

    The rows come from the classifier modules' ``predict_step`` (``ids``, ``labels``, ``probs``).
    """

    def __init__(self) -> None:
        super().__init__(write_interval="epoch")

    def write_on_epoch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        predictions: Sequence[Any],
        batch_indices: Sequence[Any] | None,
    ) -> None:
        log_dir = Path(trainer.log_dir or ".")  # every process asks: it is broadcast
        batches = predictions[0] if predictions and isinstance(predictions[0], list) else predictions  # one loader
        if not batches:
            return
        ids = torch.cat([b["ids"] for b in batches]).tolist()
        labels = torch.cat([b["labels"] for b in batches]).tolist()
        probs = torch.cat([b["probs"] for b in batches]).float()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "label", "predicted", *(f"prob_{c}" for c in range(probs.shape[1]))])
        for sample_id, label, predicted, row in zip(ids, labels, probs.argmax(1).tolist(), probs.tolist()):
            writer.writerow([sample_id, label, predicted, *(f"{p:.6g}" for p in row)])
        position = getattr(pl_module, "restored_position", None)
        name = "predictions" if position is None else f"predictions_epoch{position[0]}_step{position[1]}"
        rank = "" if trainer.world_size == 1 else f"_rank{trainer.global_rank}"
        path = log_dir / f"{name}{rank}.csv"
        atomic_write_text(path, out.getvalue())
        print(f"Predictions of {len(ids)} samples written to {path}", flush=True)  # each process its own file
