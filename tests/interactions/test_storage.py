"""Saving and loading Interactions: round trip, atomic replacement, clear errors."""

from __future__ import annotations

import dataclasses
import os

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from lit_interactions.interactions import Interactions, load_interactions, storage

F64 = torch.float64


def sample_result(seed: int = 0) -> Interactions:
    generator = torch.Generator().manual_seed(seed)
    v, gamma, noise = torch.randn(3, 2, 8, dtype=F64, generator=generator)
    result = Interactions.from_decomposition(
        v, gamma, 0.01 * noise, settings={"solver": "test", "noise_ratio": 0.01, "gaps": [1e-9, 2e-9], "seed": seed}
    )
    return dataclasses.replace(
        result, extra={"ids": torch.tensor([7, 9]), "players": torch.arange(6).reshape(2, 3).bool()}
    )


def assert_same(a: Interactions, b: Interactions) -> None:
    for field in ("and_effects", "or_effects", "bias", "noise", "gamma", "rewards"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
        assert getattr(a, field).dtype == getattr(b, field).dtype
    assert a.n_players == b.n_players and a.settings == b.settings
    assert a.extra.keys() == b.extra.keys()
    assert all(torch.equal(a.extra[k], b.extra[k]) and a.extra[k].dtype == b.extra[k].dtype for k in a.extra)


def test_round_trip_keeps_tensors_settings_and_extras(tmp_path):
    result = sample_result()
    path = tmp_path / "result.safetensors"
    result.save(path)
    assert_same(Interactions.load(path), result)
    with safe_open(str(path), framework="pt") as file:
        metadata = file.metadata()
    assert metadata["subset_order"] == storage.SUBSET_ORDER and metadata["n_players"] == "3"
    assert metadata["format_version"] == str(storage.FORMAT_VERSION)


def test_round_trip_of_an_unbatched_float32_result(tmp_path):
    single = sample_result()[1].to(dtype=torch.float32)
    single.save(tmp_path / "one.safetensors")
    loaded = load_interactions(tmp_path / "one.safetensors")
    assert loaded.batch_shape == () and loaded.extra["ids"].item() == 9
    assert_same(loaded, single)


def test_failing_serialiser_leaves_the_previous_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "result.safetensors"
    sample_result(seed=0).save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash while serialising")

    monkeypatch.setattr(storage, "safetensors_save", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        sample_result(seed=1).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["result.safetensors"]


def test_crash_after_writing_before_the_rename_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "result.safetensors"
    sample_result(seed=0).save(path)
    written = []

    def crash(source, target):
        written.append(os.path.getsize(source))
        raise OSError("simulated power loss before rename")

    monkeypatch.setattr(storage.os, "replace", crash)
    with pytest.raises(OSError, match="power loss"):
        sample_result(seed=1).save(path)
    monkeypatch.undo()
    assert written and written[0] > 0  # the new file was fully written to the temp file
    assert_same(Interactions.load(path), sample_result(seed=0))
    assert os.listdir(tmp_path) == ["result.safetensors"]


def test_settings_that_json_cannot_store_are_refused(tmp_path):
    result = dataclasses.replace(sample_result(), settings={"alpha": torch.tensor(0.1)})
    with pytest.raises(TypeError, match=r"settings\['alpha'\] is a Tensor.*tensor.item\(\)"):
        result.save(tmp_path / "bad.safetensors")
    assert not os.listdir(tmp_path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved interactions at"):
        Interactions.load(tmp_path / "absent.safetensors")


def _rewrite(path, **changes: str) -> None:
    with safe_open(str(path), framework="pt") as file:
        metadata = {**file.metadata(), **changes}
        tensors = {name: file.get_tensor(name) for name in file.keys()}
    save_file(tensors, str(path), metadata=metadata)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"subset_order": "numpy binary_repr, player 0 = most significant bit"}, "subset convention"),
        ({"format_version": "99"}, "format version '99'"),
        ({"format": "something else"}, "not saved Interactions"),
    ],
)
def test_files_of_another_convention_or_version_are_refused(tmp_path, changes, message):
    path = tmp_path / "result.safetensors"
    sample_result().save(path)
    _rewrite(path, **changes)
    with pytest.raises(ValueError, match=message):
        Interactions.load(path)


def test_a_file_that_is_not_safetensors_is_refused(tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        Interactions.load(path)
