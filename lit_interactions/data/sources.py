"""Loaded source splits (ids, labels, one sample's input) and the torch Dataset over a chosen set of ids.

A source split is one split of a dataset as it is on disk (e.g. CIFAR-10 train). Its ids are the samples'
indices in that split (for embedded sources without a split: the row in the source file), sorted ascending.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from lit_interactions.data.errors import DataOptionError, bad_format


class SourceSplit:
    """One split of a source: sorted int64 ``ids``, aligned ``labels``, and :meth:`load` of one sample.

    Args:
        name: the split's name, ``"train"`` or ``"val"``.
        ids: sample ids, sorted ascending.
        labels: labels aligned with ``ids``.
    """

    input_key: ClassVar[str] = "inputs"

    def __init__(self, name: str, ids: np.ndarray, labels: np.ndarray) -> None:
        self.name = name
        self.ids = np.asarray(ids, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)
        if len(self.ids) != len(self.labels) or np.any(np.diff(self.ids) <= 0):
            raise ValueError("a source split needs sorted unique ids aligned with its labels")

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Positions of ``ids`` in this split.

        Raises:
            DataOptionError: if an id is not in the split.
        """
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        pos = np.searchsorted(self.ids, ids)
        ok = (pos < len(self.ids)) & (self.ids[np.minimum(pos, len(self.ids) - 1)] == ids)
        if not ok.all():
            bad = ids[~ok][:5].tolist()
            raise DataOptionError(f"sample ids {bad} are not in the {self.name} split ({len(self.ids)} samples)")
        return pos

    def load(self, position: int) -> Any:
        """The input of the sample at ``position`` (an image tensor or a list of words)."""
        raise NotImplementedError


class ArrayImageSplit(SourceSplit):
    """Images held in memory as a uint8 array ``[N, C, H, W]``."""

    def __init__(self, name: str, ids: np.ndarray, labels: np.ndarray, images: np.ndarray) -> None:
        super().__init__(name, ids, labels)
        if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(self.ids):
            raise ValueError("images must be a uint8 array [N, C, H, W] aligned with the ids")
        self.images = images

    def load(self, position: int) -> Tensor:
        """The image at ``position`` as a float tensor ``[C, H, W]`` in ``[0, 1]``."""
        return torch.tensor(self.images[position], dtype=torch.float32) / 255.0


class ImageFileSplit(SourceSplit):
    """Images read lazily from files (JPEG/PNG), converted to RGB, of a fixed size ``(H, W)``.

    Args:
        name: the split's name, ``"train"`` or ``"val"``.
        ids: sample ids, sorted ascending.
        labels: labels aligned with ``ids``.
        paths: image files aligned with ``ids``.
        size: ``(H, W)`` every image must have.
        dataset: dataset name shown in errors.
        file_format: what each file must be and where such files come from, shown in errors.
    """

    def __init__(
        self,
        name: str,
        ids: np.ndarray,
        labels: np.ndarray,
        paths: Sequence[Path],
        size: tuple[int, int],
        *,
        dataset: str = "Image",
        file_format: str = "an RGB image file (JPEG or PNG)",
    ) -> None:
        super().__init__(name, ids, labels)
        if len(paths) != len(self.ids):
            raise ValueError("paths must be aligned with the ids")
        self.paths = list(paths)
        self.size = size
        self.dataset = dataset
        self.file_format = file_format

    def load(self, position: int) -> Tensor:
        """Read the image at ``position`` as a float tensor ``[3, H, W]`` in ``[0, 1]``.

        Raises:
            DataFormatError: if the file cannot be decoded (truncated, corrupt, not an image) or has the wrong size.
        """
        path = self.paths[position]
        array = self._decode(path)
        if array.shape[:2] != self.size:
            problem = f"it is {array.shape[1]}x{array.shape[0]} pixels, not {self.size[1]}x{self.size[0]}"
            raise bad_format(self.dataset, path, problem, self.file_format)
        return torch.from_numpy(array.copy()).permute(2, 0, 1).float() / 255.0

    def _decode(self, path: Path) -> np.ndarray:
        """The RGB pixels of one file as uint8 ``[H, W, 3]``."""
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"), dtype=np.uint8)
        # PIL reports undecodable data as OSError (truncated, unidentified), ValueError or SyntaxError
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            problem = f"it cannot be decoded ({type(e).__name__}: {e})"
            raise bad_format(self.dataset, path, problem, self.file_format) from None


class TextSplit(SourceSplit):
    """Sentences held in memory; a sample's input is its list of whitespace-separated words."""

    input_key: ClassVar[str] = "words"

    def __init__(self, name: str, ids: np.ndarray, labels: np.ndarray, texts: Sequence[str]) -> None:
        super().__init__(name, ids, labels)
        if len(texts) != len(self.ids):
            raise ValueError("texts must be aligned with the ids")
        self.texts = list(texts)

    def load(self, position: int) -> list[str]:
        """The words of the sentence at ``position`` (``str.split()``; ``word_ids`` index this list)."""
        return self.texts[position].split()


class SampleDataset(Dataset):
    """The samples of ``split`` with the given ids, as dicts ``{input_key, "labels", "ids"}``.

    Args:
        split: the source split.
        ids: the sample ids in this dataset (their order is the dataset's order).
        labels: labels aligned with ``ids`` (e.g. after label noise); default: the split's labels.
        transform: applied to each loaded input (e.g. training augmentation).
    """

    def __init__(
        self,
        split: SourceSplit,
        ids: np.ndarray,
        labels: np.ndarray | None = None,
        transform: Callable[[Any], Any] | None = None,
    ) -> None:
        self.split = split
        self.ids = np.asarray(ids, dtype=np.int64)
        self._positions = split.positions(self.ids)
        self.labels = split.labels[self._positions] if labels is None else np.asarray(labels, dtype=np.int64)
        if len(self.labels) != len(self.ids):
            raise ValueError("labels must be aligned with ids")
        self.transform = transform

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        x = self.split.load(int(self._positions[index]))
        if self.transform is not None:
            x = self.transform(x)
        return {
            self.split.input_key: x,
            "labels": torch.tensor(self.labels[index], dtype=torch.long),
            "ids": torch.tensor(self.ids[index], dtype=torch.long),
        }
