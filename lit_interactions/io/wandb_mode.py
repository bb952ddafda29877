"""The wandb mode of a run, and starting wandb so that an offline run never touches the network.

wandb reads its process-wide settings (and starts its usage telemetry, which resolves and contacts a server) from
the environment before ``wandb.init(mode=...)`` applies the run's mode: an offline run would still make a DNS query.
:func:`prepare_wandb` gives wandb the mode first, so "offline" means no network at all.
"""

from __future__ import annotations

import os
from typing import Literal

WandbMode = Literal["offline", "online", "disabled"]
WANDB_MODES: tuple[str, ...] = ("offline", "online", "disabled")


def prepare_wandb(mode: WandbMode) -> None:
    """Set wandb's process settings to ``mode`` before a run starts (quiet, and no network unless "online").

    Raises:
        ValueError: for a mode other than "offline", "online" or "disabled".
    """
    if mode not in WANDB_MODES:
        raise ValueError(f"wandb mode {mode!r} is not one of {', '.join(WANDB_MODES)}; pick one of them")
    os.environ.setdefault("WANDB_SILENT", "true")
    if mode == "online":
        return
    import wandb

    wandb.setup(settings=wandb.Settings(mode=mode))
