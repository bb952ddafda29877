"""``lit-interactions fetch-data``: the explicit install step of the data that comes from a package index.

Runs never download anything; the one data set that is not inside an installed package (the movie-review sentences
of the vaderSentiment source archive) is installed here, once, before training.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lit_interactions.data.errors import DataNotFoundError
from lit_interactions.data.vader_archive import fetch_movie_reviews

DATASETS = ("movie-reviews",)


def main(argv: Sequence[str]) -> int:
    """Install the named data set into its cache and print where it is; exit code 2 with one message on failure."""
    parser = argparse.ArgumentParser(
        prog="lit-interactions fetch-data",
        description="Install data that ships in a PyPI source archive (needs access to PyPI; runs never download).",
    )
    parser.add_argument("dataset", choices=DATASETS, help="movie-reviews: the Rotten Tomatoes sentences of "
                        "vaderSentiment 3.3.2 (MovieReviewsDataModule)")
    parser.add_argument("--cache-dir", default=None, help="cache folder (default $LIT_INTERACTIONS_CACHE or "
                        "~/.cache/lit-interactions); give the same cache_dir to the data module")
    args = parser.parse_args(list(argv))
    try:
        path = fetch_movie_reviews(args.cache_dir)
    except DataNotFoundError as error:
        print(f"lit-interactions fetch-data: error: {error}", file=sys.stderr, flush=True)
        return 2
    print(f"movie reviews installed at {path}")
    return 0
