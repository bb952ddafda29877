"""HardSamples: are the hard training samples the confusing ones? (paper 2 Sec. 2.3, App. I.6)

Hard samples are the ``num_hard`` (30) training samples with the largest training loss averaged over the
epochs so far (``pl_module.sample_losses``); easy samples are ``num_easy`` (30) others drawn at random with
``seed``. The monitor's player rules (and noise ratio) are applied to these training samples, the target is
the label the model trains on (a relabelled sample's noisy label), and tau is computed over these samples.
Reported: eta of hard vs easy, the overlap of the hard set with the ``num_hard`` samples of largest eta among
them, the correlation of loss and eta (with a scatter figure), and which samples were relabelled
(``dm.relabelled_ids``).

Runs at the end of fit and, with ``every_n_epochs = k``, after every k-th epoch (at the start of the next
one, once that epoch's losses are recorded). A sample keeps the players it was first given, so repeated
analyses of the same sample use the same players. Note: for players at an intermediate layer they are
chosen with the model of that first analysis (the probe players of the monitor use the initial model).

Writes ``<run dir>/interactions/hard_samples.json``, ``hard_samples/epoch_XXXX.safetensors`` and the figure
``figures/hard_samples_epoch_XXXX.png``; logs ``hard_samples/*`` scalars and the wandb table
``hard_samples/samples``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from lightning import Callback, LightningModule, Trainer
from scipy import stats

from lit_interactions.analysis import set_overlap
from lit_interactions.analysis.sample_pictures import loss_eta_figure
from lit_interactions.callbacks.extraction import extract_sharded
from lit_interactions.callbacks.monitor import InteractionMonitor, find_monitor
from lit_interactions.callbacks.probe import ids_with_enough_words
from lit_interactions.callbacks.reporting import (
    log_scalars,
    log_table,
    wandb_loggers,
    write_figure,
)
from lit_interactions.callbacks.rng import isolated_rng
from lit_interactions.callbacks.user_module import SampleLossHook, network_of
from lit_interactions.interactions import Interactions, salience_threshold
from lit_interactions.io.files import write_json
from lit_interactions.players import Players, PlayerSelection, TextWordPlayers

PREFIX = "hard_samples"
WHO = "HardSamples"


class HardSamples(Callback):
    """Compare the hardest training samples with random easy ones by their interactions' eta^avg.

    Args:
        num_hard: hardest training samples (largest mean training loss), paper 2: 30.
        num_easy: random other training samples, paper 2: 30.
        every_n_epochs: also analyse after every k-th epoch; None = only at the end of fit.
        seed: seed of the random choice of easy samples.
        figures: write the loss-vs-eta scatter (PNG, and a wandb image).
        sample_loss_key: for a module without a ``sample_losses`` recorder (any LightningModule): the key of the
            per-sample training losses in ``training_step``'s returned dict (``{"loss": ..., key: [B] losses}``,
            aligned with ``batch["ids"]``); see docs/custom_modules.md.
    """

    def __init__(
        self, num_hard: int = 30, num_easy: int = 30, every_n_epochs: int | None = None, seed: int = 0,
        figures: bool = True, sample_loss_key: str = "sample_losses",
    ) -> None:
        super().__init__()
        _check_counts(num_hard, num_easy, every_n_epochs)
        self.num_hard, self.num_easy = num_hard, num_easy
        self.every_n_epochs = every_n_epochs
        self.seed = seed
        self.figures = figures
        self.records: dict[int, dict[str, Any]] = {}
        self.selection: PlayerSelection | None = None
        self.monitor: InteractionMonitor | None = None
        self.output_dir: Path | None = None
        self.candidates: np.ndarray | None = None
        self.sample_loss_key = sample_loss_key
        self.hook: SampleLossHook | None = None  # the losses from training_step, for modules without a recorder
        self._hook_state: dict[str, Any] | None = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Check before training: a monitor, per-sample losses, enough training samples."""
        if stage != "fit":
            return
        self.monitor = find_monitor(trainer, WHO)
        if not hasattr(pl_module, "sample_losses") and self.hook is None:
            self.hook = _loss_hook(self.sample_loss_key, self._hook_state)
        dm = trainer.datamodule  # type: ignore[attr-defined]  # Lightning sets trainer.datamodule at run time
        self.candidates = _train_candidates(dm, self.monitor, self.num_hard + self.num_easy)
        self.output_dir = Path(trainer.log_dir or trainer.default_root_dir) / "interactions"

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        """Record the step's per-sample losses (modules without a ``sample_losses`` recorder)."""
        if self.hook is not None:
            self.hook.record(outputs, batch)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Close the epoch's per-sample losses (modules without a ``sample_losses`` recorder)."""
        if self.hook is not None:
            self.hook.end_epoch(pl_module, trainer.current_epoch)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """After every k-th epoch (its losses are recorded by now), analyse if not done yet."""
        epoch = trainer.current_epoch
        if self.every_n_epochs and epoch > 0 and epoch % self.every_n_epochs == 0 and epoch not in self.records:
            self.analyse(trainer, pl_module, epoch)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """At the end of fit, analyse the final model."""
        epoch = trainer.current_epoch
        if epoch > 0 and epoch not in self.records:
            self.analyse(trainer, pl_module, epoch)

    def choose(self, pl_module: LightningModule) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(hard ids, hard losses, easy ids, easy losses)``; hard by decreasing loss (ties: smaller id)."""
        source = self.hook if self.hook is not None else cast(SampleLossHook, pl_module.sample_losses)  # same protocol
        ids, losses = source.mean_losses()
        return hard_and_easy(ids.numpy(), losses.double().numpy(), self.candidates, self.num_hard, self.num_easy,
                             self.seed)

    def analyse(self, trainer: Trainer, pl_module: LightningModule, epoch: int) -> dict[str, Any]:
        """Extract the interactions of the hard and easy samples and compare them; record, write and log."""
        monitor = self.monitor
        assert monitor is not None and monitor.players is not None
        dm = trainer.datamodule  # type: ignore[attr-defined]  # Lightning sets trainer.datamodule at run time
        hard_ids, hard_loss, easy_ids, easy_loss = self.choose(pl_module)
        ids = np.concatenate([hard_ids, easy_ids])
        loss = np.concatenate([hard_loss, easy_loss])
        with isolated_rng():
            network = network_of(pl_module)
            self.selection = _with_players(self.selection, monitor.players, network, dm, ids)
            result, record = _compare(trainer, monitor, network, dm, self.selection, epoch, ids, loss, self.num_hard)
            self.records[epoch] = record
            if trainer.is_global_zero:
                assert self.output_dir is not None
                settings = {"num_hard": self.num_hard, "num_easy": self.num_easy, "seed": self.seed}
                _write_epoch(trainer, self.output_dir, result, epoch, settings, self.records, self.figures)
            log_scalars(trainer, {f"{PREFIX}/{k}": v for k, v in record["scalars"].items()})
        return record

    def state_dict(self) -> dict[str, Any]:
        return {
            "records": [self.records[e] for e in sorted(self.records)],
            "selection": None if self.selection is None else self.selection.state_dict(),
            **({"sample_losses": self.hook.recorder.state_dict()} if self.hook is not None else {}),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.records = {int(r["epoch"]): dict(r) for r in state_dict.get("records", [])}
        selection = state_dict.get("selection")
        self.selection = None if selection is None else PlayerSelection.from_state_dict(selection)
        self._hook_state = state_dict.get("sample_losses")
        if self.hook is not None and self._hook_state is not None:
            self.hook.recorder.load_state_dict(self._hook_state)


def _check_counts(num_hard: Any, num_easy: Any, every_n_epochs: Any) -> None:
    """Raise a clear error for sample counts that are not ints >= 1, or an analysis period that is not one or None."""
    for name, value in (("num_hard", num_hard), ("num_easy", num_easy)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{WHO}: {name}={value!r} must be an int >= 1")
    if every_n_epochs is not None and (not isinstance(every_n_epochs, int) or every_n_epochs < 1):
        raise ValueError(f"{WHO}: every_n_epochs={every_n_epochs!r} must be an int >= 1 or None (end of fit only)")


def _train_candidates(dm: Any, monitor: InteractionMonitor, needed: int) -> np.ndarray | None:
    """The training ids hard and easy samples may be chosen from: None (all) for images, the ids with at least
    ``n_players`` eligible words for text.

    Raises:
        ValueError: the data module lacks the protocol (``task``, ``train_ids``, ``batch``), or fewer than ``needed``
            training samples can be analysed.
    """
    missing = [name for name in ("task", "train_ids", "batch") if not hasattr(dm, name)]
    if dm is None or missing:
        raise ValueError(
            f"{WHO} analyses training samples: it needs the trainer's data module to have task, train_ids and "
            f"batch(ids, 'train') (docs/custom_modules.md); "
            + ("there is no data module: pass trainer.fit(model, datamodule=dm)" if dm is None else
               f"{type(dm).__name__} has no {', '.join(missing)}")
        )
    train_ids = np.asarray(dm.train_ids)
    candidates = None
    if dm.task == "text":  # the monitor's own setup may come later: build its players here
        players = cast(TextWordPlayers, monitor.options.build("text", dm.tokenizer))
        train_ids = candidates = ids_with_enough_words(dm, train_ids, players)
    if len(train_ids) < needed:
        raise ValueError(
            f"{WHO}: {len(train_ids)} training samples can be analysed (text: those with at least n_players "
            f"eligible words) but num_hard + num_easy = {needed}; use fewer hard/easy "
            f"samples or players, or more training data"
        )
    return candidates


def hard_and_easy(
    ids: np.ndarray, losses: np.ndarray, candidates: np.ndarray | None, num_hard: int, num_easy: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(hard ids, hard losses, easy ids, easy losses)`` from the mean training loss of every sample ``ids``.

    Hard: the ``num_hard`` largest losses, by decreasing loss (ties: smaller id); easy: ``num_easy`` of the others
    drawn with ``seed``. Samples without a finite loss, or outside ``candidates`` (when given), are never chosen.
    """
    known = np.isfinite(losses)
    if candidates is not None:
        known &= np.isin(ids, candidates)
    ids, losses = ids[known], losses[known]
    if len(ids) < num_hard + num_easy:
        raise ValueError(f"{WHO}: training losses are recorded for {len(ids)} samples, fewer than num_hard + num_easy")
    order = np.lexsort((ids, -losses))
    hard = order[:num_hard]
    rest = np.sort(order[num_hard:])
    easy = np.sort(np.random.default_rng(seed).choice(rest, num_easy, replace=False))
    return ids[hard], losses[hard], ids[easy], losses[easy]


