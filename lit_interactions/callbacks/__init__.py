"""Lightning callbacks that measure AND-OR interactions while a model trains.

- :class:`InteractionMonitor`: interactions of fixed probe samples on fixed players every k epochs
  (from the initial model on), order profiles, the two-phase turn vs the loss-gap widening.
- :class:`ConfusingSamples`: eta^avg per probe sample per epoch and the confusing set (needs the monitor).
- :class:`HardSamples`: hardest vs random easy training samples, compared by eta (needs the monitor).
- :class:`BaselineGeneralizability`: generalizable interactions against a baseline DNN (needs the monitor).
- :class:`PredictionCSVWriter`: per-sample predictions of ``lit-interactions predict`` (added by the CLI).

Any LightningModule and DataModule work with them through a small protocol (``ProbeSamples``, loss keys,
per-sample losses from ``training_step``): ``docs/custom_modules.md``. Each has a composable YAML in the top-level ``callbacks/`` folder; see ``docs/monitoring.md``.
"""

from lit_interactions.callbacks.baseline import BaselineGeneralizability
from lit_interactions.callbacks.confusing import ConfusingSamples
from lit_interactions.callbacks.extraction import extract_interactions, extract_sharded
from lit_interactions.callbacks.hard import HardSamples
from lit_interactions.callbacks.history import MonitorHistory
from lit_interactions.callbacks.monitor import (
    InteractionMonitor,
    Measurement,
    find_monitor,
)
from lit_interactions.callbacks.monitor_options import AnalysisOptions, FigureOptions, ProbeOptions
from lit_interactions.callbacks.predictions import PredictionCSVWriter
from lit_interactions.callbacks.probe import PlayerOptions
from lit_interactions.callbacks.probe_samples import ProbeSamples
from lit_interactions.callbacks.rng import isolated_rng

__all__ = [
    "AnalysisOptions",
    "BaselineGeneralizability",
    "ConfusingSamples",
    "FigureOptions",
    "HardSamples",
    "InteractionMonitor",
    "Measurement",
    "MonitorHistory",
    "PlayerOptions",
    "PredictionCSVWriter",
    "ProbeOptions",
    "ProbeSamples",
    "extract_interactions",
    "extract_sharded",
    "find_monitor",
    "isolated_rng",
]
