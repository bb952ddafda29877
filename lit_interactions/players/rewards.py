"""Rewards ``v(x_S)``: scalars from the model's outputs on masked samples (docs/conventions.md, "Rewards").

A reward is any callable ``(outputs, target) -> Tensor[k]`` where ``outputs`` are the model's logits
``[k, C]`` (or ``[k]`` / ``[k, 1]`` for a single-logit binary model, or whatever a custom model returns)
and ``target`` is a ``LongTensor[k]`` of classes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

RewardFn = Callable[[Any, Tensor], Tensor]


def _check(logits: Any, target: Tensor, name: str) -> tuple[Tensor, bool]:
    """Validate logits/target; returns ``(logits, single)`` with ``single`` for a one-logit binary model."""
    if not isinstance(logits, Tensor):
        raise TypeError(
            f"reward {name!r} needs a logits tensor, got {type(logits).__name__}; pass reward=<callable> "
            f"for models with other outputs"
        )
    single = logits.dim() == 1 or (logits.dim() == 2 and logits.shape[1] == 1)
    if logits.dim() not in (1, 2) or target.shape != logits.shape[:1]:
        raise ValueError(
            f"{name} expects logits [k, C] and target [k]; got {tuple(logits.shape)} and {tuple(target.shape)}"
        )
    classes = 2 if single else logits.shape[1]
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= classes):
        raise ValueError(f"target classes must be in 0..{classes - 1}, got values {sorted(set(target.tolist()))[:10]}")
    return logits, single


def _signed_logit(logits: Tensor, target: Tensor) -> Tensor:
    """Single-logit binary model: the logit is ``log p1/(1-p1)``; class 0 flips the sign."""
    return logits.reshape(-1) * (2 * target.to(device=logits.device, dtype=logits.dtype) - 1)


def log_odds(logits: Tensor, target: Tensor) -> Tensor:
    """``log p_y / (1 - p_y) = z_y - logsumexp_{j != y} z_j``, computed stably (paper 2 reward).

    Args:
        logits: ``[k, C]`` (C >= 2), or ``[k]`` / ``[k, 1]`` for a single-logit binary model.
        target: ``LongTensor[k]`` class of each row.

    Returns:
        ``[k]`` log-odds of the target class.
    """
    logits, single = _check(logits, target, "log_odds")
    if single:
        return _signed_logit(logits, target)
    target = target.to(logits.device)
    own = logits.gather(1, target[:, None]).squeeze(1)
    is_target = torch.nn.functional.one_hot(target, logits.shape[1]).bool()
    others = logits.masked_fill(is_target, float("-inf"))
    return own - torch.logsumexp(others, dim=1)


def logit(logits: Tensor, target: Tensor) -> Tensor:
    """The target's logit ``z_y`` (single-logit binary model: the logit signed by the class)."""
    logits, single = _check(logits, target, "logit")
    if single:
        return _signed_logit(logits, target)
    return logits.gather(1, target.to(logits.device)[:, None]).squeeze(1)


REWARDS: Mapping[str, RewardFn] = {"log_odds": log_odds, "logit": logit}


def resolve_reward(reward: str | RewardFn) -> RewardFn:
    """A reward function from its name in :data:`REWARDS` or a callable."""
    if callable(reward):
        return reward
    if reward not in REWARDS:
        raise ValueError(
            f"unknown reward {reward!r}; use one of {sorted(REWARDS)} or a callable (outputs, target) -> [k]"
        )
    return REWARDS[reward]


def resolve_target(
    target: int | Tensor | None, batch: Mapping[str, Any], batch_size: int, device: torch.device
) -> Tensor:
    """Per-sample target classes ``LongTensor[B]``: ``batch["labels"]`` by default, or an int / tensor."""
    if target is None:
        if "labels" not in batch:
            raise KeyError("the batch has no 'labels' for the default target; pass target=<int or LongTensor[B]>")
        target = batch["labels"]
    target = torch.as_tensor(target, device=device)
    if target.is_floating_point() or target.is_complex():
        raise TypeError(f"target must hold integer classes, got dtype {target.dtype}")
    target = target.long()
    if target.dim() == 0:
        target = target.expand(batch_size)
    if target.shape != (batch_size,):
        raise ValueError(
            f"target must be an int or a LongTensor[B] with B={batch_size}, got shape {tuple(target.shape)}"
        )
    return target
