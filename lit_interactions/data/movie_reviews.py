"""Rotten Tomatoes sentences with mean human ratings (vaderSentiment 3.3.2 sources): the embedded text data.

Honest note: these are the 10,605 Rotten Tomatoes snippets SST is built from, labelled here by the *mean
human rating* Hutto & Gilbert (ICWSM 2014) collected (in [-4, 4]), not GLUE SST-2: label 1 iff rating > 0,
sentences with ``|rating| < min_abs_rating`` (default 0.5) are dropped as neutral. With the default that
keeps 10,072 sentences (4,996 positive). There is no official test split: a seeded validation split of
``num_val`` sentences is carved from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lit_interactions.checks import check_int
from lit_interactions.data.errors import (
    DataNotFoundError,
    DataOptionError,
    bad_format,
    not_found,
    read_text_lines,
)
from lit_interactions.data.sources import SourceSplit, TextSplit
from lit_interactions.data.splits import carve_validation
from lit_interactions.data.text import TextDataModule
from lit_interactions.data.vader_archive import (
    FETCH_COMMAND,
    REQUIREMENT,
    WHERE,
    movie_reviews_path,
)

LINE_FORMAT = "UTF-8 lines '<id>\\t<mean rating in [-4, 4]>\\t<sentence>'"
MIN_RATING, MAX_RATING = -4.0, 4.0


def read_movie_reviews(path: Path) -> tuple[np.ndarray, list[str]]:
    """Read ``movieReviewSnippets_GroundTruth.txt``: ratings (float64) and sentences, one per line.

    A sample's id is its 0-based line index (= the file's id column minus 1 in the real file).

    Raises:
        DataFormatError: if a line is not ``id<TAB>rating<TAB>sentence`` with a finite rating in [-4, 4].
    """
    lines = read_text_lines("Movie reviews", path, LINE_FORMAT)
    ratings: list[float] = []
    sentences: list[str] = []
    for number, line in enumerate(lines, start=1):
        rating, sentence = _parse_line(path, number, line)
        ratings.append(rating)
        sentences.append(sentence)
    if not sentences:
        raise bad_format("Movie reviews", path, "it has no lines", LINE_FORMAT)
    return np.array(ratings, dtype=np.float64), sentences


def _parse_line(path: Path, number: int, line: str) -> tuple[float, str]:
    """The rating and sentence of line ``number`` (1-based) of the file.

    Raises:
        DataFormatError: if the line is not ``id<TAB>rating<TAB>sentence`` with a finite rating in [-4, 4].
    """
    fields = line.split("\t", 2)
    try:
        if len(fields) != 3 or not fields[2].strip():
            raise ValueError
        int(fields[0])
        rating = float(fields[1])
    except ValueError:
        problem = f"line {number} ({line[:60]!r}) is not id, rating, sentence"
        raise bad_format("Movie reviews", path, problem, LINE_FORMAT) from None
    if not MIN_RATING <= rating <= MAX_RATING:  # also false for nan
        problem = f"line {number} ({line[:60]!r}) has rating {fields[1].strip()!r}, not a finite number in [-4, 4]"
        raise bad_format("Movie reviews", path, problem, LINE_FORMAT)
    return rating, fields[2].strip()


class MovieReviewsDataModule(TextDataModule):
    """The embedded default text data (see the module doc for what it is and is not).

    The file is installed once, before any run, with ``lit-interactions fetch-data movie-reviews`` (pip
    downloads the vaderSentiment 3.3.2 source archive into the cache: ``cache_dir``, default
    ``$LIT_INTERACTIONS_CACHE`` or ``~/.cache/lit-interactions``), or read from ``data_file``; a run never
    downloads it. Ids = line index in the file, in both the training and the validation split.

    Args:
        data_file: path of ``movieReviewSnippets_GroundTruth.txt``; ``None`` = the installed copy in the cache.
        cache_dir: cache folder of the installed file (``None`` = the default above).
        min_abs_rating: sentences with ``|rating|`` below this are dropped (neutral).
        num_val: size of the seeded validation split.
        **text_options: tokenizer, max_length of :class:`~lit_interactions.data.text.TextDataModule` and
            batch_size, num_workers, split_seed, num_probe, train_subset, train_subset_size, relabel_per_class,
            relabel_target of :class:`~lit_interactions.data.base.SplitDataModule`.
    """

    def __init__(
        self,
        data_file: str | None = None,
        cache_dir: str | None = None,
        min_abs_rating: float = 0.5,
        num_val: int = 1000,
        **text_options: Any,
    ) -> None:
        super().__init__(**text_options)
        check_int("num_val", num_val, 1, error=DataOptionError)
        if not isinstance(min_abs_rating, (int, float)) or not min_abs_rating >= 0:  # rejects nan too
            raise DataOptionError(f"min_abs_rating={min_abs_rating!r} is not valid: expected a number >= 0")
        if data_file is not None and cache_dir is not None:
            raise DataOptionError("cache_dir is not used when data_file is given; pass one or the other")
        self.data_file = data_file
        self.cache_dir = cache_dir
        self.min_abs_rating = float(min_abs_rating)
        self.num_val = num_val
        self.dataset_name = "Movie reviews (Rotten Tomatoes sentences, vaderSentiment ratings)"
        self.ratings: np.ndarray | None = None

    def prepare_data(self) -> None:
        """Check that the file is there (a run never downloads it: ``lit-interactions fetch-data movie-reviews`` installs it)."""
        self._path()

    def _path(self) -> Path:
        if self.data_file is None:
            path = movie_reviews_path(self.cache_dir)
            if not path.is_file():
                raise DataNotFoundError(
                    f"Movie reviews not installed: no {path} ({WHERE}). A run never downloads data: install it once "
                    f"with '{FETCH_COMMAND}' (pip downloads the {REQUIREMENT} source archive from PyPI into the "
                    f"cache; --cache-dir DIR for another cache), or pass data_file=<path of the file>"
                )
            return path
        path = Path(self.data_file)
        if not path.is_file():
            raise not_found("Movie reviews", path, f"the file {WHERE}", "Pass data_file=None to fetch it with pip")
        return path

    def _check_enough_kept(self, path: Path, kept: int, total: int) -> None:
        """Raise :class:`DataOptionError` if too few sentences survive the neutral filter for ``num_val``."""
        needed = self.num_val + 3  # the validation split, plus probe set and two halves of at least one each
        if kept < needed:
            raise DataOptionError(
                f"too few sentences remain in {path}: {kept} of {total} have |rating| >= min_abs_rating="
                f"{self.min_abs_rating:g}, but num_val={self.num_val} needs at least {needed} (num_val for "
                f"validation, 3 for training); lower min_abs_rating or num_val, or use the full file ({WHERE})"
            )

    def _load_splits(self) -> tuple[SourceSplit, SourceSplit]:
        path = self._path()
        ratings, sentences = read_movie_reviews(path)
        self.ratings = ratings
        kept = np.flatnonzero(np.abs(ratings) >= self.min_abs_rating)
        self._check_enough_kept(path, len(kept), len(ratings))
        train_ids, val_ids = carve_validation(kept, self.num_val, self.split_seed, self.dataset_name)
        labels = (ratings > 0).astype(np.int64)

        def split(name: str, ids: np.ndarray) -> TextSplit:
            return TextSplit(name, ids, labels[ids], [sentences[i] for i in ids.tolist()])

        return split("train", train_ids), split("val", val_ids)
