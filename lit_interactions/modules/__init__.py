"""LightningModules: image and text classifiers with the papers' training defaults."""

from lit_interactions.modules.classifier import (
    DEFAULT_LR,
    ClassifierModule,
    ImageClassifier,
    TextClassifier,
    classifier_network,
)
from lit_interactions.modules.parts import TrainingPart
from lit_interactions.modules.pgd import AdversarialTraining, pgd_attack
from lit_interactions.modules.regularizer import InteractionRegularizer
from lit_interactions.modules.regularizer_option import InteractionPenalty
from lit_interactions.modules.sample_losses import SampleLossRecorder
from lit_interactions.modules.transplant import LayerTransplant

__all__ = [
    "DEFAULT_LR", "AdversarialTraining", "ClassifierModule", "ImageClassifier", "InteractionPenalty",
    "InteractionRegularizer", "LayerTransplant", "SampleLossRecorder", "TextClassifier", "TrainingPart",
    "classifier_network", "pgd_attack",
]
