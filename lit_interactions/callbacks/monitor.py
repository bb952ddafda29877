"""InteractionMonitor: AND-OR interactions of fixed probe samples on fixed players, every k epochs of training.

Epoch numbers count finished training epochs: epoch 0 is the initial model (measured in ``on_train_start``,
before the first training step) and epoch ``e + 1`` the model after Lightning's (0-based) training epoch ``e``
(measured in ``on_train_epoch_end``, after that epoch's validation, before its checkpoint is written). Epochs
``0, k, 2k, ...`` are measured (``k = every_n_epochs``); set ``max_epochs`` to a multiple of ``k`` to measure
the final model.

Per measured epoch: the interactions of every probe sample (salience threshold ``tau = salience_ratio *
mean |v(N) - v(empty)|`` over the probe samples of that epoch, SPEC 5), their order profile, the turn of the
two-phase dynamics (:func:`~lit_interactions.analysis.find_turn` on the high-order share) and the start of
the train-validation gap widening (:func:`~lit_interactions.analysis.find_gap_widening`). See
``docs/monitoring.md`` for the files and metric keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn

from lit_interactions.analysis import OrderProfile
from lit_interactions.callbacks.extraction import extract_sharded
from lit_interactions.callbacks.history import MonitorHistory
from lit_interactions.callbacks.monitor_report import MonitorReport
from lit_interactions.callbacks.probe import PROBE_SPLITS, choose_probe_ids, data_task
from lit_interactions.callbacks.probe_samples import ProbeSamples
from lit_interactions.callbacks.rng import isolated_rng
from lit_interactions.callbacks.user_module import AUTO, logged_loss, network_of
from lit_interactions.checks import check_int
from lit_interactions.interactions import Interactions, salience_threshold
from lit_interactions.interactions.options import SolverOptions
from lit_interactions.players import ImagePatchPlayers, Players, PlayerSelection
from lit_interactions.players.forward import ForwardOptions
from lit_interactions.players.options import PlayerOptions

STATE_VERSION = 1
WHO = "InteractionMonitor"


@dataclass(frozen=True)
class Measurement:
    """One epoch's interactions on the probe samples, as passed to listeners (other callbacks).

    Attributes:
        epoch: finished training epochs (0 = initial model).
        interactions: ``[B]`` results on the CPU; ``extra["ids"]`` the probe ids, ``extra["players"]`` the players.
        tau: the salience threshold of this epoch.
        profile: the order profile (``profile.eta`` is eta^avg per probe sample).
    """

    epoch: int
    interactions: Interactions
    tau: float
    profile: OrderProfile

    @property
    def ids(self) -> np.ndarray:
        """Probe sample ids, in the order of the results."""
        return self.interactions.extra["ids"].numpy()


Listener = Callable[[Trainer, LightningModule, Measurement], None]


class InteractionMonitor(Callback):
    """Extract the AND-OR interactions of fixed probe samples every ``every_n_epochs`` epochs (and at init).

    Args:
        num_probe: probe samples followed (paper 2 averages over 50); the first ones of the data's probe set.
        every_n_epochs: measure epochs ``0, k, 2k, ...`` (epoch 0 = initial model).
        players: how players are chosen (``{n_players, grid, layer, crop, image_baseline, text_baseline, seed}``,
            see :class:`~lit_interactions.players.options.PlayerOptions`).
        solver: the sparse solve's settings (``{noise_ratio, tol, max_iter, ...}``, see
            :class:`~lit_interactions.interactions.options.SolverOptions`; paper 2's noise_ratio is 0.01).
        salience_ratio: ``tau = salience_ratio * mean |v(N) - v(empty)|`` (SPEC 5: 0.02).
        high_from: lowest "high" order of the high-order share; None = ``n // 2 + 1``.
        chunk_size: masked samples per forward pass (memory only).
        players_from: a ``players.pt`` written by another run's monitor: use exactly those players.
        figures: write figures (PNG, and wandb images) every measured epoch.
        figure_samples: probe samples drawn with their strongest interactions (the first ones).
        strongest: strongest AND and strongest OR interactions drawn per sample.
        forward: opt-in speed options of the masked forwards, e.g. ``{"precision": "bfloat16",
            "channels_last": true, "compile": true}`` (reduced precision changes the rewards: docs/solver.md).
        warm_start: start each probe sample's solve from its previous measured epoch's solution (the
            previous ``epoch_XXXX.safetensors``, also after a resume); results are certified either way. Off by
            default: the sparsest decomposition need not be unique, and a cold solve keeps an epoch's result
            independent of which epochs were measured before it; the saving is small (docs/solver.md).
        reward: the explained output: ``"log_odds"`` of the target class (paper 2, default) or its ``"logit"``
            (paper 1's MNIST-3 task: the pre-softmax score of the digit "3", with ``target_class: 1``).
        target_class: the class whose output is explained for every sample; None = each sample's label.
        probe_split: which samples are followed: ``"held_out"`` (the data's probe set, never trained on; default)
            or ``"train"`` (the first ``num_probe`` training samples, paper 2 Sec. 2.2's dynamics on training samples).
        probe: the probe samples themselves instead of the data module's probe set: ``(inputs, labels)`` image
            tensors, a dataset of ``(input, label)`` pairs, or :class:`ProbeSamples` (Python API; see
            docs/custom_modules.md). None = the data module's.
        train_loss_key: the logged training loss kept per epoch (for the gap-widening epoch): ``"auto"`` = the
            package's classifiers' (``train/clean_loss``, else ``train/loss_epoch``, else ``train/loss``), a key your
            module logs, or None (not kept). A key that is not logged is an error.
        val_loss_key: the logged validation loss kept per epoch; None = not kept. A key that is not logged is an error.
    """

    def __init__(
        self,
        num_probe: int = 50,
        every_n_epochs: int = 1,
        players: PlayerOptions = PlayerOptions(),  # noqa: B008 - frozen, so a shared default is safe
        solver: SolverOptions = SolverOptions(),  # noqa: B008
        salience_ratio: float = 0.02,
        high_from: int | None = None,
        chunk_size: int = 1024,
        players_from: str | None = None,
        figures: bool = True,
        figure_samples: int = 1,
        strongest: int = 3,
        forward: dict[str, Any] | None = None,
        warm_start: bool = False,
        probe_split: str = "held_out",
        reward: str = "log_odds",
        target_class: int | None = None,
        probe: Any = None,
        train_loss_key: str | None = AUTO,
        val_loss_key: str | None = "val/loss",
    ) -> None:
        super().__init__()
        check_int("num_probe", num_probe, 1, error=ValueError, who=f"{WHO}: ")
        check_int("every_n_epochs", every_n_epochs, 1, error=ValueError, who=f"{WHO}: ")
        check_int("chunk_size", chunk_size, 1, error=ValueError, who=f"{WHO}: ")
        check_int("figure_samples", figure_samples, 0, error=ValueError, who=f"{WHO}: ")
        check_int("strongest", strongest, 1, error=ValueError, who=f"{WHO}: ")
        if not salience_ratio > 0:
            raise ValueError(f"{WHO}: salience_ratio must be > 0, got {salience_ratio}")
        try:
            self.options = PlayerOptions.from_value(players)
            self.solver = SolverOptions.from_value(solver)
        except ValueError as error:
            raise ValueError(f"{WHO}: {error}") from None
        n_players = self.options.n_players
        if high_from is not None and (not isinstance(high_from, int) or not 1 <= high_from <= n_players):
            raise ValueError(f"{WHO}: high_from={high_from!r} must be an order in 1..n_players={n_players}, or None")
        self.num_probe = num_probe
        self.every_n_epochs = every_n_epochs
        self.salience_ratio = float(salience_ratio)
        self.high_from = high_from
        self.chunk_size = chunk_size
        self.players_from = players_from
        self.figures = figures
        self.figure_samples = figure_samples
        self.strongest = strongest
        try:
            self.forward = ForwardOptions.from_value(forward)
        except ValueError as error:
            raise ValueError(f"{WHO}: {error}") from None
        self.warm_start = bool(warm_start)
        self._previous: Interactions | None = None  # the last measured epoch's result (as saved)
        if probe_split not in PROBE_SPLITS:
            raise ValueError(f"{WHO}: probe_split={probe_split!r} is not one of {PROBE_SPLITS}")
        self.probe_split = probe_split
        if reward not in ("log_odds", "logit"):
            raise ValueError(f"{WHO}: reward={reward!r} is not one of ('log_odds', 'logit')")
        if target_class is not None:
            check_int("target_class", target_class, 0, error=ValueError, who=f"{WHO}: ")
        self.reward = reward
        self.target_class = target_class
        self.probe = ProbeSamples.from_value(probe)
        if self.probe is not None and probe_split != "held_out":
            raise ValueError(f"{WHO}: probe samples are given (probe=...), so probe_split={probe_split!r} cannot apply; "
                             f"leave probe_split at 'held_out' or give no probe samples")
        if self.probe is not None and len(self.probe.labels) < num_probe:
            raise ValueError(f"{WHO}: {len(self.probe.labels)} probe samples are given but num_probe={num_probe}; "
                             f"set num_probe <= {len(self.probe.labels)} or give more samples")
        self.train_loss_key = train_loss_key
        self.val_loss_key = val_loss_key
        self._batches_this_epoch = 0
        self.history = MonitorHistory()
        self.players: Players | None = None
        self.probe_ids: np.ndarray | None = None
        self.selection: PlayerSelection | None = None
        self.feature_hw: tuple[int, int] | None = None
        self.output_dir: Path | None = None
        self._restored: dict[str, Any] | None = None
        self._listeners: list[Listener] = []

    # -- what other callbacks use -------------------------------------------------------------------------
    @property
    def settings(self) -> dict[str, Any]:
        """The settings a resumed run must share (checked against a checkpoint's)."""
        return {
            "num_probe": self.num_probe,
            "players": self.options.to_dict(),
            "noise_ratio": self.solver.noise_ratio,
            "salience_ratio": self.salience_ratio,
            "high_from": self.high_from,
            **({"probe_split": self.probe_split} if self.probe_split != "held_out" else {}),
            **({"reward": self.reward} if self.reward != "log_odds" else {}),
            **({"target_class": self.target_class} if self.target_class is not None else {}),
        }

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(trainer, pl_module, measurement)`` after every measurement (once per listener)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def extraction_options(self) -> dict[str, Any]:
        """Keyword options of :func:`~lit_interactions.callbacks.extraction.extract_sharded` used here."""
        return {"solver": self.solver, "chunk_size": self.chunk_size, "reward": self.reward, "forward": self.forward}

    def data_source(self, trainer: Trainer) -> Any:
        """Where the probe samples come from: the given :class:`ProbeSamples`, else the trainer's data module."""
        return self.probe if self.probe is not None else trainer.datamodule  # type: ignore[attr-defined]  # Lightning sets trainer.datamodule at run time

    def is_due(self, epoch: int) -> bool:
        """Whether ``epoch`` (finished training epochs) is measured."""
        return epoch % self.every_n_epochs == 0

    # -- Lightning hooks -------------------------------------------------------------------------------------
    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Check everything before training: data module, probe set, players (chosen once as a trial)."""
        if stage != "fit":
            return
        dm = self.data_source(trainer)
        task = dm.task if self.probe is not None else data_task(dm, WHO)
        try:
            self.players = self.options.build(task, dm.tokenizer if task == "text" else None)
        except ValueError as error:
            raise ValueError(f"{WHO}: {error}") from None
        self.probe_ids = choose_probe_ids(dm, self.players, self.num_probe, WHO, self.probe_split)
        self.output_dir = Path(trainer.log_dir or trainer.default_root_dir) / "interactions"
        self._choose_players(trainer, pl_module)

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Choose the players on the initial model (or take them from the checkpoint or ``players_from``)."""
        resumed = self._restored is not None
        if resumed:
            self._apply_restored()
        else:
            self._choose_players(trainer, pl_module)
        if trainer.is_global_zero:
            self._report(trainer).write_players()
            if resumed:  # a killed run may have measured epochs after its checkpoint: they are measured again
                self._report(trainer).forget_unrecorded()

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Measure the current model if due and missing: the initial model (epoch 0) or a resumed one."""
        if self._restored is not None:
            self._apply_restored()
        epoch = trainer.current_epoch
        if self.is_due(epoch) and epoch not in self.history:
            self.measure(trainer, pl_module, epoch)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Keep the validation loss of the epoch (for the gap-widening epoch)."""
        if not trainer.sanity_checking and trainer.state.fn == TrainerFn.FITTING:
            loss = logged_loss(trainer, self.val_loss_key, "val_loss_key", WHO)
            self.history.set_loss(trainer.current_epoch + 1, "val_loss", loss)

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        """Count the epoch's training batches of this session (the training loss is read when there were some)."""
        self._batches_this_epoch += 1

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Keep the epoch's mean training loss; measure the model after this epoch if due."""
        epoch = trainer.current_epoch + 1
        if self._batches_this_epoch:  # none when a resumed run restarts at an epoch's end: its loss is unknown
            loss = logged_loss(trainer, self.train_loss_key, "train_loss_key", WHO)
            self.history.set_loss(epoch, "train_loss", loss)
        self._batches_this_epoch = 0
        if self.is_due(epoch):
            self.measure(trainer, pl_module, epoch)

    # -- measuring -------------------------------------------------------------------------------------------
    def measure(self, trainer: Trainer, pl_module: LightningModule, epoch: int) -> Measurement:
        """Extract, record, write and log the interactions of the probe samples as epoch ``epoch``.

        All ranks must call it under DDP (the probe samples are split across them). Training is not
        affected: eval mode and no_grad inside, modes restored, every RNG state restored.
        """
        if self.players is None or self.selection is None or self.probe_ids is None:
            raise RuntimeError(f"{WHO}.measure needs setup() and on_fit_start() to have run (a Trainer calls them)")
        start = time.perf_counter()
        dm = self.data_source(trainer)
        with isolated_rng():
            result = extract_sharded(
                trainer, network_of(pl_module), self.probe_ids, lambda ids: dm.batch(ids, "train"),
                self.players, self.selection, targets=self.target_class, warm_start=self._warm_start(epoch),
                description=f"{WHO} epoch {epoch}", **self.extraction_options(),
            )
            extract_seconds = time.perf_counter() - start
            tau = float(salience_threshold(result.rewards, self.salience_ratio))
            profile = OrderProfile.from_interactions(result, tau, high_from=self.high_from)
            result = replace(result, settings={**result.settings, **self._result_settings(trainer, epoch, tau)})
            measurement = Measurement(epoch, result, tau, profile)
            self._previous = result
            report = self._report(trainer)
            if trainer.is_global_zero:
                report.write_epoch(measurement)
            self.history.add(_record(measurement, trainer.global_step, extract_seconds))
            if trainer.is_global_zero:
                report.write_figures(measurement)
            self.history.records[epoch]["seconds"] = time.perf_counter() - start
            report.log(measurement)
            for listener in self._listeners:
                listener(trainer, pl_module, measurement)
        return measurement

    def _warm_start(self, epoch: int) -> Interactions | None:
        """The last measured epoch's result before ``epoch``: in memory, or its file after a resume (same values)."""
        earlier = [e for e in self.history.epochs if e < epoch]
        if not self.warm_start or not earlier:
            return None
        if self._previous is not None and self._previous.settings.get("epoch") == earlier[-1]:
            return self._previous
        assert self.output_dir is not None
        path = self.output_dir / f"epoch_{earlier[-1]:04d}.safetensors"
        return Interactions.load(path) if path.is_file() else None

    def _result_settings(self, trainer: Trainer, epoch: int, tau: float) -> dict[str, Any]:
        assert self.players is not None
        return {
            "epoch": epoch,
            "global_step": trainer.global_step,
            "noise_ratio": self.solver.noise_ratio,
            "salience_ratio": self.salience_ratio,
            "tau": tau,
            "player_kind": self.players.kind,
            "players": self.players.settings(),
            "feature_hw": list(self.feature_hw) if self.feature_hw is not None else None,
            "target": "label" if self.target_class is None else f"class {self.target_class}",
            "reward": self.reward,
        }

    def _report(self, trainer: Trainer) -> MonitorReport:
        assert self.output_dir is not None
        return MonitorReport(self, trainer, self.output_dir)

    # -- players ---------------------------------------------------------------------------------------------
    def _choose_players(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Select the players of every probe sample on the current network (or load ``players_from``)."""
        assert self.players is not None and self.probe_ids is not None
        dm = self.data_source(trainer)
        network = network_of(pl_module)
        batch = _to_device(dm.batch(self.probe_ids, "train"), pl_module.device)
        if self.players_from is not None:
            selection = _load_players_file(self.players_from)
            self.players.check_selection(selection)
            self.selection = selection.align(torch.as_tensor(self.probe_ids))
        else:
            try:
                with isolated_rng(), torch.no_grad():
                    self.selection = self.players.select(network, batch)
            except (ValueError, RuntimeError) as error:
                raise ValueError(f"{WHO} cannot choose the players ({self.players!r}): {error}") from None
        if isinstance(self.players, ImagePatchPlayers):
            with isolated_rng(), torch.no_grad():
                features = self.players.features(network, batch["inputs"][:1])
            self.feature_hw = (int(features.shape[-2]), int(features.shape[-1]))

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
        if state.get("settings") != self.settings:
            raise ValueError(
                f"{WHO}: the checkpoint was written with the settings {state.get('settings')} but this run has "
                f"{self.settings}; resume with the same monitor settings, or start a new run"
            )
        probe = np.asarray(state.get("probe_ids", []), dtype=np.int64)
        if self.probe_ids is not None and not np.array_equal(probe, self.probe_ids):
            raise ValueError(
                f"{WHO}: the checkpoint followed the probe ids {probe[:8].tolist()}... but the data module now gives "
                f"{self.probe_ids[:8].tolist()}...; resume with the same data settings (split_seed, num_probe)"
            )
        if state.get("selection") is not None:
            self.selection = PlayerSelection.from_state_dict(state["selection"])
        self.feature_hw = tuple(state["feature_hw"]) if state.get("feature_hw") else self.feature_hw


def find_monitor(trainer: Trainer, who: str) -> InteractionMonitor:
    """The trainer's InteractionMonitor, with a clear error when there is none."""
    monitors = [c for c in trainer.callbacks if isinstance(c, InteractionMonitor)]  # type: ignore[attr-defined]  # Lightning sets trainer.callbacks at run time
    if not monitors:
        raise ValueError(
            f"{who} needs an InteractionMonitor among the trainer's callbacks (it reuses its probe samples, "
            f"players and results); add --config callbacks/interactions.yaml (or Trainer(callbacks=[...]))"
        )
    if len(monitors) > 1:
        raise ValueError(f"{who} found {len(monitors)} InteractionMonitors; attach exactly one")
    return monitors[0]


def _record(m: Measurement, global_step: int, extract_seconds: float) -> dict[str, Any]:
    p = m.profile
    return {
        "epoch": m.epoch,
        "global_step": int(global_step),
        "tau": m.tau,
        "high_order_share": p.high_order_share,
        "mean_order": p.mean_order,
        "num_salient": p.num_salient,
        "eta_mean": p.eta_mean,
        "eta_std": p.eta_std,
        "num_empty": p.num_empty,
        "I_pos": p.I_pos.tolist(),
        "I_neg": p.I_neg.tolist(),
        "eta": p.eta.tolist(),
        "extract_seconds": extract_seconds,
        **solve_status(m.interactions),
    }


def solve_status(result: Interactions) -> dict[str, Any]:
    """The certificate of an epoch's solve, kept in the history so unconverged samples are visible there."""
    gap = result.extra.get("duality_gap")
    return {
        "n_unconverged": int(result.settings.get("n_unconverged", 0)),
        "duality_gap_max": float(gap.max()) if gap is not None and gap.numel() else 0.0,
        "solver_tol": float(result.settings.get("tol", float("nan"))),
    }


def _to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def _load_players_file(path: str) -> PlayerSelection:
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"{WHO}: players_from={path!r} does not exist; give the players.pt another run's monitor wrote "
            f"(runs/<name>/<version>/interactions/players.pt)"
        )
    return PlayerSelection.load(path)

