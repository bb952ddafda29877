"""ConfusingSamples: per measured epoch, eta^avg of every probe sample and the confusing set (the top fraction).

Confusing samples (paper 2 Sec. 2.3) are the probe samples whose salient interactions have the
largest average order eta^avg: high-order, mutually offsetting interactions. The values come from the
:class:`InteractionMonitor`'s measurement of the same epoch (same tau); this callback needs one.

Writes ``<run dir>/interactions/confusing_samples.json``; logs ``confusing_samples/*`` scalars and, with
wandb, the table ``confusing_samples/eta`` (eta per sample per epoch, with a confusing flag).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from lightning import Callback, LightningModule, Trainer

from lit_interactions.analysis import set_overlap, top_fraction
from lit_interactions.callbacks.monitor import Measurement, find_monitor
from lit_interactions.callbacks.reporting import log_scalars, log_table, wandb_loggers
from lit_interactions.io.files import write_json

PREFIX = "confusing_samples"
WHO = "ConfusingSamples"


class ConfusingSamples(Callback):
    """Track the confusing probe samples (top ``fraction`` by eta^avg) at every epoch the monitor measures.

    Args:
        fraction: share of the probe samples that are confusing (default 0.1; at least one sample).
    """

    def __init__(self, fraction: float = 0.1) -> None:
        super().__init__()
        if not 0 < fraction <= 1:
            raise ValueError(f"{WHO}: fraction={fraction!r} must be in (0, 1] (the share of probe samples)")
        self.fraction = float(fraction)
        self.records: dict[int, dict[str, Any]] = {}
        self.output_path: Path | None = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """Attach to the monitor (clear error if there is none)."""
        if stage != "fit":
            return
        monitor = find_monitor(trainer, WHO)
        monitor.add_listener(self.on_measurement)
        self.output_path = Path(trainer.log_dir or trainer.default_root_dir) / "interactions" / "confusing_samples.json"

    def on_measurement(self, trainer: Trainer, pl_module: LightningModule, m: Measurement) -> None:
        """Record, save and log the confusing set of the measured epoch."""
        eta = m.profile.eta.numpy()
        ids = m.ids
        confusing = top_fraction(eta, self.fraction, ids)
        previous = [e for e in sorted(self.records) if e < m.epoch]
        record = {
            "epoch": m.epoch,
            "ids": ids.tolist(),
            "eta": eta.tolist(),
            "confusing": confusing.tolist(),
            "eta_threshold": float(eta[np.isin(ids, confusing)].min()),
        }
        self.records[m.epoch] = record
        metrics = {
            f"{PREFIX}/count": float(len(confusing)),
            f"{PREFIX}/eta_threshold": record["eta_threshold"],
            f"{PREFIX}/eta_mean": float(eta[np.isin(ids, confusing)].mean()),
        }
        if previous:
            before = self.records[previous[-1]]["confusing"]
            metrics[f"{PREFIX}/overlap_with_previous"] = set_overlap(confusing, before).fraction_of_a
        log_scalars(trainer, metrics)
        if trainer.is_global_zero:
            self._write()
            if wandb_loggers(trainer):
                rows = [
                    [e, i, v, i in set(r["confusing"])]
                    for e, r in sorted(self.records.items())
                    for i, v in zip(r["ids"], r["eta"])
                ]
                log_table(trainer, f"{PREFIX}/eta", ["epoch", "sample_id", "eta", "confusing"], rows)

    def history(self) -> dict[int, list[int]]:
        """Confusing sample ids per measured epoch."""
        return {e: list(r["confusing"]) for e, r in sorted(self.records.items())}

    def _write(self) -> None:
        assert self.output_path is not None
        write_json(self.output_path, {
            "fraction": self.fraction,
            "epochs": sorted(self.records),
            "confusing": {str(e): r["confusing"] for e, r in sorted(self.records.items())},
            "records": [self.records[e] for e in sorted(self.records)],
        })

    def state_dict(self) -> dict[str, Any]:
        return {"fraction": self.fraction, "records": [self.records[e] for e in sorted(self.records)]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.records = {int(r["epoch"]): dict(r) for r in state_dict.get("records", [])}
