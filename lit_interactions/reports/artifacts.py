"""A run directory's artifacts, as the training run and its callbacks wrote them (see docs/monitoring.md).

:func:`load_run` reads what is needed up front (players, history, config, metrics and the optional JSON files
of the ConfusingSamples and HardSamples callbacks) and loads the per-epoch interactions on demand.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lit_interactions.data.registry import data_module_from_config
from lit_interactions.interactions import Interactions
from lit_interactions.players import ImagePatchPlayers, PlayerSelection

INTERACTIONS = "interactions"
REQUIRED = ("players.pt", "players.json", "history.json", "epoch_XXXX.safetensors")
EVALUATION_PREFIXES = {"validate": "val/", "test": "test/"}  # stage of metrics_<stage>.csv: its metrics' prefix


class RunArtifactsError(FileNotFoundError):
    """A folder is not a run directory with interaction artifacts."""


@dataclass(frozen=True)
class Evaluation:
    """The last ``lit-interactions validate`` or ``test`` of a run's checkpoint.

    Attributes:
        stage: ``"validate"`` or ``"test"``.
        metrics: the last row of ``metrics_<stage>.csv`` with a ``val/`` (validate) or ``test/`` (test) value.
        ckpt_path: ``ckpt_path`` of ``config_<stage>.yaml`` (the checkpoint evaluated), None when not recorded.
    """

    stage: str
    metrics: dict[str, float]
    ckpt_path: str | None


@dataclass
class RunArtifacts:
    """What a monitored run left in its directory.

    Attributes:
        path: the run directory (``runs/<name>/<version>``).
        label: a short name for figures and tables (``<name>/<version>``).
        selection: the probe samples' players (``interactions/players.pt``).
        feature_hw: ``(h, w)`` of the map the image patches split (``players.json``), None for text.
        history: ``interactions/history.json``.
        epochs: the epochs with an ``epoch_XXXX.safetensors`` file, increasing.
        config: the resolved ``config.yaml`` ({} when absent).
        metrics: ``metrics.csv`` rows with the empty cells left out ([] when absent).
        confusing: ``interactions/confusing_samples.json`` (ConfusingSamples), or None.
        hard: ``interactions/hard_samples.json`` (HardSamples), or None.
        generalization: ``interactions/generalization.json`` (BaselineGeneralizability), or None.
        evaluations: ``{stage: Evaluation}`` from ``metrics_validate.csv`` and ``metrics_test.csv`` when present.
    """

    path: Path
    label: str
    selection: PlayerSelection
    feature_hw: tuple[int, int] | None
    history: dict[str, Any]
    epochs: list[int]
    config: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, float]] = field(default_factory=list)
    confusing: dict[str, Any] | None = None
    hard: dict[str, Any] | None = None
    generalization: dict[str, Any] | None = None
    evaluations: dict[str, Evaluation] = field(default_factory=dict)

    @property
    def interactions_dir(self) -> Path:
        """``<run>/interactions``."""
        return self.path / INTERACTIONS

    @property
    def probe_ids(self) -> list[int]:
        """The probe sample ids the monitor followed, in its order."""
        return [int(i) for i in self.history.get("probe_ids", [])]

    @property
    def run_settings(self) -> dict[str, Any]:
        """The ``run:`` section of the config (name, group, project, ...)."""
        return dict(self.config.get("run") or {})

    @property
    def wandb_group(self) -> str:
        """The run's wandb group (``run.group``, default ``run.name``), as the training run used it."""
        run = self.run_settings
        return str(run.get("group") or run.get("name") or self.path.parent.name)

    def interactions(self, epoch: int) -> Interactions:
        """The monitor's interactions of ``epoch`` (``Interactions.load``)."""
        if epoch not in self.epochs:
            raise ValueError(f"{self.path} has no measurement of epoch {epoch}; measured epochs: {self.epochs}")
        return Interactions.load(self.interactions_dir / f"epoch_{epoch:04d}.safetensors")

    def hard_interactions(self, epoch: int) -> Interactions | None:
        """The HardSamples callback's interactions of ``epoch``, or None without that file."""
        path = self.interactions_dir / "hard_samples" / f"epoch_{epoch:04d}.safetensors"
        return Interactions.load(path) if path.is_file() else None

    def record(self, epoch: int) -> dict[str, Any]:
        """The ``history.json`` record of ``epoch``."""
        for record in self.history.get("records", []):
            if int(record["epoch"]) == epoch:
                return record
        raise ValueError(f"{self.path}: history.json has no record of epoch {epoch}")

    def players(self) -> ImagePatchPlayers | None:
        """The image player type that drew the patches (None for words, which need no geometry)."""
        if self.selection.kind == ImagePatchPlayers.kind:
            return ImagePatchPlayers.from_settings(self.selection.settings)
        return None

    def data_module(self) -> Any:
        """The run's data module rebuilt from ``config.yaml`` (``class_path`` / ``init_args``), set up for fit.

        Only this package's data modules with plain arguments are rebuilt (a run folder never runs code).

        Raises:
            ValueError: if the config has no ``data`` section with a ``class_path``.
            UnsafeConfigError: if it names anything else or arguments that are not plain values.
        """
        data = self.config.get("data") or {}
        if not isinstance(data, dict) or "class_path" not in data:
            raise ValueError(
                f"{self.path / 'config.yaml'} has no data.class_path: cannot rebuild the data module to draw samples"
            )
        dm = data_module_from_config(data)
        dm.setup("fit")
        return dm


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); was the run interrupted while writing it?") from None


