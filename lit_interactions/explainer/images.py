"""Rewards of K image classifiers on the same images and the same patch players (chosen on the first model)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from lit_interactions.explainer.targets import given_targets
from lit_interactions.players import (
    ImagePatchPlayers,
    Players,
    PlayerSelection,
    compute_rewards,
    eval_mode,
)
from lit_interactions.players.base import as_logits, model_device


@dataclass(frozen=True)
class ImageRewards:
    """Rewards ``[K, B, 2^n]`` of K models, the players (chosen on the first model) and the targets ``[K, B]``."""

    rewards: Tensor
    selection: PlayerSelection
    targets: Tensor
    settings: dict[str, Any]


def image_batch(inputs: Tensor) -> tuple[dict[str, Tensor], bool]:
    """The dict batch the players expect for an image ``[C, H, W]`` or a batch ``[B, C, H, W]``, and whether
    a single image was given.

    Raises:
        TypeError: not a floating tensor.
        ValueError: wrong number of dimensions, empty, or NaN/inf values.
    """
    if not isinstance(inputs, Tensor) or not inputs.is_floating_point():
        kind = f"a {inputs.dtype} tensor" if isinstance(inputs, Tensor) else type(inputs).__name__
        raise TypeError(
            f"images must be a float tensor [C, H, W] or [B, C, H, W], got {kind}; convert integer pixels with "
            f"x.float() / 255 (or torchvision.transforms.v2.functional.to_dtype(x, torch.float32, scale=True))"
        )
    single = inputs.dim() == 3
    if inputs.dim() not in (3, 4) or inputs.numel() == 0:
        raise ValueError(f"images must be [C, H, W] or [B, C, H, W] and non-empty, got shape {tuple(inputs.shape)}")
    if not bool(torch.isfinite(inputs).all()):
        raise ValueError("the images contain NaN or infinite values; explain finite inputs")
    batch = inputs.unsqueeze(0) if single else inputs
    return {"inputs": batch, "ids": torch.arange(len(batch))}, single


def image_rewards(
    models: Sequence[nn.Module],
    batch: dict[str, Tensor],
    players: Players,
    *,
    target: int | Sequence[int] | Tensor | None,
    chunk_size: int,
    progress: bool,
) -> ImageRewards:
    """Rewards of every model on all masks of every image; the players are chosen on the first model."""
    size = len(batch["ids"])
    selection: PlayerSelection | None = None
    rewards, targets = [], []
    for model in models:
        wanted = predicted_classes(model, batch["inputs"]) if target is None else given_targets(target, size, "image")
        value, selection = compute_rewards(model, batch, players, selection, target=wanted, chunk_size=chunk_size,
                                           progress=progress)
        rewards.append(value.double().cpu())
        targets.append(wanted.cpu())
    assert selection is not None
    settings: dict[str, Any] = {"players": players.settings()}
    if isinstance(players, ImagePatchPlayers):
        features = players.features(models[0], batch["inputs"][:1].to(model_device(models[0])))
        settings["feature_hw"] = list(features.shape[-2:])
    return ImageRewards(torch.stack(rewards), selection, torch.stack(targets), settings)


def predicted_classes(model: nn.Module, inputs: Tensor) -> Tensor:
    """``LongTensor[B]``: the class each image is predicted as (argmax of the unmasked logits)."""
    device = model_device(model)
    with eval_mode(model), torch.no_grad():
        logits = as_logits(model(inputs.to(device) if device is not None else inputs))
    if not isinstance(logits, Tensor) or logits.dim() != 2:
        raise ValueError(
            f"target=None takes the predicted class from logits [B, C], but the model returned "
            f"{getattr(logits, 'shape', type(logits).__name__)}; pass target=<class>"
        )
    return logits.argmax(dim=1)


def patch_players(
    n_players: int, baseline: str | Tensor | None, layer: str | None, grid: int, crop: Any
) -> ImagePatchPlayers:
    """The image players of :func:`lit_interactions.explain`, ``"zero"`` baseline by default."""
    return ImagePatchPlayers(n_players, grid=grid, layer=layer, crop=crop,
                             baseline="zero" if baseline is None else baseline)
