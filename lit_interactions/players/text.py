"""Word players at the embedding level or at a layer's output (paper 2 App. I.3; paper 1 for special-token baselines).

A sample's players are ``n`` words that are not stop words (scikit-learn's ``ENGLISH_STOP_WORDS``) and not
punctuation-only (see :mod:`lit_interactions.players.words`), drawn with a generator seeded by
``(seed, sample id)``: the choice never depends on the batch. Players are listed by increasing word index.
Masking a word replaces the word embedding of all its tokens by the baseline; [CLS], [SEP], padding and
unchosen words keep theirs. The engine needs exactly ``n`` eligible words per sample: filter a dataset
first with :func:`filter_by_eligible_words`.

With ``layer`` (a module name, e.g. ``"bert.bert.encoder.layer.0"``: the output of BERT's first transformer block,
paper 2's players for BERT-Tiny) the players are the *outputs of that layer* at the words' token positions: the model
runs on the unmasked tokens and a forward hook replaces the layer's hidden states ``[k, T, D]`` at the tokens of
the masked words by the baseline (``"mean"``: the mean of the layer's outputs over the sample's player tokens;
``"zero"``); every other position, and every layer before it, is untouched. Works for any ``transformers`` encoder
whose layer returns the hidden states (a tensor, or a tuple whose first item they are).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from lit_interactions.checks import check_int
from lit_interactions.players.base import (
    Batch,
    MaskedForward,
    Players,
    batch_tensor,
    check_layer_name,
    get_layer,
    keep_map,
    masked_at_layer,
    require_module,
)
from lit_interactions.players.selection import PlayerSelection
from lit_interactions.players.words import eligible_words, sample_seed, sample_words

TEXT_BASELINES = ("mean", "mask", "cls", "pad", "bos", "eos", "unk", "zero")
_SPECIAL = {
    "mask": "mask_token_id", "cls": "cls_token_id", "pad": "pad_token_id",
    "bos": "bos_token_id", "eos": "eos_token_id", "unk": "unk_token_id",
}
LAYER_BASELINES = ("mean", "zero")
Embedding = Callable[[Tensor], Tensor]


class TextWordPlayers(Players):
    """``n`` seeded non-stop-word words per sample, masked at the word-embedding level or at a layer's output.

    Args:
        n_players: players (words) per sample, 1..16.
        tokenizer: the model's tokenizer; decodes words (unless batches carry ``words``) and resolves the
            special-token baselines.
        baseline: ``"mean"`` (mean word embedding over the sample's player tokens, paper 2), ``"mask"``,
            ``"cls"``, ``"pad"`` (that token's embedding, paper 1), ``"bos"``, ``"eos"``, ``"unk"`` (the
            special tokens causal LMs have), ``"zero"``, or an int token id.
        seed: seed of the word choice (combined with each sample id).
        extra_stop_words: words excluded besides scikit-learn's English stop words.
        baseline_token_id: token id for a special-token baseline when no tokenizer is given.
        layer: module name whose output holds the players (hidden states ``[B, T, D]``, e.g.
            ``"bert.bert.encoder.layer.0"``); None = the word embeddings. Baselines there: ``"mean"``, ``"zero"``.
    """

    kind = "text_word"
    GEOMETRY = ("layer",)

    def __init__(
        self, n_players: int = 10, tokenizer: Any = None, baseline: str | int = "mean", seed: int = 0,
        extra_stop_words: Iterable[str] = (), baseline_token_id: int | None = None, layer: str | None = None,
    ) -> None:
        super().__init__(n_players)
        check_int("seed", seed, 0)
        self.layer = check_layer_name(layer)
        self.baseline, self.baseline_token_id = _text_baseline(baseline, baseline_token_id, tokenizer, layer)
        self.tokenizer = tokenizer
        self.seed = int(seed)
        self.extra_stop_words = frozenset(extra_stop_words)

    def settings(self) -> dict[str, Any]:
        """JSON-able settings."""
        return {"n_players": self.n_players, "baseline": self.baseline, "baseline_token_id": self.baseline_token_id,
                "seed": self.seed, "extra_stop_words": sorted(self.extra_stop_words), "layer": self.layer}

    @classmethod
    def from_settings(cls, settings: dict[str, Any], tokenizer: Any = None) -> TextWordPlayers:
        """Players matching a selection's settings (the tokenizer is only needed to select again)."""
        baseline = settings.get("baseline", "mean")
        token_id: Any = settings.get("baseline_token_id")  # an int whenever baseline == "token"
        return cls(
            n_players=settings["n_players"],
            tokenizer=tokenizer,
            baseline=token_id if baseline == "token" else baseline,
            seed=settings.get("seed", 0),
            extra_stop_words=settings.get("extra_stop_words", ()),
            baseline_token_id=token_id,
            layer=settings.get("layer"),
        )

    def select(self, forward_func: Callable[..., Any] | None, batch: Batch) -> PlayerSelection:
        """Draw ``n`` eligible words per sample (``forward_func`` is not used; words come from the batch).

        Raises:
            ValueError: naming the sample ids with fewer than ``n`` eligible words.
        """
        input_ids, word_ids, attention = _text_tensors(batch)
        ids = batch_tensor(batch, "ids", "word players").long().reshape(-1).cpu()
        given_words = batch.get("words")
        eligible = []
        for b in range(len(ids)):
            if given_words is not None:
                words: Mapping[int, str] | Sequence[str] = list(given_words[b])
            else:
                words = sample_words(input_ids[b].cpu(), word_ids[b].cpu(), self.tokenizer, attention[b].cpu())
            eligible.append(eligible_words(words, self.extra_stop_words))
        chosen = _draw_words(eligible, ids.tolist(), self.n_players, self.seed)
        return PlayerSelection(ids, chosen, self.kind, self.settings())

    def prepare(self, forward_func: Callable[..., Any], batch: Batch, selection: PlayerSelection) -> MaskedForward:
        """Masked forward: ``inputs_embeds`` with player tokens at the baseline, or a hook at ``layer``."""
        input_ids, word_ids, attention = _text_tensors(batch)
        module = require_module(forward_func, "word players")
        player_map = _token_players(word_ids, attention, selection)
        extra = {k: batch[k] for k in ("token_type_ids",) if k in batch}

        def given(sample_index: Tensor) -> dict[str, Tensor]:
            return {"attention_mask": attention[sample_index], **{k: v[sample_index] for k, v in extra.items()}}

        if self.layer is not None:
            layer, name = get_layer(module, self.layer), self.layer

            def mask_layer(output: Any, sample_index: Tensor, keep: Tensor) -> Any:
                rows = player_map[sample_index]
                return _on_hidden_states(output, lambda hidden: self._mask(hidden, rows, keep), rows, name)

            return masked_at_layer(layer, mask_layer, lambda i: forward_func(input_ids=input_ids[i], **given(i)))
        embedding = _input_embeddings(module)

        def run(sample_index: Tensor, keep: Tensor) -> Any:
            embeds = embedding(input_ids[sample_index])
            masked = self._mask(embeds, player_map[sample_index], keep, embedding)
            return forward_func(inputs_embeds=masked, **given(sample_index))

        return run

    def _mask(self, values: Tensor, rows: Tensor, keep: Tensor, embedding: Embedding | None = None) -> Tensor:
        """``values [k, T, D]`` (word embeddings, or a layer's hidden states) with the tokens of the words not kept
        (``rows [k, T]``: each token's player; ``keep [k, n]``) set to their row's baseline."""
        base = _token_baseline(self.baseline, self.baseline_token_id, embedding, values, rows)
        return torch.where(keep_map(rows, keep).unsqueeze(-1), values, base)


def _text_baseline(
    baseline: str | int, token_id: int | None, tokenizer: Any, layer: str | None
) -> tuple[str, int | None]:
    """``(baseline, baseline token id)`` as the settings record them: an int baseline becomes ``"token"`` with
    that id; a special token's id comes from the tokenizer unless given; ``"mean"`` and ``"zero"`` have no id.

    Raises:
        ValueError: a baseline unknown, not allowed at a layer (only ``"mean"``, ``"zero"``), or without its id.
    """
    if layer is not None and baseline not in LAYER_BASELINES:
        raise ValueError(
            f"text players at layer {layer!r} are masked with the baseline 'mean' (paper 2) or 'zero', not "
            f"{baseline!r} (token baselines exist only at the embeddings: use layer=None for them)"
        )
    if isinstance(baseline, int) and not isinstance(baseline, bool):
        token_id, baseline = baseline, "token"
    elif baseline not in TEXT_BASELINES:
        raise ValueError(f"unknown text baseline {baseline!r}; choose one of {TEXT_BASELINES} or a token id")
    if baseline in _SPECIAL and token_id is None:
        special = getattr(tokenizer, _SPECIAL[baseline], None) if tokenizer is not None else None
        if special is None:
            raise ValueError(
                f"baseline {baseline!r} needs the tokenizer's {_SPECIAL[baseline]}: pass tokenizer=... "
                f"(or baseline_token_id=...)"
            )
        token_id = int(special)
    return baseline, (token_id if baseline not in ("mean", "zero") else None)


def _draw_words(eligible: list[list[int]], ids: list[int], n_players: int, seed: int) -> Tensor:
    """``LongTensor[B, n]``: ``n_players`` of every sample's eligible words, sorted, drawn with a generator seeded by
    ``(seed, sample id)`` so that the choice never depends on the batch.

    Raises:
        ValueError: naming the sample ids with fewer than ``n_players`` eligible words.
    """
    short = [(sample_id, len(words)) for sample_id, words in zip(ids, eligible) if len(words) < n_players]
    if short:
        raise ValueError(
            f"{len(short)} sample(s) have fewer than n_players={n_players} eligible (non-stop-word) "
            f"words, as (id, count): {short[:20]}{' ...' if len(short) > 20 else ''}; keep only samples "
            f"with enough words (lit_interactions.players.filter_by_eligible_words) or use fewer players"
        )
    chosen = []
    for sample_id, words in zip(ids, eligible):
        generator = torch.Generator().manual_seed(sample_seed(seed, sample_id))
        pick = torch.randperm(len(words), generator=generator)[:n_players]
        chosen.append(sorted(words[i] for i in pick.tolist()))
    return torch.tensor(chosen, dtype=torch.long)


def _token_players(word_ids: Tensor, attention: Tensor, selection: PlayerSelection) -> Tensor:
    """``LongTensor[B, T]``: the player index of every token (the selected word it belongs to), ``-1`` for others.

    Raises:
        ValueError: a selected word has no attended token (the selection was made on another tokenization).
    """
    players = selection.players.to(word_ids.device)
    is_player = (word_ids.unsqueeze(-1) == players.unsqueeze(1)) & (attention > 0).unsqueeze(-1)  # [B, T, n]
    missing = ~is_player.any(dim=1)
    if missing.any():
        bad = selection.ids[missing.any(dim=1).cpu()].tolist()
        raise ValueError(
            f"selected words are missing from sample id(s) {bad[:20]}: the selection does not match "
            f"these samples' tokenization (select players on the same tokenized batch)"
        )
    return torch.where(is_player.any(-1), is_player.long().argmax(-1), -1)


def _input_embeddings(module: torch.nn.Module) -> Embedding:
    """The model's word embedding, where word players are masked (it must also take ``inputs_embeds``)."""
    if not hasattr(module, "get_input_embeddings"):
        raise TypeError(
            f"word players need a model with get_input_embeddings() and an inputs_embeds argument; "
            f"{type(module).__name__} has no get_input_embeddings"
        )
    return module.get_input_embeddings()  # type: ignore[operator]  # nn.Module's __getattr__ type


def _token_baseline(
    baseline: str, token_id: int | None, embedding: Embedding | None, values: Tensor, player_map: Tensor
) -> Tensor:
    """``[k, 1, D]`` baseline of every row: mean over the row's player tokens, a token's embedding, or zero."""
    if baseline == "zero":
        return values.new_zeros(())
    if baseline == "mean":
        weight = (player_map >= 0).to(values.dtype).unsqueeze(-1)
        return (values * weight).sum(dim=1, keepdim=True) / weight.sum(dim=1, keepdim=True)
    assert embedding is not None and token_id is not None
    return embedding(torch.full_like(player_map[:, :1], int(token_id)))


def _on_hidden_states(output: Any, fn: Callable[[Tensor], Tensor], rows: Tensor, layer: str) -> Any:
    """``output`` with its hidden states replaced by ``fn(hidden)``: a tensor, or the first item of a tuple.

    The hidden states must be ``[k, T, D]`` for the ``rows [k, T]`` of the tokens run: the layer is a block of the
    encoder, not one whose output has no token positions.
    """
    if isinstance(output, tuple) and output and isinstance(output[0], Tensor):
        return (_on_hidden_states(output[0], fn, rows, layer), *output[1:])
    if isinstance(output, Tensor):
        if output.dim() != 3 or output.shape[:2] != rows.shape:
            raise ValueError(
                f"the output of layer {layer!r} is {tuple(output.shape)}, not hidden states "
                f"[{rows.shape[0]}, {rows.shape[1]}, D] of the tokens; choose a transformer block "
                f"(e.g. 'bert.bert.encoder.layer.0')"
            )
        return fn(output)
    raise ValueError(
        f"the output of layer {layer!r} is a {type(output).__name__}, not hidden states (a tensor or a tuple "
        f"starting with one); choose a transformer block, e.g. 'bert.bert.encoder.layer.0'"
    )


def _text_tensors(batch: Batch) -> tuple[Tensor, Tensor, Tensor]:
    input_ids = batch_tensor(batch, "input_ids", "word players").long()
    word_ids = batch_tensor(batch, "word_ids", "word players").long().to(input_ids.device)
    if input_ids.dim() != 2 or word_ids.shape != input_ids.shape:
        raise ValueError(
            f"word players need input_ids and word_ids of the same shape [B, T]; got "
            f"{tuple(input_ids.shape)} and {tuple(word_ids.shape)}"
        )
    if "attention_mask" in batch:
        attention = batch_tensor(batch, "attention_mask", "word players").to(input_ids.device)
    else:
        attention = torch.ones_like(input_ids)
    return input_ids, word_ids, attention
