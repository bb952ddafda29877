"""Balanced accuracy as a torchmetrics Metric: the mean recall over the classes present in the targets."""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric


class BalancedAccuracy(Metric):
    """Mean per-class recall over the classes that occur in the targets (sklearn's ``balanced_accuracy_score``).

    torchmetrics' macro accuracy differs when a class is predicted but absent from the targets (it then counts that
    class with recall 0), which happens with ``limit_val_batches`` or with many classes; here such a class is left out.
    States are per-class sums, so the value is exact across batches and processes.
    """

    full_state_update = False
    correct: Tensor  # states registered by add_state
    support: Tensor

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.add_state("correct", default=torch.zeros(num_classes), dist_reduce_fx="sum")
        self.add_state("support", default=torch.zeros(num_classes), dist_reduce_fx="sum")

    def update(self, logits: Tensor, target: Tensor) -> None:
        """Add a batch: ``logits`` ``[B, C]`` (or predicted classes ``[B]``) and ``target`` ``[B]``."""
        predicted = logits.argmax(-1) if logits.dim() > 1 else logits
        ones = torch.ones_like(target, dtype=self.support.dtype)
        self.support.index_add_(0, target, ones)
        self.correct.index_add_(0, target, (predicted == target).to(self.correct.dtype))

    def compute(self) -> Tensor:
        present = self.support > 0
        if not bool(present.any()):
            return torch.tensor(float("nan"), device=self.support.device)
        return (self.correct[present] / self.support[present]).mean()
