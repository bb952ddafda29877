"""The ``regularizer:`` option of the classifier modules: settings, checks, players, baseline, steps and logging.

The option is a plain mapping (a ``TypedDict``), so it is written to ``hparams.yaml`` and checkpoints as plain data
and checkpoints keep loading with ``torch.load(weights_only=True)``; the penalty itself is
:class:`~lit_interactions.modules.regularizer.InteractionRegularizer`.
"""

from __future__ import annotations

import time
from typing import Any, Literal, TypedDict

import lightning as L
from torch import Tensor, nn

from lit_interactions.models.checkpoints import (
    TrainedModule,
    build_baseline,
    read_checkpoint,
)
from lit_interactions.modules.regularizer import InteractionRegularizer
from lit_interactions.players import Players
from lit_interactions.players.base import get_layer

WHO = "regularizer"
OPTION = "--model.init_args.regularizer.baseline"
EXAMPLE = "regularizer: {weight: 0.1, remove: high_order, min_order: 3, n_players: 8, every_n_steps: 4}"


class RegularizerSpec(TypedDict, total=False):
    """Settings of the interaction-removal penalty (the arguments of :class:`InteractionRegularizer`).

    Keys (all optional):
        weight: factor of the penalty in the training loss (default 0.1).
        remove: "high_order" (default), "non_generalizable" (needs ``baseline``) or "both".
        min_order: lowest penalised order for "high_order" (default 3).
        num_samples: samples of each training batch the penalty looks at (default 2).
        n_players: players per sample (default 8; ``2^n`` masked forwards with gradients per sample).
        grid: image patches per side (default 5).
        layer: module whose output holds image players (default: the input).
        every_n_steps: apply the penalty every n-th training step (default 1).
        warmup_steps: no penalty before this many steps (default 0).
        noise_ratio: noise bound of the decomposition solve (default 0.01).
        salience_ratio: salience threshold ratio for the baseline comparison (default 0.02).
        seed: seed of the per-step sample choice and of word players (default 0).
        scale_invariant: differentiate the share's denominator too (default true), so the model cannot lower
            the penalty by shrinking all of its sensitivity to the input; false = a plain L1 penalty on the
            removable effects (it collapsed a fine-tuned classifier at useful weights: docs/regularization.md).
        probe_samples: probe samples of the data module whose rewards give both salience thresholds of
            "non_generalizable" / "both" (default 32).
        baseline: checkpoint of the baseline DNN (the same model trained on held-out data, ``train_subset: 1``);
            required for "non_generalizable" and "both".
    """

    weight: float
    remove: Literal["high_order", "non_generalizable", "both"]
    min_order: int
    num_samples: int
    n_players: int
    grid: int
    layer: str | None
    every_n_steps: int
    warmup_steps: int
    noise_ratio: float
    salience_ratio: float
    seed: int
    scale_invariant: bool
    probe_samples: int
    baseline: str | None


