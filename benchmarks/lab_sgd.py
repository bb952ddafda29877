"""A faithful re-implementation of the reference lab's SGD procedure for sparse AND-OR interactions.

The lab code (``and_or_harsanyi_utils._train_p_q`` and ``_train_p_q_joint_model``) builds dense ``2^n x 2^n``
matrices from rewards to AND and to OR interactions, learns ``p`` (gamma) and ``q`` (the noise, entering as
``v + q``, so ``delta = -q``) with ``torch.optim.SGD(momentum=0.9)`` on the loss ``sum |I_and| + sum |I_or|``
(including the empty-set entries, as the lab does), clamps ``q`` (and, jointly, each model's ``p_k``) to its
bound before every forward pass, and uses a hand-set learning rate: for one model it decays log-uniformly from
``lr`` to ``lr / 10`` over the iterations, for the joint loss it is fixed. The joint loss is
``sum_T (1 - alpha) max_k |I^(k)[T]| + alpha sum_k |I^(k)[T]|`` over the AND and OR entries together.

Differences, all in the lab's favour or neutral: samples are stacked into one batch (each sample keeps its own
parameters and momentum, so the trajectory of each is exactly the lab's), which is faster than the lab's loop
over samples; matrices use the project's subset order instead of ``binary_repr`` order (a permutation).
The learning rate default 1e-5 and 10k-20k iterations are the lab README's setting for images.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from lit_interactions.interactions.subsets import n_players_from_length

LAB_LR = 1e-5
LAB_ITERATIONS = 20_000


def dense_matrices(n: int, dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
    """The lab's dense ``reward2Iand`` and ``reward2Ior`` (rows T, columns L), in the project's subset order.

    ``I_and[T] = sum_{L subset T} (-1)^{|T| - |L|} u[L]``; ``I_or[T] = -sum_{L subset T} (-1)^{|T| - |L|}
    u[N \\ L]`` for nonempty T and ``I_or[empty] = u[empty]`` (the lab's row for the empty set).
    """
    size = 2**n
    idx = np.arange(size)
    order = np.array([bin(i).count("1") for i in idx])
    subset = (idx[None, :] & idx[:, None]) == idx[None, :]  # [T, L]: L subset of T
    sign = np.where((order[:, None] - order[None, :]) % 2 == 0, 1.0, -1.0)
    to_and = np.where(subset, sign, 0.0)
    to_or = -to_and[:, ::-1].copy()  # column L -> u[N \ L] (complement = reversed index)
    to_or[0] = 0.0
    to_or[0, 0] = 1.0
    return torch.tensor(to_and, dtype=dtype), torch.tensor(to_or, dtype=dtype)


def _lr_schedule(lr: float, iterations: int) -> np.ndarray:
    log_lr = math.log10(lr)
    return np.logspace(log_lr, log_lr - 1, iterations)


def lab_extract(
    rewards: Tensor, *, noise_ratio: float = 0.01, lr: float = LAB_LR, iterations: int = LAB_ITERATIONS
) -> tuple[Tensor, Tensor]:
    """The lab's single-model SGD on rewards ``[B, 2^n]``; returns ``(gamma, noise)`` ``[B, 2^n]`` (float64)."""
    n = n_players_from_length(rewards.shape[-1])
    v = rewards.detach().to(torch.float32)
    to_and, to_or = dense_matrices(n)
    qbound = (noise_ratio * (v[:, -1] - v[:, 0]).abs()).unsqueeze(-1)
    p = torch.zeros_like(v, requires_grad=True)
    q = torch.zeros_like(v, requires_grad=True)
    optimizer = torch.optim.SGD([p, q], lr=0.0, momentum=0.9)
    schedule = _lr_schedule(lr, iterations)
    for it in range(iterations):
        with torch.no_grad():
            q.data = torch.maximum(torch.minimum(q.data, qbound), -qbound)
        half = 0.5 * (v + q)
        loss = ((half + p) @ to_and.T).abs().sum() + ((half - p) @ to_or.T).abs().sum()
        if it + 1 < iterations:
            optimizer.zero_grad()
            optimizer.param_groups[0]["lr"] = float(schedule[it])
            loss.backward()
            optimizer.step()
    return p.detach().double(), -q.detach().double()


def lab_extract_joint(
    rewards: Tensor,
    *,
    alpha: float = 0.1,
    shared_bound: float = 0.5,
    noise_ratio: float = 0.01,
    lr: float = LAB_LR,
    iterations: int = LAB_ITERATIONS,
) -> tuple[Tensor, Tensor]:
    """The lab's joint SGD on rewards ``[K, B, 2^n]``; returns ``(gamma^(k), noise^(k))`` ``[K, B, 2^n]``.

    ``gamma^(k) = p_shared + p_k`` with ``|p_k| <= shared_bound * |v_k[N] - v_k[empty]|`` (this project's bound,
    docs/conventions.md; the lab scaled it by an average model output instead).
    """
    n = n_players_from_length(rewards.shape[-1])
    v = rewards.detach().to(torch.float32)
    to_and, to_or = dense_matrices(n)
    span = (v[..., -1] - v[..., 0]).abs().unsqueeze(-1)
    qbound, pbound = noise_ratio * span, shared_bound * span
    p_shared = torch.zeros_like(v[0], requires_grad=True)
    p = torch.zeros_like(v, requires_grad=True)
    q = torch.zeros_like(v, requires_grad=True)
    optimizer = torch.optim.SGD([p_shared, p, q], lr=lr, momentum=0.9)
    for it in range(iterations):
        with torch.no_grad():
            q.data = torch.maximum(torch.minimum(q.data, qbound), -qbound)
            p.data = torch.maximum(torch.minimum(p.data, pbound), -pbound)
        half = 0.5 * (v + q)
        gamma = p_shared + p
        effects = torch.cat(((half + gamma) @ to_and.T, (half - gamma) @ to_or.T), dim=-1).abs()  # [K, B, 2N]
        loss = ((1 - alpha) * effects.amax(dim=0) + alpha * effects.sum(dim=0)).sum()
        if it + 1 < iterations:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        q.data = torch.maximum(torch.minimum(q.data, qbound), -qbound)
        p.data = torch.maximum(torch.minimum(p.data, pbound), -pbound)
    return (p_shared + p).detach().double(), -q.detach().double()
