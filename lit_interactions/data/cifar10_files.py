"""Readers of CIFAR-10: the python-pickle batches of the CIFAR-10 site, and foolbox's 20 embedded test images.

torchvision's ``CIFAR10(download=False)`` reads the same pickles but insists on the md5 sums of the official
files, so it cannot read subsets or regenerated batches; the format is parsed here with pickle and numpy.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lit_interactions.checks import is_int
from lit_interactions.data.embedded import package_file
from lit_interactions.data.errors import bad_format, not_found

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
BATCHES_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
EXPECTED = f"{BATCHES_DIR}/data_batch_1..5 and test_batch"
ORIGIN = "These are the python version of CIFAR-10 from the CIFAR-10 site (cifar-10-python.tar.gz, extracted)"
BATCH_FORMAT = (
    "a python pickle of a dict with 'data' (uint8 array [N, 3072], rows of R, G, B planes) and 'labels' (N ints 0..9)"
)
FOOLBOX_PATTERN = re.compile(r"cifar10_(\d{2})_(\d)\.png")


def find_cifar10_folder(data_dir: str | Path) -> Path:
    """The ``cifar-10-batches-py`` folder: ``data_dir`` itself or its child of that name.

    Raises:
        DataNotFoundError: if the folder or one of the six batch files is missing.
    """
    root = Path(data_dir)
    folder = root if root.name == BATCHES_DIR or (root / TRAIN_BATCHES[0]).is_file() else root / BATCHES_DIR
    if not folder.is_dir():
        raise not_found("CIFAR-10", root, EXPECTED, ORIGIN)
    missing = [name for name in [*TRAIN_BATCHES, TEST_BATCH] if not (folder / name).is_file()]
    if missing:
        raise not_found("CIFAR-10", folder, EXPECTED, ORIGIN, missing)
    return folder


# What a CIFAR-10 batch pickle may name: numpy arrays and dtypes (under numpy 1 and 2 module names). Any other
# global (a function that runs a command, say) is refused before it is looked up, so reading a batch runs no code.
ALLOWED_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that builds only plain containers and numpy arrays (see :data:`ALLOWED_GLOBALS`)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"it names {module}.{name}, which a CIFAR-10 batch never does (only numpy arrays are read; "
                f"nothing in the file is run)"
            )
        return super().find_class(module, name)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one pickled batch as ``(images uint8 [N, 3, 32, 32], labels int64 [N])``.

    Raises:
        DataFormatError: if the file is not such a pickle.
    """
    try:
        with open(path, "rb") as f:
            entry: Any = _ArrayUnpickler(f, encoding="latin1").load()
    except Exception as e:  # unpickling garbage can raise almost anything
        problem = f"it is not a readable pickle ({type(e).__name__}: {e})"
        raise bad_format("CIFAR-10", path, problem, BATCH_FORMAT) from None
    if not isinstance(entry, dict):
        raise bad_format("CIFAR-10", path, f"it holds a {type(entry).__name__}, not a dict", BATCH_FORMAT)
    data = entry.get("data", entry.get(b"data"))
    labels = entry.get("labels", entry.get(b"labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise bad_format("CIFAR-10", path, f"its 'data' is {type(data).__name__} with shape {shape}", BATCH_FORMAT)
    return data.reshape(-1, 3, 32, 32), _check_labels(labels, len(data), path)


def _check_labels(labels: Any, count: int, path: Path) -> np.ndarray:
    """The batch's labels as int64 ``[count]``.

    Raises:
        DataFormatError: unless ``labels`` is a 1-D list, tuple or array of ``count`` ints in 0..9.
    """
    if isinstance(labels, np.ndarray):
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            problem = f"its 'labels' is an array of {labels.dtype} with shape {labels.shape}, not 1-D ints"
            raise bad_format("CIFAR-10", path, problem, BATCH_FORMAT)
    elif isinstance(labels, (list, tuple)):
        wrong = next((v for v in labels if not is_int(v)), None)
        if wrong is not None:
            problem = f"its 'labels' holds {wrong!r} ({type(wrong).__name__}), not only ints"
            raise bad_format("CIFAR-10", path, problem, BATCH_FORMAT)
    else:
        problem = f"its 'labels' is of type {type(labels).__name__}, not a list"
        if labels is None:
            problem = "it has no 'labels'"
        raise bad_format("CIFAR-10", path, problem, BATCH_FORMAT)
    if len(labels) != count:
        raise bad_format("CIFAR-10", path, f"it has {len(labels)} labels for {count} images", BATCH_FORMAT)
    outside = [int(v) for v in labels if not 0 <= v <= 9]  # checked before int64 conversion, which could overflow
    if outside:
        problem = f"it has labels outside 0..9 ({min(outside)}..{max(outside)})"
        raise bad_format("CIFAR-10", path, problem, BATCH_FORMAT)
    return np.asarray(labels, dtype=np.int64)


def load_cifar10_folder(data_dir: str | Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Read the training batches (concatenated in order 1..5) and the test batch."""
    folder = find_cifar10_folder(data_dir)
    parts = [read_cifar_batch(folder / name) for name in TRAIN_BATCHES]
    train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return train, read_cifar_batch(folder / TEST_BATCH)


def _read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def load_foolbox_cifar10() -> tuple[np.ndarray, np.ndarray]:
    """foolbox's 20 real CIFAR-10 test images ``cifar10_<ii>_<label>.png`` as ``(uint8 [20, 3, 32, 32], labels)``."""
    folder = package_file("foolbox", "data", dataset="CIFAR-10 (foolbox samples)")
    matches = [m for p in folder.iterdir() if (m := FOOLBOX_PATTERN.fullmatch(p.name))]
    files = sorted((int(m[1]), int(m[2]), folder / m[0]) for m in matches)
    if [index for index, _, _ in files] != list(range(20)):
        raise not_found("CIFAR-10 (foolbox samples)", folder, "cifar10_00_<label>.png .. cifar10_19_<label>.png",
                        "These ship with the PyPI package foolbox 3.x; reinstall it")
    images = np.stack([_read_rgb(path) for _, _, path in files])
    return images.transpose(0, 3, 1, 2).copy(), np.array([label for _, label, _ in files], dtype=np.int64)
