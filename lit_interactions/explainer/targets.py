"""The ``target`` option of ``explain``: None (the model's prediction), an int, or one int per input."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def given_targets(target: int | Sequence[int] | Tensor, size: int, what: str) -> Tensor:
    """``LongTensor[size]`` from an int or one int per input (``what``: "image", "text").

    Raises:
        ValueError: a float, a wrong length or a negative class.
    """
    value = torch.as_tensor(target)
    if value.is_floating_point() or value.is_complex() or value.dim() > 1 or (value.dim() == 1 and len(value) != size):
        raise ValueError(f"target must be None, an int or one int per {what} ({size}), got {target!r}")
    if bool((value < 0).any()):
        raise ValueError(f"target classes/tokens must be >= 0, got {target!r}")
    return value.long().expand(size).clone()
