"""Writers of small datasets in their real on-disk formats (MNIST IDX, CIFAR pickles, tiny-imagenet-200, TSV)."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
from PIL import Image


def write_idx_ubyte(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped if the name ends in .gz)."""
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, dtype=">i4").tobytes()
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def write_mnist(folder: Path, n_train: int = 60, n_test: int = 20, gz: bool = True, seed: int = 0) -> dict:
    """Four MNIST IDX files with random digits; labels cycle 0..9. Returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "val_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "val_labels": ((np.arange(n_test) * 7) % 10).astype(np.uint8),
    }
    names = {
        "train_images": "train-images-idx3-ubyte",
        "train_labels": "train-labels-idx1-ubyte",
        "val_images": "t10k-images-idx3-ubyte",
        "val_labels": "t10k-labels-idx1-ubyte",
    }
    for key, name in names.items():
        write_idx_ubyte(folder / f"{name}{suffix}", arrays[key])
    return arrays


def write_cifar10(root: Path, per_batch: int = 8, n_test: int = 12, seed: int = 0) -> dict:
    """``root/cifar-10-batches-py`` with 5 training pickles of ``per_batch`` images and a test pickle."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    n_train = 5 * per_batch
    train = rng.integers(0, 256, (n_train, 3072), dtype=np.uint8)
    train_labels = [int(v) for v in np.arange(n_train) % 10]
    test = rng.integers(0, 256, (n_test, 3072), dtype=np.uint8)
    test_labels = [int(v) for v in (np.arange(n_test) * 3) % 10]
    for b in range(5):
        rows = slice(b * per_batch, (b + 1) * per_batch)
        entry = {"batch_label": f"training batch {b + 1} of 5", "data": train[rows], "labels": train_labels[rows]}
        with open(folder / f"data_batch_{b + 1}", "wb") as f:
            pickle.dump(entry, f)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"batch_label": "testing batch 1 of 1", "data": test, "labels": test_labels}, f)
    return {"train": train, "train_labels": np.array(train_labels), "test": test, "test_labels": np.array(test_labels)}


def write_tiny_imagenet(root: Path, wnids: tuple[str, ...] = ("n03", "n01", "n02"), per_class: int = 4,
                        n_val: int = 6, seed: int = 0) -> Path:
    """A ``tiny-imagenet-200`` tree with unsorted wnids.txt, solid-colour JPEGs and val annotations.

    Training image ``k`` of class ``c`` (sorted wnid index) has colour value ``20 * c + 5 * k``; the first
    training image of the last class is grayscale (the real set has some).
    """
    folder = root / "tiny-imagenet-200"
    (folder / "val" / "images").mkdir(parents=True)
    (folder / "wnids.txt").write_text("\n".join(wnids) + "\n")
    for c, wnid in enumerate(sorted(wnids)):
        images = folder / "train" / wnid / "images"
        images.mkdir(parents=True)
        for k in range(per_class):
            value = 20 * c + 5 * k
            mode = "L" if (c == len(wnids) - 1 and k == 0) else "RGB"
            colour = value if mode == "L" else (value, value, value)
            Image.new(mode, (64, 64), colour).save(images / f"{wnid}_{k}.JPEG", quality=100)
    lines = []
    for i in range(n_val):
        wnid = wnids[i % len(wnids)]
        Image.new("RGB", (64, 64), (200, 10 * i, 0)).save(folder / "val" / "images" / f"val_{i}.JPEG", quality=100)
        lines.append(f"val_{i}.JPEG\t{wnid}\t0\t0\t63\t63")
    (folder / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return folder


def sst2_sentence(i: int) -> str:
    """The i-th generated SST-style sentence (already space-tokenized)."""
    words = ["it", "'s", "a", "charming", "and", "often", "affecting", "journey", "unflinchingly", "bleak"]
    return " ".join(words[(i + k) % len(words)] for k in range(3 + i % 6)) + " . "


def write_sst2(root: Path, n_train: int = 30, n_dev: int = 10) -> Path:
    """``root/SST-2`` with train.tsv and dev.tsv in the GLUE format (labels alternate 0, 1)."""
    folder = root / "SST-2"
    folder.mkdir(parents=True)
    for name, n in (("train.tsv", n_train), ("dev.tsv", n_dev)):
        rows = [f"{sst2_sentence(i)}\t{i % 2}" for i in range(n)]
        (folder / name).write_text("sentence\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return folder


def movie_rating(i: int) -> float:
    """Rating of generated line i: cycles through 2.5, -1.2, 0.3, -0.4, 0.9, -3.0."""
    return [2.5, -1.2, 0.3, -0.4, 0.9, -3.0][i % 6]


def write_movie_reviews(path: Path, n: int = 120) -> Path:
    """A file in the real format: ``<id>\\t<rating>\\t<sentence>`` with CRLF endings and no final newline."""
    lines = [f"{i + 1}\t{movie_rating(i)}\tSentence number {i} is ''quite'' good, isn't it?" for i in range(n)]
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    return path
