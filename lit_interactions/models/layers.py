"""Parameter layers of a model in forward order: the unit of "the first L layers" (low-layer transplant)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from torch import nn

_WEIGHT_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_NORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm)


@dataclass(frozen=True)
class ParameterLayer:
    """One parameter layer: its name and the names of the modules whose parameters/buffers belong to it."""

    name: str
    modules: tuple[str, ...]


def _bert_layers(model: nn.Module, prefix: str) -> list[ParameterLayer]:
    bert = model.get_submodule(prefix) if prefix else model
    base = f"{prefix}." if prefix else ""
    layers = [ParameterLayer(f"{base}bert.embeddings", (f"{base}bert.embeddings",))]
    encoder_layers = cast(nn.ModuleList, bert.get_submodule("bert.encoder.layer"))
    for i, _ in enumerate(encoder_layers):
        name = f"{base}bert.encoder.layer.{i}"
        layers.append(ParameterLayer(name, (name,)))
    if getattr(bert.bert, "pooler", None) is not None:
        layers.append(ParameterLayer(f"{base}bert.pooler", (f"{base}bert.pooler",)))
    layers.append(ParameterLayer(f"{base}classifier", (f"{base}classifier",)))
    return layers


def parameter_layers(model: nn.Module) -> list[ParameterLayer]:
    """Parameter layers of ``model`` in forward order.

    CNNs: every conv/linear layer, with the normalisation layer that follows it (its batch norm). BERT models
    (anything holding a ``transformers`` BERT with ``.bert.embeddings`` and ``.bert.encoder.layer``): the
    embeddings, then each transformer block, then the pooler and the classifier.
    """
    for name, module in model.named_modules():
        if hasattr(module, "bert") and hasattr(module.bert, "embeddings"):
            return _bert_layers(model, name)
    layers: list[list[str]] = []
    for name, module in model.named_modules():
        if isinstance(module, _WEIGHT_LAYERS):
            layers.append([name])
        elif isinstance(module, _NORM_LAYERS) and layers:
            layers[-1].append(name)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no conv or linear layers to list")
    return [ParameterLayer(names[0], tuple(names)) for names in layers]
