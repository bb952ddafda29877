"""Where a run lives and how it is logged: one directory per run, CSV + offline wandb by default."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import yaml
from lightning import LightningModule, Trainer
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.cli import SaveConfigCallback
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from lit_interactions.io.atomic import atomic_write_text
from lit_interactions.io.axes import EPOCH_AXIS
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
            text = self.parser.dump(config, skip_none=False)
            atomic_write_text(Path(log_dir) / self.config_filename, text)
            for logger in trainer.loggers:
                if isinstance(logger, RunWandbLogger):
                    logger.log_run_config(yaml.safe_load(text), self.config_filename, text)
        self.already_saved = True


def _wandb_id(run_dir: Path, suffix: str = "") -> str:
    """``<name>-<version><suffix>`` in wandb's id characters, at most 128 of them (the run's own id keeps its tail)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{run_dir.parent.name}-{run_dir.name}")[-(128 - len(suffix)):] + suffix


# Metrics drawn over the epoch axis in wandb (epoch-level values); the rest keep Lightning's trainer/global_step.
RUN_FILES = "lit_interactions"  # folder of the wandb run's files holding the run's config file
EPOCH_LEVEL_PREFIXES = ("interactions/", "confusing_samples/", "generalization/", "hard_samples/", "val/", "gap/")


class RunWandbLogger(WandbLogger):
    """WandbLogger of a run: the resolved config as the wandb config and one epoch axis for epoch-level metrics.

    - :meth:`log_run_config` (called by :class:`RunConfigSaver`) puts the whole resolved config (seed, run, trainer,
      model, data, checkpoint and every callback's ``class_path`` and ``init_args``) into the wandb config, each
      section under its own key, and saves the config file with the run (``files/lit_interactions/config.yaml``).
      Lightning's flat hyperparameters (the module's and the data module's merged into one dict) are then left
      out: they are in the config's ``model`` and ``data`` sections, where the data module's ``num_probe`` is not
      mistaken for the monitor's (``interactions.init_args.num_probe``); what a module records beyond its arguments
      (``transplanted``) goes under ``hparams``.
    - Epoch-level metrics (keys under :data:`EPOCH_LEVEL_PREFIXES`, Lightning's ``*_epoch`` keys and the other keys of
      the rows Lightning logs with them at an epoch's end, e.g. ``train/acc``) are defined on the axis
      :data:`~lit_interactions.io.axes.EPOCH_AXIS`, counted as the monitor counts: 0 = the initial
      model, ``e + 1`` = after (0-based) training epoch ``e``. Lightning's validation and epoch-end training metrics
      carry ``epoch = e`` and get ``e + 1`` (validation at the end of each training epoch); the callbacks log the
      axis themselves. Step-level metrics keep ``trainer/global_step``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._run_config_logged: dict[str, Any] | None = None  # the resolved config, once logged
        self._epoch_metrics: set[str] = set()

    def log_run_config(self, config: Mapping[str, Any], filename: str, text: str) -> None:
        """The resolved config (a nested dict) into the wandb config; ``text`` saved as ``filename`` with the run."""
        run = self.experiment
        run.config.update(dict(config), allow_val_change=True)
        path = Path(run.dir) / RUN_FILES / filename  # wandb's own config.yaml is in run.dir
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
        run.save(str(path), base_path=run.dir, policy="now")
        self._run_config_logged = dict(config)

    def log_hyperparams(self, params: Any) -> None:
        """Lightning's flat hyperparameters; once the resolved config is logged, only those it does not hold (what a
        module records, such as ``transplanted``), under ``hparams``."""
        if self._run_config_logged is None:
            super().log_hyperparams(params)
            return
        sections = [self._run_config_logged.get(section) or {} for section in ("model", "data")]
        arguments = {key for section in sections for key in section.get("init_args") or {}}
        params = params if isinstance(params, Mapping) else vars(params)
        recorded = {k: v for k, v in params.items() if k not in arguments and not k.startswith("_")}
        if recorded:
            super().log_hyperparams({"hparams": recorded})

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Add the epoch axis to Lightning's epoch-level metrics and define new epoch-level keys on it."""
        metrics = dict(metrics)
        epoch_level = [key for key in metrics if key.startswith(EPOCH_LEVEL_PREFIXES) or key.endswith("_epoch")]
        if epoch_level and EPOCH_AXIS not in metrics and "epoch" in metrics:  # Lightning's epoch-end row
            metrics[EPOCH_AXIS] = int(metrics["epoch"]) + 1
            epoch_level = [key for key in metrics if key not in ("epoch", EPOCH_AXIS) and not key.endswith("_step")]
        new = [key for key in epoch_level if key not in self._epoch_metrics]
        if new:
            run = self.experiment
            if not self._epoch_metrics:
                run.define_metric(EPOCH_AXIS)
            for key in new:
                run.define_metric(key, step_metric=EPOCH_AXIS, step_sync=True)
            self._epoch_metrics.update(new)
        super().log_metrics(metrics, step)


