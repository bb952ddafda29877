"""Classifiers the papers use, by name, with their parameter layers in forward order."""

from lit_interactions.models.alexnet import AlexNet, alexnet
from lit_interactions.models.bert import (
    BERT_SHAPES,
    BertClassifier,
    bert_base,
    bert_large,
    bert_medium,
    bert_tiny,
    minilm_l6,
    minilm_path,
)
from lit_interactions.models.layers import ParameterLayer, parameter_layers
from lit_interactions.models.normalize import Normalize
from lit_interactions.models.registry import (
    IMAGE_MODELS,
    MODELS,
    TEXT_MODELS,
    create_model,
    list_models,
)
from lit_interactions.models.resnet_cifar import (
    CifarResNet,
    resnet20,
    resnet32,
    resnet56,
)
from lit_interactions.models.resnet_imagenet import ResNet34, resnet34
from lit_interactions.models.vgg import VGG, vgg11, vgg13, vgg16

__all__ = [
    "AlexNet", "BERT_SHAPES", "BertClassifier", "CifarResNet", "IMAGE_MODELS", "MODELS", "Normalize",
    "ParameterLayer", "ResNet34", "TEXT_MODELS", "VGG", "alexnet", "bert_base", "bert_large", "bert_medium",
    "bert_tiny", "create_model", "list_models", "minilm_l6", "minilm_path", "parameter_layers", "resnet20",
    "resnet32", "resnet34", "resnet56", "vgg11", "vgg13", "vgg16",
]
