"""A group of runs (e.g. the seeds of one recipe) read for an overview: each run's curves over epochs and the
config keys that differ between the runs.

Run folders are data: only JSON, CSV and YAML (``yaml.safe_load``) are read, nothing is executed. A folder
that lacks a file, or holds one that cannot be read, is kept with a message saying what is missing and how to get
it; it never stops the overview.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lit_interactions.reports.artifacts import INTERACTIONS, RunArtifactsError, _read_json, _read_metrics
from lit_interactions.reports.compare import unique_labels
from lit_interactions.reports.report import epoch_curves

RUN_MARKERS = ("config.yaml", "metrics.csv", INTERACTIONS)  # a folder holding one of these is a run directory
SEARCH_DEPTH = 2  # runs/ -> runs/<name>/<version>
HISTORY_KEYS = ("high_order_share", "eta_mean", "mean_order")  # history.json record fields drawn, as interactions/<key>
GENERALIZATION_KEYS = ("H", "H_low", "H_high")  # generalization.json scalars drawn, as generalization/<key>
SIGNIFICANT = 4  # digits shown, as the report tables show them


def rounded(value: float) -> float:
    """``value`` with :data:`SIGNIFICANT` significant digits: the number the overview shows."""
    return float(f"{value:.{SIGNIFICANT}g}")


def is_run_dir(folder: Path) -> bool:
    """Whether ``folder`` is a run directory (it holds ``config.yaml``, ``metrics.csv`` or ``interactions/``)."""
    return any((folder / marker).exists() for marker in RUN_MARKERS)


def run_dirs_under(folder: Path, depth: int = SEARCH_DEPTH) -> list[Path]:
    """The run directories at most ``depth`` levels below ``folder`` (not descending into runs), sorted."""
    found: list[Path] = []
    for child in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if is_run_dir(child):
            found.append(child)
        elif depth > 1:
            found += run_dirs_under(child, depth - 1)
    return found


def expand_runs(paths: Iterable[str | Path]) -> tuple[list[Path], set[Path]]:
    """Run directories for the given paths: a run directory stays, a folder of runs (``runs/<name>``, or
    ``runs``) expands to the run directories below it.

    Returns:
        ``(run directories in order without repeats, those that came from expanding a folder)``.

    Raises:
        RunArtifactsError: for a path that is not a directory, or a folder without run directories below it.
    """
    runs: list[Path] = []
    expanded: set[Path] = set()
    for given in paths:
        path = Path(given).expanduser()
        if not path.is_dir():
            raise RunArtifactsError(f"{path} is not a directory: give run directories (runs/<name>/<version>) or a "
                                    f"folder holding them (runs/<name>)")
        if path.name == INTERACTIONS and (path / "history.json").is_file():
            path = path.parent  # the interactions/ folder of a run, as compare always accepted
        if is_run_dir(path):
            found = [path]
        else:
            found = run_dirs_under(path)
            if not found:
                raise RunArtifactsError(
                    f"{path} is not a run directory and holds none up to {SEARCH_DEPTH} levels down (a run directory "
                    f"has {', '.join(RUN_MARKERS)}): give runs/<name>/<version> or a folder of runs, runs/<name>")
            expanded.update(found)
        runs += [run for run in found if run not in runs]
    return runs, expanded


@dataclass
class GroupRun:
    """One run of a group, as far as its files could be read.

    Attributes:
        path: the run directory.
        label: its name in the overview (``<name>/<version>``, unique in the group).
        config: the resolved ``config.yaml`` (``{}`` when absent or unreadable).
        series: ``{metric: {epoch: value}}``: ``interactions/<key>`` from ``history.json``, ``generalization/<key>``
            from ``generalization.json``, ``train/...`` and ``val/...`` accuracy and loss from ``metrics.csv``
            (epoch ``e`` = after ``e`` training epochs, as the monitor counts; 0 = the initial model).
        problems: what could not be read, and how to get it.
    """

    path: Path
    label: str
    config: dict[str, Any] = field(default_factory=dict)
    series: dict[str, dict[int, float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def epochs(self, metric: str) -> list[int]:
        """The epochs with a value of ``metric``, increasing."""
        return sorted(self.series.get(metric, {}))

    def values(self, metric: str) -> list[float]:
        """The values of ``metric`` at :meth:`epochs`."""
        series = self.series.get(metric, {})
        return [series[e] for e in sorted(series)]


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, None for anything else (a missing or non-numeric field)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _records(data: Any, name: str) -> list[dict[str, Any]]:
    """The ``records`` of a JSON artifact whose ``epoch`` is an integer.

    Raises:
        ValueError: if the file holds no such records.
    """
    records = data.get("records") if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise ValueError(f"{name} has no list of records")
    return [r for r in records if isinstance(r, dict) and isinstance(r.get("epoch"), int)]


def _add(series: dict[str, dict[int, float]], metric: str, epoch: int, value: Any) -> None:
    number = _finite(value)
    if number is not None:
        series.setdefault(metric, {})[epoch] = number


def _read_history(run: GroupRun) -> None:
    path = run.path / INTERACTIONS / "history.json"
    if not path.is_file():
        run.problems.append(f"no {INTERACTIONS}/history.json: no interaction curves (train with the "
                            f"InteractionMonitor, e.g. --config callbacks/interactions.yaml)")
        return
    for record in _records(_read_json(path), str(path)):
        for key in HISTORY_KEYS:
            _add(run.series, f"interactions/{key}", record["epoch"], record.get(key))


def _read_generalization(run: GroupRun) -> None:
    path = run.path / INTERACTIONS / "generalization.json"
    if not path.is_file():
        return  # optional: only runs with a baseline DNN (callbacks/baseline.yaml) have H
    for record in _records(_read_json(path), str(path)):
        raw = record.get("scalars")
        scalars = raw if isinstance(raw, dict) else {}
        for key in GENERALIZATION_KEYS:
            _add(run.series, f"generalization/{key}", record["epoch"], scalars.get(f"generalization/{key}"))


def _read_curves(run: GroupRun) -> None:
    path = run.path / "metrics.csv"
    if not path.is_file():
        run.problems.append("no metrics.csv: no loss and accuracy curves (the CSV logger writes it during fit)")
        return
    epochs, curves = epoch_curves(_read_metrics(path))
    for metric, values in curves.items():
        for epoch, value in zip(epochs, values.tolist()):
            _add(run.series, metric, epoch, value)


def _read_config(run: GroupRun) -> None:
    path = run.path / "config.yaml"
    if not path.is_file():
        run.problems.append("no config.yaml: left out of the config diff (fit writes it into the run directory)")
        return
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{path} is not valid YAML{where} ({getattr(error, 'problem', None) or 'unreadable'})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    run.config = config


def read_group_run(path: Path, label: str) -> GroupRun:
    """Read what a run directory holds; every unreadable or missing file becomes a message in ``problems``."""
    run = GroupRun(path, label)
    for read in (_read_config, _read_history, _read_generalization, _read_curves):
        try:
            read(run)
        except (OSError, ValueError, csv.Error) as error:  # invalid JSON, YAML, CSV or UTF-8
            run.problems.append(f"unreadable: {error}")
    return run


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys (``model.init_args.lr``); lists and scalars are leaves."""
    if not isinstance(config, dict) or (prefix and not config):
        return {prefix: config}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


