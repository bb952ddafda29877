"""Rows of a per-sample batch: which can carry the players, and taking some of them (tensors and lists alike)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from lit_interactions.players import Players, TextWordPlayers, filter_by_eligible_words


def usable_rows(batch: dict[str, Any], players: Players, n_players: int) -> Tensor:
    """Rows of the batch that can carry ``n_players`` players (text: enough eligible words; images: all)."""
    size = len(batch["ids"])
    if not isinstance(players, TextWordPlayers):
        return torch.arange(size)
    rows = (
        [{"words": list(words)} for words in batch["words"]] if "words" in batch
        else [{key: batch[key][b].cpu() for key in ("input_ids", "word_ids", "attention_mask")} for b in range(size)]
    )
    usable = filter_by_eligible_words(rows, n_players, players.tokenizer, players.extra_stop_words)
    return torch.tensor(usable, dtype=torch.long)


def take_rows(value: Any, pick: Tensor, size: int) -> Any:
    """Rows ``pick`` of a per-sample batch entry (tensor or list); other entries unchanged."""
    if torch.is_tensor(value) and len(value) == size:
        return value[pick]
    if isinstance(value, (list, tuple)) and len(value) == size:
        return [value[i] for i in pick.tolist()]
    return value


def seeded_rows(
    batch: dict[str, Any], players: Players, n_players: int, count: int, seed: int
) -> dict[str, Any] | None:
    """``count`` rows of the batch drawn with ``seed`` among those that can carry the players (None if none can)."""
    size = len(batch["ids"])
    candidates = usable_rows(batch, players, n_players)
    if len(candidates) == 0:
        return None
    order = torch.randperm(len(candidates), generator=torch.Generator().manual_seed(seed))[:count]
    pick = candidates[order].to(batch["ids"].device)
    return {key: take_rows(value, pick, size) for key, value in batch.items()}
