"""Rewards and sparse AND-OR interactions of a set of samples, in one process or split across DDP ranks.

Every rank takes the samples at positions ``rank, rank + world, ...``, computes their rewards and interactions,
and all ranks gather the results in the original sample order, so the outcome is the same as in one process
(each sample's extraction does not depend on the others in its batch).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, cast

import numpy as np
import torch
from lightning import Trainer
from torch import Tensor, nn
from tqdm.auto import tqdm

from lit_interactions.interactions import Interactions
from lit_interactions.interactions.options import SolverOptions
from lit_interactions.interactions.solver import extract
from lit_interactions.players import Players, PlayerSelection, compute_rewards
from lit_interactions.players.forward import ForwardOptions

# Tensor fields of an Interactions result gathered across ranks, each [B, 2^n] (bias is [B]).
_FIELDS = ("and_effects", "or_effects", "noise", "gamma", "rewards")


def extract_interactions(
    network: nn.Module,
    batch: dict[str, Any],
    players: Players,
    selection: PlayerSelection,
    *,
    solver: SolverOptions | None = None,
    chunk_size: int = 1024,
    target: int | Tensor | None = None,
    reward: str = "log_odds",
    warm_start: Interactions | None = None,
    forward: ForwardOptions | dict[str, Any] | None = None,
    progress: str | None = None,
) -> Interactions:
    """Rewards of ``network`` on all masks of the batch's samples and their sparsest AND-OR interactions.

    Eval mode and no_grad while the rewards are computed (the previous modes are restored). The result is on
    the CPU in float64; ``extra`` holds ``"ids"`` ``[B]`` and ``"players"`` ``[B, n]`` in the batch's order,
    besides the solver's per-sample extras (e.g. ``duality_gap``, ``iterations``, ``dual``). ``warm_start``:
    an earlier result of this function (e.g. the previous epoch's); the solve starts from it when its ids and
    players are exactly this batch's, otherwise it is ignored (the result is certified either way). ``forward``:
    the masked forwards' speed options (:class:`~lit_interactions.players.forward.ForwardOptions`). ``solver``:
    the solve's settings (None = the defaults).

    ``progress``: a description (e.g. ``"InteractionMonitor epoch 3"``) to show a status bar with, naming the step
    running (the masked forwards, with their own bar over chunks, then the solver); None shows nothing.
    """
    count = len(batch["ids"])
    with tqdm(total=2, desc=progress, disable=progress is None, leave=False, unit="step") as status:
        status.set_postfix_str(f"masked forwards of {count} samples")
        rewards, aligned = compute_rewards(
            network, batch, players, selection, target=target, reward=reward, chunk_size=chunk_size,
            forward=forward, progress=progress is not None,
        )
        status.update()
        status.set_postfix_str(f"solving the AND-OR interactions of {count} samples")
        start = warm_start if warm_start is not None and _same_samples(warm_start, aligned.ids, aligned.players) else None
        result = extract(rewards.detach().double(), solver, warm_start=start).to("cpu")
        status.update()
    extra = {**result.extra, "ids": aligned.ids.cpu(), "players": aligned.players.cpu()}
    return replace(result, extra=extra, settings={**result.settings, "forward": ForwardOptions.from_value(forward).to_dict()})


def extract_sharded(
    trainer: Trainer,
    network: nn.Module,
    ids: Sequence[int] | np.ndarray,
    make_batch: Callable[[np.ndarray], dict[str, Any]],
    players: Players,
    selection: PlayerSelection,
    *,
    targets: int | Tensor | None = None,
    warm_start: Interactions | None = None,
    description: str = "interactions",
    **options: Any,
) -> Interactions:
    """:func:`extract_interactions` of the samples ``ids``, split across the trainer's processes.

    Every rank must call this (it is a collective under DDP); every rank returns the full result, in the
    order of ``ids``. Per-sample solver extras are gathered too; the settings are those of rank 0's share
    (the solver's summary statistics in them describe that share).

    Args:
        trainer: the running trainer (its strategy gathers the parts).
        network: the bare network to evaluate.
        ids: sample ids, in the order of the result.
        make_batch: ``ids -> batch`` (e.g. ``lambda i: dm.batch(i, "train")``).
        players: the player type.
        selection: players of (at least) these samples.
        targets: optional class per sample (aligned with ``ids``) or one class for all; default the batch's labels.
        warm_start: an earlier result for the same ``ids`` in the same order (e.g. the previous epoch's);
            each rank starts its share's solves from it (see :func:`extract_interactions`).
        description: the status bar's description, shown on rank 0 while the trainer has a progress bar.
        **options: ``solver``, ``chunk_size``, ``reward``, ``forward`` of
            :func:`extract_interactions`.
    """
    ids = np.asarray(ids, dtype=np.int64)
    world, rank = trainer.world_size, trainer.global_rank
    positions = np.arange(rank, len(ids), world)

    progress = description if trainer.is_global_zero and trainer.progress_bar_callback is not None else None

    def run(index: np.ndarray) -> Interactions:
        target = targets if targets is None or isinstance(targets, int) else targets[torch.as_tensor(index)]
        start = None
        if warm_start is not None and tuple(warm_start.batch_shape) == (len(ids),):
            start = warm_start.select(torch.as_tensor(index))
        batch = make_batch(ids[index])
        return extract_interactions(
            network, batch, players, selection, target=target, warm_start=start, progress=progress, **options
        )

    if world == 1:
        return run(positions)
    # Rank 0 always has samples (it takes the first one); its settings and extras layout are everyone's.
    local = run(positions) if len(positions) else None
    settings, layout = cast(tuple[dict[str, Any], list[tuple[str, str, tuple[int, ...]]]], trainer.strategy.broadcast(
        (local.settings, _extras_layout(local)) if local is not None else None, src=0
    ))
    n = selection.n_players
    width = len(_FIELDS) * 2**n + 1 + sum(math.prod(shape) for _, _, shape in layout)
    packed = torch.zeros(math.ceil(len(ids) / world), width, dtype=torch.float64)
    if local is not None:
        packed[: len(positions)] = _pack(local, layout)
    gathered = trainer.strategy.all_gather(packed.to(_device(network))).cpu()  # [world, per_rank, width]
    rows = gathered[np.arange(len(ids)) % world, np.arange(len(ids)) // world]
    aligned = selection.align(torch.as_tensor(ids))
    return _unpack(rows, n, settings, layout, {"ids": aligned.ids.cpu(), "players": aligned.players.cpu()})


def _same_samples(result: Interactions, ids: Tensor, players: Tensor) -> bool:
    """Whether ``result`` holds exactly these samples with these players, in this order."""
    old_ids, old_players = result.extra.get("ids"), result.extra.get("players")
    return (
        old_ids is not None and old_players is not None and old_ids.shape == ids.shape
        and old_players.shape == players.shape and bool(torch.equal(old_ids.cpu(), ids.cpu()))
        and bool(torch.equal(old_players.cpu(), players.cpu()))
    )


def _extras_layout(result: Interactions) -> list[tuple[str, str, tuple[int, ...]]]:
    """``(key, dtype, per-sample shape)`` of the solver's extras (ids and players are rebuilt, not gathered)."""
    return [
        (key, str(value.dtype).replace("torch.", ""), tuple(value.shape[1:]))
        for key, value in sorted(result.extra.items())
        if key not in ("ids", "players")
    ]


def _pack(result: Interactions, layout: list[tuple[str, str, tuple[int, ...]]]) -> Tensor:
    """``[B, width]``: the subset fields side by side, the bias, then the flattened extras."""
    parts = [getattr(result, name).double() for name in _FIELDS] + [result.bias.double().unsqueeze(-1)]
    parts += [result.extra[key].double().reshape(len(result.bias), -1) for key, _, _ in layout]
    return torch.cat(parts, dim=-1)


def _unpack(
    rows: Tensor, n: int, settings: dict[str, Any], layout: list[tuple[str, str, tuple[int, ...]]],
    extra: dict[str, Tensor],
) -> Interactions:
    size, count = 2**n, len(rows)
    fields = {name: rows[:, i * size : (i + 1) * size].contiguous() for i, name in enumerate(_FIELDS)}
    start = len(_FIELDS) * size + 1
    for key, dtype, shape in layout:
        width = math.prod(shape)
        extra[key] = rows[:, start : start + width].reshape(count, *shape).to(getattr(torch, dtype)).contiguous()
        start += width
    bias = rows[:, len(_FIELDS) * size].contiguous()
    return Interactions(**fields, bias=bias, n_players=n, settings=dict(settings), extra=extra)


def _device(network: nn.Module) -> torch.device:
    for tensor in network.parameters():
        return tensor.device
    return torch.device("cpu")
