"""One-step projected gradient descent (L-inf) adversarial examples for adversarial training (Madry et al. 2018)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


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
