"""Models by name: ``create_model("resnet20", num_classes=2, in_channels=1)``."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from lit_interactions.models.alexnet import alexnet
from lit_interactions.models.bert import (
    bert_base,
    bert_large,
    bert_medium,
    bert_tiny,
    minilm_l6,
)
from lit_interactions.models.resnet_cifar import resnet20, resnet32, resnet56
from lit_interactions.models.resnet_imagenet import resnet34
from lit_interactions.models.vgg import vgg11, vgg13, vgg16

IMAGE_MODELS: dict[str, Callable[..., nn.Module]] = {
    "resnet20": resnet20,
    "resnet32": resnet32,
    "resnet56": resnet56,
    "resnet34": resnet34,
    "vgg11": vgg11,
    "vgg13": vgg13,
    "vgg16": vgg16,
    "alexnet": alexnet,
}
TEXT_MODELS: dict[str, Callable[..., nn.Module]] = {
    "bert_tiny": bert_tiny,
    "bert_medium": bert_medium,
    "bert_base": bert_base,
    "bert_large": bert_large,
    "minilm_l6": minilm_l6,
}
MODELS: dict[str, Callable[..., nn.Module]] = {**IMAGE_MODELS, **TEXT_MODELS}


def list_models() -> list[str]:
    """Names of all registered models."""
    return sorted(MODELS)


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model by name.

    Raises:
        ValueError: for an unknown name (the message lists the known names).
    """
    key = name.lower().replace("-", "_")
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return MODELS[key](**kwargs)
