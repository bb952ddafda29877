"""Fast Kronecker transforms over subsets: apply ``W (x) W (x) ... (x) W`` (one 2x2 ``W`` per player).

Every butterfly of ``subsets.py`` (Moebius, zeta and their transposes) is such a transform; so are the
eigenbases the solver needs to invert ``I + mobius^T mobius`` exactly. The solver applies them thousands of
times, so this module trades the per-bit loop of ``subsets._butterfly`` (``n`` small kernels, each a full pass
over memory) for a few small dense matrix products: the players are split into chunks of at most
``_MAX_CHUNK`` bits and each chunk's ``2^c x 2^c`` Kronecker power is applied with one ``matmul``. Chunks
never exceed ``ceil(n / 2)`` bits (for ``n >= 2``), so no ``2^n x 2^n`` matrix is ever built: the memory is
``O(2^n)`` per sample and ``O(2^n)`` for the matrices.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

_MAX_CHUNK = 5


def chunk_sizes(n_players: int) -> list[int]:
    """Bits per chunk, lowest bits first; at least two chunks for ``n >= 2``, each at most ``_MAX_CHUNK``."""
    if n_players == 1:
        return [1]
    k = max(2, math.ceil(n_players / _MAX_CHUNK))
    base, extra = divmod(n_players, k)
    return [base + (1 if i < extra else 0) for i in range(k)]


def _kron_power(w: Tensor, c: int) -> Tensor:
    """``w (x) ... (x) w`` (``c`` factors) with the first factor on the highest bit."""
    out = torch.ones(1, 1, dtype=w.dtype, device=w.device)
    for _ in range(c):
        out = torch.kron(w, out)
    return out


class KronTransform:
    """Apply per-slice Kronecker transforms to tensors shaped ``[S, ..., 2^n]``.

    Slice ``i`` (first dimension) is transformed by ``W_i (x) ... (x) W_i`` where ``W_i = per_bit[i]`` acts on
    ``(without player, with player)`` pairs: ``out[S] = sum_T prod_j W_i[bit_j(S), bit_j(T)] x[T]``.
    """

    def __init__(self, per_bit: Tensor, n_players: int) -> None:
        if per_bit.dim() != 3 or per_bit.shape[1:] != (2, 2):
            raise ValueError(f"per_bit must be [S, 2, 2], got {tuple(per_bit.shape)}")
        self.n_players = n_players
        self.sizes = chunk_sizes(n_players)
        self.n_slices = per_bit.shape[0]
        # mats[j]: [S, 1, 2^c_j, 2^c_j]; the lowest chunk is stored transposed (applied from the right).
        self.mats = []
        for j, c in enumerate(self.sizes):
            m = torch.stack([_kron_power(per_bit[i], c) for i in range(self.n_slices)])
            if j == 0:
                m = m.transpose(-1, -2)
            self.mats.append(m.unsqueeze(1).contiguous())

    def __call__(self, x: Tensor) -> Tensor:
        """Transform ``x`` of shape ``[S, ..., 2^n]`` (``S`` = number of slices) along its last dimension."""
        shape = x.shape
        s = self.n_slices
        first = 2 ** self.sizes[0]
        y = torch.matmul(x.reshape(s, -1, first), self.mats[0].squeeze(1))
        suffix = first
        for j in range(1, len(self.sizes)):
            c = 2 ** self.sizes[j]
            y = torch.matmul(self.mats[j], y.reshape(s, -1, c, suffix))
            suffix *= c
        return y.reshape(shape)
