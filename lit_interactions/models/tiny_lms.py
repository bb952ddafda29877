"""Tiny random causal LMs (LLaMA, OPT, GPT-2) with tokenizers trained offline on a few sentences, saved as folders.

For tests and benchmarks: nothing is downloaded, every model is built from a ``transformers`` config.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    OPTConfig,
    OPTForCausalLM,
    PreTrainedTokenizerFast,
)

CORPUS = [
    "Architecturally, the school has a Catholic character with a golden statue of the Virgin Mary on the dome.",
    "Beyonce Giselle Knowles-Carter is an American singer, songwriter, record producer and actress.",
    "The quick brown fox jumps over the lazy dog near the quiet riverbank at dawn.",
    "Immediately behind the basilica is the Grotto, a Marian place of prayer and reflection.",
]


def byte_level_tokenizer(vocab_size: int = 320) -> PreTrainedTokenizerFast:
    """A GPT-2 style byte-level BPE tokenizer (small vocabulary: most words are several tokens)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>")


def metaspace_tokenizer(vocab_size: int = 150) -> PreTrainedTokenizerFast:
    """A LLaMA style (Metaspace) BPE tokenizer that adds ``<s>`` in front."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<unk>", "<s>", "</s>"])
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def tiny_llama(vocab_size: int, hidden: int = 32, layers: int = 2, heads: int = 4, mlp_ratio: int = 2) -> LlamaForCausalLM:
    """A random LLaMA (grouped-query attention: half as many key-value heads as heads)."""
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=mlp_ratio * hidden, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=max(heads // 2, 1), max_position_embeddings=512,
                         bos_token_id=1, eos_token_id=2, initializer_range=0.2)
    return LlamaForCausalLM(config)


def tiny_opt(vocab_size: int, hidden: int = 32, layers: int = 2, heads: int = 4, mlp_ratio: int = 2) -> OPTForCausalLM:
    """A random OPT."""
    config = OPTConfig(vocab_size=vocab_size, hidden_size=hidden, ffn_dim=mlp_ratio * hidden, num_hidden_layers=layers,
                       num_attention_heads=heads, max_position_embeddings=512, word_embed_proj_dim=hidden,
                       bos_token_id=1, eos_token_id=2, pad_token_id=0, init_std=0.2)
    return OPTForCausalLM(config)


def tiny_gpt2(vocab_size: int, hidden: int = 32, layers: int = 2, heads: int = 4, mlp_ratio: int = 4) -> GPT2LMHeadModel:
    """A random GPT-2."""
    config = GPT2Config(vocab_size=vocab_size, n_embd=hidden, n_layer=layers, n_head=heads, n_positions=512, n_inner=mlp_ratio * hidden,
                        bos_token_id=0, eos_token_id=0, initializer_range=0.2)
    return GPT2LMHeadModel(config)


BUILDERS = {"llama": (tiny_llama, metaspace_tokenizer), "opt": (tiny_opt, metaspace_tokenizer),
            "gpt2": (tiny_gpt2, byte_level_tokenizer)}


def save_tiny_lm(kind: str, folder: Path, seed: int = 0) -> Path:
    """Build the tiny ``kind`` model with its tokenizer and save both in ``folder``."""
    make_model, make_tokenizer = BUILDERS[kind]
    tokenizer = make_tokenizer()
    torch.manual_seed(seed)
    model = make_model(len(tokenizer)).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
