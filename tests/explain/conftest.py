from __future__ import annotations

from pathlib import Path

import pytest

from lit_interactions.models.tiny_lms import save_tiny_lm


@pytest.fixture(scope="session")
def lm_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Folders of the tiny random LLaMA, OPT and GPT-2 (each with its own offline-trained tokenizer)."""
    root = tmp_path_factory.mktemp("tiny_lms")
    return {kind: save_tiny_lm(kind, root / kind) for kind in ("llama", "opt", "gpt2")}
