"""Input checks of the public math entries: one clear error instead of a deep traceback or silently wrong numbers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lit_interactions.interactions.subsets import n_players_from_length


def check_subset_vector(value: Any, name: str) -> Tensor:
    """``value`` if it is a finite real floating tensor ``[..., 2^n]`` (values over the ``2^n`` subsets).

    Raises:
        TypeError: not a tensor (a scalar, a list, an array), or an integer, boolean or complex tensor.
        ValueError: a scalar tensor, a last dimension that is not ``2^n``, or NaN / infinite entries.
    """
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor [..., 2^n] over the 2^n subsets, got {type(value).__name__}; convert "
            f"with torch.as_tensor(x, dtype=torch.float64)"
        )
    if value.is_complex() or not value.is_floating_point():
        raise TypeError(
            f"{name} must be a real floating tensor, got {value.dtype}; convert with .double() or .float() "
            f"(rewards are real numbers such as log-odds)"
        )
    if value.dim() < 1:
        raise ValueError(f"{name} must have a last dimension of length 2^n over the subsets, got a scalar tensor")
    n_players_from_length(value.shape[-1])
    if value.numel():
        finite = torch.isfinite(value)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            first = tuple(int(i) for i in (~finite).nonzero()[0].tolist())
            raise ValueError(
                f"{name} hold {bad} NaN or infinite values (the first at index {first}); the model outputs must be "
                f"finite: check the model and the reward (log-odds of a probability of exactly 0 or 1 is infinite)"
            )
    return value


def check_real(name: str, value: Any) -> float:
    """``value`` as a float if it is a finite real number (not a bool).

    Raises:
        TypeError / ValueError: naming the option and its value.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return number
