"""One-step projected gradient descent (L-inf) adversarial examples for adversarial training (Madry et al. 2018)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from lit_interactions.checks import check_int
from lit_interactions.modules.parts import TrainingPart


def pgd_attack(
    loss_fn: Callable[[Tensor], Tensor],
    inputs: Tensor,
    eps: float = 4 / 255,
    alpha: float = 4 / 255,
    steps: int = 1,
) -> Tensor:
    """L-inf PGD from the clean inputs, in pixel space ``[0, 1]``.

    Args:
        loss_fn: maps a batch of inputs to the scalar loss to increase.
        inputs: clean inputs in ``[0, 1]``.
        eps: radius of the L-inf ball (paper 2: 4/255).
        alpha: step size (paper 2: 4/255).
        steps: number of steps (paper 2: 1).

    Returns:
        Detached adversarial inputs within ``eps`` of ``inputs`` and within ``[0, 1]``.
    """
    if eps < 0 or alpha <= 0 or steps < 1:
        raise ValueError(f"PGD needs eps >= 0, alpha > 0 and steps >= 1; got eps={eps}, alpha={alpha}, steps={steps}")
    adv = inputs.detach().clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        (grad,) = torch.autograd.grad(loss_fn(adv), adv)
        with torch.no_grad():
            adv = adv + alpha * grad.sign()
            adv = torch.min(torch.max(adv, inputs - eps), inputs + eps).clamp_(0.0, 1.0)
    return adv.detach()


@contextmanager
def frozen_norm_statistics(model: nn.Module) -> Iterator[None]:
    """Restore every batch norm's running statistics on exit, so auxiliary forward passes in train mode (the
    clean-loss pass and the attack of adversarial training) leave them as one ordinary training step would."""
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    saved = [{name: buffer.clone() for name, buffer in m.named_buffers(recurse=False)} for m in norms]
    try:
        yield
    finally:
        with torch.no_grad():
            for module, buffers in zip(norms, saved):
                for name, value in buffers.items():
                    getattr(module, name).copy_(value)


class AdversarialTraining(TrainingPart):
    """Train on L-inf PGD examples instead of clean inputs (paper 2 App. I.1: one step of 4/255); image models only.

    ``train/loss`` is then the adversarial loss; the clean loss of the same samples (computed with the batch norms'
    statistics left as one ordinary step would) is what the gap and the per-sample losses use.

    Args:
        eps: PGD radius in pixel space (paper: 4/255).
        alpha: PGD step size (paper: 4/255).
        steps: PGD steps (paper: 1).
    """

    def __init__(self, eps: float = 4 / 255, alpha: float = 4 / 255, steps: int = 1) -> None:
        check_int("steps", steps, 1, error=ValueError, who="AdversarialTraining: ")
        if not eps >= 0 or not alpha > 0:
            raise ValueError(f"AdversarialTraining: needs eps >= 0 and alpha > 0, got eps={eps}, alpha={alpha}")
        self.eps, self.alpha, self.steps = float(eps), float(alpha), int(steps)

    def attach(self, module: Any) -> None:
        """Refuse a text classifier (PGD perturbs pixels)."""
        if getattr(module, "task", "image") != "image":
            raise ValueError("AdversarialTraining perturbs image inputs; a text classifier cannot use it")

    def training_loss(self, module: Any, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """``(adversarial loss, adversarial logits, clean per-sample loss)``."""
        model, inputs, labels = module.model, batch["inputs"], batch["labels"]
        with frozen_norm_statistics(model):
            with torch.no_grad():
                clean_per_sample = F.cross_entropy(model(inputs), labels, reduction="none")
            with torch.enable_grad():
                adv = pgd_attack(
                    lambda x: F.cross_entropy(model(x), labels), inputs, eps=self.eps, alpha=self.alpha, steps=self.steps
                )
        logits = model(adv)
        return F.cross_entropy(logits, labels), logits, clean_per_sample

    def init_args(self) -> dict[str, Any]:
        return {"eps": self.eps, "alpha": self.alpha, "steps": self.steps}
