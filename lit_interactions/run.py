"""Where a run lives and how it is logged: one directory per run, CSV + offline wandb by default."""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lightning import LightningModule, Trainer
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.cli import SaveConfigCallback
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from lit_interactions.atomic import atomic_write_text
from lit_interactions.io.wandb_mode import WandbMode, prepare_wandb


TRAINER_CKPT_ALIASES = ("last", "best", "hpc", "registry")  # --ckpt_path values the Trainer resolves, not files


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
    if settings.version is None and ckpt_path and ckpt_path not in TRAINER_CKPT_ALIASES:
        ckpt = Path(ckpt_path)
        if ckpt.parent.name == "checkpoints" and (ckpt.parent.parent / "config.yaml").is_file():
            return ckpt.parent.parent
    version = settings.version or datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return Path(settings.root) / settings.name / version


def check_new_run(run_dir: Path, ckpt_path: str | None) -> None:
    """Refuse to start training from scratch in a run directory that already holds a run.

    Raises:
        ValueError: if ``run_dir`` has checkpoints, a training history (``metrics.csv``) or interaction artifacts and
            no ``ckpt_path`` resumes it: a new run there would append to or overwrite the old one's files.
    """
    if ckpt_path:
        return
    folder = run_dir / "checkpoints"
    checkpoints = sorted(folder.glob("*.ckpt"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if checkpoints:
        last = folder / "last.ckpt"
        raise ValueError(
            f"{run_dir} already holds a trained run ({', '.join(p.name for p in checkpoints)}); resume it with "
            f"--ckpt_path {last if last.is_file() else checkpoints[-1]}, or start a new run with another "
            f"--run.version (or none, for a timestamp)"
        )
    earlier = [name for name in ("metrics.csv", "interactions") if (run_dir / name).exists()]
    if earlier:
        raise ValueError(
            f"{run_dir} already holds an earlier run's {' and '.join(earlier)} but no checkpoint to resume; start "
            f"the new run with another --run.version (or none, for a timestamp), or delete that folder"
        )


class RunConfigSaver(SaveConfigCallback):
    """Write the resolved config into the run directory, atomically; for ``fit`` with ``ckpt_path`` cleared.

    ``lit-interactions fit --config runs/<name>/<version>/config.yaml`` then repeats the run from the start (a resume
    is recorded by the run's checkpoints and history, not by its config).
    """

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if self.already_saved:
            return
        log_dir = trainer.log_dir  # every rank asks: it is broadcast
        if trainer.is_global_zero and self.save_to_log_dir and log_dir is not None:
            config = self.config.clone()
            if stage == "fit" and "ckpt_path" in config:  # an evaluation keeps the checkpoint it evaluated
                config.ckpt_path = None
            atomic_write_text(Path(log_dir) / self.config_filename, self.parser.dump(config, skip_none=False))
        self.already_saved = True


def _wandb_id(run_dir: Path, suffix: str = "") -> str:
    """``<name>-<version><suffix>`` in wandb's id characters, at most 128 of them (the run's own id keeps its tail)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{run_dir.parent.name}-{run_dir.name}")[-(128 - len(suffix)):] + suffix


class _ContinuingWriter(ExperimentWriter):
    """A CSV writer that keeps the rows of an earlier session of the same run instead of deleting them."""

    def __init__(self, log_dir: str, stage: str) -> None:
        suffix = "" if stage == "fit" else f"_{stage}"
        self.NAME_METRICS_FILE = f"metrics{suffix}.csv"
        self.NAME_HPARAMS_FILE = f"hparams{suffix}.yaml"
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as file:
                header = next(csv.reader(file), [])
            self.metrics_keys = sorted(header)


class RunCSVLogger(CSVLogger):
    """CSVLogger writing ``metrics.csv`` and ``hparams.yaml`` at the top of the run directory; a resumed run appends.

    For ``stage`` validate, test or predict the files are ``metrics_<stage>.csv`` and ``hparams_<stage>.yaml``, so an
    evaluation of the run's checkpoint leaves the training files as they were.
    """

    def __init__(self, run_dir: Path, stage: str = "fit") -> None:
        super().__init__(save_dir=str(run_dir), name="", version="")
        self.stage = stage

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            os.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuingWriter(log_dir=self.log_dir, stage=self.stage)
        return self._experiment


def make_loggers(settings: RunSettings, run_dir: Path, stage: str = "fit") -> list[Logger]:
    """CSV logger first (it fixes the run directory for checkpoints and the saved config), then wandb, TensorBoard.

    ``stage`` other than "fit" (validate, test, predict) writes ``metrics_<stage>.csv`` beside the training history
    and its own wandb run (id ``<run id>-<stage>``, job type ``<stage>``, same group), so the training run's wandb
    history holds training only.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    loggers: list[Logger] = [RunCSVLogger(run_dir, stage)]
    if settings.wandb_mode != "disabled":
        prepare_wandb(settings.wandb_mode)
        suffix = "" if stage == "fit" else f"-{stage}"
        loggers.append(
            WandbLogger(
                save_dir=str(run_dir),
                project=settings.project,
                name=f"{settings.name}/{run_dir.name}{suffix.replace('-', '/')}",
                id=_wandb_id(run_dir, suffix),
                group=settings.group or settings.name,
                job_type="train" if stage == "fit" else stage,
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
