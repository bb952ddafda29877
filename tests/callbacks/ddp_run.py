"""Run the InteractionMonitor under DDP on 2 CPU processes (gloo); launched by test_ddp.py as a script.

Usage: python tests/callbacks/ddp_run.py OUT_DIR. Writes OUT_DIR/init.pt (initial weights), the run directory
OUT_DIR/run, OUT_DIR/ckpt/last.ckpt and OUT_DIR/rank<r>.json (each rank's monitor history).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lit_interactions.callbacks import InteractionMonitor  # noqa: E402
from lit_interactions.players.options import PlayerOptions
from lit_interactions.run import RunCSVLogger  # noqa: E402
from tests.callbacks.helpers import mnist, resnet  # noqa: E402

NUM_PROBE, N_PLAYERS = 5, 3  # an odd count: the ranks get 3 and 2 probe samples


def main(out: Path) -> None:
    model = resnet(seed=0)
    monitor = InteractionMonitor(players=PlayerOptions(n_players=N_PLAYERS), num_probe=NUM_PROBE, figures=False)
    trainer = L.Trainer(
        strategy="ddp", accelerator="cpu", devices=2, max_epochs=1, limit_train_batches=1, limit_val_batches=1,
        num_sanity_val_steps=0, enable_progress_bar=False, enable_model_summary=False, logger=RunCSVLogger(out / "run"),
        callbacks=[monitor, ModelCheckpoint(dirpath=out / "ckpt", save_last=True)],
    )
    if trainer.is_global_zero:
        torch.save(model.state_dict(), out / "init.pt")
    trainer.fit(model, mnist())
    (out / f"rank{trainer.global_rank}.json").write_text(json.dumps(monitor.history.summary()))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
