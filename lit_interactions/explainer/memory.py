"""How many masked samples of a transformer go through one forward pass under a memory cap.

Under ``torch.no_grad`` a forward pass keeps no activations across layers, so the peak of one masked row is about
one layer's working set: the hidden states and MLP activations ``T * (4 * hidden + intermediate)``, the attention
scores ``heads * T^2`` and the float32 next-token logits ``vocab``. The estimate is an upper-bound style guess
(no kernel's workspace is counted); the weights are not part of the cap.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lit_interactions.checks import check_int


def _config_value(config: Any, keys: tuple[str, ...], default: int) -> int:
    for key in keys:
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return default


def bytes_per_row(model: nn.Module, seq_len: int) -> int:
    """Estimated peak bytes of one masked sample of length ``seq_len`` (see the module docstring)."""
    config = getattr(model, "config", None)
    get_embeddings = getattr(model, "get_input_embeddings", None)
    embedding = get_embeddings() if callable(get_embeddings) else None
    hidden_default = int(embedding.weight.shape[1]) if embedding is not None else 1024
    hidden = _config_value(config, ("hidden_size", "n_embd", "d_model"), hidden_default)
    inner = _config_value(config, ("intermediate_size", "n_inner", "ffn_dim"), 4 * hidden)
    heads = _config_value(config, ("num_attention_heads", "n_head"), 1)
    vocab = _config_value(config, ("vocab_size",), 0)
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    size = torch.finfo(dtype).bits // 8 if dtype.is_floating_point else 4
    return size * (seq_len * (4 * hidden + inner) + heads * seq_len * seq_len) + 4 * vocab


def rows_per_chunk(model: nn.Module, seq_len: int, max_memory: int, limit: int = 1024) -> int:
    """Masked samples per forward pass so that their estimated peak stays under ``max_memory`` bytes (>= 1).

    Raises:
        ValueError: ``max_memory`` is not a positive int.
    """
    check_int("max_memory", max_memory, 1)
    return max(1, min(limit, int(max_memory) // bytes_per_row(model, seq_len)))
