"""InteractionMonitor: AND-OR interactions of fixed probe samples on fixed players, every k epochs of training.

Epoch numbers count finished training epochs: epoch 0 is the initial model (measured in ``on_train_start``,
before the first training step) and epoch ``e + 1`` the model after Lightning's (0-based) training epoch ``e``
(measured in ``on_train_epoch_end``, after that epoch's validation, before its checkpoint is written). Epochs
``0, k, 2k, ...`` are measured (``k = every_n_epochs``); set ``max_epochs`` to a multiple of ``k`` to measure
the final model.

Per measured epoch: the interactions of every probe sample (salience threshold ``tau = salience_ratio *
mean |v(N) - v(empty)|`` over the probe samples of that epoch), their order profile, the turn of the
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
from lightning import LightningModule, Trainer

from lit_interactions.analysis import OrderProfile
from lit_interactions.callbacks.extraction import extract_sharded
from lit_interactions.callbacks.monitor_options import AnalysisOptions, FigureOptions, ProbeOptions
from lit_interactions.callbacks.monitor_report import MonitorReport
from lit_interactions.callbacks.probe_tracker import WHO, ProbeTracker
from lit_interactions.callbacks.rng import isolated_rng
from lit_interactions.callbacks.user_module import network_of
from lit_interactions.checks import check_int, check_optional_int
from lit_interactions.interactions import Interactions, salience_threshold
from lit_interactions.interactions.options import SolverOptions
from lit_interactions.players.forward import ForwardOptions
from lit_interactions.players.options import PlayerOptions


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


class InteractionMonitor(ProbeTracker):
    """Extract the AND-OR interactions of fixed probe samples every ``every_n_epochs`` epochs (and at init).

    Args:
        num_probe: probe samples followed (paper 2 averages over 50); the first ones of the data's probe set.
        every_n_epochs: measure epochs ``0, k, 2k, ...`` (epoch 0 = initial model).
        players: how players are chosen (:class:`~lit_interactions.players.options.PlayerOptions`).
        solver: the sparse solve's settings (:class:`~lit_interactions.interactions.options.SolverOptions`).
        probe: samples, players file and explained output (:class:`~.monitor_options.ProbeOptions`).
        analysis: salience ratio, high orders and loss keys (:class:`~.monitor_options.AnalysisOptions`).
        figures: the figures of every measured epoch (:class:`~.monitor_options.FigureOptions`), or false for none.
        forward: opt-in speed options of the masked forwards (reduced precision changes the rewards: docs/solver.md).
        chunk_size: masked samples per forward pass (memory only).
        warm_start: start each solve from the previous measured epoch's solution (also after a resume); off by
            default, since the sparsest decomposition need not be unique and the saving is small (docs/solver.md).
    """

    def __init__(
        self,
        num_probe: int = 50,
        every_n_epochs: int = 1,
        players: PlayerOptions = PlayerOptions(),  # noqa: B008 - frozen, so a shared default is safe
        solver: SolverOptions = SolverOptions(),  # noqa: B008
        probe: ProbeOptions = ProbeOptions(),  # noqa: B008
        analysis: AnalysisOptions = AnalysisOptions(),  # noqa: B008
        figures: FigureOptions | bool = FigureOptions(),  # noqa: B008
        forward: ForwardOptions = ForwardOptions(),  # noqa: B008
        chunk_size: int = 1024,
        warm_start: bool = False,
    ) -> None:
        for name, value, low in (("num_probe", num_probe, 1), ("every_n_epochs", every_n_epochs, 1),
                                 ("chunk_size", chunk_size, 1)):
            check_int(name, value, low, error=ValueError, who=f"{WHO}: ")
        try:
            player_options, analysis_options = PlayerOptions.from_value(players), AnalysisOptions.from_value(analysis)
            check_optional_int("high_from", analysis_options.high_from, 1, player_options.n_players, error=ValueError,
                               who="analysis: ")
            super().__init__(num_probe, player_options, ProbeOptions.from_value(probe), analysis_options,
                             SolverOptions.from_value(solver))
            self.figures = FigureOptions.from_value(figures)
            self.forward = ForwardOptions.from_value(forward)
            self.forward.check_layer(player_options.layer)
        except ValueError as error:
            raise ValueError(f"{WHO}: {error}") from None
        self.every_n_epochs, self.chunk_size, self.warm_start = every_n_epochs, chunk_size, bool(warm_start)
        self._previous: Interactions | None = None  # the last measured epoch's result (as saved)
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(trainer, pl_module, measurement)`` after every measurement (once per listener)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def extraction_options(self) -> dict[str, Any]:
        """Keyword options of :func:`~lit_interactions.callbacks.extraction.extract_sharded` used here."""
        return {"solver": self.solver, "chunk_size": self.chunk_size, "reward": self.probe.reward, "forward": self.forward}

    def is_due(self, epoch: int) -> bool:
        """Whether ``epoch`` (finished training epochs) is measured."""
        return epoch % self.every_n_epochs == 0

    # -- Lightning hooks -------------------------------------------------------------------------------------
    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Choose the players on the initial model (or take them from the checkpoint or ``players_from``)."""
        resumed = self._restored is not None
        if resumed:
            self._apply_restored()
        else:
            self._choose_players(trainer, pl_module)
        if trainer.is_global_zero:
            report = MonitorReport(self, trainer, self.output_dir)  # type: ignore[arg-type]  # set in setup
            report.write_players()
            if resumed:  # a killed run may have measured epochs after its checkpoint: they are measured again
                report.forget_unrecorded()

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Measure the current model if due and missing: the initial model (epoch 0) or a resumed one."""
        if self._restored is not None:
            self._apply_restored()
        epoch = trainer.current_epoch
        if self.is_due(epoch) and epoch not in self.history:
            self.measure(trainer, pl_module, epoch)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Keep the epoch's mean training loss; measure the model after this epoch if due."""
        epoch = trainer.current_epoch + 1
        self.keep_train_loss(trainer, epoch)
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
            warm = _previous_result(self, epoch) if self.warm_start else None
            result = extract_sharded(
                trainer, network_of(pl_module), self.probe_ids, lambda ids: dm.batch(ids, "train"),
                self.players, self.selection, targets=self.probe.target_class, warm_start=warm,
                description=f"{WHO} epoch {epoch}", **self.extraction_options(),
            )
            extract_seconds = time.perf_counter() - start
            tau = float(salience_threshold(result.rewards, self.analysis.salience_ratio))
            profile = OrderProfile.from_interactions(result, tau, high_from=self.analysis.high_from)
            result = replace(result, settings={**result.settings, **_result_settings(self, trainer, epoch, tau)})
            measurement = Measurement(epoch, result, tau, profile)
            self._previous = result
            report = MonitorReport(self, trainer, self.output_dir)  # type: ignore[arg-type]  # set in setup
            report.publish(measurement, _record(measurement, trainer.global_step, extract_seconds), start)
            for listener in self._listeners:
                listener(trainer, pl_module, measurement)
        return measurement


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


def _result_settings(monitor: InteractionMonitor, trainer: Trainer, epoch: int, tau: float) -> dict[str, Any]:
    """The settings saved with an epoch's results (what a report needs to read them alone)."""
    assert monitor.players is not None
    target = monitor.probe.target_class
    return {
        "epoch": epoch,
        "global_step": trainer.global_step,
        "noise_ratio": monitor.solver.noise_ratio,
        "salience_ratio": monitor.analysis.salience_ratio,
        "tau": tau,
        "player_kind": monitor.players.kind,
        "players": monitor.players.settings(),
        "feature_hw": list(monitor.feature_hw) if monitor.feature_hw is not None else None,
        "target": "label" if target is None else f"class {target}",
        "reward": monitor.probe.reward,
    }


def _previous_result(monitor: InteractionMonitor, epoch: int) -> Interactions | None:
    """The last measured epoch's result before ``epoch``: in memory, or its file after a resume (same values)."""
    earlier = [e for e in monitor.history.epochs if e < epoch]
    if not earlier:
        return None
    if monitor._previous is not None and monitor._previous.settings.get("epoch") == earlier[-1]:
        return monitor._previous
    path = Path(str(monitor.output_dir)) / f"epoch_{earlier[-1]:04d}.safetensors"
    return Interactions.load(path) if path.is_file() else None
