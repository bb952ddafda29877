"""The three errors data modules raise, so that bad input gives one clear message, not a traceback.

Every message says what was looked at, what was expected, and where such data comes from.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

NEVER_DOWNLOADS = "this project never downloads datasets"


class DataNotFoundError(FileNotFoundError):
    """A dataset folder or one of its files is missing."""


class DataFormatError(ValueError):
    """A dataset file exists but is not in the expected on-disk format."""


class DataOptionError(ValueError):
    """An option value is unknown, or sizes do not fit the data (probe set, subsets, relabelling)."""


def not_found(
    name: str, path: str | Path, expected: str, origin: str, missing: Iterable[str] = ()
) -> DataNotFoundError:
    """Build the error for a missing dataset or missing files inside a dataset folder.

    Args:
        name: dataset name shown to the user, e.g. ``"CIFAR-10"``.
        path: the path that was looked at.
        expected: the files or layout expected there.
        origin: where such files come from.
        missing: the expected entries that are absent (listed when given).
    """
    missing = list(missing)
    absent = f" (missing: {', '.join(missing)})" if missing else ""
    return DataNotFoundError(
        f"{name} not found at {path}{absent}: expected {expected}. {origin}; {NEVER_DOWNLOADS}."
    )


def bad_format(name: str, path: str | Path, problem: str, expected: str) -> DataFormatError:
    """Build the error for a dataset file that cannot be parsed.

    Args:
        name: dataset name shown to the user.
        path: the offending file.
        problem: what is wrong with it.
        expected: the format the file must have.
    """
    return DataFormatError(f"{name} file {path} is malformed: {problem}. Expected {expected}.")


def read_text_lines(name: str, path: Path, expected: str) -> list[str]:
    """The lines of a UTF-8 text file of a dataset.

    Args:
        name: dataset name shown to the user.
        path: the file.
        expected: the format the file must have.

    Raises:
        DataFormatError: if the file is not UTF-8 text (e.g. a binary file in its place).
    """
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise bad_format(name, path, f"it is not UTF-8 text ({e})", expected) from None