def _with_players(
    selection: PlayerSelection | None, players: Players, network: torch.nn.Module, dm: Any, ids: np.ndarray
) -> PlayerSelection:
    """``selection`` with players for those of the training samples ``ids`` that have none yet (earlier samples
    keep theirs, so that repeated analyses of a sample use the same players)."""
    known = set() if selection is None else set(selection.ids.tolist())
    new = np.array([i for i in ids.tolist() if i not in known], dtype=np.int64)
    if len(new) == 0:
        assert selection is not None  # every id is known
        return selection
    device = next(network.parameters()).device
    batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in dm.batch(new, "train").items()}
    try:
        with torch.no_grad():
            chosen = players.select(network, batch)
    except ValueError as error:
        raise ValueError(f"{WHO} cannot choose players for training samples {new[:10].tolist()}: {error}") from None
    return chosen if selection is None else PlayerSelection.cat([selection, chosen])


def _compare(
    trainer: Trainer, monitor: InteractionMonitor, network: torch.nn.Module, dm: Any, selection: PlayerSelection,
    epoch: int, ids: np.ndarray, loss: np.ndarray, num_hard: int,
) -> tuple[Interactions, dict[str, Any]]:
    """The interactions of the training samples ``ids`` (the first ``num_hard`` hard) and their epoch's record.

    The monitor's players, noise ratio and salience ratio are used; the target is the label the model trains on,
    and tau is computed over these samples.
    """
    assert monitor.players is not None  # the monitor's setup has built them
    result = extract_sharded(
        trainer, network, ids, lambda i: dm.batch(i, "train"), monitor.players, selection,
        targets=torch.as_tensor(_train_labels(dm, ids)), description=f"HardSamples epoch {epoch}",
        **monitor.extraction_options(),
    )
    tau = float(salience_threshold(result.rewards, monitor.analysis.salience_ratio))
    eta = result.eta(tau).numpy()
    relabelled_ids = np.asarray(getattr(dm, "relabelled_ids", []), dtype=np.int64)
    return result, hard_easy_summary(epoch, ids, loss, eta, tau, relabelled_ids, num_hard)


