"""LightningDataModules with seeded probe set, disjoint halves, label noise and stable sample ids.

Batches are dicts (see ``docs/architecture.md``): images ``{"inputs", "labels", "ids"}`` with inputs in
``[0, 1]``; text ``{"input_ids", "attention_mask", "token_type_ids", "word_ids", "labels", "ids"}``. Every
module exposes ``num_classes``, ``class_names``, ``task``, ``input_shape`` (images), ``probe_dataloader()``,
``probe_ids``, ``train_ids``, ``halves``, ``relabelled_ids`` and ``batch(ids, split)``.

Main model: ``train_subset=0``; baseline DNN (paper 2 App. I.1): ``train_subset=1``, same ``split_seed``.
"""

from lit_interactions.data.base import SplitDataModule
from lit_interactions.data.cifar10 import CIFAR10DataModule
from lit_interactions.data.errors import (
    DataFormatError,
    DataNotFoundError,
    DataOptionError,
)
from lit_interactions.data.images import ImageDataModule
from lit_interactions.data.mnist import MNIST3DataModule
from lit_interactions.data.movie_reviews import MovieReviewsDataModule
from lit_interactions.data.splits import (
    SplitPlan,
    carve_validation,
    evaluation_order,
    plan_splits,
)
from lit_interactions.data.sst2 import SST2DataModule
from lit_interactions.data.text import TextCollator, TextDataModule, load_tokenizer
from lit_interactions.data.tiny_imagenet import TinyImageNetDataModule

__all__ = [
    "CIFAR10DataModule",
    "DataFormatError",
    "DataNotFoundError",
    "DataOptionError",
    "ImageDataModule",
    "MNIST3DataModule",
    "MovieReviewsDataModule",
    "SST2DataModule",
    "SplitDataModule",
    "SplitPlan",
    "TextCollator",
    "TextDataModule",
    "TinyImageNetDataModule",
    "carve_validation",
    "evaluation_order",
    "load_tokenizer",
    "plan_splits",
]
