"""Figures comparing the interactions of several models: shared strength per order (paper 1 Fig. 4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from lit_interactions.analysis._arrays import as_array
from lit_interactions.analysis.figures import NEGATIVE, POSITIVE


def shared_by_order_figure(
    shared_pos: Any, shared_neg: Any, total_pos: Any, total_neg: Any, labels: Sequence[str], title: str = ""
) -> Figure:
    """Per model (one panel each), the salient strength per order and the part all models share.

    Light bars: a model's total salient positive (up) and negative (down) strength of each order; dark bars:
    the part that is salient with the same sign in every model.

    Args:
        shared_pos: ``[K, n + 1]`` shared positive strength per model and order (``SharedByOrder``, summed
            over samples); order 0 is not drawn.
        shared_neg: ``[K, n + 1]`` shared negative strength (``<= 0``).
        total_pos: ``[K, n + 1]`` total salient positive strength.
        total_neg: ``[K, n + 1]`` total salient negative strength (``<= 0``).
        labels: a name per model.
        title: figure title (e.g. which extraction).
    """
    arrays = [as_array(v, name) for v, name in ((shared_pos, "shared_pos"), (shared_neg, "shared_neg"),
                                                (total_pos, "total_pos"), (total_neg, "total_neg"))]
    shape = arrays[0].shape
    if len(shape) != 2 or shape[1] < 2 or any(a.shape != shape for a in arrays):
        raise ValueError(
            f"shared and total strengths must all be [models, n + 1], got {[a.shape for a in arrays]}"
        )
    if len(labels) != shape[0]:
        raise ValueError(f"{len(labels)} labels for {shape[0]} models: give one label per model")
    s_pos, s_neg, t_pos, t_neg = arrays
    if (s_pos < 0).any() or (t_pos < 0).any() or (s_neg > 0).any() or (t_neg > 0).any():
        raise ValueError("positive strengths must be >= 0 and negative ones <= 0, as SharedByOrder holds them")
    orders = np.arange(1, shape[1])
    fig = Figure(figsize=(5.6, 2.6 * shape[0] + 0.4), layout="constrained")
    axes = fig.subplots(shape[0], 1, sharex=True, squeeze=False)[:, 0]
    for m, ax in enumerate(axes):
        ax.bar(orders, t_pos[m, 1:], color=POSITIVE, alpha=0.3, label="salient (+)")
        ax.bar(orders, s_pos[m, 1:], color=POSITIVE, label="shared (+)")
        ax.bar(orders, t_neg[m, 1:], color=NEGATIVE, alpha=0.3, label="salient (-)")
        ax.bar(orders, s_neg[m, 1:], color=NEGATIVE, label="shared (-)")
        ax.axhline(0, color="k", linewidth=0.8)
        total = t_pos[m, 1:].sum() - t_neg[m, 1:].sum()
        share = (s_pos[m, 1:].sum() - s_neg[m, 1:].sum()) / total if total > 0 else 0.0
        ax.set(ylabel="strength", title=f"{labels[m]}: {share:.0%} of salient strength shared")
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize="small", ncols=2)
    axes[-1].set(xlabel="order", xticks=orders)
    if title:
        fig.suptitle(title)
    return fig
