"""Hand-made run folders with known interactions (no training)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import torch
import yaml

from lit_interactions.interactions import Interactions
from lit_interactions.players import PlayerSelection

N_PLAYERS = 4
SETTINGS = {"n_players": N_PLAYERS, "grid": 5, "layer": None, "crop": None, "baseline": "zero"}
TAU = 0.25


def known_interactions(orders: list[int], ids: list[int], players: torch.Tensor) -> Interactions:
    """One AND interaction of effect 1 per sample, on the first ``orders[b]`` players: eta^avg of sample b is
    exactly ``orders[b]`` at tau 0.25."""
    effects = torch.zeros(len(orders), 2**N_PLAYERS, dtype=torch.float64)
    for b, order in enumerate(orders):
        effects[b, (1 << order) - 1] = 1.0
    result = Interactions.from_effects(effects, torch.zeros_like(effects))
    return replace(result, settings={"tau": TAU, "noise_ratio": 0.01},
                   extra={"ids": torch.tensor(ids), "players": players.clone()})


def make_run(path: Path, eta_by_epoch: dict[int, list[int]], ids: list[int] | None = None,
             players: torch.Tensor | None = None, kind: str = "image_patch", data: dict | None = None) -> Path:
    """A run folder with ``interactions/{players.pt, players.json, history.json, epoch_XXXX.safetensors}`` and,
    with ``data`` (a config's ``data:`` section), a ``config.yaml``."""
    n = len(next(iter(eta_by_epoch.values())))
    ids = list(range(10, 10 + n)) if ids is None else ids
    players = torch.arange(N_PLAYERS).repeat(n, 1) if players is None else players
    folder = path / "interactions"
    folder.mkdir(parents=True)
    selection = PlayerSelection(torch.tensor(ids), players, kind, dict(SETTINGS))
    selection.save(folder / "players.pt")
    feature_hw = [28, 28] if kind == "image_patch" else None
    (folder / "players.json").write_text(json.dumps({"kind": kind, "settings": SETTINGS,
                                                     "feature_hw": feature_hw, "ids": ids}))
    if data is not None:
        (path / "config.yaml").write_text(yaml.safe_dump({"data": data, "run": {"name": path.parent.name}}))
    records = []
    for epoch, orders in eta_by_epoch.items():
        result = known_interactions(orders, ids, players)
        result.save(folder / f"epoch_{epoch:04d}.safetensors")
        i_pos, i_neg = result.strength_by_order(TAU)
        records.append({"epoch": epoch, "eta": [float(o) for o in orders], "tau": TAU,
                        "I_pos": i_pos.mean(0).tolist(), "I_neg": i_neg.mean(0).tolist(),
                        "high_order_share": float(sum(o > 2 for o in orders)) / n, "mean_order": sum(orders) / n,
                        "num_salient": 1.0, "eta_mean": sum(orders) / n, "eta_std": float(torch.tensor(
                            orders, dtype=torch.float64).std(correction=0))})
    (folder / "history.json").write_text(json.dumps({"probe_ids": ids, "records": records}))
    return path
