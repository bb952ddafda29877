"""A causal language model seen as a classifier over its vocabulary: the logits of the next token (paper 1 task 2).

Wrapped this way, a causal LM works with the word players and rewards as they are: :class:`TextWordPlayers`
masks word embeddings and calls the wrapper with ``inputs_embeds``; the reward ``log_odds(logits, target)`` is then
``log p/(1-p)`` of the target token at the position after the last attended token.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor, nn


class NextTokenLM(nn.Module):
    """Next-token logits ``[B, V]`` (float32) of a Hugging Face causal LM, after the last attended token of each row.

    Args:
        model: an ``AutoModelForCausalLM`` (LLaMA, OPT, GPT-2, Mistral, Qwen, ...) or any module taking
            ``input_ids``/``inputs_embeds`` and ``attention_mask`` and returning ``.logits [B, T, V]``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if not hasattr(model, "get_input_embeddings"):
            raise TypeError(
                f"{type(model).__name__} has no get_input_embeddings(); pass a Hugging Face causal LM "
                f"(AutoModelForCausalLM) whose forward takes inputs_embeds"
            )
        self.model = model
        self._keep_last = "logits_to_keep" in inspect.signature(model.forward).parameters

    def get_input_embeddings(self) -> nn.Module:
        """The wrapped model's token embedding (word players mask its output)."""
        return self.model.get_input_embeddings()  # type: ignore[operator]  # nn.Module's __getattr__ type

    def forward(
        self,
        input_ids: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        attention_mask: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """Logits of the token following each row's last attended position, as float32 ``[B, V]``."""
        reference = input_ids if input_ids is not None else inputs_embeds
        if reference is None:
            raise ValueError("NextTokenLM needs input_ids or inputs_embeds")
        length = reference.shape[1]
        if attention_mask is None:
            last = torch.full((reference.shape[0],), length - 1, dtype=torch.long, device=reference.device)
        else:
            positions = torch.arange(length, device=attention_mask.device)
            last = torch.where(attention_mask > 0, positions, -1).amax(dim=1)
        only_last = self._keep_last and bool((last == length - 1).all())
        extra = {"logits_to_keep": 1} if only_last else {}
        outputs = self.model(
            input_ids=input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask, use_cache=False,
            **extra, **kwargs,
        )
        logits = outputs.logits if not isinstance(outputs, Tensor) else outputs
        if only_last:
            return logits[:, -1].float()
        return logits[torch.arange(len(last), device=logits.device), last.to(logits.device)].float()
