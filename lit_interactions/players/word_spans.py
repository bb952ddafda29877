"""Words of raw text and the tokens of each word, for any fast tokenizer (models with different tokenizers share them).

A word is a run of letters/digits (with inner apostrophes or hyphens: ``don't``, ``Knowles-Carter``) or a run of
punctuation (``,``, ``."``): punctuation marks are words of their own and never players (they are not eligible).
Words come from the text alone, so two models with different tokenizers have the same words, indexed alike.

Each token belongs to the word holding its first non-space character (its offsets in the text); a token with no
such character (a lone ``Ġ``/``▁`` space token) belongs to the word that starts right after it. Special tokens
(BOS, ``[CLS]``) belong to no word (``-1``). A token covering the end of one word and the start of the next
(``s.`` in ``sings.``) belongs to the first; the second then has no token of its own and cannot be a player.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

WORD_PATTERN = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]+")


def split_words(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the words of ``text``, in order."""
    return [match.span() for match in WORD_PATTERN.finditer(text)]


def token_word_ids(
    text: str,
    spans: Sequence[tuple[int, int]],
    offsets: Sequence[tuple[int, int]],
    special: Sequence[int],
) -> list[int]:
    """The word index of every token (``-1`` for special tokens and tokens outside every word).

    Args:
        text: the text that was tokenized.
        spans: word spans from :func:`split_words`.
        offsets: each token's character offsets in ``text`` (a fast tokenizer's ``offset_mapping``).
        special: 1 for special tokens (``special_tokens_mask``), else 0.
    """
    starts = [start for start, _ in spans]
    word_ids = []
    for (start, end), is_special in zip(offsets, special, strict=True):
        if is_special:
            word_ids.append(-1)
            continue
        position = next((p for p in range(start, end) if not text[p].isspace()), end)
        word = bisect.bisect_right(starts, position) - 1
        inside = word >= 0 and spans[word][0] <= position < spans[word][1]
        word_ids.append(word if inside else -1)
    return word_ids


def encode_words(tokenizer: Any, text: str) -> dict[str, Any]:
    """Tokenize ``text`` (as the model would, one sequence) and map its tokens to words.

    Returns:
        ``{"input_ids": LongTensor[1, T], "attention_mask": LongTensor[1, T], "word_ids": LongTensor[1, T],
        "words": [list of word strings]}`` plus ``token_type_ids`` when the tokenizer makes them.

    Raises:
        TypeError: for a slow tokenizer (character offsets need a fast one, with ``tokenizer.json``).
        ValueError: for an empty text.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"each text must be a non-empty string, got {text!r}")
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(
            f"word players need a fast tokenizer (character offsets), got {type(tokenizer).__name__}; "
            f"use a model folder with tokenizer.json (AutoTokenizer.from_pretrained(..., use_fast=True))"
        )
    encoding = tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True)
    spans = split_words(text)
    word_ids = token_word_ids(text, spans, encoding["offset_mapping"], encoding["special_tokens_mask"])
    batch: dict[str, Any] = {
        "input_ids": _row(encoding["input_ids"]),
        "attention_mask": _row(encoding["attention_mask"]),
        "word_ids": _row(word_ids),
        "words": [[text[start:end] for start, end in spans]],
    }
    if "token_type_ids" in encoding:
        batch["token_type_ids"] = _row(encoding["token_type_ids"])
    return batch


def _row(values: Sequence[int]) -> Tensor:
    return torch.tensor([list(values)], dtype=torch.long)
