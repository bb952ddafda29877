"""Exact resume: a run killed at any moment and resumed from ``last.ckpt`` ends as if it had never stopped.

The resume point is the end of a training epoch: checkpoints are written only there (after validation and the
interaction monitor's measurement), so a kill inside an epoch resumes from the previous epoch's end and replays
that epoch identically. :class:`ExactResume` makes the replay identical and the files consistent:

- it saves every global random state (torch CPU and CUDA, numpy, Python ``random``) in the checkpoint and sets it
  again when training resumes, so the data order, augmentation and dropout continue as in the uninterrupted run;
- it flushes the loggers before the checkpoint is written and records how many rows ``metrics.csv`` holds; on
  resume the rows logged after that checkpoint are dropped (the replay logs them again);
- it records the epoch's closing row (the epoch-level metrics Lightning logs just after the checkpoint), so a run
  killed before that row reached ``metrics.csv`` gets it back on resume;
- it removes the temporary files a killed atomic write leaves behind (``.<name>.*.tmp*``).

The interaction monitor forgets the epochs measured after the checkpoint itself
(:meth:`~lit_interactions.callbacks.monitor_report.MonitorReport.forget_unrecorded`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning import Callback, LightningModule, Trainer
from lightning.fabric.utilities.seed import _collect_rng_states, _set_rng_states
from lightning.pytorch.callbacks import ModelCheckpoint

from lit_interactions.run import RunCSVLogger

WHO = "ExactResume"
STATE_VERSION = 1


class ExactResume(Callback):
    """Save and restore what a checkpoint needs for an exact resume (random states, the CSV history's length).

    ``lit-interactions fit`` adds it to every run; with your own ``Trainer``, add it to the callbacks and keep
    checkpoints at epoch ends (``ModelCheckpoint(save_on_train_epoch_end=True)``, no ``every_n_train_steps``).
    """

    def __init__(self) -> None:
        super().__init__()
        self._trainer: Trainer | None = None
        self._restored: dict[str, Any] | None = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Refuse checkpoints that would be written inside an epoch (they cannot be resumed exactly)."""
        self._trainer = trainer
        if stage != "fit":
            return
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, ModelCheckpoint) and not _saves_at_epoch_end_only(callback, trainer):
                raise ValueError(
                    f"{WHO}: a ModelCheckpoint that saves inside an epoch (every_n_train_steps, train_time_interval, "
                    f"or after a validation that is not at the epoch end) cannot be resumed exactly; keep "
                    f"checkpoints at epoch ends (checkpoint.every_n_train_steps: 0, train_time_interval: null, "
                    f"save_on_train_epoch_end: true, trainer.val_check_interval: 1.0)"
                )

    # -- checkpointing -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The global random states, the step and the number of rows in ``metrics.csv`` (buffered rows flushed)."""
        csv_rows = step = closing = None
        if self._trainer is not None:
            step = int(self._trainer.global_step)
            for logger in self._trainer.loggers:
                logger.save()
            csv_rows = next((lg.rows for lg in self._trainer.loggers if isinstance(lg, RunCSVLogger)), None)
            closing = closing_row(self._trainer)
        return {
            "version": STATE_VERSION, "rng": _plain_rng_states(), "csv_rows": csv_rows, "global_step": step,
            "closing_row": closing,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored = dict(state_dict)

    # -- resuming ------------------------------------------------------------------------------------------
    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Drop the rows logged after the checkpoint and the leftovers of killed atomic writes; set the random states
        the uninterrupted run had when this checkpoint was written.

        Here, not later: the training loop creates the first epoch's data iterator (which draws from the global
        generator) before ``on_train_start``; the sanity check in between leaves the random states as they were.
        """
        if self._restored is None:
            return
        state, self._restored = self._restored, None
        if trainer.is_global_zero:
            rows, step = state.get("csv_rows"), state.get("global_step")
            for logger in trainer.loggers:
                if isinstance(logger, RunCSVLogger) and rows is not None and step is not None:
                    logger.truncate(rows, before_step=step)
                    closing = state.get("closing_row")
                    if closing and logger.rows == rows:  # killed before the epoch's closing row was written
                        logger.log_metrics(dict(closing["metrics"]), step=closing["step"])
                        logger.save()
            if trainer.log_dir is not None:
                remove_temporary_files(Path(trainer.log_dir))
        rng = state.get("rng")
        if rng is None:
            warnings.warn(
                f"{WHO}: the checkpoint holds no random states (written before exact resume existed); the resumed "
                f"run continues with other random draws than the uninterrupted one would have", stacklevel=2,
            )
            return
        if trainer.strategy.root_device.type != "cuda":
            rng = {key: value for key, value in rng.items() if key != "torch.cuda"}
        _set_rng_states(_numpy_state_back(rng))


def closing_row(trainer: Trainer) -> dict[str, Any] | None:
    """The row Lightning logs at an epoch's end right after the epoch-end checkpoint (``train/*_epoch`` metrics).

    Computed as Lightning's logger connector will compute it (same values, same step, same ``epoch``); None outside
    the end of a training epoch or when Lightning will not log it (``log_every_n_steps``).
    """
    fit_loop = trainer.fit_loop
    progress = fit_loop.epoch_progress.current
    connector = trainer._logger_connector
    if not trainer.training or connector._first_loop_iter is not None or progress.processed <= progress.completed:  # type: ignore[attr-defined]  # Lightning's progress trackers add .processed at run time
        return None
    epoch_loop = fit_loop.epoch_loop
    epoch_loop._batches_that_stepped -= 1  # as Lightning does while it logs the epoch's metrics
    try:
        log = connector.metrics["log"] if connector.should_update_logs else {}
        step = epoch_loop._batches_that_stepped
    finally:
        epoch_loop._batches_that_stepped += 1
    metrics = {key: value.item() if isinstance(value, torch.Tensor) else value for key, value in log.items()}
    if not metrics:
        return None
    metrics.setdefault("epoch", trainer.current_epoch)
    return {"metrics": metrics, "step": int(step)}


def _plain_rng_states() -> dict[str, Any]:
    """Lightning's collection of the global random states, with numpy's as plain values (``weights_only`` loads)."""
    states = _collect_rng_states(include_cuda=torch.cuda.is_available())
    name, keys, position, has_gauss, cached = states["numpy"]
    states["numpy"] = {
        "name": str(name), "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(position),
        "has_gauss": int(has_gauss), "cached_gaussian": float(cached),
    }
    return states


def _numpy_state_back(states: dict[str, Any]) -> dict[str, Any]:
    numpy_state = states["numpy"]
    keys = numpy_state["keys"].numpy().astype(np.uint32)
    return {**states, "numpy": (
        numpy_state["name"], keys, numpy_state["pos"], numpy_state["has_gauss"], numpy_state["cached_gaussian"],
    )}


def _saves_at_epoch_end_only(callback: ModelCheckpoint, trainer: Trainer) -> bool:
    return (
        not callback._every_n_train_steps
        and callback._train_time_interval is None
        and callback._should_save_on_train_epoch_end(trainer)
    )


def remove_temporary_files(run_dir: Path) -> list[Path]:
    """Remove the temporary files of atomic writes a kill interrupted (``.<name>.<hex>.tmp<suffix>``)."""
    removed = []
    for path in run_dir.rglob(".*.tmp*"):
        if path.is_file() and "wandb" not in path.relative_to(run_dir).parts:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
