"""The ``lit-interactions`` command: LightningCLI (fit, validate, test, predict) with run directories and loggers."""

from __future__ import annotations

import os
import shutil
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from lightning import LightningDataModule, Trainer
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from lit_interactions.callbacks.predictions import PredictionCSVWriter
from lit_interactions.models.checkpoints import read_checkpoint
from lit_interactions.modules import ClassifierModule
from lit_interactions.modules.parts import check_current_hparams
from lit_interactions.resume import ExactResume
from lit_interactions.run import (
    TRAINER_CKPT_ALIASES,
    RunConfigSaver,
    RunSettings,
    check_new_run,
    finish_loggers,
    make_loggers,
    resolve_run_dir,
)

# Top-level config keys of the composable callback YAMLs in callbacks/: each file fills its own key, so several
# files compose with repeated --config flags (a list under trainer.callbacks would be replaced, not merged).
OPTIONAL_CALLBACK_KEYS = ("interactions", "confusing_samples", "hard_samples", "baseline")
NOT_MODULE_ARGUMENTS = ("_instantiator", "transplanted")
CKPT_FIX = "train a run first (lit-interactions fit) and pass"


class _Parser(LightningArgumentParser):
    """LightningCLI's parser whose usage errors are the one error line first, then where the options are listed
    (instead of the whole usage, which hides the error at the end of a long screen)."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not self.exit_on_error:
            super().error(message, ex)
        sys.stderr.write(f"lit-interactions: error: {message}\n(every option: lit-interactions <subcommand> --help)\n")
        sys.exit(2)


class LitInteractionsCLI(LightningCLI):
    """LightningCLI with a ``run:`` section: each run gets ``runs/<name>/<version>/`` holding the resolved
    config.yaml, metrics.csv, checkpoints/ (with last.ckpt for resuming) and the offline wandb run.

    ``validate``, ``test`` and ``predict`` of a run's checkpoint write into that run's directory too, but into
    ``config_<subcommand>.yaml`` and ``metrics_<subcommand>.csv``, so the training config and history stay as
    they were; ``predict`` writes ``predictions_epoch<E>_step<S>.csv`` (sample id, label, predicted class,
    probabilities)."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_class_arguments(RunSettings, "run")
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults({
            "checkpoint.save_last": True,
            "checkpoint.enable_version_counter": False,
            "checkpoint.save_on_train_epoch_end": True,  # the resume point of an exact resume (docs/reliability.md)
        })
        for key in OPTIONAL_CALLBACK_KEYS:
            parser.add_lightning_class_args(Callback, key, subclass_mode=True, required=False)

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        config = self.config_init[self.subcommand] if self.subcommand else self.config_init
        trainer_config = config.get("trainer", {})
        if trainer_config.get("logger") in (None, True):
            run_settings: RunSettings = config["run"]
            run_dir = resolve_run_dir(run_settings, config.get("ckpt_path"))
            self.run_dir = run_dir
            if self.subcommand == "fit":
                check_new_run(run_dir, config.get("ckpt_path"))
            kwargs.setdefault("logger", make_loggers(run_settings, run_dir, stage=self.subcommand or "fit"))
            kwargs.setdefault("default_root_dir", str(run_dir))
        if self.subcommand not in (None, "fit"):
            self.save_config_kwargs = {**self.save_config_kwargs, "config_filename": f"config_{self.subcommand}.yaml"}
        return super().instantiate_trainer(**kwargs)

    def _parse_ckpt_path(self) -> None:
        """Restore the model's arguments from a ``--ckpt_path`` checkpoint, as LightningCLI does, after checking the
        file (one clear error for a missing, empty or damaged file) and leaving out the hyperparameters that record
        what happened (``transplanted``) rather than arguments of the module."""
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if not ckpt_path or ckpt_path in TRAINER_CKPT_ALIASES:
            return
        checkpoint = read_checkpoint(ckpt_path, "--ckpt_path", "--ckpt_path", CKPT_FIX)
        hparams = {k: v for k, v in checkpoint["hyper_parameters"].items() if k not in NOT_MODULE_ARGUMENTS}
        check_current_hparams(hparams, f"--ckpt_path {ckpt_path}")
        if subcommand != "fit" and hparams.get("transplant") is not None:
            hparams["transplant"] = None  # the checkpoint holds the weights; only a resumed fit needs the donor
        if "_class_path" in hparams:
            hparams = {"class_path": hparams.pop("_class_path"), "dict_kwargs": hparams}
        if hparams:
            self.config = self.parser.parse_object({subcommand: {"model": hparams}}, self.config)

    def _run_subcommand(self, subcommand: str) -> None:
        failed = True
        try:
            super()._run_subcommand(subcommand)
            failed = False
        finally:
            finish_loggers(self.trainer.loggers)  # before a failed run's folder may go
            if failed and self.trainer.is_global_zero:
                run_dir = getattr(self, "run_dir", None)
                if subcommand == "fit" and not self.config_init[subcommand].get("ckpt_path"):
                    remove_unstarted_run(run_dir)
                remove_if_empty(run_dir)

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list[Callback]) -> Trainer:
        callbacks = [c for c in callbacks if c is not None]
        if self.subcommand == "predict":
            callbacks.append(PredictionCSVWriter())
        if self.subcommand == "fit":
            callbacks.append(ExactResume())
        return super()._instantiate_trainer(config, callbacks)


