"""The result of an interaction extraction: effects, decomposition and settings, with methods to read it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor

from lit_interactions.interactions.salient_readings import SalientReadings
from lit_interactions.interactions.shapley import shapley_values
from lit_interactions.interactions.subsets import (
    check_n_players,
    n_players_from_length,
    zeta,
)
from lit_interactions.interactions.transform import (
    and_or_transform,
    bias,
    logical_model,
)

_SUBSET_FIELDS = ("and_effects", "or_effects", "noise", "gamma", "rewards")


@dataclass(eq=False)
class Interactions(SalientReadings):
    """AND-OR interactions of one or many samples (and models), in the project's subset order.

    All vectors over subsets have length ``2^n`` along their last dimension; leading dimensions are
    batch dimensions (for a joint extraction the first one is the model index ``K``).

    Attributes:
        and_effects: ``[..., 2^n]`` AND effects ``I_and[T]``; index 0 (empty set) is 0.
        or_effects: ``[..., 2^n]`` OR effects ``I_or[T]``; index 0 is 0.
        bias: ``[...]`` the constant ``b = v[empty] - noise[empty]``.
        noise: ``[..., 2^n]`` the noise term ``delta`` removed from the rewards.
        gamma: ``[..., 2^n]`` the AND/OR decomposition parameters.
        rewards: ``[..., 2^n]`` the rewards ``v(x_S)`` the effects explain.
        n_players: number of players ``n``.
        settings: how the result was obtained (solver, noise_ratio, alpha, gaps, ...), saved with it.
        extra: optional per-sample metadata (sample ids, player records, ...): tensors whose leading
            dimensions are the batch shape; selected, moved and saved together with the effects.
    """

    and_effects: Tensor
    or_effects: Tensor
    bias: Tensor
    noise: Tensor
    gamma: Tensor
    rewards: Tensor
    n_players: int
    settings: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_shapes(self)

    @classmethod
    def from_decomposition(
        cls, rewards: Tensor, gamma: Tensor | None = None, noise: Tensor | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Interactions:
        """Build the result for rewards and a decomposition ``(gamma, noise)`` (zeros when omitted)."""
        n = n_players_from_length(rewards.shape[-1])
        gamma_ = torch.zeros_like(rewards) if gamma is None else gamma.to(rewards).expand_as(rewards)
        noise_ = torch.zeros_like(rewards) if noise is None else noise.to(rewards).expand_as(rewards)
        and_effects, or_effects = and_or_transform(rewards, gamma_, noise_)
        return cls(and_effects, or_effects, bias(rewards, noise_), noise_, gamma_, rewards, n, dict(settings or {}))

    @classmethod
    def from_effects(
        cls, and_effects: Tensor, or_effects: Tensor, bias: float | Tensor = 0.0, settings: dict[str, Any] | None = None
    ) -> Interactions:
        """Build the noise-free result whose effects are the given ones (e.g. a synthetic ground truth).

        The rewards are the logical model's output and ``gamma = zeta(I_and) - v / 2`` puts exactly these
        effects on each side. Index 0 of the effects is ignored.
        """
        rewards, gamma = _logical_game(and_effects, or_effects, bias)
        return cls.from_decomposition(rewards, gamma=gamma, settings=settings)

    @property
    def batch_shape(self) -> torch.Size:
        """Leading (batch) dimensions of the result."""
        return self.rewards.shape[:-1]

    def reconstruct(self) -> Tensor:
        """Output of the logical model on all ``2^n`` masks; equals ``rewards - noise`` (universal matching)."""
        return logical_model(self.and_effects, self.or_effects, self.bias)

    def objective(self) -> Tensor:
        """The sparsity objective ``sum_{T nonempty} |I_and[T]| + |I_or[T]|``, one value per batch entry."""
        return self.and_effects[..., 1:].abs().sum(-1) + self.or_effects[..., 1:].abs().sum(-1)

    def shapley(self) -> Tensor:
        """Exact Shapley values ``[..., n]`` of the rewards (noise not removed), from their Harsanyi dividends."""
        return shapley_values(self.rewards)

    def select(self, index: int | slice | Tensor | tuple[int | slice | Tensor, ...]) -> Interactions:
        """Take samples (or models) out of the batch by indexing the leading (batch) dimensions.

        ``result.select(3)`` (or ``result[3]``) is the fourth sample; ``result[0, 2]`` model 0, sample 2.
        """
        _check_index(self.batch_shape, index)
        return self._map(lambda value: value[index])

    __getitem__ = select

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Interactions:
        """The result on ``device`` and/or in the floating ``dtype``; integer/boolean extras keep their dtype.

        Tensors already on that device and dtype are shared with ``self``, not copied (as ``Tensor.to``).
        """
        if dtype is not None and not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating-point dtype such as torch.float64, got {dtype}")
        return self._map(lambda value: value.to(device=device, dtype=dtype if value.is_floating_point() else None))

    def _map(self, fn: Callable[[Tensor], Tensor]) -> Interactions:
        """A copy with ``fn`` applied to every tensor (effects, decomposition, bias, extras); settings copied."""
        fields: dict[str, Any] = {name: fn(getattr(self, name)) for name in (*_SUBSET_FIELDS, "bias")}
        return replace(self, **fields, settings=dict(self.settings), extra={k: fn(v) for k, v in self.extra.items()})

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the result (tensors, settings, extras) to a safetensors file atomically; see ``storage.py``."""
        from lit_interactions.interactions.storage import save_interactions

        save_interactions(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: torch.device | str = "cpu") -> Interactions:
        """Read a result written by :meth:`save`."""
        from lit_interactions.interactions.storage import load_interactions

        return load_interactions(path, device=device)


