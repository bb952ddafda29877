"""Next-word samples from a SQuAD v1.1 / v2.0 JSON file, as paper 1 (App. P.2) builds them for LLMs.

Each paragraph context of the file is a document (sample id = its position among the file's distinct contexts).
The input is the document's first ``min_words`` words (30) and the target is the next word, provided that
1) the target is a meaningful word (not a stop word, not punctuation) and 2) none of the ``window`` (5) words just
before it is sentence-ending punctuation (``.``, ``!``, ``?``); otherwise the input grows one word at a time until
both hold. Words are those of :mod:`lit_interactions.players.word_spans` (punctuation marks are words), and the
input text is the document up to the target word, so the model sees the original spacing.

The players of a sample (randomly chosen meaningful words of the input) are drawn by the word players when the
model is explained; a document whose input has fewer than ``min_players`` meaningful words is skipped.
The file is read as JSON (bring your own copy; nothing is downloaded).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lit_interactions.checks import is_int
from lit_interactions.data.errors import DataOptionError, bad_format, not_found
from lit_interactions.players.word_spans import split_words
from lit_interactions.players.words import eligible_words, is_eligible_word

_EXPECTED = 'SQuAD JSON: {"version": ..., "data": [{"title": ..., "paragraphs": [{"context": "...", ...}]}]}'
_ORIGIN = "SQuAD v1.1/v2.0 files are train-v1.1.json, dev-v2.0.json, ... from the SQuAD website"
SENTENCE_END = frozenset(".!?")


@dataclass(frozen=True)
class NextWordSample:
    """One input for next-word prediction.

    Attributes:
        id: the document's position among the file's distinct contexts (stable, independent of other options).
        text: the input text (the document up to, not including, the target word).
        target_word: the document's next word (the paper's target word; the reward uses the model's top token).
        n_words: words in ``text``.
    """

    id: int
    text: str
    target_word: str
    n_words: int


def read_squad_contexts(path: str | Path) -> list[str]:
    """The distinct paragraph contexts of a SQuAD JSON file, in file order.

    Raises:
        DataNotFoundError: no file at ``path``.
        DataFormatError: not JSON, or not SQuAD's layout.
    """
    file = Path(path)
    if not file.is_file():
        raise not_found("SQuAD", file, "a SQuAD JSON file", _ORIGIN)
    try:
        content = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise bad_format("SQuAD", file, f"it is not UTF-8 JSON ({error})", _EXPECTED) from None
    articles = content.get("data") if isinstance(content, dict) else None
    if not isinstance(articles, list):
        raise bad_format("SQuAD", file, "there is no 'data' list at the top level", _EXPECTED)
    contexts: dict[str, None] = {}
    for a, article in enumerate(articles):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise bad_format("SQuAD", file, f"data[{a}] has no 'paragraphs' list", _EXPECTED)
        for p, paragraph in enumerate(paragraphs):
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str):
                raise bad_format("SQuAD", file, f"data[{a}].paragraphs[{p}] has no 'context' string", _EXPECTED)
            contexts.setdefault(context, None)
    return list(contexts)


def next_word_sample(
    document: str, sample_id: int = 0, min_words: int = 30, window: int = 5
) -> NextWordSample | None:
    """The paper's input and target word of one document, or None if no word qualifies."""
    spans = split_words(document)
    words = [document[start:end] for start, end in spans]
    for m in range(min_words, len(words)):
        before = words[max(0, m - window) : m]
        if is_eligible_word(words[m]) and not any(SENTENCE_END & set(word) for word in before):
            text = document[: spans[m][0]].rstrip()
            return NextWordSample(sample_id, text, words[m], m)
    return None


def squad_samples(
    path: str | Path, num_samples: int, *, min_words: int = 30, window: int = 5, min_players: int = 10
) -> list[NextWordSample]:
    """The first ``num_samples`` next-word samples of the file's documents (see the module docstring).

    Raises:
        DataOptionError: bad options, or fewer usable documents than ``num_samples``.
    """
    for name, value, low in (("num_samples", num_samples, 1), ("min_words", min_words, 1), ("window", window, 0),
                             ("min_players", min_players, 1)):
        if not is_int(value) or value < low:
            raise DataOptionError(f"{name} must be an int >= {low}, got {value!r}")
    contexts = read_squad_contexts(path)
    samples = []
    for position, document in enumerate(contexts):
        sample = next_word_sample(document, position, min_words, window)
        if sample is None:
            continue
        words = [sample.text[start:end] for start, end in split_words(sample.text)]
        if len(eligible_words(words)) >= min_players:
            samples.append(sample)
        if len(samples) == num_samples:
            return samples
    raise DataOptionError(
        f"{path} has {len(samples)} usable document(s) (at least {min_words} words, a meaningful next word, "
        f">= {min_players} meaningful words), fewer than num_samples={num_samples}; ask for fewer samples or "
        f"fewer players"
    )
