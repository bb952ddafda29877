"""Figures of training dynamics, eta and transferability, as :class:`matplotlib.figure.Figure` objects.

Figures are built on ``Figure`` directly, never through pyplot: no global state changes, no display needed,
and nothing to close except through :func:`save_figure`, which writes a file atomically and releases the
figure. Per-sample pictures (images, sentences) are in :mod:`lit_interactions.analysis.figures_samples`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lit_interactions.analysis._arrays import (
    as_array,
    as_epochs,
    as_vector,
    same_length,
)
from lit_interactions.analysis.agreement import EtaAgreement, eta_agreement
from lit_interactions.analysis.text_fit import fit_texts
from lit_interactions.io.atomic import atomic_path

POSITIVE = "tab:red"
NEGATIVE = "tab:blue"
_FORMATS = ("png", "pdf", "svg")


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 100) -> None:
    """Write ``fig`` atomically (format from the suffix: .png, .pdf or .svg) and close it.

    Titles and axis labels wider than their axes are wrapped first (:func:`fit_texts`), so none is clipped.

    The figure is cleared afterwards (and closed in pyplot if pyplot manages it); do not reuse it.

    Raises:
        ValueError: if the suffix is not one of .png, .pdf, .svg.
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in _FORMATS:
        raise ValueError(f"cannot save a figure to {os.fspath(path)!r}: end the name with .png, .pdf or .svg")
    try:
        fit_texts(fig)
        with atomic_path(path) as temp:
            fig.savefig(temp, format=suffix, dpi=dpi)
    finally:
        if "matplotlib.pyplot" in sys.modules:  # a figure made with pyplot is released from its registry
            sys.modules["matplotlib.pyplot"].close(fig)
        fig.clear()


def integer_ticks(axis: Axis) -> None:
    """Put the major ticks of ``axis`` on whole numbers only (epochs, counts), never at 0.5 steps."""
    axis.set_major_locator(MaxNLocator(integer=True))


def exact_number(value: float) -> str:
    """``value`` as short as ``:g`` writes it when that is exact, else every digit needed to read it back."""
    short = f"{value:g}"
    return short if float(short) == float(value) else repr(float(value))


def curves_figure(
    epochs: Any,
    series: Mapping[str, Any],
    title: str,
    *,
    ylabel: str = "",
    marks: Mapping[str, float] | None = None,
) -> Figure:
    """Curves over epochs (losses, accuracies, high-order share), one line per series.

    Args:
        epochs: ``[E]`` strictly increasing epochs.
        series: ``{label: [E] values}``; NaN leaves a gap (e.g. an epoch without validation).
        title: figure title.
        ylabel: y axis label.
        marks: ``{label: epoch}`` vertical lines, e.g. ``{"turn": 12, "gap widens": 14}``.
    """
    epoch_array = as_epochs(epochs)
    if not series:
        raise ValueError("series is empty: give at least one {label: values} curve")
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for label, values in series.items():
        array = as_vector(values, f"series[{label!r}]", allow_nan=True)
        same_length("epochs", epoch_array, f"series[{label!r}]", array, "epoch")
        ax.plot(epoch_array, array, marker="." if len(array) < 40 else None, label=label)
    _mark_epochs(ax, marks, epoch_array)
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    integer_ticks(ax.xaxis)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def _mark_epochs(ax: Any, marks: Mapping[str, float] | None, epochs: np.ndarray) -> None:
    """Dashed vertical lines at the given epochs (which must lie within the plotted epochs)."""
    styles = ("--", ":", "-.")
    for i, (label, epoch) in enumerate((marks or {}).items()):
        if epoch is None:
            continue
        if not epochs[0] <= epoch <= epochs[-1]:
            raise ValueError(f"mark {label!r} at epoch {epoch} is outside the plotted epochs {epochs[0]}..{epochs[-1]}")
        ax.axvline(epoch, color="k", linestyle=styles[i % len(styles)], linewidth=1, label=f"{label} ({epoch:g})")


def _epoch_edges(epochs: np.ndarray) -> np.ndarray:
    """Cell edges around each epoch (midpoints between neighbours) for a heatmap over uneven epochs."""
    if epochs.shape[0] == 1:
        return np.array([epochs[0] - 0.5, epochs[0] + 0.5])
    mid = (epochs[1:] + epochs[:-1]) / 2
    return np.concatenate(([2 * epochs[0] - mid[0]], mid, [2 * epochs[-1] - mid[-1]]))


