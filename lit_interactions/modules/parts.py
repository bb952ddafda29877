"""The small parts a classifier module is given: adversarial examples, a donor's low layers, the interaction penalty.

A part is a constructor argument of :class:`~lit_interactions.modules.classifier.ClassifierModule` typed by a subclass
of :class:`TrainingPart`, so LightningCLI builds it from ``class_path`` / ``init_args`` in YAML. The module records
each part in ``hparams`` as plain data (``{"class_path", "init_args"}``), so checkpoints stay ``weights_only``-safe
and ``--ckpt_path`` / ``load_from_checkpoint`` rebuild the same parts.
"""

from __future__ import annotations

import importlib
from typing import Any

from torch import Tensor

PACKAGE = "lit_interactions."
# Hyperparameters of checkpoints written before the parts existed (flat PGD settings, spec mappings).
OLD_KEYS = ("pgd_eps", "pgd_alpha", "pgd_steps")


class TrainingPart:
    """One feature of a classifier's training; every hook does nothing unless the part overrides it.

    Hooks receive the classifier module (``module.model`` is the bare network).
    """

    def attach(self, module: Any) -> None:
        """Called once when the module is built (e.g. copy a donor's layers, check the task)."""

    def setup(self, module: Any, datamodule: Any, stage: str) -> None:
        """Called at the module's ``setup``: check the run and prepare, with errors before training."""

    def on_fit_start(self, module: Any) -> None:
        """Called when fitting starts (the module is on its device)."""

    def on_train_mode(self, module: Any, mode: bool) -> None:
        """Called after ``module.train(mode)``."""

    def training_loss(self, module: Any, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor] | None:
        """``(loss to optimise, logits, per-sample clean loss)`` replacing the plain cross-entropy, or None."""
        return None

    def extra_loss(self, module: Any, batch: dict[str, Tensor]) -> Tensor | float:
        """A term added to this training step's loss (0 = none)."""
        return 0.0

    def on_train_batch_start(self, module: Any) -> None:
        """Called before a training step."""

    def on_train_batch_end(self, module: Any) -> None:
        """Called after a training step (its backward and optimizer step)."""

    def init_args(self) -> dict[str, Any]:
        """The part's constructor arguments as plain data (what ``hparams`` records)."""
        raise NotImplementedError

    def to_hparams(self) -> dict[str, Any]:
        """``{"class_path", "init_args"}`` of this part, plain data."""
        cls = type(self)
        return {"class_path": f"{cls.__module__}.{cls.__qualname__}", "init_args": self.init_args()}


class Parts:
    """The parts a module was given, by argument name, and every hook applied to each part given (in order)."""

    def __init__(self, given: dict[str, TrainingPart | None]) -> None:
        self.given = given
        self.active = [part for part in given.values() if part is not None]

    def hparams(self) -> dict[str, Any]:
        """``{name: {"class_path", "init_args"} or None}``, plain data."""
        return {name: None if part is None else part.to_hparams() for name, part in self.given.items()}

    def attach(self, module: Any) -> None:
        for part in self.active:
            part.attach(module)

    def setup(self, module: Any, datamodule: Any, stage: str) -> None:
        for part in self.active:
            part.setup(module, datamodule, stage)

    def on_fit_start(self, module: Any) -> None:
        for part in self.active:
            part.on_fit_start(module)

    def on_train_mode(self, module: Any, mode: bool) -> None:
        for part in self.active:
            part.on_train_mode(module, mode)

    def training_loss(self, module: Any, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor] | None:
        """The first part's replacement of the training loss, or None."""
        for part in self.active:
            replaced = part.training_loss(module, batch)
            if replaced is not None:
                return replaced
        return None

    def extra_loss(self, module: Any, batch: dict[str, Tensor]) -> Tensor | float:
        total: Tensor | float = 0.0
        for part in self.active:
            total = total + part.extra_loss(module, batch)
        return total

    def on_train_batch_start(self, module: Any) -> None:
        for part in self.active:
            part.on_train_batch_start(module)

    def on_train_batch_end(self, module: Any) -> None:
        for part in self.active:
            part.on_train_batch_end(module)


def build_part(value: Any, kind: type[TrainingPart], name: str) -> TrainingPart | None:
    """A part from itself, None, or its ``{"class_path", "init_args"}`` record (a checkpoint's hparams).

    Raises:
        ValueError: a record of another kind, outside this package, or an older checkpoint's plain settings.
    """
    if value is None or isinstance(value, kind):
        return value
    if isinstance(value, dict) and isinstance(value.get("class_path"), str):
        path = value["class_path"]
        module_name, _, class_name = path.rpartition(".")
        if not path.startswith(PACKAGE):
            raise ValueError(f"{name}: class_path {path!r} is not part of lit_interactions")
        cls = getattr(importlib.import_module(module_name), class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, kind)):
            raise ValueError(f"{name}: class_path {path!r} is not a {kind.__name__}")
        return cls(**dict(value.get("init_args") or {}))
    raise ValueError(
        f"{name} must be a {kind.__name__} (in YAML: {{class_path: lit_interactions.modules.{kind.__name__}, "
        f"init_args: {{...}}}}), got {value!r}"
    )


def check_current_hparams(hparams: dict[str, Any], where: str) -> None:
    """Refuse a checkpoint's module hyperparameters from before the parts, with what to do instead.

    Raises:
        ValueError: naming the old keys.
    """
    old = [key for key in OLD_KEYS if key in hparams]
    old += [key for key in ("adversarial", "transplant", "regularizer")
            if hparams.get(key) is not None and not (isinstance(hparams[key], dict) and "class_path" in hparams[key])]
    if old:
        raise ValueError(
            f"{where}: the checkpoint's hyperparameters {sorted(old)} are from a lit-interactions before training "
            f"parts (adversarial, transplant and regularizer are now class_path/init_args parts); its weights still "
            f"load as a baseline or donor, but to resume or evaluate it run with a current config and without "
            f"--ckpt_path, or retrain"
        )
