"""Load a causal language model and its tokenizer from a local Hugging Face folder (never from the hub).

Any ``AutoModelForCausalLM`` architecture works (LLaMA, OPT, GPT-2, Mistral, Qwen, ...): the folder's
``config.json`` names it. Loading uses ``local_files_only=True``; nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
_EXPECTED = "a local Hugging Face causal LM folder (config.json, the weights, tokenizer.json)"


class CausalLMError(ValueError):
    """A folder that is not a usable causal LM, or an option that does not fit it."""


@dataclass(frozen=True)
class CausalLM:
    """A loaded causal LM: the model (eval mode, no gradients), its fast tokenizer and where it came from."""

    model: nn.Module
    tokenizer: Any
    path: str

    @property
    def max_length(self) -> int | None:
        """The longest input (in tokens) the model's positions allow, if its config says."""
        return context_length(self.model)


def is_causal_lm(model: nn.Module) -> bool:
    """Whether ``model`` is a Hugging Face causal LM (its class is one ``AutoModelForCausalLM`` builds)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    return type(model).__name__ in set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())


def context_length(model: nn.Module) -> int | None:
    """``max_position_embeddings`` (or ``n_positions``) of the model's config, None when it has neither."""
    config = getattr(model, "config", None)
    for key in ("max_position_embeddings", "n_positions"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device``, or CUDA when present and the CPU otherwise."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_causal_lm(
    path: str | Path, *, dtype: str | torch.dtype | None = None, device: str | torch.device | None = None
) -> CausalLM:
    """Load the causal LM and tokenizer in ``path`` (``local_files_only=True``) in eval mode, without gradients.

    Args:
        path: the model folder.
        dtype: ``"float32"``, ``"float16"``, ``"bfloat16"`` (or a torch dtype); None keeps the folder's dtype.
        device: where to run; None = CUDA when present, else the CPU.

    Raises:
        CausalLMError: a missing folder, a folder that is not a causal LM, no fast tokenizer, an unknown dtype.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    folder = Path(path)
    if not folder.is_dir():
        raise CausalLMError(f"model folder {str(path)!r} does not exist: give {_EXPECTED}; the hub is never used")
    torch_dtype = _dtype(dtype)
    try:
        config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError) as error:
        raise CausalLMError(f"{folder} has no readable config.json ({_first_line(error)}): give {_EXPECTED}") from None
    model_type = getattr(config, "model_type", None)
    saved = list(getattr(config, "architectures", None) or [])
    causal = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or (saved and not causal.intersection(saved)):
        raise CausalLMError(
            f"{folder} holds a {model_type!r} model ({', '.join(saved) or 'no architecture saved'}), which is not "
            f"a causal language model: give {_EXPECTED}, e.g. a LLaMA, OPT or GPT-2 folder"
        )
    try:
        model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True, dtype=torch_dtype)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError) as error:
        raise CausalLMError(f"cannot load the model or tokenizer in {folder} ({_first_line(error)}): give {_EXPECTED}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise CausalLMError(f"the tokenizer in {folder} is not a fast tokenizer; word players need tokenizer.json")
    model = model.to(resolve_device(device)).eval().requires_grad_(False)  # type: ignore[arg-type]  # transformers types its to() wrapper oddly
    return CausalLM(model, tokenizer, str(folder))


def _dtype(dtype: str | torch.dtype | None) -> torch.dtype | str:
    if dtype is None:
        return "auto"
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise CausalLMError(f"unknown dtype {dtype!r}; choose one of {sorted(DTYPES)}")
    return DTYPES[dtype]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
