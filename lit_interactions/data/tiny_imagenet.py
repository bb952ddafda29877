"""Tiny-ImageNet (3x64x64, 200 classes) from a local ``tiny-imagenet-200`` folder; JPEGs decoded lazily."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from lit_interactions.data.images import ImageDataModule
from lit_interactions.data.sources import ImageFileSplit, SourceSplit
from lit_interactions.data.tiny_imagenet_files import (
    IMAGE_FORMAT,
    find_tiny_imagenet_folder,
    list_train,
    list_val,
    read_wnids,
)


class TinyImageNetDataModule(ImageDataModule):
    """Tiny-ImageNet images in ``[0, 1]`` (grayscale JPEGs are converted to RGB).

    JPEGs are decoded when their batch loads (decoding 100,000 at setup would be slow), so a corrupt file is
    reported then, as a :class:`~lit_interactions.data.errors.DataFormatError` naming it.

    ``data_dir`` is the ``tiny-imagenet-200`` folder or its parent: ``wnids.txt``,
    ``train/<wnid>/images/*.JPEG``, ``val/images/*.JPEG`` and ``val/val_annotations.txt``. Class index =
    position in the sorted ``wnids.txt`` (as torchvision's ImageFolder orders ``train/``); ``class_names`` are
    the wnids. Train ids = index in the list ordered by class, then file name; the validation split is ``val/``
    with ids = line index in ``val_annotations.txt``. ``num_classes`` = number of wnids (200 for the real set).

    Args:
        data_dir: the ``tiny-imagenet-200`` folder (or its parent).
        augment: random crop (zero padding 8) + horizontal flip of training images; off by default.
        **split_options: batch_size, num_workers, split_seed, num_probe, train_subset, train_subset_size,
            relabel_per_class, relabel_target of :class:`~lit_interactions.data.base.SplitDataModule`.
    """

    image_shape = (3, 64, 64)

    def __init__(
        self,
        data_dir: str,
        augment: bool = False,
        **split_options: Any,
    ) -> None:
        super().__init__(**split_options)
        self.data_dir = data_dir
        self.augment = bool(augment)
        self.dataset_name = "Tiny-ImageNet"

    @cached_property
    def _folder(self) -> Path:
        return find_tiny_imagenet_folder(self.data_dir)

    @cached_property
    def wnids(self) -> list[str]:
        """The sorted wnids; class index = position in this list."""
        return read_wnids(self._folder)

    @property
    def num_classes(self) -> int:
        """Number of wnids (200 for the real dataset)."""
        return len(self.wnids)

    @property
    def class_names(self) -> list[str]:
        """The wnids in class order."""
        return list(self.wnids)

    def _load_splits(self) -> tuple[SourceSplit, SourceSplit]:
        train_paths, train_labels = list_train(self._folder, self.wnids)
        val_paths, val_labels = list_val(self._folder, self.wnids)
        return self._image_split("train", train_paths, train_labels), self._image_split("val", val_paths, val_labels)

    def _image_split(self, name: str, paths: list[Path], labels: list[int]) -> ImageFileSplit:
        """A lazily decoded split whose read errors name the file, the JPEG format and the dataset's origin."""
        ids = np.arange(len(paths))
        size = self.image_shape[1:]
        return ImageFileSplit(name, ids, np.array(labels), paths, size, dataset=self.dataset_name,
                              file_format=IMAGE_FORMAT)