def build_regularizer(spec: Any) -> tuple[InteractionRegularizer, str | None]:
    """``(penalty, baseline checkpoint path)`` from a :class:`RegularizerSpec`.

    Raises:
        ValueError: a spec that is not a mapping, unknown keys, bad values, or a mode that needs a baseline
            without ``baseline``.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"{WHO} must be a mapping like {EXAMPLE!r}, got {spec!r}")
    unknown = sorted(set(spec) - set(RegularizerSpec.__annotations__))
    if unknown:
        raise ValueError(
            f"{WHO} has unknown keys {unknown}; known: {sorted(RegularizerSpec.__annotations__)} (e.g. {EXAMPLE!r})"
        )
    settings = {key: value for key, value in spec.items() if key != "baseline"}
    baseline = spec.get("baseline")
    if baseline is not None and (not isinstance(baseline, str) or not baseline):
        raise ValueError(f"{WHO}.baseline must be a checkpoint path, got {baseline!r}")
    regularizer = InteractionRegularizer(**settings)
    if regularizer.remove == "high_order" and baseline is not None:
        raise ValueError(
            f"{WHO}.baseline is set but remove='high_order' does not use it; use remove: non_generalizable or both, "
            f"or drop the baseline"
        )
    if regularizer.remove != "high_order" and baseline is None:
        regularizer.check()  # raises: this mode needs a baseline DNN
    return regularizer, baseline


def prepare_regularizer(
    regularizer: InteractionRegularizer,
    baseline_path: str | None,
    module: TrainedModule,
    network: nn.Module,
    datamodule: Any,
) -> Players:
    """Check the penalty against the run before training, attach its baseline DNN, and return its players.

    Players follow the data's task (image patches, or words with the data module's tokenizer); without a data
    module the module's own task is used (text then needs a data module for its tokenizer).

    Raises:
        ValueError: players that do not fit (``n_players > grid^2``, an unknown ``layer``, text without a
            tokenizer) or a baseline of another task, architecture, number of classes or input channels.
        FileNotFoundError: a missing baseline checkpoint.
    """
    task = str(getattr(datamodule, "task", None) or module.task)
    tokenizer = getattr(datamodule, "tokenizer", None) if task == "text" else None
    if task == "text" and tokenizer is None:
        raise ValueError(
            f"{WHO}: word players need the data module's tokenizer; train with a text data module of "
            f"lit_interactions.data (trainer.fit(model, datamodule=dm) or the config's data: section)"
        )
    try:
        players = regularizer.players(task, tokenizer)
    except ValueError as error:
        raise ValueError(f"{WHO}: {error}") from None
    if regularizer.layer is not None:
        get_layer(network, regularizer.layer)
    if baseline_path is not None:
        shape = getattr(datamodule, "input_shape", None)
        channels = None if shape is None else int(shape[0])
        checkpoint = read_checkpoint(baseline_path, WHO, OPTION)
        baseline = build_baseline(checkpoint, module, channels, WHO, same_model=True)
        regularizer.attach_baseline(baseline)
    if regularizer.remove != "high_order" and hasattr(datamodule, "probe_ids"):
        regularizer.attach_probe(datamodule.batch(datamodule.probe_ids[: regularizer.probe_samples]))
    regularizer.check()
    return players


class TrainingPenalty:
    """The penalty inside a classifier's training: prepared before fitting, applied on its steps, logged.

    Attributes:
        regularizer: the penalty and its schedule.
        baseline: checkpoint path of the baseline DNN, or None.
        players: the player type, set by :meth:`prepare`.
    """

    def __init__(self, spec: Any) -> None:
        self.regularizer, self.baseline = build_regularizer(spec)
        self.players: Players | None = None
        self._started: tuple[float, int] | None = None

    def prepare(self, module: TrainedModule, datamodule: Any) -> None:
        """Choose the players and load the baseline DNN, with errors before training (see :func:`prepare_regularizer`)."""
        if self.players is None:
            network = module.model  # type: ignore[attr-defined]
            self.players = prepare_regularizer(self.regularizer, self.baseline, module, network, datamodule)

    def to(self, device: Any) -> None:
        """Move the baseline DNN (if any) to ``device``."""
        if self.regularizer.baseline is not None:
            self.regularizer.baseline.to(device)

    def step(self, module: L.LightningModule, network: nn.Module, batch: dict[str, Tensor]) -> Tensor | float:
        """The weighted penalty of this training step (0 when it is not due), logged."""
        step = module.global_step
        if not self.regularizer.active(step):
            return 0.0
        if self.players is None:
            raise RuntimeError("the regularizer was not prepared: fit the module with a Trainer (setup stage 'fit')")
        penalty, logs = self.regularizer.penalty(network, batch, self.players, step)
        log_penalty_step(module, {"regularizer/penalty": float(penalty.detach()), **logs}, step)
        return penalty

    def start_step(self, step: int) -> None:
        """Start timing a training step that applies the penalty."""
        self._started = (time.perf_counter(), step) if self.regularizer.active(step) else None

    def end_step(self, module: L.LightningModule) -> None:
        """Log the whole step's seconds (forward, penalty, backward, optimizer step) of a penalty step."""
        if self._started is not None:
            start, step = self._started
            log_penalty_step(module, {"regularizer/step_seconds": time.perf_counter() - start}, step)
            self._started = None


def log_penalty_step(module: L.LightningModule, values: dict[str, float], step: int) -> None:
    """Log ``<key>_step`` at ``step`` only, and ``<key>`` as the epoch mean over penalty steps.

    Step values go to the loggers directly: ``self.log(on_step=True)`` would repeat a value at every later step until
    it is logged again, so penalty-free steps would look penalised.
    """
    for key, value in values.items():
        module.log(key, value, on_step=False, on_epoch=True, batch_size=1)
    if module.trainer.is_global_zero:
        for logger in module.loggers:
            logger.log_metrics({f"{key}_step": value for key, value in values.items()}, step=step)
