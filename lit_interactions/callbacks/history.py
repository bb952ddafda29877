"""The monitor's history: one record per measured epoch and the losses per epoch, checkpointable as plain data.

Records are keyed by epoch, so a measurement repeated after a resume replaces the earlier one (no duplicate)
and a resumed run continues the restored history (no gap). Everything is lists, dicts, numbers and strings:
the state loads from checkpoints with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lit_interactions.analysis import find_gap_widening, find_turn


class MonitorHistory:
    """Per-epoch interaction summaries and per-epoch train/validation losses.

    Epoch numbers count finished training epochs: 0 is the initial model, ``e + 1`` the model after
    (0-based) training epoch ``e``.
    """

    def __init__(self) -> None:
        self.records: dict[int, dict[str, Any]] = {}
        self.losses: dict[int, dict[str, float | None]] = {}

    # -- updates -----------------------------------------------------------------------------------------
    def add(self, record: dict[str, Any]) -> None:
        """Add (or replace) the record of ``record["epoch"]``."""
        self.records[int(record["epoch"])] = record

    def set_loss(self, epoch: int, key: str, value: float | None) -> None:
        """Set ``train_loss`` or ``val_loss`` of an epoch (None or NaN leaves it unknown)."""
        entry = self.losses.setdefault(int(epoch), {"train_loss": None, "val_loss": None})
        if value is not None and math.isfinite(value):
            entry[key] = float(value)

    # -- reading -----------------------------------------------------------------------------------------
    @property
    def epochs(self) -> list[int]:
        """Measured epochs, increasing."""
        return sorted(self.records)

    def __contains__(self, epoch: int) -> bool:
        return int(epoch) in self.records

    def series(self, key: str) -> np.ndarray:
        """One field of every record (e.g. ``"high_order_share"``), in epoch order."""
        return np.array([self.records[e][key] for e in self.epochs], dtype=np.float64)

    def profiles(self) -> tuple[np.ndarray, np.ndarray]:
        """``(I_pos, I_neg)``, each ``[epochs, n + 1]``, for the order-distribution picture."""
        return (
            np.array([self.records[e]["I_pos"] for e in self.epochs], dtype=np.float64),
            np.array([self.records[e]["I_neg"] for e in self.epochs], dtype=np.float64),
        )

    def turn_epoch(self) -> int | None:
        """:func:`~lit_interactions.analysis.find_turn` on the high-order share; None until it is found."""
        if not self.records:
            return None
        return find_turn(self.epochs, self.series("high_order_share"))

    def loss_curves(self) -> tuple[list[int], list[float], list[float]]:
        """Epochs with both losses known, and their train and validation losses."""
        known = [e for e in sorted(self.losses) if None not in self.losses[e].values()]
        return (
            known,
            [float(self.losses[e]["train_loss"]) for e in known],  # type: ignore[arg-type]
            [float(self.losses[e]["val_loss"]) for e in known],  # type: ignore[arg-type]
        )

    def gap_widening_epoch(self) -> int | None:
        """:func:`~lit_interactions.analysis.find_gap_widening` on the losses; None until it is found."""
        epochs, train, val = self.loss_curves()
        if not epochs:
            return None
        return find_gap_widening(epochs, train, val)

    # -- persistence -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Plain lists and dicts (epoch keys as lists of records, so the state is JSON-like)."""
        return {
            "records": [self.records[e] for e in self.epochs],
            "losses": [{"epoch": e, **self.losses[e]} for e in sorted(self.losses)],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.records = {int(r["epoch"]): dict(r) for r in state.get("records", [])}
        self.losses = {
            int(entry["epoch"]): {"train_loss": entry.get("train_loss"), "val_loss": entry.get("val_loss")}
            for entry in state.get("losses", [])
        }

    def summary(self) -> dict[str, Any]:
        """The history as written to ``history.json``: records, losses, turn and gap-widening epochs."""
        return {
            **self.state_dict(),
            "epochs": self.epochs,
            "turn_epoch": self.turn_epoch(),
            "gap_widening_epoch": self.gap_widening_epoch(),
        }
