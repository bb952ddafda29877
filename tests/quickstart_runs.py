"""Short command-line runs of the quickstart config, shared by the tests that drive ``lit-interactions``."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = str(ROOT / "configs" / "quickstart.yaml")


def short_run(train_batches: int, val_batches: int = 1, *, sanity_check: bool = True) -> list[str]:
    """Trainer flags that cut the quickstart to a few batches, without a progress bar."""
    flags = [
        f"--trainer.limit_train_batches={train_batches}",
        f"--trainer.limit_val_batches={val_batches}",
        "--trainer.enable_progress_bar=false",
        "--trainer.log_every_n_steps=1",
    ]
    return flags if sanity_check else [*flags, "--trainer.num_sanity_val_steps=0"]
