"""explain() on tiny random causal LMs (LLaMA, OPT, GPT-2) saved as local folders with offline-trained tokenizers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from lit_interactions import explain
from lit_interactions.explainer.memory import rows_per_chunk
from lit_interactions.interactions import transferability
from lit_interactions.models.causal_lm import CausalLMError, load_causal_lm
from lit_interactions.players import TextWordPlayers, compute_rewards, is_eligible_word
from lit_interactions.players.next_token import NextTokenLM
from lit_interactions.players.word_spans import encode_words, split_words

TEXT = "Architecturally, the school has a Catholic character with a golden statue of the Virgin Mary on the"
KINDS = ("llama", "opt", "gpt2")


def direct_log_odds(folder: Path, text: str) -> tuple[int, float]:
    """Top next token of an ordinary forward and its log p/(1-p), in float64."""
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    with torch.no_grad():
        logits = model(**tokenizer(text, return_tensors="pt")).logits[0, -1].double()
    top = int(logits.argmax())
    log_p = torch.log_softmax(logits, dim=0)[top]
    return top, float(log_p - torch.log1p(-log_p.exp()))


@pytest.mark.parametrize("kind", KINDS)
def test_full_input_reward_is_the_log_odds_of_the_top_next_token(lm_folders: dict[str, Path], kind: str) -> None:
    result = explain(str(lm_folders[kind]), TEXT, n_players=5)
    top, value = direct_log_odds(lm_folders[kind], TEXT)
    assert int(result.extra["targets"]) == top
    assert result.rewards[-1].item() == pytest.approx(value, abs=1e-4)
    # universal matching on all 2^n masks, with the noise within its bound
    assert torch.allclose(result.reconstruct(), result.rewards - result.noise, atol=1e-9)
    bound = 0.01 * abs(result.rewards[-1] - result.rewards[0])
    assert result.noise.abs().max() <= bound + 1e-9
    assert result.batch_shape == torch.Size([])


@pytest.mark.parametrize("kind", ("llama", "gpt2"))
def test_every_token_of_a_masked_word_gets_the_baseline_embedding(lm_folders: dict[str, Path], kind: str) -> None:
    loaded = load_causal_lm(lm_folders[kind], device="cpu")
    forward = NextTokenLM(loaded.model)
    batch = {**encode_words(loaded.tokenizer, TEXT), "ids": torch.tensor([0])}
    players = TextWordPlayers(4, tokenizer=loaded.tokenizer, baseline="eos", seed=3)
    seen: list[torch.Tensor] = []
    hook = loaded.model.register_forward_pre_hook(
        lambda _m, _a, kwargs: seen.append(kwargs["inputs_embeds"].clone()), with_kwargs=True
    )
    try:
        _, selection = compute_rewards(forward, batch, players, target=0, chunk_size=5)
    finally:
        hook.remove()
    embeds = torch.cat(seen)  # [16, T, D], rows in subset order
    word_ids = batch["word_ids"][0]
    table = loaded.model.get_input_embeddings().weight
    original, eos = table[batch["input_ids"][0]], table[loaded.tokenizer.eos_token_id]
    chosen = selection.players[0].tolist()
    assert max(int((word_ids == w).sum()) for w in chosen) >= 2  # some player is a multi-token word
    for subset in range(16):
        for position, word in enumerate(word_ids.tolist()):
            masked = word in chosen and not subset >> chosen.index(word) & 1
            expected = eos if masked else original[position]
            assert torch.equal(embeds[subset, position], expected)


def test_rewards_do_not_depend_on_the_memory_cap(lm_folders: dict[str, Path]) -> None:
    model = load_causal_lm(lm_folders["opt"], device="cpu").model
    assert rows_per_chunk(model, 30, 10**5) < rows_per_chunk(model, 30, 10**9)
    small = explain(str(lm_folders["opt"]), TEXT, n_players=4, max_memory=10**5)
    large = explain(str(lm_folders["opt"]), TEXT, n_players=4, max_memory=10**9)
    assert rows_per_chunk(model, 30, 10**5) < 16
    assert torch.allclose(small.rewards, large.rewards, atol=1e-5)


def test_bfloat16_runs_and_stays_close(lm_folders: dict[str, Path]) -> None:
    full = explain(str(lm_folders["llama"]), TEXT, n_players=3)
    half = explain(str(lm_folders["llama"]), TEXT, n_players=3, dtype="bfloat16")
    assert half.settings["players"]["baseline"] == "eos"
    assert torch.allclose(half.rewards, full.rewards, atol=0.1)


def test_two_models_with_different_tokenizers_share_word_players(lm_folders: dict[str, Path]) -> None:
    texts = [TEXT, "Beyonce Giselle Knowles-Carter is an American singer, songwriter, record producer and"]
    folders = [str(lm_folders["llama"]), str(lm_folders["gpt2"])]
    llama = AutoTokenizer.from_pretrained(folders[0], local_files_only=True)
    gpt2 = AutoTokenizer.from_pretrained(folders[1], local_files_only=True)
    assert llama(texts[0])["input_ids"] != gpt2(texts[0])["input_ids"]
    joint = explain(folders, texts, n_players=5, ids=[7, 9])
    assert joint.batch_shape == torch.Size([2, 2])
    assert torch.equal(joint.extra["players"][0], joint.extra["players"][1])
    assert joint.extra["ids"][0].tolist() == [7, 9]
    for k, folder in enumerate(folders):  # each model's rewards are its own single-model rewards
        alone = explain(folder, texts, n_players=5, ids=[7, 9])
        assert torch.allclose(joint.rewards[k], alone.rewards)
        assert torch.equal(alone.extra["players"], joint.extra["players"][k])
        assert torch.allclose(joint[k].reconstruct(), joint[k].rewards - joint[k].noise, atol=1e-9)
    shared = transferability(joint.and_effects)
    assert shared.shape == (9, 2) and bool(((shared >= 0) & (shared <= 1)).all())
    words = split_words(texts[1])
    chosen = [texts[1][slice(*words[i])] for i in joint.extra["players"][0, 1].tolist()]
    assert len(chosen) == 5 and all(is_eligible_word(w) for w in chosen)  # meaningful words only


def test_bad_input_gives_one_clear_error(lm_folders: dict[str, Path], tmp_path: Path) -> None:
    from transformers import BertConfig, BertModel

    BertModel(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=8)).save_pretrained(tmp_path / "bert")
    with pytest.raises(CausalLMError, match="not a causal language model"):
        explain(str(tmp_path / "bert"), TEXT)
    with pytest.raises(CausalLMError, match="does not exist"):
        explain(str(tmp_path / "missing"), TEXT)
    with pytest.raises(ValueError, match="fewer than n_players=10 eligible"):
        explain(str(lm_folders["gpt2"]), "The golden statue of the Virgin", n_players=10)
    with pytest.raises(ValueError, match="longer than its context of 512 tokens"):
        explain(str(lm_folders["gpt2"]), " ".join([TEXT] * 40), n_players=3)
    with pytest.raises(TypeError, match=r"n_players=3.0 is not valid: expected an int >= 1"):
        explain(str(lm_folders["gpt2"]), TEXT, n_players=3.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(lm_folders: dict[str, Path]) -> None:
    cpu = explain(str(lm_folders["llama"]), TEXT, n_players=4, device="cpu")
    cuda = explain(str(lm_folders["llama"]), TEXT, n_players=4, device="cuda")
    assert torch.allclose(cpu.rewards, cuda.rewards.cpu(), atol=1e-3)


def test_next_token_logits_of_right_padded_rows(lm_folders: dict[str, Path]) -> None:
    loaded = load_causal_lm(lm_folders["gpt2"], device="cpu")
    forward = NextTokenLM(loaded.model)
    texts = [TEXT, "The quick brown fox"]
    rows = [loaded.tokenizer(t, return_tensors="pt")["input_ids"][0] for t in texts]
    ids = torch.zeros(2, len(rows[0]), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for b, row in enumerate(rows):
        ids[b, : len(row)], mask[b, : len(row)] = row, 1
    with torch.no_grad():
        padded = forward(input_ids=ids, attention_mask=mask)
        alone = [forward(input_ids=row[None])[0] for row in rows]
    assert torch.allclose(padded[0], alone[0], atol=1e-5) and torch.allclose(padded[1], alone[1], atol=1e-5)


def test_memory_estimate_of_a_7b_llama() -> None:
    """The per-row estimate docs/llm.md quotes for LLaMA-7B in float16 on a 50-token input (about 3 MB)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_attention_heads=32, num_hidden_layers=1,
                         vocab_size=32000)
    with torch.device("meta"):
        model = LlamaForCausalLM(config).half()
    from lit_interactions.explainer.memory import bytes_per_row

    assert bytes_per_row(model, 50) == 2 * (50 * (4 * 4096 + 11008) + 32 * 50 * 50) + 4 * 32000
    assert rows_per_chunk(model, 50, 2**30) == 2**30 // 3_027_200 == 354
