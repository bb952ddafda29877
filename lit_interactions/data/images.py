"""Shared base of the image data modules: inputs in ``[0, 1]``, optional crop+flip, images by id."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from torch import Tensor
from torchvision.transforms import v2

from lit_interactions.data.base import SplitDataModule
from lit_interactions.data.serving import SplitName


def crop_flip(height: int, width: int) -> Callable[[Tensor], Tensor]:
    """Random crop after zero padding of 1/8 of the side, then a random horizontal flip (the usual CIFAR recipe)."""
    return v2.Compose(
        [v2.RandomCrop((height, width), padding=max(height, width) // 8), v2.RandomHorizontalFlip()]
    )


class ImageDataModule(SplitDataModule):
    """Images: batches ``{"inputs": float [B, C, H, W] in [0, 1], "labels", "ids"}``, no normalisation.

    Training augmentation is off by default (keeps the interaction analysis honest); subclasses that offer it
    set ``self.augment``.
    """

    task: ClassVar[str] = "image"
    image_shape: ClassVar[tuple[int, int, int]] = (0, 0, 0)
    augment: bool = False

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the inputs."""
        return self.image_shape

    def image(self, sample_id: int, split: SplitName = "train") -> Tensor:
        """The image of a sample as a float tensor ``[C, H, W]`` in ``[0, 1]`` (never augmented)."""
        source = self.source_split(split)
        return source.load(int(source.positions([sample_id])[0]))

    def _train_transform(self) -> Callable[[Tensor], Tensor] | None:
        if not self.augment:
            return None
        _, height, width = self.image_shape
        return crop_flip(height, width)
