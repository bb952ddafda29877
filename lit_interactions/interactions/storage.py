"""Save and load :class:`Interactions` as safetensors files, written atomically.

Why safetensors: loading it never runs code (unlike pickle-based ``.pt``), it is fast and language-neutral,
and its header holds string metadata. The header records the format and its version, ``n_players``, the
subset convention (:data:`SUBSET_ORDER`) and the settings as JSON. Tensors are stored under their field
names, and per-sample extras under ``extra/<key>``.

Writes go to a temporary file in the target's directory, are flushed and fsynced, then renamed over the
target with ``os.replace``: a crash leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_save

from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.subsets import SUBSET_ORDER
from lit_interactions.io.atomic import atomic_write_bytes

FORMAT = "lit_interactions.Interactions"
FORMAT_VERSION = 1
_TENSOR_FIELDS = ("and_effects", "or_effects", "bias", "noise", "gamma", "rewards")
_EXTRA_PREFIX = "extra/"


def _check_json(value: Any, where: str) -> None:
    """Refuse settings JSON cannot store (tuples are stored, and come back, as lists)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"settings{where} has the key {key!r} of type {type(key).__name__}; use str keys")
            _check_json(item, f"{where}[{key!r}]")
        return
    raise TypeError(
        f"settings{where} is a {type(value).__name__}, which cannot be saved as JSON; store a plain value "
        f"instead (tensor.item() or .tolist(), str(path), float(numpy_value))"
    )


def _metadata(result: Interactions) -> dict[str, str]:
    _check_json(result.settings, "")
    return {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "subset_order": SUBSET_ORDER,
        "n_players": str(result.n_players),
        "settings": json.dumps(result.settings),
    }


def _tensors(result: Interactions) -> dict[str, torch.Tensor]:
    tensors = {name: getattr(result, name) for name in _TENSOR_FIELDS}
    tensors.update({_EXTRA_PREFIX + key: value for key, value in result.extra.items()})
    # Own, contiguous CPU storage per tensor: safetensors refuses shared or strided (expanded) tensors.
    return {name: value.detach().cpu().contiguous().clone() for name, value in tensors.items()}


def save_interactions(result: Interactions, path: str | os.PathLike[str]) -> None:
    """Write ``result`` to ``path`` (conventionally ``*.safetensors``) atomically; replaces an existing file.

    Raises:
        TypeError: if a setting is not JSON-serialisable (nothing is written).
        FileNotFoundError: if the directory of ``path`` does not exist.
    """
    target = Path(path)
    metadata = _metadata(result)
    tensors = _tensors(result)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot save to {target}: the directory {target.parent} does not exist; create it")
    atomic_write_bytes(target, safetensors_save(tensors, metadata=metadata))


def _check_header(metadata: dict[str, str], path: Path) -> None:
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path} is a safetensors file but not saved Interactions (no '{FORMAT}' header)")
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise ValueError(
            f"{path} has format version {metadata.get('format_version')!r} but this version of lit_interactions "
            f"reads version {FORMAT_VERSION}; load it with the version that wrote it and save it again"
        )
    if metadata.get("subset_order") != SUBSET_ORDER:
        raise ValueError(
            f"{path} uses the subset convention {metadata.get('subset_order')!r} but this project uses "
            f"{SUBSET_ORDER!r}; re-index its vectors to the project's order before using them"
        )


def load_interactions(path: str | os.PathLike[str], device: torch.device | str = "cpu") -> Interactions:
    """Read an :class:`Interactions` written by :func:`save_interactions`, onto ``device``.

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        ValueError: if the file is not saved Interactions, or has another format version or subset convention.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"no saved interactions at {source}: check the path (files are written by .save)")
    try:
        with safe_open(str(source), framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            tensors = {name: file.get_tensor(name) for name in file.keys()}
    except SafetensorError as error:
        raise ValueError(
            f"{source} is not a readable safetensors file ({error}); was it written by Interactions.save?"
        ) from error
    _check_header(metadata, source)
    tensors = {name: value.to(device) for name, value in tensors.items()}
    extra = {name[len(_EXTRA_PREFIX) :]: value for name, value in tensors.items() if name.startswith(_EXTRA_PREFIX)}
    return Interactions(
        **{name: tensors[name] for name in _TENSOR_FIELDS},
        n_players=int(metadata["n_players"]),
        settings=json.loads(metadata["settings"]),
        extra=extra,
    )
