"""The transplant part: start training from a trained donor's first L parameter layers (paper 2 Sec. 3.2)."""

from __future__ import annotations

from typing import Any, Literal

from lit_interactions.models.transplant import apply_transplant, check_spec, keep_frozen_norms_in_eval
from lit_interactions.modules.parts import TrainingPart


class LayerTransplant(TrainingPart):
    """Copy a donor's first ``num_layers`` parameter layers into the module's network when the module is built.

    ``fit`` starts from them; resuming from the module's own checkpoint loads the checkpoint's weights afterwards,
    which win. ``hparams["transplanted"]`` records what was copied.

    Args:
        checkpoint: donor file: a Lightning checkpoint of a classifier module or a bare model ``state_dict``.
        num_layers: L, how many parameter layers to copy (0 = none), or ``"all"``: the whole network.
        freeze: keep the transplanted layers fixed during training (their batch norms stay in eval mode).
    """

    def __init__(self, checkpoint: str, num_layers: int | Literal["all"], freeze: bool = False) -> None:
        self.checkpoint, self.num_layers, self.freeze = check_spec(
            {"checkpoint": checkpoint, "num_layers": num_layers, "freeze": freeze}
        )
        self._frozen_norms: tuple[str, ...] = ()

    def attach(self, module: Any) -> None:
        """Copy the donor's layers into ``module.model`` (and freeze them)."""
        spec = {"checkpoint": self.checkpoint, "num_layers": self.num_layers, "freeze": self.freeze}
        result = apply_transplant(module.model, spec)  # type: ignore[arg-type]
        self._frozen_norms = result.frozen_norms
        module.hparams["transplanted"] = result.as_hparams()

    def on_train_mode(self, module: Any, mode: bool) -> None:
        """Keep the batch norms of frozen transplanted layers in eval mode (fixed running statistics)."""
        keep_frozen_norms_in_eval(module.model, self._frozen_norms)

    def init_args(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "num_layers": self.num_layers, "freeze": self.freeze}
