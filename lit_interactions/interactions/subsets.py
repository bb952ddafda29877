"""Subsets of players as integers, and the O(n 2^n) butterfly transforms over them.

The subset convention is a contract of the project: a subset ``S`` of the players ``N = {0, ..., n-1}``
is the integer whose bit ``i`` is set iff player ``i`` is in ``S``. Every vector over subsets has length
``2^n`` in that order along its last dimension (index 0 is the empty set, index ``2^n - 1`` is ``N``).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import Tensor

MAX_PLAYERS = 16
SUBSET_ORDER = "bit i of the subset index <=> player i present (index 0 = empty set)"


def check_n_players(n_players: int) -> int:
    """Validate a number of players and return it.

    Raises:
        ValueError: if ``n_players`` is outside ``1..MAX_PLAYERS`` (2^n masked forwards per sample).
    """
    if not isinstance(n_players, int) or isinstance(n_players, bool):
        raise TypeError(f"n_players must be an int, got {type(n_players).__name__}")
    if n_players < 1 or n_players > MAX_PLAYERS:
        raise ValueError(
            f"n_players={n_players} is not supported: the engine needs 2^n masked inputs per sample and "
            f"works for 1 <= n <= {MAX_PLAYERS}. Choose fewer players (the papers use n = 10)."
        )
    return n_players


def n_players_from_length(length: int) -> int:
    """Number of players ``n`` of a vector over subsets of length ``2^n``.

    Raises:
        ValueError: if ``length`` is not a power of two ``2^n`` with ``1 <= n <= MAX_PLAYERS``.
    """
    n = int(round(math.log2(length))) if length > 0 else -1
    if n < 0 or 2**n != length:
        raise ValueError(
            f"a vector over subsets must have length 2^n along its last dimension, got {length}; "
            f"index S holds the value of the subset whose bit i is set iff player i is present"
        )
    return check_n_players(n)


@lru_cache(maxsize=64)
def _orders_cpu(n_players: int) -> Tensor:
    idx = torch.arange(2**n_players)
    order = torch.zeros_like(idx)
    for i in range(n_players):
        order += (idx >> i) & 1
    return order


def subset_orders(n_players: int, device: torch.device | str | None = None) -> Tensor:
    """Order ``|S|`` of every subset, as a LongTensor of length ``2^n``."""
    return _orders_cpu(check_n_players(n_players)).to(device)


def subset_masks(n_players: int, device: torch.device | str | None = None) -> Tensor:
    """Boolean matrix ``[2^n, n]``: row ``S`` says which players are present in subset ``S``."""
    n = check_n_players(n_players)
    idx = torch.arange(2**n, device=device)
    return ((idx.unsqueeze(-1) >> torch.arange(n, device=device)) & 1).bool()


def subset_players(subset: int) -> tuple[int, ...]:
    """Players present in the subset with index ``subset``."""
    return tuple(i for i in range(subset.bit_length()) if (subset >> i) & 1)


def subset_index(players: tuple[int, ...] | list[int]) -> int:
    """Index of the subset holding exactly ``players``."""
    index = 0
    for p in players:
        index |= 1 << int(p)
    return index


def _butterfly(values: Tensor, lower_to_upper: bool, sign: float) -> Tensor:
    """Apply, for every bit, ``upper += sign * lower`` (or ``lower += sign * upper``).

    ``lower`` holds the subsets without the bit and ``upper`` the same subsets with it. Out of place, so it
    is differentiable.
    """
    n = n_players_from_length(values.shape[-1])
    lead = values.shape[:-1]
    out = values
    for i in range(n):
        view = out.reshape(*lead, 2 ** (n - 1 - i), 2, 2**i)
        lower, upper = view[..., 0, :], view[..., 1, :]
        if lower_to_upper:
            upper = upper + sign * lower
        else:
            lower = lower + sign * upper
        out = torch.stack((lower, upper), dim=-2).reshape(values.shape)
    return out


def mobius(values: Tensor) -> Tensor:
    """Moebius (Harsanyi) transform: ``out[T] = sum_{L subset of T} (-1)^(|T|-|L|) values[L]``."""
    return _butterfly(values, lower_to_upper=True, sign=-1.0)


def zeta(values: Tensor) -> Tensor:
    """Subset-sum transform, the inverse of :func:`mobius`: ``out[S] = sum_{T subset of S} values[T]``."""
    return _butterfly(values, lower_to_upper=True, sign=1.0)


def superset_sum(values: Tensor) -> Tensor:
    """Transpose of :func:`zeta`: ``out[T] = sum_{S superset of T} values[S]``."""
    return _butterfly(values, lower_to_upper=False, sign=1.0)


def superset_mobius(values: Tensor) -> Tensor:
    """Transpose of :func:`mobius`: ``out[L] = sum_{T superset of L} (-1)^(|T|-|L|) values[T]``."""
    return _butterfly(values, lower_to_upper=False, sign=-1.0)


def complement(values: Tensor) -> Tensor:
    """Re-index a vector over subsets by complement: ``out[S] = values[N \\ S]``."""
    return values.flip(-1)
