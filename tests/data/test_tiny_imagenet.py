"""TinyImageNetDataModule on a generated tiny-imagenet-200 tree with 3 wnids and a few JPEGs."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from lit_interactions.data import (
    DataFormatError,
    DataNotFoundError,
    TinyImageNetDataModule,
)

from .fakes import write_tiny_imagenet


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return write_tiny_imagenet(tmp_path_factory.mktemp("tiny"), per_class=4, n_val=6)


def test_classes_ids_and_pixels(tree):
    dm = TinyImageNetDataModule(data_dir=str(tree.parent), num_probe=2, batch_size=4)
    assert dm.num_classes == 3 and dm.class_names == ["n01", "n02", "n03"]  # sorted wnids, not file order
    dm.setup()
    assert dm.input_shape == (3, 64, 64) and len(dm.train_dataset) == 10 and len(dm.val_dataset) == 6
    batch = dm.batch(list(range(12)))
    assert batch["inputs"].shape == (12, 3, 64, 64)
    assert batch["labels"].tolist() == [0] * 4 + [1] * 4 + [2] * 4  # ordered by class, then file name
    # training image k of class c is a solid colour 20c + 5k (JPEG, so allow rounding)
    expected = torch.tensor([20 * c + 5 * k for c in range(3) for k in range(4)], dtype=torch.float32) / 255
    assert torch.allclose(batch["inputs"].mean(dim=(1, 2, 3)), expected, atol=2 / 255)
    assert torch.equal(batch["inputs"][8, 0], batch["inputs"][8, 2])  # grayscale JPEG converted to RGB
    val = next(iter(dm.val_dataloader()))
    annotated = [2, 0, 1, 2, 0, 1]  # labels in annotation order: wnids n03, n01, n02 cycle
    assert val["ids"].tolist() == dm.val_dataset.ids[:4].tolist()
    assert val["labels"].tolist() == [annotated[i] for i in val["ids"].tolist()]
    assert abs(float(dm.image(5, "val")[1].mean()) - 50 / 255) < 2 / 255


def test_subsets_and_augmentation(tree):
    dm = TinyImageNetDataModule(data_dir=str(tree), num_probe=2, train_subset=1, train_subset_size=3, augment=True)
    assert len(dm.train_ids) == 3 and not set(dm.train_ids) & set(dm.probe_ids)
    assert dm.train_dataset[0]["inputs"].shape == (3, 64, 64)
    assert dm.probe_dataset.transform is None and dm.train_dataset.transform is not None


def test_missing_and_malformed(tree, tmp_path):
    expected = r"Tiny-ImageNet not found at .*: expected tiny-imagenet-200/wnids.txt, train/<wnid>/images"
    with pytest.raises(DataNotFoundError, match=expected):
        TinyImageNetDataModule(data_dir=str(tmp_path / "none")).setup()
    copy = shutil.copytree(tree, tmp_path / "tiny-imagenet-200")
    (copy / "val" / "val_annotations.txt").unlink()
    with pytest.raises(DataNotFoundError, match=r"\(missing: val/val_annotations.txt\).*tiny-imagenet-200.zip"):
        TinyImageNetDataModule(data_dir=str(tmp_path)).setup()
    (copy / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn99\t0\t0\t1\t1\n")
    with pytest.raises(DataFormatError, match=r"val_annotations.txt is malformed: line 1 .* has no known wnid"):
        TinyImageNetDataModule(data_dir=str(tmp_path)).setup()
    (copy / "val" / "val_annotations.txt").write_text("val_9.JPEG\tn01\t0\t0\t1\t1\n")
    with pytest.raises(DataNotFoundError, match=r"missing: val_9.JPEG"):
        TinyImageNetDataModule(data_dir=str(tmp_path)).setup()
    shutil.rmtree(copy / "train" / "n02")
    with pytest.raises(DataNotFoundError, match=r"missing: train/n02/images/\*.JPEG"):
        TinyImageNetDataModule(data_dir=str(tmp_path)).setup()


def test_wrong_image_size_is_reported_with_its_path(tree, tmp_path):
    copy = shutil.copytree(tree, tmp_path / "tiny-imagenet-200")
    Image.new("RGB", (32, 32)).save(copy / "val" / "images" / "val_0.JPEG")
    dm = TinyImageNetDataModule(data_dir=str(copy), num_probe=2)
    with pytest.raises(DataFormatError, match=r"val_0.JPEG is malformed: it is 32x32 pixels, not 64x64"):
        dm.image(0, "val")


def truncated_jpeg(path, seed=0):
    """Replace ``path`` by the first 60 % of a noisy 64x64 JPEG (a download cut short)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG", quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 5])


def test_corrupt_jpeg_is_reported_with_its_file_format_and_origin(tree, tmp_path):
    copy = shutil.copytree(tree, tmp_path / "tiny-imagenet-200")
    truncated_jpeg(copy / "train" / "n02" / "images" / "n02_1.JPEG")  # class 1, image 1: train id 5
    (copy / "val" / "images" / "val_3.JPEG").write_bytes(b"\x00not a jpeg at all" * 10)
    dm = TinyImageNetDataModule(data_dir=str(copy), num_probe=0, batch_size=12)
    dm.setup()  # lazy: setup decodes nothing
    position = dm.train_dataset.ids.tolist().index(5)
    expected = (r"Tiny-ImageNet file .*n02_1.JPEG is malformed: it cannot be decoded \(OSError: .*\)\. "
                r"Expected a 64x64 RGB JPEG from tiny-imagenet-200 .* tiny-imagenet-200.zip of the Tiny ImageNet")
    with pytest.raises(DataFormatError, match=expected):
        dm.train_dataset[position]
    with pytest.raises(DataFormatError, match=r"val_3.JPEG is malformed: it cannot be decoded \(UnidentifiedImage"):
        next(iter(dm.val_dataloader()))
    assert dm.train_dataset[dm.train_dataset.ids.tolist().index(4)]["inputs"].shape == (3, 64, 64)  # others load


def test_non_utf8_wnids_and_annotations(tree, tmp_path):
    copy = shutil.copytree(tree, tmp_path / "tiny-imagenet-200")
    (copy / "wnids.txt").write_bytes(b"\xff\xd8\xff\xe0 binary \x89\x00")
    expected = r"wnids.txt is malformed: it is not UTF-8 text .*Expected one WordNet id \(n01443537\) per line"
    with pytest.raises(DataFormatError, match=expected):
        TinyImageNetDataModule(data_dir=str(copy)).num_classes
    shutil.copy(tree / "wnids.txt", copy / "wnids.txt")
    (copy / "val" / "val_annotations.txt").write_bytes(b"val_0.JPEG\tn01\t\xe9\xff\n")
    with pytest.raises(DataFormatError, match=r"val_annotations.txt is malformed: it is not UTF-8 text"):
        TinyImageNetDataModule(data_dir=str(copy), num_probe=2).setup()
