"""Atomic file writing for every artifact of the project (figures, JSON reports, checkpoints, tensors).

A write goes to a hidden temporary file in the target's directory, is fsynced, then renamed over the target
with ``os.replace`` and the directory is fsynced: a crash or an exception leaves either the old file or the
new one, never a torn one, and no temporary file behind (except after a hard kill, as ``.<name>.*.tmp*``).

The temporary file keeps the target's suffix (``.fig.png.1a2b3c4d.tmp.png``) because some writers choose the
format from it (matplotlib ``savefig``) or append one when it is missing (``numpy.save``). New files get the
usual permissions (``0o666`` minus the umask), as with ``open(path, "w")``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


def _target(path: str | os.PathLike[str]) -> Path:
    """Check the target path and create its parent directories."""
    target = Path(path)
    if target.name in ("", ".", ".."):
        raise ValueError(f"cannot write to {str(path)!r}: give a file path, not a directory")
    if target.is_dir():
        raise IsADirectoryError(f"cannot write to {target}: it is a directory; give a file path inside it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as error:
        raise NotADirectoryError(
            f"cannot create the directory {target.parent} for {target.name}: part of that path is a file"
        ) from error
    return target


def _create_temp(target: Path) -> Path:
    """Create a new empty temporary file next to ``target`` (mode ``0o666`` minus the umask)."""
    while True:
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return temp


def _fsync(path: Path) -> None:
    """Flush a file's or a directory's data to disk where the platform allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # e.g. directories on some platforms and file systems
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically, on error it is removed.

    For writers that take a path (``fig.savefig``, ``torch.save``, ``numpy.save``)::

        with atomic_path("runs/a/figure.png") as temp:
            fig.savefig(temp)

    The temporary file exists (empty) when the block starts and is in the same directory as ``path``,
    whose missing parent directories are created.

    Raises:
        IsADirectoryError: if ``path`` is an existing directory.
        NotADirectoryError: if a parent of ``path`` is a file.
        FileNotFoundError: if the block removed or renamed the temporary file (nothing is written).
    """
    target = _target(path)
    temp = _create_temp(target)
    try:
        yield temp
        if not temp.is_file():
            raise FileNotFoundError(
                f"the temporary file {temp} for {target} is gone after the write; write to the yielded path "
                f"itself (some writers add a suffix: keep the yielded name as it is)"
            )
        _fsync(temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync(target.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (replacing an existing file; parent directories created)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}; use atomic_write_text for str")
    with atomic_path(path) as temp:
        with open(temp, "wb") as file:
            file.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically, encoded as is (no newline translation on any platform)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}; use atomic_write_bytes for bytes")
    atomic_write_bytes(path, text.encode(encoding))
