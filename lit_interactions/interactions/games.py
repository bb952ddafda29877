"""Reward games for the solver's tests and benchmarks: hand-made, random, planted sparse, and real torch networks.

Every generator returns rewards ``[B, 2^n]`` (float64) in the project's subset order.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lit_interactions.interactions.subsets import subset_masks
from lit_interactions.interactions.transform import logical_model


def random_rewards(n: int, batch: int, seed: int = 0) -> Tensor:
    """I.i.d. standard normal rewards: dense, the hardest case for sparsity."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 2**n, generator=gen, dtype=torch.float64)


def planted_effects(n: int, batch: int, n_effects: int = 6, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Sparse AND and OR effects ``[B, 2^n]`` on random subsets of order 2..min(n, 4), magnitudes 1..3."""
    gen = torch.Generator().manual_seed(seed)
    size = 2**n
    orders = subset_masks(n).sum(-1)
    candidates = torch.nonzero((orders >= min(2, n)) & (orders <= min(n, 4))).flatten()
    and_effects = torch.zeros(batch, size, dtype=torch.float64)
    or_effects = torch.zeros(batch, size, dtype=torch.float64)
    for b in range(batch):
        pick = candidates[torch.randperm(len(candidates), generator=gen)[: 2 * n_effects]]
        values = (1.0 + 2.0 * torch.rand(len(pick), generator=gen, dtype=torch.float64)) * torch.where(
            torch.rand(len(pick), generator=gen) < 0.5, -1.0, 1.0
        ).to(torch.float64)
        half = len(pick) // 2
        and_effects[b, pick[:half]] = values[:half]
        or_effects[b, pick[half:]] = values[half:]
    return and_effects, or_effects


def planted_rewards(
    n: int, batch: int, n_effects: int = 6, noise: float = 1e-3, seed: int = 0
) -> tuple[Tensor, Tensor, Tensor]:
    """Rewards of a planted sparse game plus uniform noise of amplitude ``noise`` (absolute).

    Returns ``(rewards, and_effects, or_effects)``.
    """
    and_effects, or_effects = planted_effects(n, batch, n_effects, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    clean = logical_model(and_effects, or_effects, torch.full((batch,), 0.5, dtype=torch.float64))
    jitter = noise * (2.0 * torch.rand(clean.shape, generator=gen, dtype=torch.float64) - 1.0)
    return clean + jitter, and_effects, or_effects


def _masked(x: Tensor, n: int) -> Tensor:
    """All ``2^n`` masked copies of inputs ``x`` ``[B, n]`` (baseline 0): ``[B, 2^n, n]``."""
    masks = subset_masks(n).to(x.dtype)
    return masks.unsqueeze(0) * x.unsqueeze(1)


def mlp_rewards(n: int, batch: int, seed: int = 0, width: int = 32) -> Tensor:
    """Output of a small random ReLU MLP on every masked input (players = input coordinates, baseline 0)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(n, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))
    net = net.double()
    x = torch.randn(batch, n, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        return net(_masked(x, n)).squeeze(-1)


def cnn_rewards(n: int, batch: int, seed: int = 0) -> Tensor:
    """Log-odds of a small random CNN on 8x8 images whose ``n`` players are 2x2 pixel blocks (baseline 0)."""
    if n > 16:
        raise ValueError("an 8x8 image has 16 blocks of 2x2 pixels")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(8 * 64, 10),
    ).double()
    images = torch.rand(batch, 1, 8, 8, generator=gen, dtype=torch.float64)
    block = torch.zeros(n, 8, 8, dtype=torch.float64)
    for p in range(n):
        r, c = divmod(p, 4)
        block[p, 2 * r : 2 * r + 2, 2 * c : 2 * c + 2] = 1.0
    keep = subset_masks(n).to(torch.float64) @ block.view(n, 64)  # [2^n, 64], 1 where a player's pixel is kept
    outside = 1.0 - block.sum(0).view(64).clamp(max=1.0)  # pixels that are not players keep their value
    visible = (keep + outside).clamp(max=1.0).view(1, -1, 1, 8, 8)
    with torch.no_grad():
        logits = net((images.unsqueeze(1) * visible).view(-1, 1, 8, 8)).view(batch, 2**n, 10)
    target = logits[:, -1].argmax(-1)
    z_y = logits.gather(-1, target.view(-1, 1, 1).expand(-1, 2**n, 1)).squeeze(-1)
    others = logits.scatter(-1, target.view(-1, 1, 1).expand(-1, 2**n, 1), float("-inf"))
    return z_y - torch.logsumexp(others, dim=-1)
