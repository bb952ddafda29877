"""Turn tensors, arrays and sequences into checked float64 numpy arrays, with errors that name the argument."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def as_array(values: Any, name: str) -> np.ndarray:
    """``values`` (tensor, array, nested sequence) as a float64 numpy array, detached and on the CPU."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be numbers (a tensor, array or sequence), got {type(values).__name__}") from error
    return array


def as_vector(values: Any, name: str, *, allow_nan: bool = False, min_length: int = 1) -> np.ndarray:
    """A 1-D float64 array of at least ``min_length`` finite entries (NaN allowed only with ``allow_nan``)."""
    array = as_array(values, name)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one value per sample or epoch), got shape {array.shape}")
    if array.shape[0] < min_length:
        raise ValueError(f"{name} needs at least {min_length} value(s), got {array.shape[0]}")
    bad = np.isinf(array) if allow_nan else ~np.isfinite(array)
    if bad.any():
        raise ValueError(
            f"{name} has {int(bad.sum())} non-finite value(s) (first at index {int(np.argmax(bad))}); "
            f"drop or fill them before the analysis"
        )
    return array


def same_length(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray, what: str) -> None:
    """Raise if two arrays differ in their first dimension."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} has {a.shape[0]} entries but {name_b} has {b.shape[0]}: pass one value per {what}")


def as_epochs(epochs: Any, name: str = "epochs") -> np.ndarray:
    """Epoch numbers as a strictly increasing integer array."""
    array = as_vector(epochs, name)
    if not np.array_equal(array, np.round(array)):
        raise ValueError(f"{name} must be whole numbers (epoch indices), got {array.tolist()}")
    if (np.diff(array) <= 0).any():
        raise ValueError(f"{name} must be strictly increasing (one entry per logged epoch), got {array.tolist()}")
    return array.astype(np.int64)
