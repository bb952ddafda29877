"""Which words of a sentence can be players (not stop words, not punctuation), and a dataset filter.

Stop words are scikit-learn's ``ENGLISH_STOP_WORDS`` (plus optional extra words); the check is
case-insensitive. Words are recovered from a tokenized sample by decoding each word's tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from torch import Tensor

_MASK64 = (1 << 64) - 1


def is_eligible_word(word: str, extra_stop_words: Iterable[str] = ()) -> bool:
    """Whether ``word`` can be a player: not a stop word (case-insensitive), not punctuation-only."""
    text = word.strip().lower()
    if not any(ch.isalnum() for ch in text):
        return False
    return text not in ENGLISH_STOP_WORDS and text not in set(extra_stop_words)


def sample_seed(seed: int, sample_id: int) -> int:
    """A 63-bit generator seed mixing ``seed`` and ``sample_id`` (splitmix64), independent of the batch."""
    x = (int(seed) * 0x9E3779B97F4A7C15 + int(sample_id) + 0x632BE59BD9B4E019) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (x ^ (x >> 31)) >> 1


def sample_words(
    input_ids: Sequence[int] | Tensor,
    word_ids: Sequence[int] | Tensor,
    tokenizer: Any = None,
    attention_mask: Sequence[int] | Tensor | None = None,
) -> dict[int, str]:
    """The words of one tokenized sample: ``{word index: text}``, decoded from the word's tokens."""
    if tokenizer is None:
        raise ValueError("decoding words needs a tokenizer; pass tokenizer=... or give batch['words']")
    ids = torch.as_tensor(input_ids).reshape(-1)
    wids = torch.as_tensor(word_ids).reshape(-1)
    valid = wids >= 0
    if attention_mask is not None:
        valid &= torch.as_tensor(attention_mask).reshape(-1) > 0
    return {
        int(w): tokenizer.decode(ids[valid & (wids == w)].tolist())
        for w in torch.unique(wids[valid]).tolist()
    }


def eligible_words(words: Mapping[int, str] | Sequence[str], extra_stop_words: Iterable[str] = ()) -> list[int]:
    """Indices of the words that can be players, increasing."""
    items = words.items() if isinstance(words, Mapping) else enumerate(words)
    extra = set(extra_stop_words)
    return sorted(i for i, w in items if is_eligible_word(w, extra))


def filter_by_eligible_words(
    samples: Iterable[str | Mapping[str, Any]],
    n_players: int = 10,
    tokenizer: Any = None,
    extra_stop_words: Iterable[str] = (),
) -> list[int]:
    """Positions of the samples with at least ``n_players`` eligible words (keep these for word players).

    Args:
        samples: raw sentences (tokenized with ``tokenizer``, a fast tokenizer), or dicts with
            ``input_ids`` and ``word_ids`` (1-D, ``-1`` for special tokens), or with a ``words`` list.
        n_players: players needed per sample.
        tokenizer: decodes word tokens (and tokenizes raw sentences).
        extra_stop_words: words excluded besides scikit-learn's English stop words.
    """
    keep = []
    for position, sample in enumerate(samples):
        if isinstance(sample, str):
            if tokenizer is None:
                raise ValueError("filtering raw sentences needs tokenizer=... (a fast tokenizer)")
            encoding = tokenizer(sample)
            word_ids = [-1 if w is None else w for w in encoding.word_ids()]
            words: Mapping[int, str] | Sequence[str] = sample_words(encoding["input_ids"], word_ids, tokenizer)
        elif "words" in sample:
            words = list(sample["words"])
        else:
            words = sample_words(sample["input_ids"], sample["word_ids"], tokenizer, sample.get("attention_mask"))
        if len(eligible_words(words, extra_stop_words)) >= n_players:
            keep.append(position)
    return keep
