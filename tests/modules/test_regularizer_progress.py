"""The regularizer's penalty steps show their status in the progress bar: the latest step's share (not logged)."""

from __future__ import annotations

import csv
from pathlib import Path

import lightning as L
import pytest
from lightning.pytorch.callbacks import Callback

from lit_interactions.modules import ImageClassifier
from lit_interactions.modules.regularizer_option import PROGRESS_BAR_KEY, InteractionPenalty
from lit_interactions.players.options import PlayerOptions
from tests.callbacks.helpers import mnist, trainer


class ShownAfterEachStep(Callback):
    """What the progress bar would show after every training step."""

    def __init__(self) -> None:
        self.shown: list[float | None] = []

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        value = trainer.progress_bar_metrics.get(PROGRESS_BAR_KEY)
        self.shown.append(None if value is None else float(value))


@pytest.mark.slow
def test_the_progress_bar_shows_the_latest_penalty_share(tmp_path: Path) -> None:
    L.seed_everything(0, verbose=False)
    model = ImageClassifier("resnet20", num_classes=2, in_channels=1, lr=0.05,
                            regularizer=InteractionPenalty(players=PlayerOptions(n_players=3), num_samples=1,
                                                           every_n_steps=2))
    watch = ShownAfterEachStep()
    trainer(tmp_path, [watch], max_epochs=1, limit_train_batches=2, limit_val_batches=0).fit(model, datamodule=mnist())
    with open(tmp_path / "run" / "v0" / "metrics.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    shares = {int(r["step"]): float(r["regularizer/share_step"]) for r in rows if r.get("regularizer/share_step")}
    assert list(shares) == [0]  # penalty steps 0, 2, ...: step 1 has none
    assert watch.shown == pytest.approx([shares[0], shares[0]])  # step 1 still shows step 0's share
    assert PROGRESS_BAR_KEY not in rows[0]  # shown, not logged
