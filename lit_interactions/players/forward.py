"""How the masked forward passes run: inference mode always; opt-in channels-last, reduced precision, compile.

The masked forwards are the floor of every extraction (``2^n`` forwards per sample). ``compute_rewards`` runs
them under ``torch.inference_mode``; :class:`ForwardOptions` adds the options whose effect on speed depends
on the model and device (``benchmarks/bench_forward.py`` measures them side by side) and, for reduced
precision, on the rewards themselves (documented in ``docs/solver.md``):

- ``channels_last``: 4-D inputs and a copy of the model in channels-last memory format (the model being
  trained is never changed);
- ``precision``: ``"bfloat16"`` or ``"float16"`` autocast on the model's device (rewards are computed from
  the autocast logits in float32);
- ``compile``: ``torch.compile`` of the model, compiled once per model and options and reused; players at the
  input only (:meth:`ForwardOptions.check_layer`).
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from lit_interactions.checks import Options

PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}
_PREPARED: weakref.WeakKeyDictionary[nn.Module, dict[tuple[bool, bool], nn.Module]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class ForwardOptions(Options):
    """Opt-in speed options of the masked forwards (defaults: the eager float32 floor)."""

    what: ClassVar[str] = "forward"

    precision: str = "float32"
    channels_last: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {sorted(PRECISIONS)}, got {self.precision!r}; reduced precision "
                f"changes the rewards (see docs/solver.md), float32 is the default"
            )
        for name in ("channels_last", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")

    def model(self, forward_func: Callable[..., Any]) -> Callable[..., Any]:
        """The forward to run: ``forward_func`` itself, or its channels-last copy and/or compiled version.

        The copy (and the compilation) is made once per model and options and reused while the model lives;
        the copy's weights are refreshed from the model's at every call (they change during training).
        """
        if not isinstance(forward_func, nn.Module) or not (self.channels_last or self.compile):
            return forward_func
        cache = _PREPARED.setdefault(forward_func, {})
        key = (self.channels_last, self.compile)
        if key not in cache:
            # A copy, so that the model being trained keeps its format and eager forward; Module.compile keeps
            # the module names (players at a layer find their module in the copy).
            prepared = copy.deepcopy(forward_func)
            if self.channels_last:
                prepared = prepared.to(memory_format=torch.channels_last)
            if self.compile:
                prepared.compile()
            cache[key] = prepared
        prepared = cache[key]
        with torch.no_grad():
            for target, source in zip(prepared.state_dict().values(), forward_func.state_dict().values()):
                target.copy_(source)
        prepared.train(forward_func.training)
        return prepared

    def inputs(self, x: Tensor) -> Tensor:
        """Inputs in the chosen memory format."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 else x

    def check_layer(self, layer: str | None) -> None:
        """Refuse ``compile`` for players at a layer: their masking hook must run, and a compiled graph can skip it.

        Dynamo does not guard on module hooks by default, so a graph compiled for the model's class without the hook
        (players at the input, another model of the class, the training step) was reused and returned unmasked
        rewards; the masked forwards of players at a layer always run eagerly (``players.base.with_output_replaced``).
        """
        if self.compile and layer is not None:
            raise ValueError(
                f"forward compile works for players at the input only: players at layer {layer!r} are masked by a "
                f"forward hook, which a compiled graph can skip; remove compile, or use players at the input"
            )

    @contextmanager
    def autocast(self, device: torch.device) -> Iterator[None]:
        """Autocast to the chosen precision on ``device`` (nothing for float32)."""
        dtype = PRECISIONS[self.precision]
        with torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext():
            yield
