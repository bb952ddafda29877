"""Low-layer transplant (paper 2 Sec. 3, App. I.7): start a model from a trained donor's first L parameter layers.

Layers are counted in :func:`~lit_interactions.models.parameter_layers` order (conv/linear + its batch norm for
CNNs; embeddings, transformer blocks, pooler, classifier for BERT) and paired by position: the target's layer ``i``
receives the donor's layer ``i``, parameters and buffers (batch-norm running statistics), so a ResNet-56 donor
can seed a ResNet-32 target as long as the first L layers have the same shapes. The donor's layers are read from
its state dict alone (no donor model is built), with the same rules as ``parameter_layers``.

``num_layers: all`` copies the whole network (every layer, the classifier head, batch-norm statistics and the entries
outside any layer such as input normalisation), so the target starts as an exact copy of the donor (fine-tuning).
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

import torch
from torch import Tensor, nn

from lit_interactions.models.layers import ParameterLayer, parameter_layers

# Index buffers that older transformers versions saved in BERT state dicts and newer ones do not: not learned.
_IGNORED_DONOR_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")
_BERT_PREFIX = re.compile(r"^(.*?)bert\.embeddings\.")
_BERT_BLOCK = re.compile(r"^(.*?bert\.encoder\.layer\.\d+)\.")
SPEC_KEYS = {"checkpoint", "num_layers", "freeze"}
ALL = "all"


class TransplantSpec(TypedDict, total=False):
    """The ``transplant:`` option of a classifier module (plain dict, so checkpoints stay ``weights_only``-safe).

    Keys:
        checkpoint: donor file: a Lightning checkpoint of a classifier module (``state_dict`` with ``model.``
            keys) or a bare model ``state_dict`` saved with ``torch.save``. Required.
        num_layers: L, how many parameter layers to copy (0 = none), or ``"all"``: the whole network (same
            architecture; with the entries outside the layers, e.g. input normalisation). Required.
        freeze: keep the transplanted layers fixed during training (default False; not with ``"all"``).
    """

    checkpoint: str
    num_layers: int | Literal["all"]
    freeze: bool


@dataclass(frozen=True)
class TransplantResult:
    """What a transplant did.

    Attributes:
        checkpoint: the donor file (absolute path).
        layers: ``(target layer, donor layer)`` names, in order.
        freeze: whether the transplanted layers are frozen.
        frozen_norms: names of the batch norms that :func:`keep_frozen_norms_in_eval` keeps in eval mode.
    """

    checkpoint: str
    layers: tuple[tuple[str, str], ...]
    freeze: bool
    frozen_norms: tuple[str, ...]

    def as_hparams(self) -> dict[str, Any]:
        """A plain-dict record for ``hparams``: donor file, L, ``"target <- donor"`` layer names, freeze."""
        return {
            "checkpoint": self.checkpoint,
            "num_layers": len(self.layers),
            "layers": [f"{target} <- {donor}" for target, donor in self.layers],
            "freeze": self.freeze,
        }


def check_spec(spec: Any) -> tuple[str, int | Literal["all"], bool]:
    """Validate a :class:`TransplantSpec` and return ``(checkpoint, num_layers, freeze)``.

    Raises:
        ValueError: for a missing or unknown key or a value of the wrong type.
    """
    example = "transplant: {checkpoint: runs/donor/v0/checkpoints/last.ckpt, num_layers: 9, freeze: false}"
    if not isinstance(spec, dict):
        raise ValueError(f"transplant must be a mapping like {example!r}, got {spec!r}")
    unknown = set(spec) - SPEC_KEYS
    missing = {"checkpoint", "num_layers"} - set(spec)
    if unknown or missing:
        problem = f"unknown keys {sorted(unknown)}" if unknown else f"missing keys {sorted(missing)}"
        raise ValueError(f"transplant has {problem}; expected {example!r}")
    checkpoint, num_layers, freeze = spec["checkpoint"], spec["num_layers"], spec.get("freeze", False)
    if not isinstance(checkpoint, (str, Path)) or not str(checkpoint):
        raise ValueError(f"transplant.checkpoint must be a file path, got {checkpoint!r}")
    whole = num_layers == ALL
    if not whole and (not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers < 0):
        raise ValueError(
            f"transplant.num_layers must be an int >= 0 (0 = copy nothing) or 'all' (the whole network), got "
            f"{num_layers!r}"
        )
    if not isinstance(freeze, bool):
        raise ValueError(f"transplant.freeze must be true or false, got {freeze!r}")
    if whole and freeze:
        raise ValueError("transplant.freeze: true with num_layers: all would leave nothing to train; use freeze: false")
    return str(checkpoint), num_layers, freeze


def load_donor_state(path: str | Path) -> dict[str, Tensor]:
    """Load a donor's model state dict safely (``torch.load(weights_only=True)``).

    A Lightning checkpoint's ``state_dict`` is used and its ``model.`` prefix (the classifier module's network)
    removed; a bare state dict is used as is (a ``model.`` prefix is removed there too).

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        ValueError: if the file is not a loadable state dict.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"transplant donor checkpoint {file} does not exist: give the path of a trained donor's checkpoint, "
            f"e.g. runs/<name>/<version>/checkpoints/last.ckpt"
        )
    fix = "save the donor with torch.save(model.state_dict(), path) or use a Lightning checkpoint of this project"
    if file.suffix == ".safetensors":
        raise ValueError(f"transplant donor {file}: safetensors files do not keep the layer order; {fix}")
    try:
        loaded: Any = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(
            f"transplant donor {file} is not a weights-only torch checkpoint (it is not a checkpoint, or it pickles "
            f"Python objects other than tensors and plain containers); {fix}"
        ) from None
    except Exception as err:  # corrupt zip archives, I/O errors
        raise ValueError(f"cannot read transplant donor {file} ({type(err).__name__}: {err}); {fix}") from None
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict) or not state or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"transplant donor {file} holds no state dict of tensors (a Lightning checkpoint or a bare one)")
    if any(key.startswith("model.") for key in state):
        state = {key[len("model."):]: value for key, value in state.items() if key.startswith("model.")}
    return state


