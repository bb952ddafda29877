"""What every player type provides, and the small helpers they share (masking maps, model access)."""

from __future__ import annotations

import difflib
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from lit_interactions.interactions.subsets import check_n_players
from lit_interactions.players.selection import PlayerSelection

Batch = Mapping[str, Any]
# Runs the model on masked samples: (sample_index LongTensor[k], keep BoolTensor[k, n]) -> model outputs.
# keep[r, i] is True iff player i of sample sample_index[r] keeps its value in row r.
MaskedForward = Callable[[Tensor, Tensor], Any]


class Players(ABC):
    """A player type: chooses ``n`` players per sample and runs the model on masked samples.

    Subclasses define :meth:`settings`, :meth:`select` and :meth:`prepare`; ``GEOMETRY`` names the
    settings that define what a player index means (a given selection must agree on them).
    """

    kind: ClassVar[str]
    GEOMETRY: ClassVar[tuple[str, ...]] = ()

    def __init__(self, n_players: int) -> None:
        self.n_players = check_n_players(n_players)

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """JSON-able settings, stored with every selection."""

    @abstractmethod
    def select(self, forward_func: Callable[..., Any], batch: Batch) -> PlayerSelection:
        """Choose the players of every sample of ``batch``."""

    @abstractmethod
    def prepare(self, forward_func: Callable[..., Any], batch: Batch, selection: PlayerSelection) -> MaskedForward:
        """A function running ``forward_func`` on masked samples of ``batch`` (selection aligned to it)."""

    def check_selection(self, selection: PlayerSelection) -> None:
        """Raise a clear error if ``selection`` was not made by players like these."""
        mine = self.settings()
        theirs = {k: selection.settings.get(k) for k in self.GEOMETRY}
        if (
            selection.kind != self.kind
            or selection.n_players != self.n_players
            or theirs != {k: mine[k] for k in self.GEOMETRY}
        ):
            raise ValueError(
                f"the selection was made by {selection.kind} players with n={selection.n_players} and "
                f"{theirs}, but these are {self.kind} players with n={self.n_players} and "
                f"{ {k: mine[k] for k in self.GEOMETRY} }; build the players from the selection's settings "
                f"({type(self).__name__}.from_settings(selection.settings))"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.settings().items())})"


def keep_map(player_map: Tensor, keep: Tensor) -> Tensor:
    """Which positions keep their value: non-players (``-1``) always, player ``i`` iff ``keep[:, i]``.

    Args:
        player_map: ``LongTensor[k, ...]`` player index of every position (pixel, token), ``-1`` if none.
        keep: ``BoolTensor[k, n]`` players present in each row.

    Returns:
        ``BoolTensor`` shaped like ``player_map``.
    """
    k, n = keep.shape
    table = torch.cat([keep, keep.new_ones(k, 1)], dim=1)
    index = torch.where(player_map < 0, n, player_map).reshape(k, -1)
    return table.gather(1, index).reshape(player_map.shape)


def as_module(forward_func: Callable[..., Any]) -> nn.Module | None:
    """The ``nn.Module`` behind ``forward_func`` (the module itself or a bound method of it), else None."""
    if isinstance(forward_func, nn.Module):
        return forward_func
    owner = getattr(forward_func, "__self__", None)
    return owner if isinstance(owner, nn.Module) else None


def require_module(forward_func: Callable[..., Any], why: str) -> nn.Module:
    """:func:`as_module`, raising a clear error when there is no module."""
    module = as_module(forward_func)
    if module is None:
        raise TypeError(f"{why} needs forward_func to be an nn.Module (or its bound forward), got {forward_func!r}")
    return module


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """``model.get_submodule(name)`` with an error that lists the closest module names."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        names = [n for n, _ in model.named_modules() if n]
        close = difflib.get_close_matches(name, names, n=8, cutoff=0.5) or names[:12]
        raise ValueError(
            f"{type(model).__name__} has no module named {name!r}; nearby names: {close}. "
            f"Use a name from model.named_modules(), e.g. 'layer1.0'."
        ) from None


def check_layer_name(layer: Any) -> str | None:
    """``layer`` if it is a module name or None (players at the input); a clear error for anything else."""
    if layer is not None and not isinstance(layer, str):
        raise TypeError(f"layer must be a module name (str) or None, got {type(layer).__name__}")
    return layer


def with_output_replaced(module: nn.Module, fn: Callable[[Any], Any], call: Callable[[], Any]) -> Any:
    """``call()`` with ``module``'s output replaced by ``fn(output)`` (a forward hook, always removed), run eagerly.

    Dynamo does not guard on hooks by default, so a model the user compiled would run a graph compiled without the
    hook and return unmasked outputs. ``torch.compiler.set_stance("force_eager")`` makes compiled models run eagerly;
    ``torch.compiler.disable`` around it leaves code being compiled (a compiled training step), where the stance
    cannot change. Neither is needed while dynamo was never imported: nothing can have been compiled.
    """

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> Any:
        return fn(output)

    def hooked() -> Any:
        handle = module.register_forward_hook(hook)
        try:
            return call()
        finally:
            handle.remove()

    if "torch._dynamo" not in sys.modules:
        return hooked()

    def eager() -> Any:
        with torch.compiler.set_stance("force_eager"):
            return hooked()

    return torch.compiler.disable(eager)()


def masked_at_layer(
    module: nn.Module, mask: Callable[[Any, Tensor, Tensor], Any], run: Callable[[Tensor], Any]
) -> MaskedForward:
    """A masked forward for players in a layer's output: the model runs on unmasked samples, a hook masks the layer.

    Args:
        module: the layer whose output holds the players.
        mask: ``(output, sample_index, keep) -> masked output`` of the layer (its rows are the samples run).
        run: ``sample_index -> model outputs`` on the unmasked samples ``sample_index``.
    """

    def forward(sample_index: Tensor, keep: Tensor) -> Any:
        return with_output_replaced(module, lambda output: mask(output, sample_index, keep), lambda: run(sample_index))

    return forward


@contextmanager
def eval_mode(forward_func: Callable[..., Any]) -> Iterator[None]:
    """Put the module behind ``forward_func`` in eval mode; restore every submodule's mode afterwards."""
    module = as_module(forward_func)
    if module is None:
        yield
        return
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def model_device(forward_func: Callable[..., Any]) -> torch.device | None:
    """Device of the first parameter (or buffer) of the module behind ``forward_func``, if any."""
    module = as_module(forward_func)
    if module is None:
        return None
    for tensor in module.parameters():
        return tensor.device
    for buffer in module.buffers():
        return buffer.device
    return None


def as_logits(outputs: Any) -> Any:
    """The logits of a model output: the tensor itself or ``outputs.logits`` (Hugging Face models)."""
    if isinstance(outputs, Tensor):
        return outputs
    logits = getattr(outputs, "logits", None)
    return logits if isinstance(logits, Tensor) else outputs


def batch_tensor(batch: Batch, key: str, who: str) -> Tensor:
    """``batch[key]`` as a tensor, with an error naming the batch format if it is missing."""
    if not isinstance(batch, Mapping) or key not in batch:
        keys = list(batch.keys()) if isinstance(batch, Mapping) else type(batch).__name__
        raise KeyError(
            f"{who} needs batch[{key!r}] (batches are dicts, see docs/architecture.md); got {keys}"
        )
    value = batch[key]
    return value if isinstance(value, Tensor) else torch.as_tensor(value)
