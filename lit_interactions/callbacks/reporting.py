"""Where the callbacks' results go: scalars to every logger, tables and images to wandb, files to the run dir.

Scalars are logged through ``trainer.loggers`` with ``step=trainer.global_step`` (this works in any hook,
including ``on_train_start``), and, inside a hook where Lightning allows it (``on_train_start``,
``on_train_epoch_end``), also through ``pl_module.log(..., logger=False)``: so they reach
``trainer.callback_metrics`` (``ModelCheckpoint(monitor=...)``, ``EarlyStopping(monitor=...)``) and, for the keys
asked for, the progress bar. wandb additionally gets tables and images when a ``WandbLogger`` is attached.
Figures are always written as PNG files too (atomically), so a run is readable without wandb.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from lightning import Trainer
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.trainer.connectors.logger_connector.fx_validator import (
    _FxValidator,
)
from lightning.pytorch.trainer.states import TrainerFn
from matplotlib.figure import Figure

from lit_interactions.analysis import save_figure
from lit_interactions.io.axes import EPOCH_AXIS
from lit_interactions.io.wandb_charts import WandbChart


def log_scalars(trainer: Trainer, metrics: Mapping[str, float], prog_bar: Collection[str] = ()) -> None:
    """Log ``metrics`` to every logger at the current global step (rank 0 writes) and to Lightning's callback metrics.

    Args:
        trainer: the trainer whose loggers and LightningModule receive the values.
        metrics: key to value; None values are left out.
        prog_bar: keys also shown in the progress bar.
    """
    clean = {key: float(value) for key, value in metrics.items() if value is not None}
    fitting = trainer.state.fn == TrainerFn.FITTING
    axis = {EPOCH_AXIS: trainer.fit_loop.epoch_progress.current.processed} if fitting else {}  # type: ignore[attr-defined]  # Lightning's progress trackers add .processed at run time
    for logger in trainer.loggers:
        logger.log_metrics({**clean, **axis}, step=trainer.global_step)
        logger.save()
    module = trainer.lightning_module
    hook = getattr(module, "_current_fx_name", None)
    if hook is None or _FxValidator.functions.get(hook) is None:
        return  # called outside a hook that may log (e.g. by hand): the loggers have the values
    for key, value in clean.items():
        module.log(key, value, logger=False, prog_bar=key in prog_bar, on_step=False, on_epoch=True)


def wandb_loggers(trainer: Trainer) -> list[WandbLogger]:
    """The trainer's wandb loggers (none when wandb is disabled)."""
    return [logger for logger in trainer.loggers if isinstance(logger, WandbLogger)]


def log_table(trainer: Trainer, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Log a table to wandb (nothing without a WandbLogger, or on ranks other than 0)."""
    if not trainer.is_global_zero:
        return
    for logger in wandb_loggers(trainer):
        logger.log_table(key=key, columns=list(columns), data=[list(row) for row in rows], step=trainer.global_step)


def write_figure(trainer: Trainer, fig: Figure, path: Path, key: str, caption: str = "") -> None:
    """Save ``fig`` as a PNG at ``path`` (atomically) and log that image to wandb under ``key``."""
    save_figure(fig, path)
    for logger in wandb_loggers(trainer):
        logger.log_image(key=key, images=[str(path)], step=trainer.global_step, caption=[caption or path.stem])


def log_wandb(trainer: Trainer, payload: Mapping[str, Any]) -> None:
    """Log wandb objects (:class:`WandbChart` values, ``wandb.Histogram`` ...) on the epoch axis, to wandb only.

    Nothing without a WandbLogger or on ranks other than 0; a :class:`WandbChart` becomes its ``wandb.plot`` chart.
    """
    if not trainer.is_global_zero:
        return
    for logger in wandb_loggers(trainer):
        values = {key: value.to_wandb() if isinstance(value, WandbChart) else value for key, value in payload.items()}
        if trainer.state.fn == TrainerFn.FITTING:
            values[EPOCH_AXIS] = trainer.fit_loop.epoch_progress.current.processed  # type: ignore[attr-defined]  # Lightning's progress trackers add .processed at run time
        logger.log_metrics(values, step=trainer.global_step)
