"""Fixtures the command tests share with the tests of the packages the commands run."""

from tests.explain.conftest import lm_folders  # noqa: F401  (the tiny causal LM folders, built once per session)