ABSENT = "(absent)"


def _shown(value: Any) -> str:
    """A config value as the diff shows it: YAML scalars as written, lists and mappings as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


@dataclass(frozen=True)
class ConfigDiff:
    """The config keys whose values differ between the runs that have a ``config.yaml``.

    Attributes:
        labels: the runs compared (those with a config), in order.
        keys: the differing dotted keys, sorted.
        values: ``{key: [value shown per run]}`` (``"(absent)"`` where a run's config lacks the key).
    """

    labels: list[str]
    keys: list[str]
    values: dict[str, list[str]]

    def rows(self) -> list[list[str]]:
        """Table rows ``[key, value of run 1, value of run 2, ...]``."""
        return [[key, *self.values[key]] for key in self.keys]


def config_diff(runs: Sequence[GroupRun]) -> ConfigDiff:
    """The keys of the runs' configs whose values are not the same in all of them (a key only some have counts)."""
    with_config = [run for run in runs if run.config]
    flat = [flatten(run.config) for run in with_config]
    keys = sorted({key for config in flat for key in config})
    values: dict[str, list[str]] = {}
    for key in keys:
        shown = [_shown(config[key]) if key in config else ABSENT for config in flat]
        if len(set(shown)) > 1:
            values[key] = shown
    return ConfigDiff([run.label for run in with_config], list(values), values)


def run_label(path: Path) -> str:
    """``<name>/<version>`` of a run directory."""
    return f"{path.parent.name}/{path.name}"


def read_group(paths: Sequence[Path]) -> list[GroupRun]:
    """Every run directory of ``paths`` read, labelled as compare labels runs (repeats get ``#2``, ``#3`` ...)."""
    runs = [read_group_run(path, run_label(path)) for path in paths]
    for run, label in zip(runs, unique_labels(runs)):
        run.label = label
    return runs
