"""Input normalisation as a model layer, so that models take pixel-space inputs in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class Normalize(nn.Module):
    """Subtract a per-channel mean and divide by a per-channel std (buffers, not parameters).

    Keeping normalisation inside the model keeps inputs in pixel space, where PGD's ``eps = 4/255`` and the
    zero baseline of image players are defined.
    """

    mean: Tensor  # buffers registered in __init__
    std: Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        if len(mean) != len(std):
            raise ValueError(f"mean has {len(mean)} channels but std has {len(std)}; give one value per channel")
        if any(s <= 0 for s in std):
            raise ValueError(f"std must be positive per channel, got {list(std)}")
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.mean.shape[1]:
            raise ValueError(
                f"input has {x.shape[1]} channels but the model normalises {self.mean.shape[1]}; "
                f"set the model's in_channels/mean/std to match the data"
            )
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)


def make_normalize(in_channels: int, mean: Sequence[float] | None, std: Sequence[float] | None) -> nn.Module:
    """A :class:`Normalize` layer, or identity when neither mean nor std is given."""
    if mean is None and std is None:
        return nn.Identity()
    mean = list(mean) if mean is not None else [0.0] * in_channels
    std = list(std) if std is not None else [1.0] * in_channels
    if len(mean) == 1 and in_channels > 1:
        mean, std = mean * in_channels, std * in_channels
    if len(mean) != in_channels:
        raise ValueError(f"mean/std have {len(mean)} channels but in_channels={in_channels}")
    return Normalize(mean, std)