class _ContinuingWriter(ExperimentWriter):
    """A CSV writer that keeps the rows of an earlier session of the same run instead of deleting them."""

    def __init__(self, log_dir: str, stage: str) -> None:
        suffix = "" if stage == "fit" else f"_{stage}"
        self.NAME_METRICS_FILE = f"metrics{suffix}.csv"
        self.NAME_HPARAMS_FILE = f"hparams{suffix}.yaml"
        super().__init__(log_dir)

        self.rows = len(self._read_rows())

    def _check_log_dir_exists(self) -> None:
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as file:
                header = next(csv.reader(file), [])
            self.metrics_keys = sorted(header)

    def _read_rows(self) -> list[dict[str, str]]:
        """The file's complete rows (a last line that a kill cut short, with no line end, is left out)."""
        if not os.path.isfile(self.metrics_file_path):
            return []
        with open(self.metrics_file_path, newline="") as file:
            text = file.read()
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]
        return list(csv.DictReader(io.StringIO(text, newline="")))

    def save(self) -> None:
        """Append the buffered rows (and count them: a checkpoint records how many rows it covers)."""
        added = len(self.metrics)
        super().save()
        self.rows += added

    def _rewrite_with_new_header(self, fieldnames: list[str]) -> None:
        """Rewrite the file with a wider header atomically (a kill leaves the old file or the new one)."""
        self._write(fieldnames, self._read_rows())

    def _write(self, fieldnames: list[str], rows: list[dict[str, str]]) -> None:
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.metrics_file_path, text.getvalue())

    def truncate(self, rows: int, before_step: int) -> int:
        """Keep what a resumed checkpoint covers: the first ``rows`` rows (written before it) and the later rows
        logged at a step before ``before_step`` (the epoch's closing row, which Lightning logs just after the
        checkpoint at the epoch's last step); drop the rest, and the columns only they used.

        Returns:
            How many rows were dropped.
        """
        self.save()
        read = self._read_rows()
        kept = read[:rows] + [row for row in read[rows:] if _step(row) < before_step]
        self.metrics_keys = sorted({key for row in kept for key, value in row.items() if value not in ("", None)})
        kept = [{key: row[key] for key in self.metrics_keys if key in row} for row in kept]
        if kept:
            self._write(self.metrics_keys, kept)
        elif os.path.isfile(self.metrics_file_path):
            os.remove(self.metrics_file_path)
        self.rows = len(kept)
        return len(read) - len(kept)


def _step(row: dict[str, str]) -> float:
    """A CSV row's step (every row Lightning's CSV writer writes has one); rows without one sort last."""
    try:
        return float(row.get("step") or "inf")
    except ValueError:
        return float("inf")


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
        return cast(ExperimentWriter, self._experiment)

    @property
    def rows(self) -> int:
        """Rows written to ``metrics.csv`` so far (after :meth:`save`)."""
        return self.experiment.rows

    def truncate(self, rows: int, before_step: int) -> int:
        """Drop the rows logged after the checkpoint a run resumes from (see :meth:`_ContinuingWriter.truncate`)."""
        return self.experiment.truncate(rows, before_step)


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
            RunWandbLogger(
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
