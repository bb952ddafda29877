"""GLUE SST-2 from local TSV files (``train.tsv``, ``dev.tsv``; header ``sentence<TAB>label``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lit_interactions.data.errors import bad_format, not_found, read_text_lines
from lit_interactions.data.sources import SourceSplit, TextSplit
from lit_interactions.data.text import TextDataModule

EXPECTED = "SST-2/train.tsv and dev.tsv (tab-separated, header 'sentence\\tlabel')"
ORIGIN = "They come from SST-2.zip of the GLUE benchmark (gluebenchmark.com), extracted"
TSV_FORMAT = "a header 'sentence\\tlabel' then one 'sentence<TAB>0 or 1' line per sample, UTF-8"


def find_sst2_folder(data_dir: str | Path) -> Path:
    """The folder with ``train.tsv`` and ``dev.tsv``: ``data_dir`` itself or its ``SST-2`` child.

    Raises:
        DataNotFoundError: if the folder or one of the two files is missing.
    """
    root = Path(data_dir)
    folder = root / "SST-2" if not (root / "train.tsv").exists() and (root / "SST-2").is_dir() else root
    if not folder.is_dir():
        raise not_found("SST-2", root, EXPECTED, ORIGIN)
    missing = [name for name in ("train.tsv", "dev.tsv") if not (folder / name).is_file()]
    if missing:
        raise not_found("SST-2", folder, EXPECTED, ORIGIN, missing)
    return folder


def read_sst2_tsv(path: Path) -> tuple[list[str], np.ndarray]:
    """Read one GLUE SST-2 TSV file into sentences and int64 labels (sample id = data row index).

    Raises:
        DataFormatError: on a wrong header, no data rows, a wrong number of fields, a label not 0/1 or an
            empty sentence.
    """
    lines = read_text_lines("SST-2", path, TSV_FORMAT)
    header = lines[0].split("\t") if lines else []
    if "sentence" not in header or "label" not in header:
        raise bad_format("SST-2", path, f"its header is {lines[0][:60]!r}" if lines else "it is empty", TSV_FORMAT)
    text_col, label_col = header.index("sentence"), header.index("label")
    sentences: list[str] = []
    labels: list[int] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header) or fields[label_col].strip() not in ("0", "1") or not fields[text_col].strip():
            problem = f"line {number} ({line[:60]!r}) is not a sentence with label 0 or 1"
            raise bad_format("SST-2", path, problem, TSV_FORMAT)
        sentences.append(fields[text_col].strip())
        labels.append(int(fields[label_col]))
    if not sentences:
        raise bad_format("SST-2", path, f"there are no data rows in {path.name}, only the header", TSV_FORMAT)
    return sentences, np.array(labels, dtype=np.int64)


class SST2DataModule(TextDataModule):
    """GLUE SST-2 sentences (label 1 = positive); validation/test = ``dev.tsv`` (GLUE's test has no labels).

    Train ids = data row index in ``train.tsv`` (0..67348), validation ids = data row index in ``dev.tsv``.

    Args:
        data_dir: the GLUE ``SST-2`` folder (or its parent) with ``train.tsv`` and ``dev.tsv``.
        **text_options: tokenizer, max_length of :class:`~lit_interactions.data.text.TextDataModule` and
            batch_size, num_workers, split_seed, num_probe, train_subset, train_subset_size, relabel_per_class,
            relabel_target of :class:`~lit_interactions.data.base.SplitDataModule`.
    """

    def __init__(
        self,
        data_dir: str,
        **text_options: Any,
    ) -> None:
        super().__init__(**text_options)
        self.data_dir = data_dir
        self.dataset_name = "SST-2"

    def _load_splits(self) -> tuple[SourceSplit, SourceSplit]:
        folder = find_sst2_folder(self.data_dir)
        train_text, train_labels = read_sst2_tsv(folder / "train.tsv")
        val_text, val_labels = read_sst2_tsv(folder / "dev.tsv")
        return (
            TextSplit("train", np.arange(len(train_text)), train_labels, train_text),
            TextSplit("val", np.arange(len(val_text)), val_labels, val_text),
        )