def _read_metrics(path: Path) -> list[dict[str, float]]:
    """Rows of ``metrics.csv`` as ``{column: value}`` without the empty cells."""
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="") as file:
        for row in csv.DictReader(file):
            clean = {}
            for key, value in row.items():
                if key and value not in (None, ""):
                    try:
                        number = float(value)
                    except ValueError:
                        continue
                    if math.isfinite(number):
                        clean[key] = number
            rows.append(clean)
    return rows


def _read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping, {} when the file is absent or empty."""
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def _read_evaluation(run: Path, stage: str) -> Evaluation | None:
    """The last ``validate`` or ``test`` result of ``run`` (``metrics_<stage>.csv``), None without one."""
    prefix = EVALUATION_PREFIXES[stage]
    rows = [row for row in _read_metrics(run / f"metrics_{stage}.csv") if any(k.startswith(prefix) for k in row)]
    if not rows:
        return None
    ckpt_path = _read_yaml(run / f"config_{stage}.yaml").get("ckpt_path")
    return Evaluation(stage, rows[-1], None if ckpt_path is None else str(ckpt_path))


def _run_dir(path: str | Path) -> Path:
    """The run directory for ``path`` (a run directory, or its ``interactions/`` folder)."""
    folder = Path(path).expanduser()
    if folder.name == INTERACTIONS and not (folder / INTERACTIONS).is_dir() and (folder / "history.json").exists():
        folder = folder.parent
    if not folder.is_dir():
        raise RunArtifactsError(f"{folder} is not a directory: give a run directory such as runs/<name>/<version>")
    return folder


def load_run(path: str | Path, label: str | None = None) -> RunArtifacts:
    """Read a run directory's interaction artifacts.

    Args:
        path: the run directory (``runs/<name>/<version>``), or its ``interactions/`` folder.
        label: name used in figures (default ``<name>/<version>``).

    Raises:
        RunArtifactsError: if the folder has no ``interactions/`` artifacts (names the path and the files).
    """
    run = _run_dir(path)
    folder = run / INTERACTIONS
    epochs = sorted(int(p.stem.split("_")[1]) for p in folder.glob("epoch_[0-9]*.safetensors"))
    missing = [name for name in ("players.pt", "players.json", "history.json") if not (folder / name).is_file()]
    if not epochs:
        missing.append("epoch_XXXX.safetensors")
    if missing:
        raise RunArtifactsError(
            f"{run} has no complete interaction artifacts: {folder} lacks {', '.join(missing)} (expected "
            f"{', '.join(REQUIRED)}, written by the InteractionMonitor). Train with the monitor "
            f"(--config callbacks/interactions.yaml, or the quickstart) and give that run's directory"
        )
    players_info = _read_json(folder / "players.json")
    feature_hw = players_info.get("feature_hw")
    optional = {name: _read_json(folder / f"{name}.json") if (folder / f"{name}.json").is_file() else None
                for name in ("confusing_samples", "hard_samples", "generalization")}
    return RunArtifacts(
        path=run,
        label=label or f"{run.parent.name}/{run.name}",
        selection=PlayerSelection.load(folder / "players.pt"),
        feature_hw=None if feature_hw is None else (int(feature_hw[0]), int(feature_hw[1])),
        history=_read_json(folder / "history.json"),
        epochs=epochs,
        config=_read_yaml(run / "config.yaml"),
        metrics=_read_metrics(run / "metrics.csv"),
        confusing=optional["confusing_samples"],
        hard=optional["hard_samples"],
        generalization=optional["generalization"],
        evaluations={stage: evaluation for stage in EVALUATION_PREFIXES
                     if (evaluation := _read_evaluation(run, stage)) is not None},
    )