def _loss_hook(key: str, state: dict[str, Any] | None) -> SampleLossHook:
    """The recorder of the per-sample losses ``training_step`` returns under ``key``, with those of a checkpoint
    loaded before setup (``state``, None without one)."""
    hook = SampleLossHook(key, WHO)
    if state is not None:
        hook.recorder.load_state_dict(state)
    return hook


def _write_epoch(
    trainer: Trainer, out_dir: Path, result: Interactions, epoch: int, settings: dict[str, Any],
    records: dict[int, dict[str, Any]], figures: bool,
) -> None:
    """Write the analysis of ``epoch`` (``result``, ``records[epoch]``): its interactions, ``hard_samples.json`` (the
    ``settings`` and the records of every epoch), the loss-vs-eta figure (with ``figures``) and, with a wandb logger,
    the table of the samples."""
    record, num_hard = records[epoch], settings["num_hard"]
    result.settings.update({"epoch": epoch, "num_hard": num_hard, "target": "training label"})
    (out_dir / PREFIX).mkdir(parents=True, exist_ok=True)
    result.save(out_dir / PREFIX / f"epoch_{epoch:04d}.safetensors")
    write_json(out_dir / "hard_samples.json", {**settings, "records": [records[e] for e in sorted(records)]})
    if figures:
        hard = np.arange(len(record["loss"])) < num_hard
        fig = loss_eta_figure(
            np.array(record["loss"]), np.array(record["eta"]), hard, np.array(record["relabelled"]),
            f"epoch {epoch}: Spearman {record['scalars']['loss_eta_spearman']:.2f}",
        )
        figure_path = out_dir / "figures" / f"hard_samples_epoch_{epoch:04d}.png"
        write_figure(trainer, fig, figure_path, f"{PREFIX}/loss_vs_eta")
    if wandb_loggers(trainer):
        rows = [
            [epoch, i, "hard" if k < num_hard else "easy", lo, e, r, i in set(record["top_eta_ids"])]
            for k, (i, lo, e, r) in enumerate(
                zip(record["hard_ids"] + record["easy_ids"], record["loss"], record["eta"], record["relabelled"])
            )
        ]
        columns = ["epoch", "sample_id", "group", "loss", "eta", "relabelled", "top_eta"]
        log_table(trainer, f"{PREFIX}/samples", columns, rows)


