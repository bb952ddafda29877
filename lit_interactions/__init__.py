"""lit-interactions: training and analysis of the AND-OR interactions that DNNs encode.

``from lit_interactions import explain`` gives the one-call API (:func:`lit_interactions.explainer.explain`);
it is imported on first use, so importing a subpackage stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["explain"]


def __getattr__(name: str) -> Any:
    if name == "explain":
        from lit_interactions.explainer import explain

        return explain
    raise AttributeError(f"module 'lit_interactions' has no attribute {name!r}")
