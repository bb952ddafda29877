"""Interaction strength per order at several epochs: all salient (I) against generalizable (J) ones (paper 2 Fig. 2)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from lit_interactions.analysis._arrays import as_array, as_epochs, same_length


def pick_epochs(epochs: list[int], count: int) -> list[int]:
    """At most ``count`` epochs spread evenly over ``epochs`` (the first and last always among them)."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if len(epochs) <= count:
        return list(epochs)
    index = np.unique(np.round(np.linspace(0, len(epochs) - 1, count)).astype(int))
    return [epochs[i] for i in index]


def order_strength_figure(
    epochs: Any, I_pos: Any, I_neg: Any, J_pos: Any = None, J_neg: Any = None, *, panels: int = 5  # noqa: N803
) -> Figure:
    """Bars per order (1..n) for up to ``panels`` epochs: ``I_pos`` up and ``I_neg`` down in light colours, their
    generalizable parts ``J_pos``/``J_neg`` (when given) in dark ones, as in paper 2 Fig. 2.

    Args:
        epochs: ``[E]`` strictly increasing epochs.
        I_pos, I_neg: ``[E, n + 1]`` mean salient strength per order (``I_neg <= 0``); order 0 is not drawn.
        J_pos, J_neg: ``[E, n + 1]`` their generalizable parts, or None (no baseline DNN).
        panels: at most this many epochs are drawn, spread evenly (first and last included).
    """
    epoch_array = as_epochs(epochs)
    pos, neg = as_array(I_pos, "I_pos"), as_array(I_neg, "I_neg")
    if pos.ndim != 2 or pos.shape != neg.shape or pos.shape[1] < 2:
        raise ValueError(f"I_pos {pos.shape} and I_neg {neg.shape} must both be [epochs, n + 1]")
    same_length("epochs", epoch_array, "I_pos", pos, "epoch (rows of I_pos and I_neg)")
    general = None
    if J_pos is not None or J_neg is not None:
        general = as_array(J_pos, "J_pos"), as_array(J_neg, "J_neg")
        if general[0].shape != pos.shape or general[1].shape != pos.shape:
            raise ValueError(f"J_pos {general[0].shape} and J_neg {general[1].shape} must be shaped like I_pos {pos.shape}")
    chosen = pick_epochs([int(e) for e in epoch_array], panels)
    rows = [int(np.flatnonzero(epoch_array == e)[0]) for e in chosen]
    n = pos.shape[1] - 1
    orders = np.arange(1, n + 1)
    fig = Figure(figsize=(2.6 * len(rows) + 0.6, 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(rows), sharey=True, squeeze=False)[0])
    for ax, row, epoch in zip(axes, rows, chosen):
        ax.bar(orders, pos[row, 1:], color="#f4a582", label="I_pos (all salient)")
        ax.bar(orders, neg[row, 1:], color="#92c5de", label="I_neg (all salient)")
        if general is not None:
            ax.bar(orders, general[0][row, 1:], width=0.5, color="#b2182b", label="J_pos (generalizable)")
            ax.bar(orders, general[1][row, 1:], width=0.5, color="#2166ac", label="J_neg (generalizable)")
        ax.axhline(0, color="k", linewidth=0.8)
        ax.set(title=f"epoch {epoch}", xlabel="order")
        ax.set_xticks(orders if n <= 10 else orders[::2])
    axes[0].set_ylabel("strength (mean over probe samples)")
    axes[-1].legend(loc="upper right", fontsize="x-small")
    return fig


def group_strength_figure(groups: dict[str, tuple[Any, Any, int]]) -> Figure:
    """Mean ``I_pos`` (up) and ``I_neg`` (down) per order for groups of samples, one panel each (paper 2 Fig. 3, 4).

    Args:
        groups: ``{name: (I_pos [n + 1], I_neg [n + 1], sample count)}`` in drawing order; order 0 is not drawn.
    """
    if not groups:
        raise ValueError("group_strength_figure needs at least one group")
    fig = Figure(figsize=(2.8 * len(groups) + 0.6, 3.4), layout="constrained")
    axes = fig.subplots(1, len(groups), sharey=True, squeeze=False)[0]
    for ax, (name, (pos, neg, count)) in zip(axes, groups.items()):
        pos, neg = as_array(pos, f"{name} I_pos"), as_array(neg, f"{name} I_neg")
        orders = np.arange(1, pos.shape[-1])
        ax.bar(orders, pos[1:], color="#d6604d", label="I_pos")
        ax.bar(orders, neg[1:], color="#4393c3", label="I_neg")
        ax.axhline(0, color="k", linewidth=0.8)
        ax.set(title=f"{name} ({count})", xlabel="order")
        ax.set_xticks(orders if len(orders) <= 10 else orders[::2])
    axes[0].set_ylabel("mean strength per sample")
    axes[-1].legend(loc="upper right", fontsize="x-small")
    return fig


def h_eta_figure(eta: Any, h: Any, title: str = "") -> Figure:
    """Each probe sample's ``H`` (generalizable share of its salient strength) against its eta^avg (paper 2 Fig. 8).

    Samples whose ``H`` is undefined (no salient interaction) are left out by the caller. Paper 2: samples with a
    large eta^avg (confusing) have a low ``H``.
    """
    x, y = as_array(eta, "eta"), as_array(h, "H")
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"eta {x.shape} and H {y.shape} must be vectors over the same samples")
    fig = Figure(figsize=(4.8, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(x, y, s=12, alpha=0.7)
    ax.set(xlabel="eta^avg", ylabel="H (per sample)", ylim=(-0.05, 1.05), title=title)
    return fig
