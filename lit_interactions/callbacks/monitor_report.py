"""Files, metrics, tables and pictures of the InteractionMonitor (one object per write, no state of its own).

Layout of ``<run dir>/interactions/``:

- ``players.pt`` (a :class:`PlayerSelection`, ``PlayerSelection.load``) and ``players.json`` (readable copy);
- ``epoch_XXXX.safetensors``: the epoch's :class:`Interactions` (``Interactions.load``), with
  ``extra["ids"]``, ``extra["players"]`` and the settings (epoch, tau, noise_ratio, players, solver);
- ``history.json``: every measured epoch's summary, the losses, the turn and gap-widening epochs;
- ``figures/``: ``order_distribution.png``, ``eta_histogram_epoch_XXXX.png``, ``sample_<id>_epoch_XXXX.png``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning import Trainer

from lit_interactions.analysis import eta_histogram_figure, order_distribution_figure
from lit_interactions.analysis.sample_pictures import (
    player_labels,
    salient_rows,
    sample_figure,
    strongest_by_kind,
)
from lit_interactions.callbacks.reporting import (
    log_scalars,
    log_table,
    log_wandb,
    wandb_loggers,
    write_figure,
)
from lit_interactions.callbacks.wandb_charts import monitor_payload
from lit_interactions.io.atomic import atomic_path
from lit_interactions.io.files import write_json
from lit_interactions.players import ImagePatchPlayers

if TYPE_CHECKING:
    from lit_interactions.callbacks.history import MonitorHistory
    from lit_interactions.callbacks.monitor import InteractionMonitor, Measurement

PREFIX = "interactions"
PROGRESS_BAR_KEYS = (f"{PREFIX}/eta_mean", f"{PREFIX}/high_order_share")  # the latest values, in the progress bar


class MonitorReport:
    """Writes and logs what the monitor measured (files on rank 0 only; scalars through all loggers)."""

    def __init__(self, monitor: InteractionMonitor, trainer: Trainer, output_dir: Path) -> None:
        self.monitor = monitor
        self.trainer = trainer
        self.dir = output_dir

    def write_players(self) -> None:
        """``players.pt`` and ``players.json``: the players of every probe sample and how they were chosen."""
        selection = self.monitor.selection
        assert selection is not None
        with atomic_path(self.dir / "players.pt") as temp:
            selection.save(temp)
        write_json(self.dir / "players.json", {
            "kind": selection.kind,
            "settings": selection.settings,
            "where": players_location(selection.kind, selection.settings.get("layer")),
            "feature_hw": None if self.monitor.feature_hw is None else list(self.monitor.feature_hw),
            "ids": selection.ids.tolist(),
            "players": selection.players.tolist(),
            "subset_order": "bit i of a subset index <=> player i (column i of players) present",
        })

    def publish(self, m: Measurement, record: dict[str, Any], start: float) -> None:
        """Write the epoch's results and figures (rank 0), add ``record`` to the history, log everything."""
        if self.trainer.is_global_zero:
            self.write_epoch(m)
        self.monitor.history.add(record)
        if self.trainer.is_global_zero:
            self.write_figures(m)
        self.monitor.history.records[m.epoch]["seconds"] = time.perf_counter() - start
        self.log(m)

    def write_epoch(self, m: Measurement) -> None:
        """The epoch's full results (safetensors)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        m.interactions.save(self.dir / f"epoch_{m.epoch:04d}.safetensors")

    def write_history(self) -> None:
        """``history.json`` with the monitor's settings, probe ids and history."""
        ids = self.monitor.probe_ids
        write_json(self.dir / "history.json", {
            "settings": self.monitor.settings,
            "probe_ids": [] if ids is None else ids.tolist(),
            "epoch_convention": "0 = initial model; e + 1 = after (0-based) training epoch e",
            **self.monitor.history.summary(),
        })

    def forget_unrecorded(self) -> None:
        """On resume: ``history.json`` as the checkpoint recorded it, and no epoch files of epochs it did not record."""
        for path in self.dir.glob("epoch_*.safetensors"):
            epoch = path.stem.removeprefix("epoch_")
            if epoch.isdigit() and int(epoch) not in self.monitor.history:
                path.unlink(missing_ok=True)
        if self.monitor.history.epochs:
            self.write_history()

    def log(self, m: Measurement) -> None:
        """Scalars to every logger; the history file and wandb tables on rank 0."""
        log_scalars(self.trainer, epoch_scalars(self.monitor.history, m), prog_bar=PROGRESS_BAR_KEYS)
        if not self.trainer.is_global_zero:
            return
        self.write_history()
        if wandb_loggers(self.trainer):
            history = self.monitor.history
            ids = self.monitor.probe_ids.tolist()  # type: ignore[union-attr]
            rows = [[e, i, eta] for e in history.epochs for i, eta in zip(ids, history.records[e]["eta"])]
            log_table(self.trainer, f"{PREFIX}/eta_per_sample", ["epoch", "sample_id", "eta"], rows)
            log_wandb(self.trainer, monitor_payload(history, m.profile.eta.numpy()))
            drawn = self.monitor.figures.samples if self.monitor.figures is not None else 0
            for position in range(min(drawn, len(ids))):
                sample_id, labels = self._labels(m, position)
                rows = salient_rows(m.interactions[position], m.tau, labels, m.epoch, sample_id)
                columns = ["epoch", "sample_id", "kind", "players", "members", "order", "effect"]
                log_table(self.trainer, f"{PREFIX}/salient_sample_{sample_id}", columns, rows)

    def write_figures(self, m: Measurement) -> None:
        """The two-phase picture, the eta histogram and the sample pictures (PNG and wandb)."""
        options = self.monitor.figures
        if options is None:
            return
        figures = self.dir / "figures"
        history = self.monitor.history
        i_pos, i_neg = history.profiles()
        fig = order_distribution_figure(history.epochs, i_pos, i_neg, history.turn_epoch())
        write_figure(self.trainer, fig, figures / "order_distribution.png", f"{PREFIX}/order_distribution")
        fig = eta_histogram_figure(m.profile.eta.numpy())
        write_figure(self.trainer, fig, figures / f"eta_histogram_epoch_{m.epoch:04d}.png", f"{PREFIX}/eta_histogram")
        for position in range(min(options.samples, len(m.ids))):
            sample_id = int(m.ids[position])
            fig = sample_figure(
                self._sample_view(sample_id),
                self.monitor.players,
                m.interactions.extra["players"][position],
                self.monitor.feature_hw,
                strongest_by_kind(m.interactions[position], options.strongest),
            )
            name = f"sample_{sample_id}_epoch_{m.epoch:04d}.png"
            write_figure(self.trainer, fig, figures / name, f"{PREFIX}/sample_{sample_id}", f"epoch {m.epoch}")

    def _sample_view(self, sample_id: int) -> Any:
        """The probe sample's image ``[C, H, W]`` (as the model sees it) or its words."""
        dm = self.monitor.data_source(self.trainer)
        if isinstance(self.monitor.players, ImagePatchPlayers):
            return dm.batch([sample_id], "train")["inputs"][0]
        return dm.words(sample_id, "train")

    def _labels(self, m: Measurement, position: int) -> tuple[int, list[str]]:
        sample_id = int(m.ids[position])
        row = m.interactions.extra["players"][position]
        words = None if isinstance(self.monitor.players, ImagePatchPlayers) else self._sample_view(sample_id)
        return sample_id, player_labels(self.monitor.players, row, words)


