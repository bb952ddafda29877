"""The InteractionMonitor's settings in three groups: what is probed, how it is analysed, what is drawn.

Each group is a frozen dataclass that a config gives as a mapping (``probe: {split: train}``), validated once
here, so the monitor's constructor stays short and every setting has one home.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

from lit_interactions.callbacks.probe import PROBE_SPLITS
from lit_interactions.callbacks.probe_samples import ProbeSamples
from lit_interactions.callbacks.user_module import AUTO
from lit_interactions.checks import Options, check_int, check_optional_int

REWARDS = ("log_odds", "logit")


@dataclass(frozen=True)
class ProbeOptions(Options):
    """Which samples the monitor follows, on which players, and which output of them it explains.

    Attributes:
        split: ``"held_out"`` (the data's probe set, never trained on; default) or ``"train"`` (the first
            training samples, paper 2 Sec. 2.2's dynamics on training samples).
        samples: the probe samples themselves instead of the data module's probe set (Python API):
            ``(inputs, labels)`` image tensors, a dataset of ``(input, label)`` pairs, or :class:`ProbeSamples`.
        reward: the explained output: ``"log_odds"`` of the target class (paper 2, default) or its ``"logit"``
            (paper 1's MNIST-3 task: the pre-softmax score of the digit "3", with ``target_class: 1``).
        target_class: the class whose output is explained for every sample; None = each sample's label.
        players_from: a ``players.pt`` written by another run's monitor: use exactly those players.
    """

    what: ClassVar[str] = "probe"

    split: str = "held_out"
    samples: Any = None
    reward: str = "log_odds"
    target_class: int | None = None
    players_from: str | None = None

    def __post_init__(self) -> None:
        if self.split not in PROBE_SPLITS:
            raise ValueError(f"probe split={self.split!r} is not one of {PROBE_SPLITS}")
        if self.reward not in REWARDS:
            raise ValueError(f"probe reward={self.reward!r} is not one of {REWARDS}")
        check_optional_int("target_class", self.target_class, 0, error=ValueError, who="probe: ")
        object.__setattr__(self, "samples", ProbeSamples.from_value(self.samples))
        if self.samples is not None and self.split != "held_out":
            raise ValueError(f"probe samples are given, so split={self.split!r} cannot apply; leave split at "
                             f"'held_out' or give no samples")

    def settings(self) -> dict[str, Any]:
        """The settings a resumed run must share, those left at their defaults omitted (older checkpoints)."""
        return {
            **({"probe_split": self.split} if self.split != "held_out" else {}),
            **({"reward": self.reward} if self.reward != "log_odds" else {}),
            **({"target_class": self.target_class} if self.target_class is not None else {}),
        }


@dataclass(frozen=True)
class AnalysisOptions(Options):
    """How a measured epoch is summarised.

    Attributes:
        salience_ratio: ``tau = salience_ratio * mean |v(N) - v(empty)|`` (0.02, as in the papers).
        high_from: lowest "high" order of the high-order share; None = ``n // 2 + 1``.
        train_loss_key: the logged training loss kept per epoch (for the gap-widening epoch): ``"auto"`` = the
            package's classifiers' (``train/clean_loss``, else ``train/loss_epoch``, else ``train/loss``), a key
            your module logs, or None (not kept). A key that is not logged is an error.
        val_loss_key: the logged validation loss kept per epoch; None = not kept.
    """

    what: ClassVar[str] = "analysis"

    salience_ratio: float = 0.02
    high_from: int | None = None
    train_loss_key: str | None = AUTO
    val_loss_key: str | None = "val/loss"

    def __post_init__(self) -> None:
        if not (isinstance(self.salience_ratio, (int, float)) and self.salience_ratio > 0):
            raise ValueError(f"salience_ratio must be > 0, got {self.salience_ratio!r}")
        check_optional_int("high_from", self.high_from, 1, error=ValueError)



@dataclass(frozen=True)
class FigureOptions(Options):
    """The figures written (PNG, and wandb images) every measured epoch.

    Attributes:
        samples: probe samples drawn with their strongest interactions (the first ones).
        strongest: strongest AND and strongest OR interactions drawn per sample.
    """

    what: ClassVar[str] = "figures"

    samples: int = 1
    strongest: int = 3

    def __post_init__(self) -> None:
        check_int("samples", self.samples, 0, error=ValueError, who="figures: ")
        check_int("strongest", self.strongest, 1, error=ValueError, who="figures: ")

    @classmethod
    def from_value(cls, value: Any) -> Self | None:  # type: ignore[override]  # False / None: no figures
        """Options from themselves, a mapping of their fields, True (the defaults), or False / None (no figures)."""
        if value is False or value is None:
            return None
        return cls() if value is True else super().from_value(value)