RUN_RESULTS = ("metrics.csv", "checkpoints", "interactions")  # what a run that started training leaves


def remove_unstarted_run(run_dir: Path | None) -> None:
    """Remove what a new run that failed before training wrote (its wandb folder, config and hparams files), so
    no orphan is left; a run with any result (metrics, checkpoints, interactions) is kept as it is."""
    if run_dir is None or not run_dir.is_dir() or any((run_dir / name).exists() for name in RUN_RESULTS):
        return
    shutil.rmtree(run_dir / "wandb", ignore_errors=True)
    for name in ("config.yaml", "hparams.yaml"):
        (run_dir / name).unlink(missing_ok=True)


def remove_if_empty(run_dir: Path | None) -> None:
    """Remove a run directory with nothing in it (a run that failed before writing, e.g. with wandb disabled), and
    its experiment folder if that is left empty too; another process removing or filling them first is fine."""
    for folder in (run_dir, run_dir.parent) if run_dir is not None else ():
        try:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        except OSError:
            return


def cli_main(args: list[str] | None = None, run: bool = True) -> LitInteractionsCLI:
    """Run the training CLI on ``args`` (``sys.argv[1:]`` when None)."""
    return LitInteractionsCLI(
        ClassifierModule,
        LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        save_config_callback=RunConfigSaver,
        parser_class=_Parser,
        # "--trainer.max_epoch 2" is a typo to report, not an abbreviation of max_epochs to accept
        parser_kwargs={"allow_abbrev": False, **{name: {"allow_abbrev": False} for name in LightningCLI.subcommands()}},
        args=args,
        run=run,
        auto_configure_optimizers=False,
    )


REPORT_COMMANDS = ("compare", "report")
CONFIG_FLAGS = ("--config", "-c", "--model", "--data", "--print_config", "-h", "--help")  # without one: say so


def main() -> None:
    """Entry point of the ``lit-interactions`` console script: ``compare`` and ``report`` go to
    :mod:`lit_interactions.reports.commands`, ``explain`` to :mod:`lit_interactions.reports.explain_command`,
    everything else (fit, validate, test, predict) to LightningCLI.

    Bad input (a missing dataset, an unknown model, sizes that do not fit) ends with the project's message and
    exit code 2 instead of a traceback; ``LIT_INTERACTIONS_TRACEBACK=1`` shows the traceback as well.
    """
    args = sys.argv[1:]
    if args[:1] == ["fetch-data"]:
        from lit_interactions.data.fetch import main as fetch_data

        sys.exit(fetch_data(args[1:]))
    if args and args[0] in REPORT_COMMANDS:
        from lit_interactions.reports.commands import main as report_commands

        sys.exit(report_commands(args))
    if args and args[0] == "explain":
        from lit_interactions.reports.explain_command import main as explain_command

        sys.exit(run_checked(lambda: explain_command(args)))
    if args[:1] in (["-h"], ["--help"]):
        print(f"Reports: lit-interactions {{{','.join(REPORT_COMMANDS)}}} --help (docs/reports.md); "
              f"explanations: lit-interactions explain --help (docs/llm.md); data install: "
              f"lit-interactions fetch-data --help")
    if args[:1] and args[0] in LightningCLI.subcommands() and not any(a.startswith(CONFIG_FLAGS) for a in args[1:]):
        print(f"lit-interactions: error: {args[0]} needs a config: lit-interactions {args[0]} --config "
              "configs/quickstart.yaml (configs/ lists the experiments; --help lists every option)", file=sys.stderr)
        sys.exit(2)
    run_checked(cli_main)  # LightningCLI reads sys.argv itself


def run_checked(command: Callable[[], Any]) -> Any:
    """Run ``command``; a check of this package rejecting the input prints its message and exits with code 2."""
    try:
        return command()
    except (ValueError, TypeError, FileNotFoundError) as error:
        message = input_error_message(error)
        if message is None or os.environ.get("LIT_INTERACTIONS_TRACEBACK"):
            raise
        print(f"lit-interactions: error: {message}\n(the traceback: set LIT_INTERACTIONS_TRACEBACK=1)", file=sys.stderr)
        sys.exit(2)


PACKAGE_DIR = Path(__file__).resolve().parent


def input_error_message(error: BaseException) -> str | None:
    """The message of the check in this package that rejected the input, if that is what ``error`` (or an
    exception it was raised from, such as jsonargparse's wrapper around a failed instantiation) is.

    A check is a ``raise`` statement of this package's own code (the innermost frame is in the package and is a
    ``raise``). A failure inside a library, or a bug of ours (``len(None)``), is not one and keeps its traceback.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.extract_tb(current.__traceback__)
        if isinstance(current, (ValueError, TypeError, FileNotFoundError)) and frames:
            innermost = frames[-1]
            in_package = Path(innermost.filename).resolve().is_relative_to(PACKAGE_DIR)
            if in_package and (innermost.line or "").lstrip().startswith("raise "):
                return str(current)
        current = current.__cause__ or current.__context__
    return None


if __name__ == "__main__":
    main()
