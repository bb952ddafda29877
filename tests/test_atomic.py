"""Atomic writes: content, parents, replacement, cleanup on error, permissions, bad paths."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from lit_interactions.io.atomic import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
)


def test_write_bytes_creates_parents_and_leaves_only_the_target(tmp_path: Path):
    target = tmp_path / "a" / "b" / "data.bin"
    atomic_write_bytes(target, b"\x00\x01abc")
    assert target.read_bytes() == b"\x00\x01abc"
    assert os.listdir(target.parent) == ["data.bin"]


def test_write_text_keeps_newlines_and_replaces_the_old_file(tmp_path: Path):
    target = tmp_path / "report.json"
    target.write_text("old")
    atomic_write_text(target, "é\nb\r\n")
    assert target.read_bytes() == "é\nb\r\n".encode()
    assert os.listdir(tmp_path) == ["report.json"]


def test_new_files_get_the_same_mode_as_open(tmp_path: Path):
    reference = tmp_path / "reference.txt"
    reference.write_text("x")
    atomic_write_text(tmp_path / "atomic.txt", "x")
    assert (tmp_path / "atomic.txt").stat().st_mode == reference.stat().st_mode


def test_atomic_path_keeps_the_suffix_for_writers_that_use_it(tmp_path: Path):
    target = tmp_path / "array.npy"
    with atomic_path(target) as temp:
        assert temp.parent == tmp_path and temp.suffix == ".npy" and temp.name.startswith(".array.npy.")
        np.save(temp, np.arange(3))  # numpy would append .npy to a name without it
    assert np.load(target).tolist() == [0, 1, 2]
    assert os.listdir(tmp_path) == ["array.npy"]


def test_an_error_keeps_the_old_file_and_removes_the_temporary_one(tmp_path: Path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="writer failed"):
        with atomic_path(target) as temp:
            temp.write_bytes(b"half")
            raise RuntimeError("writer failed")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.pt"]


def test_a_writer_that_moves_the_temporary_file_is_an_error(tmp_path: Path):
    target = tmp_path / "x.txt"
    with pytest.raises(FileNotFoundError, match="write to the yielded path"):
        with atomic_path(target) as temp:
            temp.rename(tmp_path / "elsewhere.txt")
    assert not target.exists()


def test_bad_paths_and_data_are_refused(tmp_path: Path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        atomic_write_bytes(tmp_path, b"x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="part of that path is a file"):
        atomic_write_bytes(tmp_path / "file" / "child.txt", b"x")
    with pytest.raises(TypeError, match="atomic_write_text"):
        atomic_write_bytes(tmp_path / "y.txt", "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="atomic_write_bytes"):
        atomic_write_text(tmp_path / "y.txt", b"bytes")  # type: ignore[arg-type]
    assert sorted(os.listdir(tmp_path)) == ["file"]
