"""BaselineGeneralizability: which of the model's interactions generalize, judged by a baseline DNN.

The baseline DNN is trained on held-out data (paper 2 App. I.1: the other half of the training set,
``train_subset: 1``). It is evaluated once on the monitor's probe samples and players (its own tau); then,
at every epoch the monitor measures, an interaction of the model is generalizable iff it is salient for both
with the same sign, and ``J_pos``/``J_neg`` per order, ``H``, ``H_low`` and ``H_high`` are logged under
``generalization/`` and written to ``<run dir>/interactions/generalization.json`` (the baseline's own
interactions: ``baseline.safetensors``). Each record also holds every probe sample's own ``H`` (``H_per_sample``, in
the order of its ``ids``, the probe order; None where the sample has no salient interaction), whose mean is logged
as ``generalization/H_per_sample_mean`` (docs/monitoring.md, "BaselineGeneralizability").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn

from lit_interactions.analysis import generalization_scalars, per_sample_H
from lit_interactions.callbacks.extraction import extract_sharded
from lit_interactions.callbacks.monitor import (
    InteractionMonitor,
    Measurement,
    find_monitor,
)
from lit_interactions.callbacks.reporting import log_scalars
from lit_interactions.callbacks.rng import isolated_rng
from lit_interactions.interactions import (
    Interactions,
    generalization_by_order,
    salience_threshold,
)
from lit_interactions.io.files import write_json
from lit_interactions.models.checkpoints import build_baseline, read_checkpoint
from lit_interactions.modules.classifier import ClassifierModule

PREFIX = "generalization"
WHO = "BaselineGeneralizability"


class BaselineGeneralizability(Callback):
    """Log the generalizable part of the model's interactions per epoch, against a baseline DNN.

    Args:
        checkpoint: path of the baseline DNN's checkpoint (a lit_interactions classifier checkpoint, e.g. the
            ``last.ckpt`` of the same config trained with ``--data.init_args.train_subset 1``).
    """

    def __init__(self, checkpoint: str) -> None:
        super().__init__()
        self.checkpoint = str(checkpoint)
        self.network: nn.Module | None = None
        self.monitor: InteractionMonitor | None = None
        self.baseline: Interactions | None = None
        self.baseline_tau: float | None = None
        self.records: dict[int, dict[str, Any]] = {}
        self.output_dir: Path | None = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Load and check the baseline DNN before training (file, task, classes, input shape, a forward pass)."""
        if stage != "fit":
            return
        self.monitor = find_monitor(trainer, WHO)
        if not isinstance(pl_module, ClassifierModule):
            raise ValueError(f"{WHO} needs a lit_interactions classifier module, got {type(pl_module).__name__}")
        dm = trainer.datamodule  # type: ignore[attr-defined]  # Lightning sets trainer.datamodule at run time
        checkpoint = read_checkpoint(self.checkpoint, WHO)
        shape = getattr(dm, "input_shape", None)
        self.network = build_baseline(checkpoint, pl_module, None if shape is None else int(shape[0]), WHO)
        self._warn_about_data(checkpoint, dm)
        self._check_forward(self.monitor.data_source(trainer))  # the monitor's probe samples (given or the data's)
        self.output_dir = Path(trainer.log_dir or trainer.default_root_dir) / "interactions"
        self.monitor.add_listener(self.on_measurement)

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Put the baseline DNN on the model's device."""
        if self.network is not None:
            self.network.to(pl_module.device)

    def on_measurement(self, trainer: Trainer, pl_module: LightningModule, m: Measurement) -> None:
        """Evaluate the baseline once, then the generalizable interactions of this epoch."""
        if self.baseline is None:
            self._evaluate_baseline(trainer)
        assert self.baseline is not None and self.baseline_tau is not None
        by_order = generalization_by_order(m.interactions, self.baseline, m.tau, self.baseline_tau)
        scalars = generalization_scalars(by_order, prefix=PREFIX)
        self.records[m.epoch] = {
            "epoch": m.epoch, "tau": m.tau, "baseline_tau": self.baseline_tau, "scalars": scalars,
            "ids": m.ids.tolist(), "H_per_sample": per_sample_H(by_order),
        }
        log_scalars(trainer, scalars)
        if trainer.is_global_zero:
            assert self.output_dir is not None
            write_json(self.output_dir / "generalization.json", {
                "checkpoint": self.checkpoint,
                "baseline_tau": self.baseline_tau,
                "records": [self.records[e] for e in sorted(self.records)],
            })

    def _evaluate_baseline(self, trainer: Trainer) -> None:
        monitor = self.monitor
        assert monitor is not None and self.network is not None and monitor.probe_ids is not None
        assert monitor.players is not None and monitor.selection is not None
        dm = monitor.data_source(trainer)
        with isolated_rng():
            self.baseline = extract_sharded(
                trainer, self.network, monitor.probe_ids, lambda ids: dm.batch(ids, "train"), monitor.players,
                monitor.selection, targets=monitor.probe.target_class, description="BaselineGeneralizability: the baseline model",
                **monitor.extraction_options(),
            )
        self.baseline_tau = float(salience_threshold(self.baseline.rewards, monitor.analysis.salience_ratio))
        self.baseline.settings.update({"baseline_checkpoint": self.checkpoint, "tau": self.baseline_tau})
        if trainer.is_global_zero:
            assert self.output_dir is not None
            self.output_dir.mkdir(parents=True, exist_ok=True)
            self.baseline.save(self.output_dir / "baseline.safetensors")

    def _check_forward(self, dm: Any) -> None:
        """Run the baseline on one probe sample: its input shape and output must fit."""
        assert self.network is not None
        batch = dm.batch(np.asarray(dm.probe_ids[:1]), "train")
        try:
            with isolated_rng(), torch.no_grad():
                if "inputs" in batch:
                    logits = self.network(batch["inputs"])
                else:
                    keys = ("input_ids", "attention_mask", "token_type_ids")
                    logits = self.network(**{k: batch[k] for k in keys if k in batch})
        except Exception as error:  # noqa: BLE001 - any failure here is a shape/architecture mismatch
            raise ValueError(
                f"{WHO}: the baseline DNN cannot run on this data's inputs ({error}); give a baseline DNN trained on "
                f"inputs of the same shape"
            ) from None
        logits = getattr(logits, "logits", logits)
        expected = int(getattr(dm, "num_classes", logits.shape[-1]))
        if logits.dim() != 2 or logits.shape[-1] != expected:
            raise ValueError(f"{WHO}: the baseline DNN returns {tuple(logits.shape)} logits, expected [B, {expected}]")

    def _warn_about_data(self, checkpoint: dict[str, Any], dm: Any) -> None:
        saved = checkpoint.get("datamodule_hyper_parameters") or {}
        path = saved.get("_class_path")
        mine = f"{type(dm).__module__}.{type(dm).__name__}"
        if path and path.rsplit(".", 1)[-1] != type(dm).__name__:
            rank_zero_warn(f"{WHO}: the baseline DNN was trained on {path} data, this run uses {mine}")
        subset, own = saved.get("train_subset"), getattr(dm, "train_subset", None)
        if subset is not None and (subset == own or own is None):
            rank_zero_warn(
                f"{WHO}: the baseline DNN was trained on train_subset={subset} and this model on train_subset={own}: "
                f"they share training data, so generalizability is overestimated (use disjoint halves 0 and 1)"
            )

    def state_dict(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "records": [self.records[e] for e in sorted(self.records)]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.records = {int(r["epoch"]): dict(r) for r in state_dict.get("records", [])}
