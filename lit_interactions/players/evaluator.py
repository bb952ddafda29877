"""Rewards on masked samples: all ``2^n`` masks (no grad) or chosen subsets (differentiable).

Every (sample, subset) pair is one row; rows are run in chunks of ``chunk_size`` through the player type's
masked forward, so the chunk size never changes which inputs the model sees. Rewards come back as
``[B, M]`` in the project's subset order (bit ``i`` of a subset index <=> player ``i`` present).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from lit_interactions.interactions.subsets import subset_masks
from lit_interactions.players.base import (
    Batch,
    Players,
    as_logits,
    batch_tensor,
    eval_mode,
    model_device,
)
from lit_interactions.players.forward import ForwardOptions
from lit_interactions.players.rewards import RewardFn, resolve_reward, resolve_target
from lit_interactions.players.selection import PlayerSelection


def compute_rewards(
    forward_func: Callable[..., Any],
    batch: Batch,
    players: Players,
    selection: PlayerSelection | None = None,
    *,
    target: int | Tensor | None = None,
    reward: str | RewardFn = "log_odds",
    chunk_size: int = 1024,
    progress: bool = False,
    forward: ForwardOptions | dict[str, Any] | None = None,
) -> tuple[Tensor, PlayerSelection]:
    """Rewards of every sample on all ``2^n`` masked versions, and the players used.

    Runs in eval mode under ``torch.inference_mode`` (the model's train/eval modes are restored afterwards);
    the rewards returned are ordinary tensors.

    Args:
        forward_func: the model (an ``nn.Module``; image: ``inputs -> logits``; text: takes
            ``inputs_embeds``, ``attention_mask``, ``token_type_ids``, returns logits or ``.logits``).
        batch: a dict batch with ``ids`` (see docs/architecture.md).
        players: the player type (:class:`ImagePatchPlayers`, :class:`TextWordPlayers`).
        selection: players chosen earlier (any rows order, a superset of the batch's ids is fine);
            None chooses them now.
        target: class per sample: ``batch["labels"]`` by default, or an int / ``LongTensor[B]``.
        reward: ``"log_odds"`` (default), ``"logit"`` or a callable ``(outputs, target) -> [k]``.
        chunk_size: masked samples per forward pass (memory only; results do not depend on it).
        progress: show a tqdm progress bar over chunks.
        forward: opt-in speed options of the masked forwards (:class:`ForwardOptions` or its dict: reduced
            precision, channels-last, compile); the players are always chosen by the eager model.

    Returns:
        ``(rewards [B, 2^n], selection)`` with the selection's rows in the batch's order.
    """
    options = ForwardOptions.from_value(forward)
    options.check_layer(getattr(players, "layer", None))
    with eval_mode(forward_func), torch.inference_mode():
        batch = _to_model_device(forward_func, batch)
        if selection is None:
            selection = players.select(forward_func, batch)
        if "inputs" in batch and isinstance(batch["inputs"], Tensor):
            batch = {**batch, "inputs": options.inputs(batch["inputs"])}
        device = model_device(forward_func) or torch.device("cpu")
        with options.autocast(device):
            rewards, selection = _evaluate(
                options.model(forward_func), batch, players, selection, None, target, reward, chunk_size, progress
            )
    return rewards.float().clone() if options.precision != "float32" else rewards.clone(), selection


def masked_rewards(
    forward_func: Callable[..., Any],
    batch: Batch,
    players: Players,
    selection: PlayerSelection,
    subsets: Sequence[int] | Tensor | None = None,
    *,
    target: int | Tensor | None = None,
    reward: str | RewardFn = "log_odds",
    chunk_size: int | None = None,
    use_eval_mode: bool = True,
    progress: bool = False,
) -> Tensor:
    """Differentiable rewards ``[B, M]`` on the given subsets (all ``2^n`` if None) of a given selection.

    Gradients flow to the model's parameters (no ``no_grad`` here), e.g. for a training-time
    regularizer. With ``use_eval_mode`` (default) the model runs in eval mode, so batch-norm statistics
    and dropout are not affected by the masked samples; the previous modes are restored afterwards
    (without it, batch norm would normalise each chunk of masked samples by its own statistics).
    ``chunk_size`` None runs all rows in one pass.
    """
    context = eval_mode(forward_func) if use_eval_mode else nullcontext()
    with context:
        batch = _to_model_device(forward_func, batch)
        rewards, _ = _evaluate(forward_func, batch, players, selection, subsets, target, reward, chunk_size, progress)
    return rewards


def _evaluate(
    forward_func: Callable[..., Any],
    batch: Batch,
    players: Players,
    selection: PlayerSelection,
    subsets: Sequence[int] | Tensor | None,
    target: int | Tensor | None,
    reward: str | RewardFn,
    chunk_size: int | None,
    progress: bool,
) -> tuple[Tensor, PlayerSelection]:
    ids = batch_tensor(batch, "ids", "reward evaluation").long().reshape(-1)
    players.check_selection(selection)
    selection = selection.align(ids)
    n, size = selection.n_players, len(ids)
    device = ids.device
    masks = subset_masks(n, device)
    subset_index = _subsets(subsets, n, device)
    targets = resolve_target(target, batch, size, device)
    reward_fn = resolve_reward(reward)
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int (or None for one pass), got {chunk_size!r}")

    run = players.prepare(forward_func, batch, selection)
    count = len(subset_index)
    total = size * count
    step = total if chunk_size is None else chunk_size
    values, bad = [], []
    for start in tqdm(range(0, total, step), disable=not progress, desc="masked forwards", unit="chunk"):
        rows = torch.arange(start, min(start + step, total), device=device)
        sample_index = rows // count
        outputs = as_logits(run(sample_index, masks[subset_index[rows % count]]))
        value = reward_fn(outputs, targets[sample_index])
        if not isinstance(value, Tensor) or value.reshape(-1).shape != rows.shape:
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(f"the reward must return one scalar per masked sample ({len(rows)}), got {shape}")
        value = value.reshape(-1)
        finite = torch.isfinite(value)
        if isinstance(outputs, Tensor) and outputs.is_floating_point():
            finite &= torch.isfinite(outputs.reshape(len(rows), -1)).all(dim=1)
        bad.append(sample_index[~finite])
        values.append(value)
    bad_rows = torch.unique(torch.cat(bad))
    if bad_rows.numel():
        bad_ids = ids[bad_rows].tolist()
        raise FloatingPointError(
            f"the model's outputs or rewards are NaN/inf on masked versions of sample id(s) {bad_ids[:20]}"
            f"{' ...' if len(bad_ids) > 20 else ''}; check these inputs, the baseline and the model's dtype"
        )
    return torch.cat(values).reshape(size, count), selection


def _subsets(subsets: Sequence[int] | Tensor | None, n: int, device: torch.device) -> Tensor:
    if subsets is None:
        return torch.arange(2**n, device=device)
    index = torch.as_tensor(subsets, device=device).long().reshape(-1)
    if index.numel() == 0 or int(index.min()) < 0 or int(index.max()) >= 2**n:
        raise ValueError(f"subsets must be non-empty indices in 0..{2**n - 1} (bit i <=> player i present)")
    return index


def _to_model_device(forward_func: Callable[..., Any], batch: Batch) -> Batch:
    """The batch with its tensors on the model's device (unchanged for a model without parameters)."""
    device = model_device(forward_func)
    if device is None or not hasattr(batch, "items"):
        return batch
    return {k: v.to(device) if isinstance(v, Tensor) else v for k, v in batch.items()}

