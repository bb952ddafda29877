"""Paper 1's next-word samples from a generated SQuAD JSON file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lit_interactions.data.errors import (
    DataFormatError,
    DataNotFoundError,
    DataOptionError,
)
from lit_interactions.data.squad import (
    next_word_sample,
    read_squad_contexts,
    squad_samples,
)

# 30 words, then a meaningful 31st word ("cathedral") with no sentence end in the 5 words before it
PLAIN = ("Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon "
         "phi chi psi omega apple banana cherry grape lemon mango cathedral stands tall")
# the 31st word is a stop word ("the"), the 32nd a meaningful word
STOP = PLAIN.replace("cathedral stands tall", "the cathedral stands tall")
# a full stop among the 5 words before the 31st word: extend until it is 5+ words back
PERIOD = ("One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
          "eighteen nineteen twenty twentyone twentytwo twentythree twentyfour twentyfive. Bells ring loudly over "
          "quiet villages tonight")


def write_squad(path: Path, contexts: list[str]) -> Path:
    data = {"version": "v2.0", "data": [
        {"title": "t0", "paragraphs": [{"context": c, "qas": []} for c in contexts[:2]]},
        {"title": "t1", "paragraphs": [{"context": c, "qas": []} for c in contexts[2:]]},
    ]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_sample_rules() -> None:
    plain = next_word_sample(PLAIN, 4)
    assert (plain.id, plain.target_word, plain.n_words) == (4, "cathedral", 30)
    assert plain.text == PLAIN[: PLAIN.index(" cathedral")]
    stop = next_word_sample(STOP)
    assert (stop.target_word, stop.n_words) == ("cathedral", 31)
    period = next_word_sample(PERIOD)
    # word indices: 0-24 the numbers, 25 ".", 26 Bells, 27 ring, 28 loudly, 29 over, 30 quiet, 31 villages;
    # m = 30 ("quiet") has "." among words[25:30]; m = 31 ("villages") does not, and "villages" is meaningful
    assert (period.target_word, period.n_words) == ("villages", 31)
    assert period.text.endswith("over quiet")
    assert next_word_sample("too short to qualify") is None


def test_reader(tmp_path: Path) -> None:
    path = write_squad(tmp_path / "dev-v2.0.json", [PLAIN, STOP, PLAIN, PERIOD])
    assert read_squad_contexts(path) == [PLAIN, STOP, PERIOD]  # repeated contexts once
    samples = squad_samples(path, 3, min_players=10)
    assert [s.id for s in samples] == [0, 1, 2]
    assert [s.target_word for s in samples] == ["cathedral", "cathedral", "villages"]
    with pytest.raises(DataOptionError, match="fewer than num_samples=4"):
        squad_samples(path, 4)
    with pytest.raises(DataOptionError, match="num_samples must be an int"):
        squad_samples(path, 2.0)
    with pytest.raises(DataNotFoundError, match="SQuAD not found"):
        squad_samples(tmp_path / "nope.json", 1)
    (tmp_path / "bad.json").write_text('{"data": [{"title": "x"}]}', encoding="utf-8")
    with pytest.raises(DataFormatError, match="no 'paragraphs' list"):
        read_squad_contexts(tmp_path / "bad.json")