def order_distribution_figure(
    epochs: Any, I_pos: Any, I_neg: Any, turn_epoch: int | None = None, *, normalize: bool = True  # noqa: N803
) -> Figure:
    """The two-phase picture (paper 2 Fig. 2): positive and negative strength per order (rows) over epochs (columns).

    Args:
        epochs: ``[E]`` strictly increasing epochs.
        I_pos: ``[E, n + 1]`` mean positive salient strength per order (``OrderProfile.I_pos`` per epoch).
        I_neg: ``[E, n + 1]`` mean negative strength per order (``<= 0``); order 0 is not drawn.
        turn_epoch: the turn (e.g. from :func:`~lit_interactions.analysis.dynamics.find_turn`), drawn as a line.
        normalize: divide every epoch by its total strength ``sum_k I_pos + |I_neg|``, so each column shows how
            the strength is distributed over orders (the picture of the two phases); else raw strengths.
    """
    epoch_array = as_epochs(epochs)
    pos, neg = as_array(I_pos, "I_pos"), as_array(I_neg, "I_neg")
    if pos.ndim != 2 or pos.shape != neg.shape or pos.shape[1] < 2:
        raise ValueError(
            f"I_pos {pos.shape} and I_neg {neg.shape} must both be [epochs, n + 1] (one row per epoch, orders 0..n)"
        )
    same_length("epochs", epoch_array, "I_pos", pos, "epoch (rows of I_pos and I_neg)")
    if not (np.isfinite(pos).all() and np.isfinite(neg).all()):
        raise ValueError("I_pos and I_neg must be finite")
    if (pos < 0).any() or (neg > 0).any():
        raise ValueError("I_pos must be >= 0 and I_neg <= 0, as strength_by_order returns them; are they swapped?")
    strength = {"positive": pos[:, 1:], "negative": -neg[:, 1:]}
    if normalize:
        total = (pos[:, 1:] - neg[:, 1:]).sum(1, keepdims=True)
        strength = {key: np.divide(v, total, out=np.zeros_like(v), where=total > 0) for key, v in strength.items()}
    n = pos.shape[1] - 1
    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    x_edges, y_edges = _epoch_edges(epoch_array.astype(float)), np.arange(0.5, n + 1.5)
    for ax, (sign, values), cmap in zip(axes, strength.items(), ("Reds", "Blues")):
        mesh = ax.pcolormesh(x_edges, y_edges, values.T, cmap=cmap, vmin=0)
        fig.colorbar(mesh, ax=ax, label="share of epoch's strength" if normalize else "strength")
        ax.set(ylabel="order", title=f"{sign} interactions" + (" (I_pos)" if sign == "positive" else " (|I_neg|)"))
        ax.set_yticks(range(1, n + 1) if n <= 12 else range(1, n + 1, 2))
        integer_ticks(ax.xaxis)
        if turn_epoch is not None:
            _mark_epochs(ax, {"turn": turn_epoch}, epoch_array)
            ax.legend(loc="upper right", fontsize="small")
    axes[-1].set_xlabel("epoch")
    return fig


def eta_histogram_figure(eta: Any, confusing_threshold: float | None = None, *, bins: int = 20) -> Figure:
    """Histogram of eta^avg over probe samples; samples above ``confusing_threshold`` are the confusing ones."""
    values = as_vector(eta, "eta")
    fig = Figure(figsize=(5.6, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(values, bins=bins, color="0.5", edgecolor="white")
    if confusing_threshold is not None:
        count = int((values > confusing_threshold).sum())
        label = f"> {exact_number(confusing_threshold)}: {count} confusing"
        ax.axvline(confusing_threshold, color=POSITIVE, linestyle="--", label=label)
        ax.legend()
    ax.set(xlabel="eta^avg (average interaction order)", ylabel="samples")
    integer_ticks(ax.yaxis)
    ax.set_title(f"eta^avg of {values.shape[0]} samples")
    return fig


def eta_scatter_figure(
    eta_a: Any, eta_b: Any, labels: tuple[str, str] = ("A", "B"), agreement: EtaAgreement | None = None
) -> Figure:
    """``eta_A`` against ``eta_B`` on the same probe samples, with the diagonal and the agreement in the title.

    Points near the diagonal mean the two models find the same confusing samples (paper 2 Fig. 5-7).
    ``agreement`` is computed with the default q values when not given.
    """
    a, b = as_vector(eta_a, "eta_a"), as_vector(eta_b, "eta_b")
    same_length("eta_a", a, "eta_b", b, "probe sample (the same samples in the same order)")
    agree = eta_agreement(a, b) if agreement is None else agreement
    if agree.n != a.shape[0]:
        raise ValueError(f"agreement was computed on {agree.n} samples but {a.shape[0]} are plotted")
    fig = Figure(figsize=(5.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(a, b, s=12, alpha=0.7)
    lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
    pad = 0.05 * (hi - lo) or 0.5
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="k", linewidth=1, linestyle="--", label="y = x")
    ax.set(xlim=(lo - pad, hi + pad), ylim=(lo - pad, hi + pad), aspect="equal")
    ax.set(xlabel=f"eta^avg, {labels[0]}", ylabel=f"eta^avg, {labels[1]}")
    qs = list(agree.overlap)
    overlaps = ", ".join(f"{q:.0%} {agree.overlap[q]:.2f}" for q in qs)
    chances = ", ".join(f"{agree.chance[q]:.2f}" for q in qs)
    ax.set_title(
        f"Pearson {agree.pearson:.2f}, Spearman {agree.spearman:.2f}, n = {agree.n}\n"
        f"top-q overlap: {overlaps}\n(chance: {chances})",
        fontsize="small",
    )
    ax.legend(loc="best")
    return fig


def transferability_figure(ratios: Sequence[float] | Any, curves: Mapping[str, Any]) -> Figure:
    """Transferability ``s`` of the top-k interactions against ``k / 2^n`` (paper 1 Fig. 3), one line per curve.

    Args:
        ratios: ``[R]`` the ratios (``TRANSFER_RATIOS``).
        curves: ``{label: [R] transferability}``, e.g. AND/OR, normal vs generalizable extraction.
    """
    x = as_vector(ratios, "ratios")
    if not curves:
        raise ValueError("curves is empty: give at least one {label: values} curve")
    fig = Figure(figsize=(5.6, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for label, values in curves.items():
        y = as_vector(values, f"curves[{label!r}]")
        same_length("ratios", x, f"curves[{label!r}]", y, "ratio")
        ax.plot(x, y, marker="o", label=label)
    ax.set(xlabel="k / 2^n (top-k interactions)", ylabel="transferability s", ylim=(0, 1.05))
    ax.set_title("Interactions shared by the models")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig
