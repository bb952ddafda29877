"""The players chosen for each sample, recorded so that other models are evaluated on the same players."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lit_interactions.interactions.subsets import SUBSET_ORDER, check_n_players


@dataclass(frozen=True)
class PlayerSelection:
    """Per-sample players: row ``b`` holds the players of the sample with id ``ids[b]``.

    Player ``i`` of a sample is the patch / word index ``players[b, i]``; bit ``i`` of a subset index
    refers to it. A selection is computed once (e.g. on the probe set with the main model) and passed
    again to evaluate a baseline DNN, a second DNN or a later epoch on exactly the same players.

    Attributes:
        ids: ``LongTensor[B]`` stable sample ids (``batch["ids"]``).
        players: ``LongTensor[B, n]`` patch indices (row-major in the grid) or word indices.
        kind: the player type that made it (``"image_patch"`` or ``"text_word"``).
        settings: JSON-able settings of the player type (layer, grid, crop, seed, ...).
    """

    ids: Tensor
    players: Tensor
    kind: str
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ids.dim() != 1 or self.players.dim() != 2 or self.players.shape[0] != self.ids.shape[0]:
            raise ValueError(
                f"a PlayerSelection needs ids [B] and players [B, n]; got ids {tuple(self.ids.shape)} "
                f"and players {tuple(self.players.shape)}"
            )
        if self.ids.dtype != torch.long or self.players.dtype != torch.long:
            raise TypeError("PlayerSelection ids and players must be LongTensors (torch.long)")
        check_n_players(int(self.players.shape[1]))
        json.dumps(self.settings)  # raises TypeError early if the settings cannot be stored

    @property
    def n_players(self) -> int:
        """Number of players ``n`` per sample."""
        return int(self.players.shape[1])

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def align(self, ids: Tensor) -> PlayerSelection:
        """The rows of this selection for the samples ``ids``, in that order (any batch composition).

        Raises:
            KeyError: if some ids have no players in this selection.
            ValueError: if an id appears twice here with different players.
        """
        rows = _row_of_id(self.ids, self.players)
        wanted = [int(i) for i in ids.reshape(-1).tolist()]
        missing = sorted({i for i in wanted if i not in rows})
        if missing:
            raise KeyError(
                f"the selection has no players for sample id(s) {missing[:20]}"
                f"{' ...' if len(missing) > 20 else ''}; select players for these samples first "
                f"(call compute_rewards without a selection, or players.select) and concatenate the selections"
            )
        index = torch.tensor([rows[i] for i in wanted], dtype=torch.long)
        return PlayerSelection(self.ids[index], self.players[index], self.kind, dict(self.settings))

    @classmethod
    def cat(cls, selections: list[PlayerSelection]) -> PlayerSelection:
        """Concatenate selections made with the same settings (e.g. one per batch)."""
        if not selections:
            raise ValueError("PlayerSelection.cat needs at least one selection")
        first = selections[0]
        for other in selections[1:]:
            if other.kind != first.kind or other.settings != first.settings:
                raise ValueError(
                    f"cannot concatenate selections made with different settings: "
                    f"{first.kind} {first.settings} vs {other.kind} {other.settings}"
                )
        return cls(
            torch.cat([s.ids.cpu() for s in selections]),
            torch.cat([s.players.cpu() for s in selections]),
            first.kind,
            dict(first.settings),
        )

    def state_dict(self) -> dict[str, Any]:
        """Tensors plus a JSON-able ``meta`` dict (kind, settings, subset order); see :meth:`from_state_dict`."""
        meta = {"kind": self.kind, "settings": self.settings, "subset_order": SUBSET_ORDER}
        return {"ids": self.ids.cpu(), "players": self.players.cpu(), "meta": meta}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> PlayerSelection:
        """Rebuild a selection from :meth:`state_dict`."""
        meta = state["meta"]
        if meta.get("subset_order", SUBSET_ORDER) != SUBSET_ORDER:
            raise ValueError(f"selection stored with subset order {meta['subset_order']!r}, expected {SUBSET_ORDER!r}")
        return cls(state["ids"].long(), state["players"].long(), meta["kind"], dict(meta["settings"]))

    def save(self, path: str | Path) -> None:
        """Save with ``torch.save`` (loadable with ``weights_only=True``)."""
        torch.save(self.state_dict(), path)

    @classmethod
    def load(cls, path: str | Path) -> PlayerSelection:
        """Load a selection saved by :meth:`save` (read with ``weights_only=True``: loading runs no code).

        Raises:
            FileNotFoundError: no file at ``path``.
            ValueError: the file is not a players file (another checkpoint, a damaged or hostile file).
        """
        return cls.from_state_dict(_read_players_file(path))


def _row_of_id(ids: Tensor, players: Tensor) -> dict[int, int]:
    """The first row of every sample id; an id may repeat only with the same players (one sample, one choice).

    Raises:
        ValueError: if an id appears twice with different players.
    """
    rows: dict[int, int] = {}
    for row, sample_id in enumerate(ids.tolist()):
        first = rows.setdefault(sample_id, row)
        if first != row and not torch.equal(players[first], players[row]):
            raise ValueError(f"sample id {sample_id} appears twice in the selection with different players")
    return rows


def _read_players_file(path: str | Path) -> dict[str, Any]:
    """The state dict in a players file, read as plain tensors only (no code runs) and checked for its keys.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a players file (another checkpoint, a damaged or hostile file).
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no players file at {str(path)!r}: give the players.pt a monitor wrote "
                                f"(runs/<name>/<version>/interactions/players.pt)")
    fix = ("give the players.pt a monitor wrote (runs/<name>/<version>/interactions/players.pt); the file is "
           "never read in a way that could run code")
    try:
        state: Any = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any failure means the same thing to the user
        # torch's message suggests weights_only=False, which would run the file's code: not repeated here
        raise ValueError(f"{file} is not a players file: it cannot be read as plain tensors "
                         f"({type(error).__name__}); {fix}") from None
    meta = state.get("meta") if isinstance(state, dict) else None
    if (not isinstance(meta, dict) or not isinstance(state.get("ids"), Tensor)
            or not isinstance(state.get("players"), Tensor) or not {"kind", "settings"} <= set(meta)):
        keys = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{file} is not a players file: it holds {keys}, not ids, players and meta; {fix}")
    return state
