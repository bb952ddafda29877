"""The shared base LightningDataModule: seeded probe set, halves, label noise, sample ids, loaders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import lightning as L
from torch.utils.data import default_collate

from lit_interactions.checks import check_int, check_optional_int
from lit_interactions.data.errors import DataOptionError
from lit_interactions.data.serving import SampleServing, SplitName
from lit_interactions.data.sources import SampleDataset, SourceSplit
from lit_interactions.data.splits import SplitPlan, evaluation_order, plan_splits


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Raise :class:`DataOptionError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise DataOptionError(f"{name}={value!r} is not valid: expected one of {', '.join(map(repr, choices))}")


class SplitDataModule(SampleServing, L.LightningDataModule):
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
            ``train_subset=0``; baseline DNN (paper 2 App. I.1): ``train_subset=1``.
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
        check_optional_int("train_subset", train_subset, 0, 1, error=DataOptionError)
        check_optional_int("train_subset_size", train_subset_size, 1, error=DataOptionError)
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
            train.ids, train.labels, num_classes=self.num_classes, split_seed=self.split_seed, num_probe=self.num_probe,
            train_subset=self.train_subset, train_subset_size=self.train_subset_size,
            relabel_per_class=self.relabel_per_class, relabel_target=self.relabel_target, source=self.dataset_name,
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

    def source_split(self, split: SplitName = "train") -> SourceSplit:
        """The whole loaded source split (``"train"`` or ``"val"``) the ids refer to."""
        check_choice("split", split, ("train", "val"))
        self.setup()
        assert self._splits is not None
        return self._splits[split]

