"""Fast Kronecker transforms over subsets: apply ``W (x) W (x) ... (x) W`` (one 2x2 ``W`` per player).

Every butterfly of ``subsets.py`` (Moebius, zeta and their transposes) is such a transform; so are the
eigenbases the solver needs to invert ``I + mobius^T mobius`` exactly. The solver applies them thousands of
times, so this module trades the per-bit loop of ``subsets._butterfly`` (``n`` small kernels, each a full pass
over memory) for a few matrix products: the players are split into chunks of about ``_CHUNK`` bits, and each
chunk's ``2^c x 2^c`` Kronecker power is applied with one batched ``matmul`` to the last axis (the lowest
chunk left), whose result axis is written first (the "shuffle" algorithm for Kronecker products): after the
last chunk the axes are back in order, with no copy in between (BLAS reads the transposed view), and every
product is a ``2^c x 2^c`` by ``2^c x 2^(n - c)`` matrix product. Memory is ``O(2^n)`` per sample and ``O(2^n)``
for the matrices.
"""

from __future__ import annotations

import torch
from torch import Tensor

_CHUNK = 3  # bits per chunk: 8 x 8 matrices were the fastest at n = 10..14 (docs/solver.md, "Beyond n = 12", 9)


def chunk_sizes(n_players: int) -> list[int]:
    """Bits per chunk: ``n // _CHUNK`` chunks (at least two for ``n >= 2``), the remainder spread over the first."""
    if n_players == 1:
        return [1]
    k = max(2, n_players // _CHUNK)
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
        # mats[j]: [S, 1, 2^c_j, 2^c_j], broadcast over the samples of a slice.
        self.mats = [
            torch.stack([_kron_power(per_bit[i], c) for i in range(self.n_slices)]).unsqueeze(1).contiguous()
            for c in self.sizes
        ]

    def __call__(self, x: Tensor) -> Tensor:
        """Transform ``x`` of shape ``[S, ..., 2^n]`` (``S`` = number of slices) along its last dimension.

        With the index bits of a sample ``(i_{k-1}, ..., i_1, i_0)`` (chunk 0 lowest), each step transforms the
        last axis and moves it to the front: ``(i_{k-1}, ..., i_0) -> (j_0, i_{k-1}, ..., i_1) -> ... ->
        (j_{k-1}, ..., j_0)``. A step is ``W_c @ X^T`` with ``X`` the ``[2^n / 2^c, 2^c]`` view of a sample.
        """
        shape = x.shape
        size = shape[-1]
        y = x.reshape(self.n_slices, -1, size)
        rows = y.shape[1]
        for mat, c in zip(self.mats, self.sizes):
            width = 2**c
            y = torch.matmul(mat, y.reshape(self.n_slices, rows, size // width, width).transpose(-1, -2))
        return y.reshape(shape)
