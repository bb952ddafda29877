"""The probe samples and their players: which samples a monitor follows, and the player rules it applies.

Both are fixed once per run: the probe samples are the first ``num_probe`` ids of the data module's
probe set in id order (for text: the first ones with at least ``n_players`` eligible words), and the players
are chosen on the initial model, so that later epochs, a baseline DNN and another run are evaluated on
exactly the same players.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from lightning import LightningDataModule

from lit_interactions.players import Players, TextWordPlayers, filter_by_eligible_words
from lit_interactions.players.options import PlayerOptions

__all__ = ["PROBE_SPLITS", "PlayerOptions", "choose_probe_ids", "data_task", "ids_with_enough_words"]

def data_task(dm: Any, who: str) -> str:
    """The task of the trainer's data module, with an error if there is none or it has no probe set."""
    if dm is None or not isinstance(dm, LightningDataModule):
        raise ValueError(
            f"{who} needs the trainer to have a data module from lit_interactions.data (with a probe set); "
            f"pass it as trainer.fit(model, datamodule=dm) or in the config's data: section"
        )
    for name in ("task", "probe_ids", "batch"):
        if not hasattr(dm, name):
            raise ValueError(
                f"{who} needs a data module with task, probe_ids and batch(ids, split) (those of "
                f"lit_interactions.data); {type(dm).__name__} has no {name!r}"
            )
    return str(dm.task)


PROBE_SPLITS = ("held_out", "train")


def choose_probe_ids(dm: Any, players: Players, num_probe: int, who: str, split: str = "held_out") -> np.ndarray:
    """The first ``num_probe`` ids (in id order) that can carry the players.

    Args:
        split: ``"held_out"``: the data module's probe set (never trained on); ``"train"``: the samples the model
            trains on (paper 2 Sec. 2.2 follows the interactions of training samples).

    Raises:
        ValueError: if the data module has no probe set, or fewer usable probe samples than ``num_probe``.
    """
    if split not in PROBE_SPLITS:
        raise ValueError(f"{who}: probe_split={split!r} is not one of {PROBE_SPLITS}")
    if split == "train":
        ids = np.sort(np.asarray(dm.train_ids, dtype=np.int64))
        usable = ids_with_enough_words(dm, ids, players) if isinstance(players, TextWordPlayers) else ids
        if len(usable) < num_probe:
            raise ValueError(
                f"{who}: only {len(usable)} training samples can carry the players but num_probe={num_probe} are "
                f"requested; request fewer probe samples"
            )
        return usable[:num_probe]
    ids = np.asarray(dm.probe_ids, dtype=np.int64)
    if ids.size == 0:
        raise ValueError(
            f"{who}: the data module has no probe set (num_probe=0); set data.init_args.num_probe to at least "
            f"{num_probe} (probe samples are never trained on)"
        )
    if isinstance(players, TextWordPlayers):
        usable = ids_with_enough_words(dm, ids, players)
        if len(usable) < num_probe:
            raise ValueError(
                f"{who}: only {len(usable)} of the {len(ids)} probe samples have at least n_players="
                f"{players.n_players} eligible (non-stop-word) words, but num_probe={num_probe} are requested; "
                f"use fewer players or probe samples, or a larger probe set (data.init_args.num_probe)"
            )
        return usable[:num_probe]
    if len(ids) < num_probe:
        raise ValueError(
            f"{who}: the probe set has {len(ids)} samples but num_probe={num_probe} are requested; set "
            f"data.init_args.num_probe >= {num_probe} or request fewer probe samples"
        )
    return ids[:num_probe]


def ids_with_enough_words(dm: Any, ids: np.ndarray, players: TextWordPlayers, chunk: int = 512) -> np.ndarray:
    """The training ids (in order) whose tokenized sample has at least ``n_players`` eligible words.

    Uses the data module's own tokenization (truncation included), as word players see it.
    """
    keep = []
    for start in range(0, len(ids), chunk):
        part = np.asarray(ids[start : start + chunk], dtype=np.int64)
        batch = dm.batch(part, "train")
        samples = [
            {"input_ids": batch["input_ids"][b], "word_ids": batch["word_ids"][b],
             "attention_mask": batch["attention_mask"][b]}
            for b in range(len(part))
        ]
        keep.append(part[filter_by_eligible_words(samples, players.n_players, dm.tokenizer, players.extra_stop_words)])
    return np.concatenate(keep) if keep else np.zeros(0, dtype=np.int64)
