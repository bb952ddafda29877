"""The monitor's players of every probe sample: chosen once on the initial model, loaded, or restored on resume.

Functions rather than monitor methods so the monitor stays a thin Lightning callback; every error names the
setting to change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lit_interactions.callbacks.rng import isolated_rng
from lit_interactions.players import ImagePatchPlayers, Players, PlayerSelection

WHO = "InteractionMonitor"


def choose_selection(
    players: Players, probe_ids: np.ndarray, batch: dict[str, Any], network: nn.Module, players_from: str | None
) -> tuple[PlayerSelection, tuple[int, int] | None]:
    """The players of every probe sample (chosen on ``network``, or read from ``players_from``) and, for image
    players, the height and width of the feature map they live on (for the figures)."""
    if players_from is not None:
        selection = load_players_file(players_from)
        players.check_selection(selection)
        selection = selection.align(torch.as_tensor(probe_ids))
    else:
        try:
            with isolated_rng(), torch.no_grad():
                selection = players.select(network, batch)
        except (ValueError, RuntimeError) as error:
            raise ValueError(f"{WHO} cannot choose the players ({players!r}): {error}") from None
    if not isinstance(players, ImagePatchPlayers):
        return selection, None
    with isolated_rng(), torch.no_grad():
        features = players.features(network, batch["inputs"][:1])
    return selection, (int(features.shape[-2]), int(features.shape[-1]))


def restored_selection(
    state: dict[str, Any], settings: dict[str, Any], probe_ids: np.ndarray | None
) -> tuple[PlayerSelection | None, tuple[int, int] | None]:
    """The checkpoint's players and feature-map size, after checking that it was made with the same settings and
    probe samples as this run."""
    if state.get("settings") != settings:
        raise ValueError(
            f"{WHO}: the checkpoint was written with the settings {state.get('settings')} but this run has "
            f"{settings}; resume with the same monitor settings, or start a new run"
        )
    probe = np.asarray(state.get("probe_ids", []), dtype=np.int64)
    if probe_ids is not None and not np.array_equal(probe, probe_ids):
        raise ValueError(
            f"{WHO}: the checkpoint followed the probe ids {probe[:8].tolist()}... but the data module now gives "
            f"{probe_ids[:8].tolist()}...; resume with the same data settings (split_seed, num_probe)"
        )
    selection = PlayerSelection.from_state_dict(state["selection"]) if state.get("selection") is not None else None
    hw = state.get("feature_hw")
    return selection, (int(hw[0]), int(hw[1])) if hw else None


def load_players_file(path: str) -> PlayerSelection:
    """A ``players.pt`` another run's monitor wrote (read without running code)."""
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"{WHO}: players_from={path!r} does not exist; give the players.pt another run's monitor wrote "
            f"(runs/<name>/<version>/interactions/players.pt)"
        )
    return PlayerSelection.load(path)
