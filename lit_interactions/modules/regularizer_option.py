"""The interaction-removal penalty as a part of a classifier's training: checks, players, baseline, steps, logging.

:class:`InteractionPenalty` is :class:`~lit_interactions.modules.regularizer.InteractionRegularizer` (its settings)
plus the baseline DNN's checkpoint, given to a classifier module as ``regularizer:`` (``class_path`` /
``init_args`` in YAML); the module records it in ``hparams`` as plain data.
"""

from __future__ import annotations

import time
from typing import Any

import lightning as L
from torch import Tensor, nn

from lit_interactions.models.checkpoints import (
    TrainedModule,
    build_baseline,
    read_checkpoint,
)
from lit_interactions.modules.parts import TrainingPart
from lit_interactions.modules.regularizer import InteractionRegularizer
from lit_interactions.players import Players
from lit_interactions.players.base import get_layer

WHO = "regularizer"
PROGRESS_BAR_KEY = "regularizer/latest_share"  # the latest penalty step's share, in the progress bar only (not logged)
OPTION = "--model.init_args.regularizer.init_args.baseline"


class InteractionPenalty(InteractionRegularizer, TrainingPart):
    """The penalty inside a classifier's training: prepared before fitting, applied on its steps, logged.

    Adds the interaction-removal penalty (paper 2 App. D) to the training loss on its steps and logs
    ``regularizer/penalty`` (weighted), ``regularizer/share``, ``regularizer/samples``, ``regularizer/seconds`` (its
    forward passes and solve) and ``regularizer/step_seconds`` (the whole training step with the penalty's backward),
    each as ``<key>_step`` on penalty steps only and ``<key>`` as the epoch mean; ``train/loss`` stays the
    cross-entropy. Its players follow the data module; its baseline DNN is loaded at fit setup (not stored in the
    module's state).

    Args:
        baseline: checkpoint of the baseline DNN (the same model trained on held-out data, ``train_subset: 1``);
            required for ``remove`` "non_generalizable" and "both", refused for "high_order".
        **kwargs: the penalty's settings (:class:`InteractionRegularizer`: ``weight``, ``remove``, ``min_order``,
            ``num_samples``, ``players``, ``every_n_steps``, ``warmup_steps``, ``solver``, ``salience_ratio``,
            ``scale_invariant``, ``probe_samples``).
    """

    def __init__(self, baseline: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._settings = dict(kwargs)
        if baseline is not None and (not isinstance(baseline, str) or not baseline):
            raise ValueError(f"{WHO}.baseline must be a checkpoint path, got {baseline!r}")
        if self.remove == "high_order" and baseline is not None:
            raise ValueError(
                f"{WHO}.baseline is set but remove='high_order' does not use it; use remove: non_generalizable or "
                f"both, or drop the baseline"
            )
        self.baseline_path = baseline
        if self.remove != "high_order" and baseline is None:
            self.check()  # raises: this mode needs a baseline DNN
        self.player_type: Players | None = None
        self._started: tuple[float, int] | None = None

    def init_args(self) -> dict[str, Any]:
        values = {key: getattr(value, "to_dict", lambda v=value: v)() for key, value in self._settings.items()}
        return {**values, "baseline": self.baseline_path}

    def setup(self, module: Any, datamodule: Any, stage: str) -> None:
        """When fitting: choose the players and load the baseline DNN, with errors before training."""
        if stage == "fit" and self.player_type is None:
            self.player_type = prepare_regularizer(self, self.baseline_path, module, module.model, datamodule)

    def on_fit_start(self, module: Any) -> None:
        """Move the baseline DNN (if any) to the module's device."""
        if self.comparison.baseline is not None:
            self.comparison.baseline.to(module.device)

    def extra_loss(self, module: Any, batch: dict[str, Tensor]) -> Tensor | float:
        """The weighted penalty of this training step (0 when it is not due), logged."""
        step = module.global_step
        if not self.active(step):
            return 0.0
        if self.player_type is None:
            raise RuntimeError("the regularizer was not prepared: fit the module with a Trainer (setup stage 'fit')")
        penalty, logs = self.penalty(module.model, batch, self.player_type, step)
        log_penalty_step(module, {"regularizer/penalty": float(penalty.detach()), **logs}, step)
        if "regularizer/share" in logs:  # the status of the penalty in the progress bar: its latest share
            module.log(PROGRESS_BAR_KEY, logs["regularizer/share"], on_step=True, on_epoch=False, prog_bar=True,
                       logger=False, batch_size=1)
        return penalty

    def on_train_batch_start(self, module: Any) -> None:
        """Start timing a training step that applies the penalty."""
        step = module.global_step
        self._started = (time.perf_counter(), step) if self.active(step) else None

    def on_train_batch_end(self, module: Any) -> None:
        """Log the whole step's seconds (forward, penalty, backward, optimizer step) of a penalty step."""
        if self._started is not None:
            start, step = self._started
            log_penalty_step(module, {"regularizer/step_seconds": time.perf_counter() - start}, step)
            self._started = None


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
        regularizer.attach_probe(datamodule.batch(datamodule.probe_ids[: regularizer.comparison.probe_samples]))
    regularizer.check()
    return players


PROGRESS_BAR_KEY = "regularizer/latest_share"  # the latest penalty step's share, in the progress bar only (not logged)
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
