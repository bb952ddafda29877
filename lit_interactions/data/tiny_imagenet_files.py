"""Listing of a local ``tiny-imagenet-200`` folder: class ids, training and validation image files.

Class index = position of the wnid in the *sorted* ``wnids.txt`` (the order torchvision's ImageFolder gives
``train/``; the file itself is not sorted). Train ids = index in the list ordered by class, then file name;
validation ids = line index in ``val/val_annotations.txt``.
"""

from __future__ import annotations

from pathlib import Path

from lit_interactions.data.errors import bad_format, not_found, read_text_lines

FOLDER = "tiny-imagenet-200"
EXPECTED = (
    f"{FOLDER}/wnids.txt, train/<wnid>/images/*.JPEG, val/images/*.JPEG and val/val_annotations.txt"
)
ORIGIN = "They come from tiny-imagenet-200.zip of the Tiny ImageNet challenge (Stanford CS231n), extracted"
ANNOTATIONS_FORMAT = "tab-separated lines '<file name>\\t<wnid>\\t<x0>\\t<y0>\\t<x1>\\t<y1>' with wnids from wnids.txt"
WNIDS_FORMAT = "one WordNet id (n01443537) per line"
IMAGE_FORMAT = f"a 64x64 RGB JPEG from {FOLDER} (grayscale ones are converted). {ORIGIN}"
IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}


def find_tiny_imagenet_folder(data_dir: str | Path) -> Path:
    """The ``tiny-imagenet-200`` folder: ``data_dir`` itself or its child of that name.

    Raises:
        DataNotFoundError: if the folder or one of its top-level entries is missing.
    """
    root = Path(data_dir)
    folder = root if (root / "wnids.txt").is_file() or not (root / FOLDER).is_dir() else root / FOLDER
    if not folder.is_dir():
        raise not_found("Tiny-ImageNet", root, EXPECTED, ORIGIN)
    entries = ["wnids.txt", "train", "val/images", "val/val_annotations.txt"]
    missing = [entry for entry in entries if not (folder / entry).exists()]
    if missing:
        raise not_found("Tiny-ImageNet", folder, EXPECTED, ORIGIN, missing)
    return folder


def read_wnids(folder: Path) -> list[str]:
    """The sorted class wnids of ``wnids.txt`` (class index = position in this list)."""
    path = folder / "wnids.txt"
    wnids = [line.strip() for line in read_text_lines("Tiny-ImageNet", path, WNIDS_FORMAT) if line.strip()]
    if not wnids or len(set(wnids)) != len(wnids):
        raise bad_format("Tiny-ImageNet", path, "it is empty or repeats a wnid", WNIDS_FORMAT)
    return sorted(wnids)


def list_train(folder: Path, wnids: list[str]) -> tuple[list[Path], list[int]]:
    """Training image paths and labels, ordered by class index, then file name."""
    paths: list[Path] = []
    labels: list[int] = []
    for label, wnid in enumerate(wnids):
        images_dir = folder / "train" / wnid / "images"
        files: list[Path] = []
        if images_dir.is_dir():
            files = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise not_found("Tiny-ImageNet", folder, EXPECTED, ORIGIN, [f"train/{wnid}/images/*.JPEG"])
        paths += files
        labels += [label] * len(files)
    return paths, labels


def list_val(folder: Path, wnids: list[str]) -> tuple[list[Path], list[int]]:
    """Validation image paths and labels in the line order of ``val/val_annotations.txt``."""
    path = folder / "val" / "val_annotations.txt"
    index = {wnid: i for i, wnid in enumerate(wnids)}
    paths: list[Path] = []
    labels: list[int] = []
    for number, line in enumerate(read_text_lines("Tiny-ImageNet", path, ANNOTATIONS_FORMAT), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in index:
            problem = f"line {number} ({line[:60]!r}) has no known wnid in field 2"
            raise bad_format("Tiny-ImageNet", path, problem, ANNOTATIONS_FORMAT)
        paths.append(folder / "val" / "images" / fields[0])
        labels.append(index[fields[1]])
    if not paths:
        raise bad_format("Tiny-ImageNet", path, "it has no annotation lines", ANNOTATIONS_FORMAT)
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise not_found("Tiny-ImageNet", folder / "val" / "images", "every image named in val_annotations.txt",
                        ORIGIN, missing[:5] + ([f"... {len(missing) - 5} more"] if len(missing) > 5 else []))
    return paths, labels
