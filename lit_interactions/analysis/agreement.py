"""Do two models find the same confusing samples? And are confusing samples the hard ones? (paper 2 Sec. 2.3)

Paper 2 (Fig. 5-7) scatters ``eta_A`` against ``eta_B`` on the same probe samples; :func:`eta_agreement`
gives the numbers behind such a picture: Pearson and Spearman correlations and the overlap of the two
top-q sets (the confusing samples of each model). :func:`set_overlap` compares two sets of sample ids,
e.g. the hard samples and the confusing ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import stats

from lit_interactions.analysis._arrays import as_vector, same_length

DEFAULT_QS = (0.1, 0.2, 0.3)


def top_count(n: int, q: float) -> int:
    """Size ``k = round(q * n)`` of a top-q set of ``n`` samples (halves round up, at least 1)."""
    if not 0 < q <= 1:
        raise ValueError(f"q must be a fraction in (0, 1], got {q}")
    return min(max(math.floor(q * n + 0.5), 1), n)


def top_fraction(values: Any, q: float, ids: Any | None = None) -> np.ndarray:
    """Positions (or ``ids``) of the ``top_count(n, q)`` largest values, largest first.

    Ties are broken by position (the earlier sample first), so the result is deterministic. With eta
    values, this is the confusing set (docs/conventions.md, "Confusing samples").

    Args:
        values: ``[n]`` one value per sample, e.g. ``eta^avg``.
        q: fraction of the samples to keep.
        ids: ``[n]`` optional sample ids, returned instead of positions.
    """
    vector = as_vector(values, "values")
    order = np.argsort(-vector, kind="stable")[: top_count(vector.shape[0], q)]
    if ids is None:
        return order
    id_array = _as_ids(ids, "ids")
    if id_array.shape[0] != vector.shape[0]:
        raise ValueError(f"ids has {id_array.shape[0]} entries but values has {vector.shape[0]}: one id per sample")
    return id_array[order]


@dataclass(frozen=True)
class EtaAgreement:
    """Agreement of two models' ``eta^avg`` on the same probe samples (same order).

    Attributes:
        n: number of samples.
        pearson: Pearson correlation; NaN when undefined (see ``note``).
        spearman: Spearman rank correlation; NaN when undefined.
        overlap: ``{q: |A_q & B_q| / |A_q|}``, ``A_q``/``B_q`` the top-q sets of each model (same size).
        chance: ``{q: k / n}``, the expected overlap of two random sets of that size ``k`` (``= q`` when
            ``q * n`` is whole): the reference an overlap must beat.
        note: why the correlations are NaN (a constant eta vector has none), empty otherwise.

    Ties at the boundary of a top-q set are broken by position (see :func:`top_fraction`).
    """

    n: int
    pearson: float
    spearman: float
    overlap: dict[float, float]
    chance: dict[float, float]
    note: str = ""

    def to_scalars(self, prefix: str = "eta_agreement") -> dict[str, float]:
        """Flat ``{key: value}`` for loggers: ``<prefix>/pearson``, ``<prefix>/top_0.1/overlap``, ..."""
        scalars = {f"{prefix}/n": float(self.n), f"{prefix}/pearson": self.pearson, f"{prefix}/spearman": self.spearman}
        for q in self.overlap:
            scalars[f"{prefix}/top_{q:g}/overlap"] = self.overlap[q]
            scalars[f"{prefix}/top_{q:g}/chance"] = self.chance[q]
        return scalars


def eta_agreement(eta_a: Any, eta_b: Any, qs: Sequence[float] = DEFAULT_QS) -> EtaAgreement:
    """Correlations and top-q overlaps of two eta vectors over the same probe samples (paper 2 Fig. 5-7).

    Args:
        eta_a: ``[n]`` eta of model A (tensor, array or sequence), ``n >= 2``.
        eta_b: ``[n]`` eta of model B on the same samples, in the same order.
        qs: fractions defining the confusing sets (the largest eta of each model).

    Raises:
        ValueError: on NaN/inf, lengths that differ, fewer than 2 samples, or a q outside (0, 1].
    """
    a = as_vector(eta_a, "eta_a", min_length=2)
    b = as_vector(eta_b, "eta_b", min_length=2)
    same_length("eta_a", a, "eta_b", b, "probe sample (the same samples in the same order)")
    constant = [name for name, v in (("eta_a", a), ("eta_b", b)) if np.all(v == v[0])]
    if constant:
        pearson = spearman = float("nan")
        note = f"{' and '.join(constant)} constant: correlations undefined, top-q sets set by position (ties)"
    else:
        pearson = float(stats.pearsonr(a, b).statistic)
        spearman = float(stats.spearmanr(a, b).statistic)
        note = ""
    n = a.shape[0]
    overlap, chance = {}, {}
    for q in qs:
        k = top_count(n, q)
        shared = np.intersect1d(top_fraction(a, q), top_fraction(b, q)).shape[0]
        overlap[float(q)] = shared / k
        chance[float(q)] = k / n
    return EtaAgreement(n=n, pearson=pearson, spearman=spearman, overlap=overlap, chance=chance, note=note)


def _as_ids(ids: Any, name: str) -> np.ndarray:
    """Sample ids as a 1-D int64 array (from a tensor, array or iterable of whole numbers)."""
    if isinstance(ids, torch.Tensor):
        ids = ids.detach().cpu().numpy()
    array = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) and array.dtype != np.bool_):
        raise TypeError(
            f"{name} must be a flat sequence of integer sample ids, got dtype {array.dtype}, shape {array.shape}"
        )
    return array.astype(np.int64)


@dataclass(frozen=True)
class SetOverlap:
    """Overlap of two sets of sample ids, e.g. hard samples (A) and confusing samples (B).

    Attributes:
        size_a: ``|A|``.
        size_b: ``|B|``.
        intersection: ``|A & B|``.
        jaccard: ``|A & B| / |A | B|``; NaN when both sets are empty (undefined).
        shared: the ids in both sets, sorted.
    """

    size_a: int
    size_b: int
    intersection: int
    jaccard: float
    shared: tuple[int, ...]

    @property
    def fraction_of_a(self) -> float:
        """``|A & B| / |A|``; NaN when A is empty."""
        return self.intersection / self.size_a if self.size_a else float("nan")

    @property
    def fraction_of_b(self) -> float:
        """``|A & B| / |B|``; NaN when B is empty."""
        return self.intersection / self.size_b if self.size_b else float("nan")


def set_overlap(ids_a: Iterable[int] | Any, ids_b: Iterable[int] | Any) -> SetOverlap:
    """Sizes, intersection and Jaccard index of two sets of sample ids (e.g. hard vs confusing samples).

    Raises:
        TypeError: if the ids are not integers.
        ValueError: if an id repeats within one set (a set lists every sample once).
    """
    sets = []
    for name, ids in (("ids_a", ids_a), ("ids_b", ids_b)):
        array = _as_ids(ids, name)
        unique, counts = np.unique(array, return_counts=True)
        if (counts > 1).any():
            raise ValueError(
                f"{name} repeats the id(s) {unique[counts > 1].tolist()[:10]}: a set lists every sample once; "
                f"deduplicate first"
            )
        sets.append(set(unique.tolist()))
    a, b = sets
    shared = tuple(sorted(a & b))
    union = len(a | b)
    jaccard = len(shared) / union if union else float("nan")
    return SetOverlap(size_a=len(a), size_b=len(b), intersection=len(shared), jaccard=jaccard, shared=shared)
