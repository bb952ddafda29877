"""CIFAR10DataModule on generated python-pickle batches and on foolbox's 20 real test images."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from lit_interactions.data import CIFAR10DataModule, DataFormatError, DataNotFoundError, DataOptionError

from .fakes import write_cifar10


def as_image(rows: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rows.reshape(-1, 3, 32, 32).astype(np.float32) / 255)


def test_pickle_batches_load_with_ids(tmp_path):
    arrays = write_cifar10(tmp_path, per_batch=8, n_test=12)
    dm = CIFAR10DataModule(data_dir=str(tmp_path), num_probe=6, batch_size=10)
    dm.setup()
    assert dm.num_classes == 10 and dm.input_shape == (3, 32, 32) and dm.class_names[3] == "cat"
    assert len(dm.train_dataset) == 34 and len(dm.probe_dataset) == 6 and len(dm.val_dataset) == 12
    batch = next(iter(dm.train_dataloader()))
    ids = batch["ids"].numpy()
    assert batch["inputs"].shape == (10, 3, 32, 32)
    assert torch.equal(batch["inputs"], as_image(arrays["train"][ids]))  # ids index batches 1..5 concatenated
    assert batch["labels"].tolist() == arrays["train_labels"][ids].tolist()
    assert not set(ids) & set(dm.probe_ids)
    val = list(dm.test_dataloader())
    assert torch.cat([b["ids"] for b in val]).tolist() == list(range(12))
    assert torch.equal(torch.cat([b["inputs"] for b in val]), as_image(arrays["test"]))
    assert torch.equal(dm.image(11, "val"), as_image(arrays["test"][11:12])[0])


def test_batches_folder_itself_is_accepted(tmp_path):
    write_cifar10(tmp_path)
    dm = CIFAR10DataModule(data_dir=str(tmp_path / "cifar-10-batches-py"), num_probe=2)
    assert len(dm.source_split("train")) == 40


def test_augmentation_only_on_training_samples(tmp_path):
    write_cifar10(tmp_path)
    dm = CIFAR10DataModule(data_dir=str(tmp_path), num_probe=4, augment=True)
    torch.manual_seed(0)
    sample_id = int(dm.train_ids[0])
    augmented = [dm.train_dataset[0]["inputs"] for _ in range(8)]
    assert all(x.shape == (3, 32, 32) and 0 <= x.min() and x.max() <= 1 for x in augmented)
    assert any(not torch.equal(x, dm.image(sample_id)) for x in augmented)
    probe_item = dm.probe_dataset[0]
    assert torch.equal(probe_item["inputs"], dm.image(int(probe_item["ids"])))


def test_foolbox_smoke_source():
    dm = CIFAR10DataModule(source="foolbox", num_probe=4, batch_size=32, train_subset=0)
    dm.setup()
    train, val = dm.source_split("train"), dm.source_split("val")
    assert len(train) == 16 and len(val) == 4 and sorted([*train.ids, *val.ids]) == list(range(20))
    assert len(dm.train_ids) == 6 and len(dm.halves[1]) == 6
    batch = dm.batch(train.ids)
    assert batch["inputs"].shape == (16, 3, 32, 32) and float(batch["inputs"].max()) <= 1.0
    # foolbox's cifar10_00_3.png is a cat (label 3), cifar10_01_8.png a ship
    ids, labels = np.concatenate([train.ids, val.ids]), np.concatenate([train.labels, val.labels])
    labels = dict(zip(ids.tolist(), labels.tolist()))
    assert labels[0] == 3 and labels[1] == 8 and labels[19] == 6
    with pytest.raises(DataOptionError, match=r"num_probe=200 does not fit CIFAR-10 \(foolbox.*choose num_probe <= 14"):
        CIFAR10DataModule(source="foolbox").setup()


def test_missing_folder_missing_file_malformed_file(tmp_path):
    expected = r"CIFAR-10 not found at .*: expected cifar-10-batches-py/data_batch_1..5 and test_batch.*python version"
    with pytest.raises(DataNotFoundError, match=expected):
        CIFAR10DataModule(data_dir=str(tmp_path / "nothing")).setup()
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DataNotFoundError, match=r"\(missing: data_batch_4\)"):
        CIFAR10DataModule(data_dir=str(tmp_path)).setup()
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").write_text("not a pickle")
    with pytest.raises(DataFormatError, match=r"data_batch_4 is malformed: it is not a readable pickle"):
        CIFAR10DataModule(data_dir=str(tmp_path)).setup()
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_4", "wb") as f:
        pickle.dump({"data": np.zeros((3, 1024), dtype=np.uint8), "labels": [0, 1, 2]}, f)
    with pytest.raises(DataFormatError, match=r"its 'data' is ndarray with shape \(3, 1024\)"):
        CIFAR10DataModule(data_dir=str(tmp_path)).setup()


def test_bad_options(tmp_path):
    with pytest.raises(DataOptionError, match="source='imagenet' is not valid: expected one of 'folder', 'foolbox'"):
        CIFAR10DataModule(data_dir=str(tmp_path), source="imagenet")
    with pytest.raises(DataOptionError, match=r"source='folder'\) needs data_dir"):
        CIFAR10DataModule()
    with pytest.raises(DataOptionError, match="data_dir is not used with source='foolbox'"):
        CIFAR10DataModule(data_dir=str(tmp_path), source="foolbox")
    write_cifar10(tmp_path)
    with pytest.raises(DataOptionError, match="train_subset_size=20 does not fit CIFAR-10: half 1 has 18"):
        CIFAR10DataModule(data_dir=str(tmp_path), num_probe=4, train_subset=1, train_subset_size=20).setup()