def _check_shapes(result: Interactions) -> None:
    """Every vector over subsets has the rewards' shape; bias and extras the batch shape (clear errors)."""
    n = check_n_players(result.n_players)
    shape = result.rewards.shape
    if shape[-1:] != (2**n,):
        raise ValueError(f"rewards of shape {tuple(shape)} must end with 2^n = {2**n} subsets (n_players = {n})")
    for name in _SUBSET_FIELDS:
        if getattr(result, name).shape != shape:
            raise ValueError(
                f"{name} has shape {tuple(getattr(result, name).shape)} but rewards have {tuple(shape)}: every "
                f"vector over subsets must have the same shape (expand broadcast values first)"
            )
    if result.bias.shape != shape[:-1]:
        raise ValueError(f"bias has shape {tuple(result.bias.shape)}, expected the batch shape {tuple(shape[:-1])}")
    for key, value in result.extra.items():
        if not isinstance(value, Tensor) or value.shape[: len(shape) - 1] != shape[:-1]:
            raise ValueError(
                f"extra[{key!r}] must be a tensor whose leading dimensions are the batch shape "
                f"{tuple(shape[:-1])} (per-sample metadata), got {getattr(value, 'shape', type(value))}"
            )


def _logical_game(and_effects: Tensor, or_effects: Tensor, bias: float | Tensor) -> tuple[Tensor, Tensor]:
    """Rewards of the logical model with these effects, and the gamma that puts exactly them on each side."""
    if and_effects.shape != or_effects.shape:
        raise ValueError(
            f"AND effects {tuple(and_effects.shape)} and OR effects {tuple(or_effects.shape)} differ"
        )
    b = torch.as_tensor(bias, dtype=and_effects.dtype, device=and_effects.device).expand(and_effects.shape[:-1])
    rewards = logical_model(and_effects, or_effects, b)
    and_part = torch.cat((torch.zeros_like(and_effects[..., :1]), and_effects[..., 1:]), dim=-1)
    return rewards, zeta(and_part) - 0.5 * rewards


def _check_index(batch_shape: torch.Size, index: Any) -> None:
    """An index of the batch dimensions only (never the subset dimension), with a clear error otherwise."""
    parts = index if isinstance(index, tuple) else (index,)
    if not batch_shape:
        raise IndexError("this result has no batch dimension to select from")
    if len(parts) > len(batch_shape) or any(p is None or p is Ellipsis for p in parts):
        raise IndexError(
            f"index {index!r} must address only the {len(batch_shape)} batch dimension(s) "
            f"{tuple(batch_shape)}, without None or ...; the subset dimension is never indexed"
        )