def donor_layers(state: dict[str, Tensor]) -> list[ParameterLayer]:
    """Parameter layers of the network a state dict came from, in the order of :func:`parameter_layers`.

    BERT (keys ``...bert.embeddings.``): embeddings, each block, pooler, classifier. Otherwise, in key order:
    every module with a weight of 2+ dimensions (conv/linear) starts a layer; a following module with running
    statistics or a 1-d weight (its norm) joins it; other modules (input normalisation buffers) are skipped.
    This relies on the key order of the state dict (module registration order, which ``torch.save`` keeps).
    """
    bert = next((m for m in map(_BERT_PREFIX.match, state) if m), None)
    if bert is not None:
        base = bert.group(1)
        names = [f"{base}bert.embeddings"]
        names += list(dict.fromkeys(m.group(1) for m in map(_BERT_BLOCK.match, state) if m and m.group(1).startswith(base)))
        names += [f"{base}{head}" for head in ("bert.pooler", "classifier") if _has_module(state, f"{base}{head}")]
        return [ParameterLayer(name, (name,)) for name in names]
    modules: dict[str, dict[str, Tensor]] = {}
    for key, value in state.items():
        module, _, leaf = key.rpartition(".")
        modules.setdefault(module, {})[leaf] = value
    layers: list[list[str]] = []
    for module, entries in modules.items():
        weight = entries.get("weight")
        if weight is not None and weight.dim() >= 2:
            layers.append([module])
        elif layers and ("running_mean" in entries or (weight is not None and weight.dim() == 1)):
            layers[-1].append(module)
    return [ParameterLayer(names[0], tuple(names)) for names in layers]


def _has_module(state: dict[str, Tensor], module: str) -> bool:
    return any(key.startswith(f"{module}.") for key in state)


def _layer_entries(state: dict[str, Tensor], layer: ParameterLayer, skip: tuple[str, ...] = ()) -> dict[tuple[int, str], str]:
    """``{(module index in the layer, key inside the module): full key}`` of a layer's state entries."""
    entries = {}
    for index, module in enumerate(layer.modules):
        for key in state:
            if key.startswith(f"{module}.") and not key.endswith(skip):
                entries[(index, key[len(module) + 1:])] = key
    return entries


def transplant_layers(model: nn.Module, state: dict[str, Tensor], num_layers: int, source: str = "donor") -> list[tuple[str, str]]:
    """Copy the first ``num_layers`` parameter layers of a donor state dict into ``model`` in place.

    Returns:
        ``(target layer, donor layer)`` names of the copied layers.

    Raises:
        ValueError: if ``num_layers`` exceeds either model's layer count, or a layer's entries or shapes differ
            (the message names the layer, both keys and both shapes).
    """
    target_layers, source_layers = parameter_layers(model), donor_layers(state)
    for who, count in (("target model", len(target_layers)), (f"donor {source}", len(source_layers))):
        if num_layers > count:
            raise ValueError(
                f"transplant.num_layers={num_layers} but the {who} has only {count} parameter layers; "
                f"use num_layers <= {min(len(target_layers), len(source_layers))}"
            )
    target_state = model.state_dict()
    copied: dict[str, Tensor] = {}
    for index, (mine, theirs) in enumerate(zip(target_layers[:num_layers], source_layers[:num_layers])):
        own, donor = _layer_entries(target_state, mine), _layer_entries(state, theirs, _IGNORED_DONOR_BUFFERS)
        if set(own) != set(donor):
            raise ValueError(
                f"cannot transplant layer {index}: target layer {mine.name!r} holds {sorted(own.values())} but donor "
                f"layer {theirs.name!r} holds {sorted(donor.values())}; use num_layers <= {index} or a donor whose "
                f"first layers have the same structure"
            )
        for entry, key in own.items():
            got, want = state[donor[entry]], target_state[key]
            if got.shape != want.shape:
                raise ValueError(
                    f"cannot transplant layer {index}: target {key!r} (layer {mine.name!r}) has shape "
                    f"{tuple(want.shape)} but donor {donor[entry]!r} (layer {theirs.name!r}) has shape "
                    f"{tuple(got.shape)}; use num_layers <= {index} or a donor whose first layers have the same shapes"
                )
            copied[key] = got
    model.load_state_dict(copied, strict=False)
    return [(mine.name, theirs.name) for mine, theirs in zip(target_layers[:num_layers], source_layers[:num_layers])]