def hard_easy_summary(
    epoch: int, ids: np.ndarray, loss: np.ndarray, eta: np.ndarray, tau: float, relabelled_ids: np.ndarray, num_hard: int
) -> dict[str, Any]:
    """One epoch's record of hard_samples.json: the first ``num_hard`` of ``ids`` are the hard samples, the rest
    the easy ones; their losses and eta^avg compared (means, overlap with the top eta^avg, correlations)."""
    hard = np.arange(len(ids)) < num_hard
    top_eta = ids[np.lexsort((ids, -eta))[:num_hard]]
    overlap = set_overlap(ids[hard], top_eta)
    relabelled = np.isin(ids, relabelled_ids)
    varied = np.ptp(loss) > 0 and np.ptp(eta) > 0
    scalars = {
        "eta_hard_mean": float(eta[hard].mean()),
        "eta_easy_mean": float(eta[~hard].mean()),
        "loss_hard_mean": float(loss[hard].mean()),
        "loss_easy_mean": float(loss[~hard].mean()),
        "hard_in_top_eta": overlap.fraction_of_a,
        "hard_top_eta_jaccard": overlap.jaccard,
        "loss_eta_pearson": float(stats.pearsonr(loss, eta).statistic) if varied else float("nan"),
        "loss_eta_spearman": float(stats.spearmanr(loss, eta).statistic) if varied else float("nan"),
        "relabelled_in_hard": float(relabelled[hard].sum()),
        "relabelled_in_easy": float(relabelled[~hard].sum()),
        "tau": tau,
    }
    return {
        "epoch": epoch,
        "hard_ids": ids[hard].tolist(),
        "easy_ids": ids[~hard].tolist(),
        "loss": loss.tolist(),
        "eta": eta.tolist(),
        "relabelled": relabelled.tolist(),
        "top_eta_ids": sorted(top_eta.tolist()),
        "shared_hard_top_eta": list(overlap.shared),
        "scalars": scalars,
    }


def _train_labels(dm: Any, ids: np.ndarray) -> np.ndarray:
    """The labels the model trains on (after label noise) of training ids; a data module without the package's
    split plan (``dm.splits``) gives them in its batches."""
    if not hasattr(dm, "splits"):
        return dm.batch(ids, "train")["labels"].cpu().numpy()
    plan = dm.splits
    position = np.searchsorted(plan.train_ids, ids)
    if (position >= len(plan.train_ids)).any() or not np.array_equal(plan.train_ids[position], ids):
        raise ValueError(f"{WHO}: some ids are not training ids of the data module")
    return plan.train_labels[position]
