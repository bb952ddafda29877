"""The group overview of ``lit-interactions compare``: ``group.html`` and ``group.json`` beside ``compare.html``.

Every run's dynamics over epochs side by side in one interactive plotly figure (a panel per metric, a colour per
run, the values on hover, rounded to 4 significant digits), the config keys that differ between the runs, and
each run's missing files. The page draws with ``plotly.min.js`` written beside it: it needs no network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import plotly.colors
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from lit_interactions.io.atomic import atomic_write_text
from lit_interactions.io.files import write_json
from lit_interactions.reports.group import ConfigDiff, GroupRun, config_diff, rounded
from lit_interactions.reports.html import PlotRef, Section, Table, write_page

PLOTLY_JS = "plotly.min.js"
COLUMNS = 2
HOVER = "%{fullData.name}<br>%{meta}<br>epoch %{x}: %{y:.4~g}<extra></extra>"  # names are data, never markup
PALETTE = tuple(plotly.colors.qualitative.D3)  # a colour per run (matplotlib's tab10)


@dataclass(frozen=True)
class Panel:
    """One panel of the dynamics figure: a title and the metrics drawn in it (one line per run and metric)."""

    title: str
    metrics: tuple[str, ...]


PANELS = (
    Panel("high-order share", ("interactions/high_order_share",)),
    Panel("eta^avg mean", ("interactions/eta_mean",)),
    Panel("mean order of salient interactions", ("interactions/mean_order",)),
    Panel("H (generalizable share)", ("generalization/H", "generalization/H_low", "generalization/H_high")),
    Panel("loss", ("train/loss", "val/loss")),
    Panel("accuracy", ("train/acc", "val/acc")),
    Panel("balanced accuracy", ("train/balanced_acc", "val/balanced_acc")),
)


@dataclass
class GroupOutput:
    """Where the overview was written."""

    html: Path
    json: Path


def dynamics_figure(runs: Sequence[GroupRun]) -> tuple[go.Figure | None, list[Panel]]:
    """The plotly figure of every run's metrics over epochs, and the panels it has.

    Panels without a value in any run are left out; a run's line shows its values rounded to 4 significant digits
    (the numbers in the page and on hover).
    """
    panels = [panel for panel in PANELS if any(run.series.get(m) for run in runs for m in panel.metrics)]
    if not panels:
        return None, []
    rows = math.ceil(len(panels) / COLUMNS)
    fig = make_subplots(rows=rows, cols=COLUMNS, subplot_titles=[p.title for p in panels],
                        horizontal_spacing=0.08, vertical_spacing=0.4 / rows)
    for r, run in enumerate(runs):
        color = PALETTE[r % len(PALETTE)]
        shown = False
        for p, panel in enumerate(panels):
            for metric in panel.metrics:
                if not run.series.get(metric):
                    continue
                fig.add_scatter(
                    x=run.epochs(metric), y=[rounded(v) for v in run.values(metric)], mode="lines+markers",
                    name=run.label, legendgroup=run.label, showlegend=not shown,
                    line={"color": color, "dash": _line_style(metric)}, marker={"size": 6},
                    meta=metric, hovertemplate=HOVER,
                    row=p // COLUMNS + 1, col=p % COLUMNS + 1,
                )
                shown = True
    last = max((e for run in runs for series in run.series.values() for e in series), default=1)
    fig.update_xaxes(title_text="epoch", tick0=0, dtick=max(1, math.ceil(last / 10)), rangemode="tozero")
    fig.update_layout(template="plotly_white", height=300 * rows + 140, margin={"t": 90, "l": 50, "r": 20, "b": 50},
                      hovermode="closest",
                      legend={"orientation": "h", "yref": "container", "y": 0.99, "yanchor": "top", "x": 0})
    return fig, panels


def _line_style(metric: str) -> str:
    """Solid for train and interaction metrics, dashed for validation, dotted for H_low, dash-dot for H_high."""
    return {"val": "dash"}.get(metric.partition("/")[0]) or {"generalization/H_low": "dot",
                                                            "generalization/H_high": "dashdot"}.get(metric, "solid")


def _runs_section(runs: Sequence[GroupRun]) -> Section:
    rows = []
    for run in runs:
        epochs = sorted({e for series in run.series.values() for e in series})
        rows.append([run.label, str(run.path), f"{epochs[0]}..{epochs[-1]}" if epochs else "–",
                     f"{len(run.problems)} missing or unreadable (below)" if run.problems else "all read"])
    incomplete = [run for run in runs if run.problems]
    section = Section("Runs", "runs", paragraphs=[
        f"{len(runs)} run directories. Epoch 0 is the initial model, epoch e the model after e training epochs "
        f"(as the monitor counts)."
        + (f" {len(incomplete)} lack files or have unreadable ones: {', '.join(r.label for r in incomplete)}."
           if incomplete else "")],
        tables=[Table(["run", "directory", "epochs", "files"], rows)])
    section.paragraphs += [f"{run.label}: {problem}" for run in incomplete for problem in run.problems]
    return section


def _dynamics_section(figure: go.Figure | None, panels: list[Panel]) -> Section:
    section = Section("Dynamics over epochs", "dynamics")
    if figure is None:
        section.missing = ("No run has interaction curves (interactions/history.json) or losses (metrics.csv): "
                           "nothing to draw.")
        return section
    section.paragraphs.append(
        "One colour per run (click a run in the legend to hide it in every panel); solid lines: training or "
        "interaction metrics, dashed: validation; in the H panel dotted is H_low and dash-dot H_high. Hover a point "
        "for its value (4 significant digits). Interaction metrics come from interactions/history.json, H from "
        "interactions/generalization.json (runs with a baseline DNN), losses and accuracies from metrics.csv (the "
        "last value logged in each epoch).")
    section.plots.append(PlotRef("dynamics-plot", figure.to_json(),
                                 ", ".join(p.title for p in panels)))
    return section


def _config_section(diff: ConfigDiff, runs: Sequence[GroupRun]) -> Section:
    section = Section("Config differences", "config")
    without = [run.label for run in runs if not run.config]
    note = f" Left out (no readable config.yaml): {', '.join(without)}." if without else ""
    if len(diff.labels) < 2:
        section.missing = f"Fewer than 2 runs have a config.yaml: nothing to compare.{note}"
        return section
    if not diff.keys:
        section.paragraphs.append(f"The {len(diff.labels)} runs' config.yaml files hold the same values.{note}")
        return section
    section.paragraphs.append(
        f"The {len(diff.keys)} keys of config.yaml whose values differ between the runs (dotted paths; "
        f"\"(absent)\": the run's config has no such key); every other key is the same in all runs.{note}")
    section.tables.append(Table(["key", *diff.labels], diff.rows()))
    return section


def write_plotly_js(out_dir: Path) -> Path:
    """Write the plotly.js bundle of the installed plotly beside the pages (atomically); returns its path."""
    path = out_dir / PLOTLY_JS
    atomic_write_text(path, get_plotlyjs())
    return path


def write_group_page(runs: Sequence[GroupRun], out_dir: Path) -> GroupOutput:
    """Write ``group.html``, ``group.json`` and ``plotly.min.js`` into ``out_dir``.

    ``group.json`` holds every series at full precision (``{run: {metric: {"epochs", "values"}}}``), the config
    diff and each run's problems.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    figure, panels = dynamics_figure(runs)
    diff = config_diff(runs)
    sections = [_runs_section(runs), _dynamics_section(figure, panels), _config_section(diff, runs)]
    json_path = out_dir / "group.json"
    write_json(json_path, {
        "runs": [{"label": run.label, "path": str(run.path), "problems": run.problems,
                  "series": {metric: {"epochs": run.epochs(metric), "values": run.values(metric)}
                             for metric in sorted(run.series)}} for run in runs],
        "config_diff": {"runs": diff.labels, "keys": {key: diff.values[key] for key in diff.keys}},
    })
    scripts = [write_plotly_js(out_dir).name] if panels else []
    html = write_page(out_dir / "group.html", "Group overview",
                      f"{len(runs)} runs: dynamics over epochs and config differences", sections, scripts)
    return GroupOutput(html, json_path)
