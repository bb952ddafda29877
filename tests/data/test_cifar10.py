"""CIFAR10DataModule on generated python-pickle batches and on foolbox's 20 real test images."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from lit_interactions.data import (
    CIFAR10DataModule,
    DataFormatError,
    DataNotFoundError,
    DataOptionError,
)

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
    val_ids = torch.cat([b["ids"] for b in val]).numpy()
    assert val_ids.tolist() == dm.val_dataset.ids.tolist() and sorted(val_ids.tolist()) == list(range(12))
    assert torch.equal(torch.cat([b["inputs"] for b in val]), as_image(arrays["test"][val_ids]))
    assert torch.cat([b["labels"] for b in val]).tolist() == arrays["test_labels"][val_ids].tolist()
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


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (7, r"its 'labels' is of type int, not a list"),
        (None, r"it has no 'labels'"),
        (["cat", "dog", "cat"], r"its 'labels' holds 'cat' \(str\), not only ints"),
        ([1.0, 2.0, 3.0], r"its 'labels' holds 1.0 \(float\), not only ints"),
        (np.zeros((3, 1), dtype=np.int64), r"its 'labels' is an array of int64 with shape \(3, 1\), not 1-D ints"),
        (np.array(["1", "2", "3"]), r"its 'labels' is an array of <U1 with shape \(3,\), not 1-D ints"),
        ([0, 1], r"it has 2 labels for 3 images"),
        ([0, 10, 2**70], r"it has labels outside 0..9 \(10..1180591620717411303424\)"),
        (np.array([3, -1, 2], dtype=np.int16), r"it has labels outside 0..9 \(-1..-1\)"),
    ],
)
def test_bad_labels_in_a_batch_are_a_format_error(tmp_path, labels, message):
    write_cifar10(tmp_path)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({"data": np.zeros((3, 3072), dtype=np.uint8), "labels": labels}, f)
    expected = rf"CIFAR-10 file .*test_batch is malformed: {message}\. Expected a python pickle of a dict"
    with pytest.raises(DataFormatError, match=expected):
        CIFAR10DataModule(data_dir=str(tmp_path), num_probe=2).setup()


def test_label_arrays_and_tuples_of_ints_are_accepted(tmp_path):
    write_cifar10(tmp_path, n_test=3)
    for labels in (np.array([9, 0, 4], dtype=np.uint8), (9, 0, 4)):
        with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
            pickle.dump({"data": np.zeros((3, 3072), dtype=np.uint8), "labels": labels}, f)
        dm = CIFAR10DataModule(data_dir=str(tmp_path), num_probe=2)
        assert dm.source_split("val").labels.tolist() == [9, 0, 4]
