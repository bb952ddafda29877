"""LightningModules: image and text classifiers with the papers' training defaults."""

from lit_interactions.modules.classifier import DEFAULT_LR, ClassifierModule, ImageClassifier, TextClassifier, classifier_network
from lit_interactions.modules.pgd import pgd_attack
from lit_interactions.modules.sample_losses import SampleLossRecorder

__all__ = [
    "DEFAULT_LR", "ClassifierModule", "ImageClassifier", "SampleLossRecorder", "TextClassifier",
    "classifier_network", "pgd_attack",
]
