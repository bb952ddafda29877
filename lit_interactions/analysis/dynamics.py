"""Per-epoch summaries of interactions and the two-phase turn of training (paper 2 Sec. 2.2).

:class:`OrderProfile` reduces one epoch's interactions on the probe samples to a few numbers (strength per
order, high-order share, mean order, sparsity, eta). :func:`find_turn` locates the turn from falling to
rising high-order strength in a series of them, and :func:`find_gap_widening` the epoch where the
validation - train loss gap starts to widen, so the two epochs can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import Tensor

from lit_interactions.analysis._arrays import as_epochs, as_vector, same_length
from lit_interactions.interactions.generalization import GeneralizationByOrder
from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.salience import OrderVectors, eta_from_strengths, order_strengths


def default_high_from(n_players: int) -> int:
    """Lowest "high" order by default: the orders above ``n / 2`` (6..10 for n = 10, as ``H_high``)."""
    return n_players // 2 + 1


@dataclass(frozen=True, eq=False)
class OrderProfile(OrderVectors):
    """One epoch's interactions on ``B`` probe samples, reduced to per-order and scalar summaries.

    Attributes:
        I_pos: ``[n + 1]`` mean over samples of the summed positive salient effects of each order.
        I_neg: ``[n + 1]`` the same for negative effects (``<= 0``).
        high_from: orders ``>= high_from`` are "high".
        high_order_share: ``sum_{k >= high_from} (I_pos + |I_neg|) / sum_k (I_pos + |I_neg|)`` of the means.
        mean_order: strength-weighted mean order of the mean profile (the eta of the pooled samples).
        num_salient: mean number of salient interactions (AND plus OR) per sample.
        eta: ``[B]`` eta^avg of every sample; 0 for a sample without salient interactions.
        eta_mean: mean eta over the samples that have salient interactions.
        eta_std: population standard deviation (ddof 0) of those etas.
        num_empty: number of samples without any salient interaction (left out of eta_mean, eta_std).

    Ratios whose denominator is empty are 0, as in :mod:`lit_interactions.interactions.salience`.
    """

    I_pos: Tensor
    I_neg: Tensor
    high_from: int
    high_order_share: float
    mean_order: float
    num_salient: float
    eta: Tensor
    eta_mean: float
    eta_std: float
    num_empty: int

    @classmethod
    def from_interactions(
        cls,
        result: Interactions,
        threshold: float | Tensor | None = None,
        *,
        top_k: int | None = None,
        relative: float | None = None,
        high_from: int | None = None,
    ) -> OrderProfile:
        """Summarise the interactions of many probe samples (batch shape ``[B]``) of one model.

        Args:
            result: interactions of one model, batch dimension = samples (a single sample is allowed).
            threshold: salience threshold tau (docs/conventions.md, "Salience, eta, H"); or give ``top_k`` or
                ``relative`` instead (see :meth:`Interactions.salient`).
            top_k: salience rule.
            relative: salience rule.
            high_from: lowest high order, in ``1..n``; default :func:`default_high_from`.

        Raises:
            ValueError: for more than one batch dimension (e.g. ``[K, B]``: pass one model), or a bad
                ``high_from``.
        """
        if len(result.batch_shape) > 1:
            raise ValueError(
                f"OrderProfile summarises one model's samples (batch shape [B]) but got {tuple(result.batch_shape)}; "
                f"select one model first, e.g. result[k]"
            )
        n = result.n_players
        high = default_high_from(n) if high_from is None else high_from
        if not isinstance(high, int) or not 1 <= high <= n:
            raise ValueError(f"high_from must be an order in 1..{n} (n players), got {high_from}")
        and_mask, or_mask = result.salient(threshold, top_k=top_k, relative=relative)
        pos, neg = order_strengths(result.and_effects.detach(), result.or_effects.detach(), and_mask, or_mask)
        pos, neg = pos.reshape(-1, n + 1), neg.reshape(-1, n + 1)  # a single sample is a batch of one
        count = (and_mask.sum(-1) + or_mask.sum(-1)).reshape(-1)
        pos_mean, neg_mean = pos.mean(0), neg.mean(0)
        weight = pos_mean - neg_mean
        total = float(weight.sum())
        eta = eta_from_strengths(pos, neg)
        measured = eta[eta > 0]
        return cls(
            I_pos=pos_mean,
            I_neg=neg_mean,
            high_from=high,
            high_order_share=float(weight[high:].sum()) / total if total > 0 else 0.0,
            mean_order=float(eta_from_strengths(pos_mean, neg_mean)),
            num_salient=float(count.double().mean()),
            eta=eta,
            eta_mean=float(measured.mean()) if measured.numel() else 0.0,
            eta_std=float(measured.std(correction=0)) if measured.numel() else 0.0,
            num_empty=int((eta == 0).sum()),
        )

    def to_scalars(self, prefix: str = "interactions") -> dict[str, float]:
        """Flat ``{key: value}`` with stable namespaced keys, for loggers and JSON.

        Keys: ``<prefix>/order_<k>/I_pos`` and ``.../I_neg`` for ``k = 1..n``, ``<prefix>/high_order_share``,
        ``<prefix>/mean_order``, ``<prefix>/num_salient``, ``<prefix>/eta_mean``, ``<prefix>/eta_std``.
        """
        scalars = {}
        for k in range(1, self.n_players + 1):
            scalars[f"{prefix}/order_{k}/I_pos"] = float(self.I_pos[k])
            scalars[f"{prefix}/order_{k}/I_neg"] = float(self.I_neg[k])
        scalars[f"{prefix}/high_order_share"] = self.high_order_share
        scalars[f"{prefix}/mean_order"] = self.mean_order
        scalars[f"{prefix}/num_salient"] = self.num_salient
        scalars[f"{prefix}/eta_mean"] = self.eta_mean
        scalars[f"{prefix}/eta_std"] = self.eta_std
        return scalars


def generalization_scalars(by_order: GeneralizationByOrder, prefix: str = "interactions") -> dict[str, float]:
    """Per-order ``J_pos``/``J_neg`` (means over samples), ``H``, ``H_low``, ``H_high`` of the pooled samples and the
    mean of the per-sample ``H`` (:func:`per_sample_H`, over the samples where it is defined).

    The pooled H values are ratios of sums over samples and orders; ``H_high`` is left out when ``n < 6``.
    Keys: ``<prefix>/order_<k>/J_pos``, ``<prefix>/order_<k>/J_neg``, ``<prefix>/H``, ``<prefix>/H_per_sample_mean``, ...

    Args:
        by_order: from :func:`~lit_interactions.interactions.generalization.generalization_by_order`,
            batch shape ``[B]`` (or a single sample).
    """
    if by_order.I_pos.dim() > 2:
        raise ValueError(
            f"expected the generalization of one model's samples ([B, n + 1]), got {tuple(by_order.I_pos.shape)}; "
            f"select one model first"
        )
    parts = (by_order.I_pos, by_order.I_neg, by_order.J_pos, by_order.J_neg)
    pooled = GeneralizationByOrder(*(value.reshape(-1, value.shape[-1]).mean(0) for value in parts))
    scalars = {}
    for k in range(1, pooled.n_players + 1):
        scalars[f"{prefix}/order_{k}/J_pos"] = float(pooled.J_pos[k])
        scalars[f"{prefix}/order_{k}/J_neg"] = float(pooled.J_neg[k])
    scalars[f"{prefix}/H"] = float(pooled.H)
    scalars[f"{prefix}/H_low"] = float(pooled.H_low)
    if pooled.n_players >= 6:
        scalars[f"{prefix}/H_high"] = float(pooled.H_high)
    defined = [h for h in per_sample_H(by_order) if h is not None]
    if defined:
        scalars[f"{prefix}/H_per_sample_mean"] = float(np.mean(defined))
    return scalars


def per_sample_H(by_order: GeneralizationByOrder) -> list[float | None]:  # noqa: N802 (the papers' name)
    """Each sample's ``H`` (paper 2 App. C), in the samples' order; None for a sample with no salient interaction.

    ``H`` of one sample is its generalizable strength over its salient strength, summed over orders ``1..n``
    (a ratio of sums, as the pooled ``H``). The pooled ``H`` weights samples by their salient strength; the mean of
    these values weights every sample alike.
    """
    values = by_order.H.reshape(-1).tolist()
    defined = by_order.has_salient().reshape(-1).tolist()
    return [float(h) if ok else None for h, ok in zip(values, defined)]


def moving_average(values: Any, window: int = 3) -> np.ndarray:
    """Centred moving average; near the ends the window shrinks to the values available.

    ``out[i] = mean(values[max(0, i - h) : i + h + 1])`` with ``h = window // 2``; ``window = 1`` is the identity.

    Raises:
        ValueError: if ``window`` is not an odd positive integer (an even window has no centre).
    """
    if not isinstance(window, int) or isinstance(window, bool) or window < 1 or window % 2 == 0:
        raise ValueError(f"the smoothing window must be an odd positive integer (1 = no smoothing), got {window}")
    array = as_vector(values, "values")
    h = window // 2
    sums = np.concatenate(([0.0], np.cumsum(array)))
    index = np.arange(array.shape[0])
    lo, hi = np.maximum(index - h, 0), np.minimum(index + h + 1, array.shape[0])
    return (sums[hi] - sums[lo]) / (hi - lo)


def _confirmed_minimum(smoothed: np.ndarray, needed_rise: float) -> int | None:
    """Index of the first minimum of ``smoothed`` if a later value exceeds it by more than ``needed_rise``."""
    m = int(np.argmin(smoothed))
    later = smoothed[m + 1 :]
    if later.size and later.max() - smoothed[m] > needed_rise:
        return m
    return None


def find_turn(epochs: Any, values: Any, *, smooth: int = 3, min_rise: float = 0.1) -> int | None:
    """The epoch of the two-phase turn: the first *confirmed local* minimum of a curve that fell.

    Rule, applied to e.g. the high-order share or the mean order per epoch:

    1. ``s`` = :func:`moving_average` of ``values`` with window ``smooth`` (over logged points, not epochs);
       ``fall = s[0] - min(s)``, how far the curve fell in all.
    2. Walk forward keeping the running minimum ``s[m]`` (its first index). The turn is ``epochs[m]`` at the
       first point ``j`` where ``s[j]`` exceeds it by more than ``min_rise * fall`` and ``s[m] < s[0]``: the
       curve fell, bottomed out and clearly rose again.
    3. Otherwise ``None``: the curve never fell below its start (no first phase), or is still falling, or has
       not risen enough yet to tell a turn from noise.

    A U followed by a later, deeper fall therefore keeps its turn at the bottom of the U (the global minimum
    would be the end of the curve, never confirmed). The rule is scale-free (``min_rise`` is a fraction of the
    fall); a rise is judged against the whole fall, so a wiggle early in a long descent does not count. Its
    weakness is a flat, noisy curve, whose tiny fall a tiny bump can confirm: look at the curve too. On a
    curve that is still being recorded the turn can move: a later, deeper fall raises the bar for earlier rises.

    Args:
        epochs: ``[E]`` strictly increasing epoch numbers.
        values: ``[E]`` one value per epoch.
        smooth: odd moving-average window, 1 for none.
        min_rise: required rise as a fraction of the fall, ``>= 0``.

    Returns:
        The turn's epoch number (an element of ``epochs``), or ``None``.
    """
    s, epoch_array = _smoothed_series(epochs, values, "values", smooth, min_rise)
    fall = float(s[0] - s.min())
    if fall <= 0:
        return None
    m = 0
    for j in range(1, len(s)):
        if s[j] < s[m]:
            m = j
        elif s[m] < s[0] and s[j] - s[m] > min_rise * fall:
            return int(epoch_array[m])
    return None


def find_gap_widening(
    epochs: Any, train_loss: Any, val_loss: Any, *, smooth: int = 3, min_rise: float = 0.05
) -> int | None:
    """The epoch where the validation - train loss gap starts to widen (the start of overfitting).

    Rule:

    1. ``s`` = :func:`moving_average` of ``gap = val_loss - train_loss`` with window ``smooth``.
    2. ``m`` = the first index where ``s`` is minimal (it may be the first epoch: a gap that widens from the
       start).
    3. The epoch is ``epochs[m]`` if some later ``s[j]`` exceeds ``s[m]`` by more than ``min_rise * L0``,
       ``L0`` = the smoothed validation loss at the first epoch (so ``min_rise`` is a fraction of the loss the
       model starts from, about ``log C`` for ``C`` classes). Otherwise ``None`` (the gap has not widened).

    Args:
        epochs: ``[E]`` strictly increasing epoch numbers.
        train_loss: ``[E]`` training loss per epoch.
        val_loss: ``[E]`` validation loss per epoch.
        smooth: odd moving-average window, 1 for none.
        min_rise: required rise of the gap as a fraction of the initial validation loss, ``>= 0``.

    Returns:
        The epoch number (an element of ``epochs``), or ``None``.
    """
    train = as_vector(train_loss, "train_loss")
    val = as_vector(val_loss, "val_loss")
    same_length("train_loss", train, "val_loss", val, "epoch")
    s, epoch_array = _smoothed_series(epochs, val - train, "val_loss - train_loss", smooth, min_rise)
    scale = abs(float(moving_average(val, smooth)[0]))
    m = _confirmed_minimum(s, min_rise * scale)
    return None if m is None else int(epoch_array[m])


def _smoothed_series(
    epochs: Any, values: Any, name: str, smooth: int, min_rise: float
) -> tuple[np.ndarray, np.ndarray]:
    """Check a per-epoch series and return ``(smoothed values, epochs)``."""
    epoch_array = as_epochs(epochs)
    array = as_vector(values, name)
    same_length("epochs", epoch_array, name, array, "epoch")
    if not min_rise >= 0:
        raise ValueError(f"min_rise must be >= 0 (a fraction), got {min_rise}")
    return moving_average(array, smooth), epoch_array