def players_location(kind: str, layer: str | None) -> str:
    """Where the players live, in words: the input, or the output of a named module of the network."""
    if layer is not None:
        return f"output of module {layer!r} (masked there; earlier layers see the unmasked input)"
    return "input image pixels" if kind == "image_patch" else "word embeddings"


def epoch_scalars(history: MonitorHistory, m: Measurement) -> dict[str, float]:
    """The epoch's metrics with stable keys under ``interactions/``."""
    record = history.records[m.epoch]
    metrics = m.profile.to_scalars(PREFIX)
    metrics.update({
        f"{PREFIX}/epoch": float(m.epoch),
        f"{PREFIX}/tau": m.tau,
        f"{PREFIX}/num_empty": float(m.profile.num_empty),
        f"{PREFIX}/seconds": float(record.get("seconds", record["extract_seconds"])),
        f"{PREFIX}/n_unconverged": float(record.get("n_unconverged", 0)),
    })
    turn, gap = history.turn_epoch(), history.gap_widening_epoch()
    if turn is not None:
        metrics[f"{PREFIX}/turn_epoch"] = float(turn)
    if gap is not None:
        metrics[f"{PREFIX}/gap_widening_epoch"] = float(gap)
    if turn is not None and gap is not None:
        metrics[f"{PREFIX}/turn_minus_gap_widening"] = float(turn - gap)
    return metrics
