"""LightningModules: image and text classifiers with the papers' training defaults."""

from lit_interactions.modules.classifier import (
    DEFAULT_LR,
    ClassifierModule,
    ImageClassifier,
    TextClassifier,
    classifier_network,
)
from lit_interactions.modules.pgd import pgd_attack
from lit_interactions.modules.regularizer import InteractionRegularizer
from lit_interactions.modules.regularizer_option import RegularizerSpec
from lit_interactions.modules.sample_losses import SampleLossRecorder

__all__ = [
    "DEFAULT_LR", "ClassifierModule", "ImageClassifier", "InteractionRegularizer", "RegularizerSpec",
    "SampleLossRecorder", "TextClassifier", "classifier_network", "pgd_attack",
]
