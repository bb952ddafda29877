"""CIFAR-10 (3x32x32, 10 classes) from a local folder, or foolbox's 20 real test images for smoke runs."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from lit_interactions.checks import check_optional_int
from lit_interactions.data.base import check_choice
from lit_interactions.data.cifar10_files import (
    CIFAR10_CLASSES,
    load_cifar10_folder,
    load_foolbox_cifar10,
)
from lit_interactions.data.errors import DataOptionError
from lit_interactions.data.images import ImageDataModule
from lit_interactions.data.sources import ArrayImageSplit, SourceSplit
from lit_interactions.data.splits import carve_validation

FOOLBOX_NUM_VAL = 4


class CIFAR10DataModule(ImageDataModule):
    """CIFAR-10 images in ``[0, 1]``, class order of the CIFAR-10 site (airplane .. truck).

    Sources:

    - ``source="folder"``: ``data_dir`` holds ``cifar-10-batches-py`` (or is it): ``data_batch_1..5`` and
      ``test_batch``, the python version from the CIFAR-10 site. Never downloaded. Train ids = index in
      batches 1..5 concatenated (0..49999); validation = the test batch (ids 0..9999).
    - ``source="foolbox"``: the 20 real CIFAR-10 test images foolbox ships, for smoke runs only (far too few
      to train anything). A seeded validation split of ``num_val`` (default 4) images is carved off; ids are
      foolbox's image indices 0..19. Use small sizes, e.g. ``num_probe=4``.

    Args:
        data_dir: folder with (or being) ``cifar-10-batches-py``; required for ``source="folder"``.
        source: ``"folder"`` or ``"foolbox"``.
        augment: random crop (zero padding 4) + horizontal flip of training images; off by default.
        num_val: size of the carved validation split (foolbox source only; ``None`` = 4).
        **split_options: batch_size, num_workers, split_seed, num_probe, train_subset, train_subset_size,
            relabel_per_class, relabel_target of :class:`~lit_interactions.data.base.SplitDataModule`.
    """

    image_shape = (3, 32, 32)

    def __init__(
        self,
        data_dir: str | None = None,
        source: Literal["folder", "foolbox"] = "folder",
        augment: bool = False,
        num_val: int | None = None,
        **split_options: Any,
    ) -> None:
        super().__init__(**split_options)
        check_choice("source", source, ("folder", "foolbox"))
        check_optional_int("num_val", num_val, 1, error=DataOptionError)
        if source == "folder" and data_dir is None:
            raise DataOptionError(
                "CIFAR10DataModule(source='folder') needs data_dir: a folder with cifar-10-batches-py/"
                "data_batch_1..5 and test_batch (the python version from the CIFAR-10 site); or use "
                "source='foolbox' for the 20 embedded test images (smoke runs only)"
            )
        if source == "foolbox" and data_dir is not None:
            raise DataOptionError("data_dir is not used with source='foolbox'; pass one or the other")
        if source == "folder" and num_val is not None:
            raise DataOptionError(
                "num_val only applies to source='foolbox'; the folder's test_batch is the validation split"
            )
        self.data_dir = data_dir
        self.source = source
        self.augment = bool(augment)
        self.num_val = FOOLBOX_NUM_VAL if num_val is None else num_val
        self.dataset_name = "CIFAR-10" if source == "folder" else "CIFAR-10 (foolbox's 20 embedded test images)"

    @property
    def num_classes(self) -> int:
        """10."""
        return 10

    @property
    def class_names(self) -> list[str]:
        """The CIFAR-10 class names in label order."""
        return list(CIFAR10_CLASSES)

    def _load_splits(self) -> tuple[SourceSplit, SourceSplit]:
        if self.source == "folder":
            assert self.data_dir is not None
            (train_x, train_y), (val_x, val_y) = load_cifar10_folder(self.data_dir)
            return (
                ArrayImageSplit("train", np.arange(len(train_x)), train_y, train_x),
                ArrayImageSplit("val", np.arange(len(val_x)), val_y, val_x),
            )
        images, labels = load_foolbox_cifar10()
        train_ids, val_ids = carve_validation(np.arange(len(images)), self.num_val, self.split_seed, self.dataset_name)
        return (
            ArrayImageSplit("train", train_ids, labels[train_ids], images[train_ids]),
            ArrayImageSplit("val", val_ids, labels[val_ids], images[val_ids]),
        )
