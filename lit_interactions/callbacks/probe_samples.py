"""Probe samples given to the monitor directly (image tensors or a dataset) instead of found on the data module.

With ``InteractionMonitor(probe={"samples": ...})`` the monitor follows these samples (ids ``0..N-1``, their position) and
needs nothing from the trainer's data module; the model sees ``inputs`` as they are (put any normalisation into
the model, as for the package's own models). Text probe samples need a tokenizer and word ids: give them through a
data module (docs/custom_modules.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

WHO = "InteractionMonitor(probe={'samples': ...})"


@dataclass(frozen=True)
class ProbeSamples:
    """Image probe samples: what the monitor reads from a data module, for samples given as tensors.

    Attributes:
        inputs: ``[N, C, H, W]`` float images, as the network takes them.
        labels: ``[N]`` class indices (the explained class of each sample unless the monitor has ``target_class``).
    """

    inputs: Tensor
    labels: Tensor
    task: str = "image"

    def __post_init__(self) -> None:
        if not isinstance(self.inputs, Tensor) or self.inputs.dim() != 4 or not self.inputs.is_floating_point():
            got = tuple(self.inputs.shape) if isinstance(self.inputs, Tensor) else type(self.inputs).__name__
            raise ValueError(f"{WHO}: inputs must be a float tensor [N, C, H, W] of images, got {got}")
        labels = self.labels
        if not isinstance(labels, Tensor) or labels.dim() != 1 or labels.is_floating_point():
            got = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
            raise ValueError(f"{WHO}: labels must be an integer tensor [N] of class indices, got {got}")
        if len(labels) != len(self.inputs) or len(labels) == 0:
            raise ValueError(
                f"{WHO}: {len(self.inputs)} inputs and {len(labels)} labels; give one label per image (at least one)"
            )

    @classmethod
    def from_value(cls, value: Any) -> ProbeSamples | None:
        """``ProbeSamples`` from ``None`` (use the data module), itself, ``(inputs, labels)`` tensors, or a dataset
        whose items are ``(input, label)`` pairs or dicts with ``"inputs"`` and ``"labels"``.

        Raises:
            ValueError: for anything else, or tensors of the wrong shape.
        """
        if value is None or isinstance(value, ProbeSamples):
            return value
        if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, Tensor) for v in value):
            return cls(value[0], value[1])
        if hasattr(value, "__getitem__") and hasattr(value, "__len__") and not isinstance(value, (str, bytes)):
            items = [value[i] for i in range(len(value))]
            if items and all(isinstance(item, dict) and {"inputs", "labels"} <= item.keys() for item in items):
                pairs: Sequence[Any] = [(item["inputs"], item["labels"]) for item in items]
            elif items and all(isinstance(item, (tuple, list)) and len(item) == 2 for item in items):
                pairs = items
            else:
                pairs = []
            if pairs:
                return cls(torch.stack([torch.as_tensor(x) for x, _ in pairs]),
                           torch.as_tensor([int(y) for _, y in pairs], dtype=torch.long))
        raise ValueError(
            f"{WHO}: cannot read probe samples from a {type(value).__name__}; give (inputs [N, C, H, W], labels [N]) "
            f"tensors, a dataset of (input, label) pairs or of dicts with 'inputs' and 'labels', or leave probe "
            f"unset to use the data module's probe set"
        )

    @property
    def probe_ids(self) -> np.ndarray:
        """The samples' ids: their positions ``0..N-1``."""
        return np.arange(len(self.labels), dtype=np.int64)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the images."""
        return tuple(int(s) for s in self.inputs.shape[1:])  # type: ignore[return-value]

    def batch(self, ids: Sequence[int] | np.ndarray, split: str = "train") -> dict[str, Tensor]:
        """The samples ``ids`` as a batch ``{"inputs", "labels", "ids"}`` (``split`` is ignored: one set)."""
        index = torch.as_tensor(np.asarray(ids, dtype=np.int64))
        if len(index) and (int(index.min()) < 0 or int(index.max()) >= len(self.labels)):
            raise ValueError(f"{WHO}: ids must be positions 0..{len(self.labels) - 1}, got {index.tolist()[:10]}")
        return {"inputs": self.inputs[index], "labels": self.labels[index], "ids": index}
