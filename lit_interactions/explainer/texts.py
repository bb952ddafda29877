"""Rewards of K text models (sequence classifiers or causal LMs) on the same sentences and the same word players.

Words come from the text itself (:mod:`lit_interactions.players.word_spans`), so models with different tokenizers
share them: a word is a player for every model at once, each model masking all of that word's tokens in its own
tokenization at the embedding level. The players of a sentence are drawn once (seeded by the sample id) among the
meaningful words that have tokens of their own in every model. Each sentence is run on its own (no padding), its
``2^n`` masked versions in chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from lit_interactions.explainer.memory import rows_per_chunk
from lit_interactions.explainer.targets import given_targets
from lit_interactions.models.causal_lm import context_length, is_causal_lm
from lit_interactions.players import (
    PlayerSelection,
    TextWordPlayers,
    compute_rewards,
    eval_mode,
)
from lit_interactions.players.base import as_logits, model_device
from lit_interactions.players.next_token import NextTokenLM
from lit_interactions.players.word_spans import encode_words


@dataclass(frozen=True)
class TextModel:
    """A text model ready for word players: its forward, tokenizer and whether it predicts the next token."""

    forward: nn.Module
    tokenizer: Any
    name: str
    causal: bool

    @classmethod
    def of(cls, model: nn.Module, tokenizer: Any, name: str) -> TextModel:
        """Wrap a causal LM as a next-token classifier; keep a sequence classifier as it is."""
        if tokenizer is None:
            raise ValueError(f"explaining text with {name} needs its tokenizer: pass tokenizer=...")
        causal = is_causal_lm(model)
        return cls(NextTokenLM(model) if causal else model, tokenizer, name, causal)


@dataclass(frozen=True)
class TextRewards:
    """Rewards ``[K, B, 2^n]`` of K models, the shared players and what a reader needs to show them."""

    rewards: Tensor
    selection: PlayerSelection
    targets: Tensor
    words: list[list[str]]
    target_names: list[list[str]]
    settings: dict[str, Any]


def text_rewards(
    models: Sequence[TextModel],
    texts: Sequence[str],
    ids: Sequence[int],
    *,
    n_players: int,
    baseline: str | int | None,
    seed: int,
    target: int | Sequence[int] | None,
    chunk_size: int | None,
    max_memory: int,
    progress: bool,
) -> TextRewards:
    """Rewards of every model on all masks of every sentence, with players shared by all models."""
    encoded = [[_encode(model, text, sample_id) for text, sample_id in zip(texts, ids, strict=True)]
               for model in models]
    players = [_players(model, n_players, baseline, seed) for model in models]
    selection = PlayerSelection.cat([
        players[0].select(None, {**encoded[0][b], "words": [_shared_words(encoded, b)]})
        for b in range(len(texts))
    ])
    targets = _targets(target, len(models), len(texts))
    rewards = torch.empty(len(models), len(texts), 2**n_players, dtype=torch.float64)
    steps = tqdm(total=len(models) * len(texts), disable=not progress, desc="sentences", unit="sentence")
    for k, model in enumerate(models):
        for b in range(len(texts)):
            batch = encoded[k][b]
            if targets[k, b] < 0:
                targets[k, b] = predicted_class(model.forward, batch)
            rows = chunk_size or rows_per_chunk(_inner(model), batch["input_ids"].shape[1], max_memory)
            value, _ = compute_rewards(model.forward, batch, players[k], selection, target=int(targets[k, b]),
                                       chunk_size=rows, progress=progress and steps.total == 1)
            rewards[k, b] = value[0].double().cpu()
            steps.update()
    steps.close()
    words = [list(encoded[0][b]["words"][0]) for b in range(len(texts))]
    names = [[_decode(model, int(t)) for t in targets[k].tolist()] for k, model in enumerate(models)]
    settings = {
        "players": players[0].settings(),
        "baselines": [p.settings()["baseline"] for p in players],
        "baseline_token_ids": [p.baseline_token_id for p in players],
        "models": [m.name for m in models],
        "reward": "log_odds of the next token" if models[0].causal else "log_odds of the class",
    }
    return TextRewards(rewards, selection, targets, words, names, settings)


def predicted_class(forward: nn.Module, batch: dict[str, Any]) -> int:
    """The class (or next token) the model predicts for an unmasked one-sample batch."""
    device = model_device(forward)
    kwargs = {k: batch[k].to(device) for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
    with eval_mode(forward), torch.no_grad():
        logits = as_logits(forward(**kwargs))
    return int(logits.reshape(1, -1).argmax(dim=1))


def _encode(model: TextModel, text: str, sample_id: int) -> dict[str, Any]:
    batch = encode_words(model.tokenizer, text)
    limit = context_length(_inner(model))
    length = batch["input_ids"].shape[1]
    if limit is not None and length > limit:
        raise ValueError(
            f"the text of sample {sample_id} is {length} tokens long for {model.name}, longer than its context of "
            f"{limit} tokens; give a shorter text"
        )
    batch["ids"] = torch.tensor([sample_id])
    return batch


def _shared_words(encoded: Sequence[Sequence[dict[str, Any]]], b: int) -> list[str]:
    """Sample ``b``'s words, blanked (never a player) where some model has no token of that word's own."""
    words = list(encoded[0][b]["words"][0])
    owned = [set(per_model[b]["word_ids"][0].tolist()) for per_model in encoded]
    return [word if all(i in own for own in owned) else "" for i, word in enumerate(words)]


def _players(model: TextModel, n_players: int, baseline: str | int | None, seed: int) -> TextWordPlayers:
    default = "eos" if model.causal else "mean"
    return TextWordPlayers(n_players, tokenizer=model.tokenizer, baseline=default if baseline is None else baseline,
                           seed=seed)


def _targets(target: int | Sequence[int] | None, n_models: int, size: int) -> Tensor:
    """``[K, B]`` target per model and sample; ``-1`` = the model's prediction, filled in later."""
    if target is None:
        return torch.full((n_models, size), -1, dtype=torch.long)
    return given_targets(target, size, "text").expand(n_models, size).clone()


def _inner(model: TextModel) -> nn.Module:
    return model.forward.model if isinstance(model.forward, NextTokenLM) else model.forward


def _decode(model: TextModel, target: int) -> str:
    if model.causal:
        return model.tokenizer.decode([target])
    labels = getattr(getattr(_inner(model), "config", None), "id2label", None) or {}
    return str(labels.get(target, target))