def transplant_all(model: nn.Module, state: dict[str, Tensor], source: str = "donor") -> list[tuple[str, str]]:
    """Copy the whole donor network into ``model``: every parameter layer, then the entries outside them by name.

    Returns:
        ``(target layer, donor layer)`` names of the copied layers.

    Raises:
        ValueError: if the two networks have different layer counts, or a layer or other entry differs (the
            message names it).
    """
    mine, theirs = parameter_layers(model), donor_layers(state)
    if len(mine) != len(theirs):
        raise ValueError(
            f"transplant.num_layers='all' copies the whole network, but the target model has {len(mine)} parameter "
            f"layers and the donor {source} has {len(theirs)}; give a donor of the same architecture, or a number "
            f"num_layers <= {min(len(mine), len(theirs))}"
        )
    layers = transplant_layers(model, state, len(mine), source)
    target_state = model.state_dict()
    inside = {key for layer in mine for key in _layer_entries(target_state, layer).values()}
    inside_donor = {key for layer in theirs for key in _layer_entries(state, layer).values()}
    rest = [key for key in target_state if key not in inside]
    rest_donor = [key for key in state if key not in inside_donor and not key.endswith(_IGNORED_DONOR_BUFFERS)]
    if sorted(rest) != sorted(rest_donor):
        raise ValueError(
            f"transplant.num_layers='all': outside the parameter layers the target holds {sorted(rest)} but the donor "
            f"{source} holds {sorted(rest_donor)}; give a donor built with the same model arguments"
        )
    for key in rest:
        if state[key].shape != target_state[key].shape:
            raise ValueError(
                f"transplant.num_layers='all': target {key!r} has shape {tuple(target_state[key].shape)} but the donor "
                f"{source} has {tuple(state[key].shape)}; give a donor built with the same model arguments"
            )
    model.load_state_dict({key: state[key] for key in rest}, strict=False)
    return layers


def freeze_layers(model: nn.Module, names: list[str]) -> tuple[str, ...]:
    """Stop gradients of the named parameter layers and put their batch norms in eval mode; return those norms.

    Frozen batch norms normalise with the donor's running statistics and never update them (the owner must call
    :func:`keep_frozen_norms_in_eval` after every ``train()``). Only batch norms with running statistics are
    affected: BERT's LayerNorms hold none, and dropout in a frozen block stays active (it changes no stored value).
    """
    wanted = set(names)
    norms: list[str] = []
    for layer in parameter_layers(model):
        if layer.name not in wanted:
            continue
        for module_name in layer.modules:
            module = model.get_submodule(module_name)
            module.requires_grad_(False)
            norms += [
                f"{module_name}.{sub}" if sub else module_name
                for sub, m in module.named_modules()
                if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
            ]
    keep_frozen_norms_in_eval(model, tuple(norms))
    return tuple(norms)


def keep_frozen_norms_in_eval(model: nn.Module, norms: tuple[str, ...]) -> None:
    """Put the named batch norms in eval mode (call after every ``model.train()``): frozen running statistics."""
    for name in norms:
        model.get_submodule(name).eval()


def apply_transplant(model: nn.Module, spec: TransplantSpec) -> TransplantResult:
    """Load the donor of ``spec``, copy its first ``num_layers`` layers into ``model`` and optionally freeze them.

    Raises:
        FileNotFoundError, ValueError: see :func:`check_spec`, :func:`load_donor_state`, :func:`transplant_layers`.
    """
    checkpoint, num_layers, freeze = check_spec(spec)
    path = Path(checkpoint).expanduser().resolve()
    state = load_donor_state(path)
    if isinstance(num_layers, str):  # ALL (check_spec allows no other string)
        layers = transplant_all(model, state, source=str(path))
    else:
        layers = transplant_layers(model, state, num_layers, source=str(path))
    norms = freeze_layers(model, [target for target, _ in layers]) if freeze else ()
    return TransplantResult(str(path), tuple(layers), freeze, norms)
