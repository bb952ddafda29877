"""Where a run lives and how it is logged: one directory per run, CSV + offline wandb by default."""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


WandbMode = Literal["offline", "online", "disabled"]


@dataclass
class RunSettings:
    """Run directory and logger settings (the ``run:`` section of a config).

    Attributes:
        name: experiment name; runs live in ``root/name/version``.
        root: folder holding all runs.
        version: run folder name; a timestamp when omitted, or the folder of a resumed checkpoint.
        group: wandb group, so the runs of one experiment overlay in a dashboard (default: ``name``).
        tags: wandb tags.
        project: wandb project.
        wandb_mode: "offline" (default: no account or network needed; ``wandb sync`` later), "online", "disabled".
        tensorboard: also write TensorBoard event files.
    """

    name: str = "default"
    root: str = "runs"
    version: str | None = None
    group: str | None = None
    tags: list[str] = field(default_factory=list)
    project: str = "lit-interactions"
    wandb_mode: WandbMode = "offline"
    tensorboard: bool = False


def resolve_run_dir(settings: RunSettings, ckpt_path: str | None = None) -> Path:
    """The run directory: the resumed checkpoint's run, else ``root/name/version`` (a fresh timestamp if unset)."""
    if settings.version is None and ckpt_path and ckpt_path not in ("last", "best", "hpc", "registry"):
        ckpt = Path(ckpt_path)
        if ckpt.parent.name == "checkpoints" and (ckpt.parent.parent / "config.yaml").is_file():
            return ckpt.parent.parent
    version = settings.version or datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return Path(settings.root) / settings.name / version


def _wandb_id(run_dir: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{run_dir.parent.name}-{run_dir.name}")[-128:]


class _ContinuingWriter(ExperimentWriter):
    """A CSV writer that keeps the rows of an earlier session of the same run instead of deleting them."""

    def __init__(self, log_dir: str, file_name: str) -> None:
        self.NAME_METRICS_FILE = file_name
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as file:
                header = next(csv.reader(file), [])
            self.metrics_keys = sorted(header)


class RunCSVLogger(CSVLogger):
    """CSVLogger writing ``metrics.csv`` (or ``file_name``) at the top of the run directory; a resumed run appends."""

    def __init__(self, run_dir: Path, file_name: str = "metrics.csv") -> None:
        super().__init__(save_dir=str(run_dir), name="", version="")
        self.file_name = file_name

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            os.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuingWriter(log_dir=self.log_dir, file_name=self.file_name)
        return self._experiment


def make_loggers(settings: RunSettings, run_dir: Path, stage: str = "fit") -> list[Logger]:
    """CSV logger first (it fixes the run directory for checkpoints and the saved config), then wandb, TensorBoard.

    ``stage`` other than "fit" (validate, test, predict) writes ``metrics_<stage>.csv`` beside the training history.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    loggers: list[Logger] = [RunCSVLogger(run_dir, "metrics.csv" if stage == "fit" else f"metrics_{stage}.csv")]
    if settings.wandb_mode != "disabled":
        os.environ.setdefault("WANDB_SILENT", "true")
        loggers.append(
            WandbLogger(
                save_dir=str(run_dir),
                project=settings.project,
                name=f"{settings.name}/{run_dir.name}",
                id=_wandb_id(run_dir),
                group=settings.group or settings.name,
                tags=list(settings.tags),
                mode=settings.wandb_mode,
                resume="allow",
            )
        )
    if settings.tensorboard:
        loggers.append(TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", version=""))
    return loggers


def finish_loggers(loggers: list[Logger]) -> None:
    """Close the wandb runs these loggers started, so the next run in the same process (a notebook, a test, a
    sweep) starts its own wandb run instead of writing into this one."""
    for logger in loggers:
        if isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger.experiment.finish()
