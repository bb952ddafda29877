"""Sparsity figures: sorted interaction strengths (paper 1 Fig. 2) and the joint extraction's alpha sweep (App. J)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from lit_interactions.analysis._arrays import as_vector


def _strength_axes(ax: Any, curves: Mapping[str, Any]) -> None:
    """Draw each ``{label: sorted |I|}`` curve against its rank on a log y axis (zeros are not drawn)."""
    for label, values in curves.items():
        y = as_vector(values, f"curves[{label!r}]")
        if (y < 0).any() or (np.diff(y) > 0).any():
            raise ValueError(f"curves[{label!r}] must be strengths |I| sorted in descending order")
        shown = np.where(y > 0, y, np.nan)
        ax.plot(np.arange(1, len(y) + 1), shown, label=label)
    ax.set(xlabel="rank (interactions sorted by strength)", ylabel="strength |I|", yscale="log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")


def sparsity_figure(curves: Mapping[str, Sequence[Any]], labels: Sequence[str]) -> Figure:
    """Per model (one panel each), the sorted strengths of every extraction (paper 1 Fig. 2).

    Args:
        curves: ``{extraction: [K] sorted |I|}``, e.g. harsanyi, own, joint.
        labels: a name per model.
    """
    if not curves:
        raise ValueError("curves is empty: give at least one {extraction: per-model curves}")
    for name, per_model in curves.items():
        if len(per_model) != len(labels):
            raise ValueError(f"curves[{name!r}] has {len(per_model)} models for {len(labels)} labels")
    fig = Figure(figsize=(5.6, 3.0 * len(labels) + 0.4), layout="constrained")
    axes = fig.subplots(len(labels), 1, squeeze=False)[:, 0]
    for m, ax in enumerate(axes):
        _strength_axes(ax, {name: per_model[m] for name, per_model in curves.items()})
        ax.set_title(f"{labels[m]}: AND-OR interactions of all probe samples")
    return fig


def alpha_sweep_figure(
    alphas: Sequence[float], transfer: Sequence[Mapping[str, Any]], ratios: Sequence[float],
    strengths: Sequence[Any],
) -> Figure:
    """The joint extraction against alpha (paper 1 App. J): transferability and sorted strengths per alpha.

    Args:
        alphas: ``[A]`` the swept alphas.
        transfer: per alpha ``{"AND" | "OR": [R] transferability}``.
        ratios: ``[R]`` the ratios ``k / 2^n``.
        strengths: per alpha, sorted ``|I|`` pooled over models and samples.
    """
    if not (len(alphas) == len(transfer) == len(strengths)) or not alphas:
        raise ValueError(f"give one transferability and one strength curve per alpha, got {len(alphas)} alphas, "
                         f"{len(transfer)} and {len(strengths)} curves")
    x = as_vector(ratios, "ratios")
    kinds = list(transfer[0])
    fig = Figure(figsize=(5.0 * (len(kinds) + 1), 4.0), layout="constrained")
    axes = fig.subplots(1, len(kinds) + 1, squeeze=False)[0]
    for ax, kind in zip(axes, kinds):
        for alpha, curves in zip(alphas, transfer):
            ax.plot(x, as_vector(curves[kind], f"transfer[{kind}]"), marker="o", label=f"alpha {alpha:g}")
        ax.set(xlabel="k / 2^n (top-k interactions)", ylabel="transferability s", ylim=(0, 1.05),
               title=f"{kind}: interactions shared by the models")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    _strength_axes(axes[-1], {f"alpha {alpha:g}": values for alpha, values in zip(alphas, strengths)})
    axes[-1].set_title("sparsity: all models' interactions")
    return fig
