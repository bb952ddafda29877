"""How players are chosen, written once: the ``players:`` settings of the monitor, the hard/confusing samples, the
regularizer and ``explain`` (a YAML mapping under ``players:`` in a config)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from lit_interactions.checks import Options, check_int
from lit_interactions.interactions.subsets import MAX_PLAYERS
from lit_interactions.players.base import Players
from lit_interactions.players.image import ImagePatchPlayers
from lit_interactions.players.text import TextWordPlayers

TASKS = ("image", "text")


@dataclass(frozen=True)
class PlayerOptions(Options):
    """How players are chosen, for either data task (the options of the other task are ignored).

    Attributes:
        n_players: players per sample, 1..16 (2^n masked forward passes per sample).
        grid: image: patches per side of the central region (paper 2: 5).
        layer: module name whose output holds the players; None = the input. Image: the feature map split into
            patches (paper 2: ``"layer1.3"``, after ResNet-56's first 9 conv layers); text: the hidden states at
            the words' tokens (paper 2: ``"bert.bert.encoder.layer.0"``, BERT's first block).
        crop: image: border cells removed per side (one int, or ``[rows, columns]``); None = 1/8 of the side.
        image_baseline: image: masked patches become ``"zero"`` (paper 2) or the per-channel ``"mean"``.
        text_baseline: text: ``"mean"`` word embedding (paper 2), ``"mask"``, ``"cls"``, ``"pad"``, ``"zero"`` or a
            token id.
        seed: text: seed of the word choice.
    """

    what: ClassVar[str] = "player"

    n_players: int = 10
    grid: int = 5
    layer: str | None = None
    crop: int | tuple[int, int] | None = None
    image_baseline: str = "zero"
    text_baseline: str | int = "mean"
    seed: int = 0

    def __post_init__(self) -> None:
        n = self.n_players
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_PLAYERS:
            raise ValueError(
                f"n_players={n!r} is not valid: the engine evaluates 2^n masks per sample and supports "
                f"1 <= n_players <= {MAX_PLAYERS}; use n_players <= {MAX_PLAYERS} (10 in the papers)"
            )
        check_int("grid", self.grid, 1, error=ValueError)
        check_int("seed", self.seed, 0, error=ValueError)
        if isinstance(self.crop, list):
            object.__setattr__(self, "crop", tuple(self.crop))
        if self.layer is not None and not isinstance(self.layer, str):
            raise ValueError(f"layer={self.layer!r} is not valid: expected a module name (str) or None")


    def to_dict(self) -> dict[str, Any]:
        """JSON-able options (``crop`` as a list)."""
        values = asdict(self)
        if isinstance(values["crop"], tuple):
            values["crop"] = list(values["crop"])
        return values

    def build(self, task: str, tokenizer: Any = None) -> Players:
        """The player type for a data task (``"image"`` or ``"text"``).

        Raises:
            ValueError: for another task, or options that do not fit it (e.g. ``n_players > grid^2``).
        """
        if task == "image":
            return ImagePatchPlayers(self.n_players, self.grid, self.layer, self.crop, self.image_baseline)
        if task == "text":
            return TextWordPlayers(self.n_players, tokenizer, self.text_baseline, self.seed, layer=self.layer)
        raise ValueError(
            f"the data module's task is {task!r}; interaction monitoring supports the tasks {TASKS} "
            f"(set a class attribute task = 'image' or 'text' on the data module)"
        )
