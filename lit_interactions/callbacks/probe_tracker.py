"""ProbeTracker: the fixed probe samples and players a monitor follows through a fit, and the epochs' losses.

The part of :class:`~lit_interactions.callbacks.monitor.InteractionMonitor` that is state rather than
measuring: the probe samples and their players (chosen once on the initial model, or read from another run's
``players.pt``), their checkpoint and the checks on resume, and the training and validation losses kept per epoch
for the gap-widening epoch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn

from lit_interactions.callbacks.history import MonitorHistory
from lit_interactions.callbacks.monitor_options import AnalysisOptions, ProbeOptions
from lit_interactions.callbacks.monitor_players import choose_selection, restored_selection
from lit_interactions.callbacks.probe import choose_probe_ids, data_task
from lit_interactions.callbacks.user_module import logged_loss, network_of
from lit_interactions.interactions.options import SolverOptions
from lit_interactions.players import Players, PlayerSelection
from lit_interactions.players.options import PlayerOptions

STATE_VERSION = 1
WHO = "InteractionMonitor"


class ProbeTracker(Callback):
    """Probe samples, their players, the measured epochs' history and the losses, with their checkpoint.

    Args:
        num_probe: probe samples followed (the first ones of the data's probe set).
        options: how the players are chosen.
        probe: which samples, which players file and which output.
        analysis: the loss keys read per epoch (and the summary settings).
        solver: the solve's settings (its noise ratio is one a resumed run must share).
    """

    def __init__(
        self, num_probe: int, options: PlayerOptions, probe: ProbeOptions, analysis: AnalysisOptions, solver: SolverOptions
    ) -> None:
        super().__init__()
        given = probe.samples
        if given is not None and len(given.labels) < num_probe:
            raise ValueError(f"{WHO}: {len(given.labels)} probe samples are given but num_probe={num_probe}; "
                             f"set num_probe <= {len(given.labels)} or give more samples")
        self.num_probe, self.options, self.probe, self.analysis, self.solver = num_probe, options, probe, analysis, solver
        self.history = MonitorHistory()
        self.players: Players | None = None
        self.probe_ids: np.ndarray | None = None
        self.selection: PlayerSelection | None = None
        self.feature_hw: tuple[int, int] | None = None
        self.output_dir: Path | None = None
        self._restored: dict[str, Any] | None = None
        self._batches_this_epoch = 0

    @property
    def settings(self) -> dict[str, Any]:
        """The settings a resumed run must share (checked against a checkpoint's)."""
        return {
            "num_probe": self.num_probe,
            "players": self.options.to_dict(),
            "noise_ratio": self.solver.noise_ratio,
            "salience_ratio": self.analysis.salience_ratio,
            "high_from": self.analysis.high_from,
            **self.probe.settings(),
        }

    def data_source(self, trainer: Trainer) -> Any:
        """Where the probe samples come from: the given :class:`ProbeSamples`, else the trainer's data module."""
        given = self.probe.samples
        return given if given is not None else trainer.datamodule  # type: ignore[attr-defined]  # Lightning sets trainer.datamodule at run time

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Check everything before training: data module, probe set, players (chosen once as a trial)."""
        if stage != "fit":
            return
        dm = self.data_source(trainer)
        task = dm.task if self.probe.samples is not None else data_task(dm, WHO)
        try:
            self.players = self.options.build(task, dm.tokenizer if task == "text" else None)
        except ValueError as error:
            raise ValueError(f"{WHO}: {error}") from None
        self.probe_ids = choose_probe_ids(dm, self.players, self.num_probe, WHO, self.probe.split)
        self.output_dir = Path(trainer.log_dir or trainer.default_root_dir) / "interactions"
        self._choose_players(trainer, pl_module)

    def _choose_players(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Select the players of every probe sample on the current network (or load ``players_from``)."""
        assert self.players is not None and self.probe_ids is not None
        batch = self.data_source(trainer).batch(self.probe_ids, "train")
        batch = {k: v.to(pl_module.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        self.selection, self.feature_hw = choose_selection(
            self.players, self.probe_ids, batch, network_of(pl_module), self.probe.players_from
        )

    # -- losses per epoch ------------------------------------------------------------------------------------
    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Keep the validation loss of the epoch (for the gap-widening epoch)."""
        if not trainer.sanity_checking and trainer.state.fn == TrainerFn.FITTING:
            loss = logged_loss(trainer, self.analysis.val_loss_key, "val_loss_key", WHO)
            self.history.set_loss(trainer.current_epoch + 1, "val_loss", loss)

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        """Count the epoch's training batches of this session (the training loss is read when there were some)."""
        self._batches_this_epoch += 1

    def keep_train_loss(self, trainer: Trainer, epoch: int) -> None:
        """Keep the epoch's mean training loss; none when a resumed run restarts at an epoch's end (unknown)."""
        if self._batches_this_epoch:
            loss = logged_loss(trainer, self.analysis.train_loss_key, "train_loss_key", WHO)
            self.history.set_loss(epoch, "train_loss", loss)
        self._batches_this_epoch = 0

    # -- checkpointing ---------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "settings": self.settings,
            "probe_ids": [] if self.probe_ids is None else self.probe_ids.tolist(),
            "selection": None if self.selection is None else self.selection.state_dict(),
            "feature_hw": None if self.feature_hw is None else list(self.feature_hw),
            "history": self.history.state_dict(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history.load_state_dict(state_dict.get("history", {}))
        self._restored = state_dict

    def _apply_restored(self) -> None:
        """Use the checkpoint's players; refuse a checkpoint made with other settings or probe samples."""
        state, self._restored = self._restored, None
        assert state is not None
        selection, hw = restored_selection(state, self.settings, self.probe_ids)
        self.selection = selection if selection is not None else self.selection
        self.feature_hw = hw if hw is not None else self.feature_hw
