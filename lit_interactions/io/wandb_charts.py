"""Native wandb charts as plain data: a table and the wandb chart preset drawn from it, built into wandb objects late.

The callbacks and the comparison describe their charts as :class:`WandbChart` values (testable without wandb) and
:meth:`WandbChart.to_wandb` turns one into a ``wandb.plot`` chart when it is logged. wandb keeps the table in the
run (``<key>_table``) and the chart's preset in the run config (``_wandb.visualize.<key>``); an offline run syncs
both later, and the dashboard draws the chart of every run of a group side by side or overlaid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ChartKind = Literal["line", "bar", "scatter", "heatmap"]
# wandb has no heatmap preset of its own; its confusion-matrix preset is a heatmap of (row, column, value) cells.
HEATMAP_PRESET = "wandb/confusion_matrix/v1"


@dataclass(frozen=True)
class WandbChart:
    """A table and how wandb draws it.

    Attributes:
        kind: ``"line"`` (x, y, one line per ``group``), ``"bar"`` (label ``x``, value ``y``), ``"scatter"``
            (x, y) or ``"heatmap"`` (rows ``x``, columns ``y``, cell colour ``value``).
        columns: the table's column names.
        rows: the table's rows (plain numbers and strings).
        x: column of the x axis (the bar label, the heatmap's rows).
        y: column of the y axis (the bar value, the heatmap's columns).
        group: line: column whose values are drawn as separate lines.
        value: heatmap: column of the cell values.
        title: the chart's title.
    """

    kind: ChartKind
    columns: tuple[str, ...]
    rows: list[list[Any]] = field(default_factory=list)
    x: str = ""
    y: str = ""
    group: str | None = None
    value: str | None = None
    title: str = ""

    def __post_init__(self) -> None:
        used = [self.x, self.y, *(c for c in (self.group, self.value) if c is not None)]
        missing = [c for c in used if c not in self.columns]
        if missing:
            raise ValueError(f"chart {self.title!r}: columns {missing} are not among the table's {list(self.columns)}")
        if self.kind == "heatmap" and self.value is None:
            raise ValueError(f"chart {self.title!r}: a heatmap needs the column of its cell values (value=...)")
        if self.kind not in ("line", "bar", "scatter", "heatmap"):
            raise ValueError(f"chart kind {self.kind!r} is not one of line, bar, scatter, heatmap")

    def column(self, name: str) -> list[Any]:
        """The values of one column, in row order."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def to_wandb(self) -> Any:
        """The ``wandb.plot`` chart (a ``CustomChart``) to pass to ``run.log``."""
        import wandb

        table = wandb.Table(columns=list(self.columns), data=[list(row) for row in self.rows])
        if self.kind == "line":
            return wandb.plot.line(table, self.x, self.y, stroke=self.group, title=self.title)
        if self.kind == "bar":
            return wandb.plot.bar(table, self.x, self.y, title=self.title)
        if self.kind == "scatter":
            return wandb.plot.scatter(table, self.x, self.y, title=self.title)
        fields = {"Actual": self.x, "Predicted": self.y, "nPredictions": self.value}
        return wandb.plot_table(HEATMAP_PRESET, table, fields, {"title": self.title})


def wandb_histogram(values: Sequence[float], num_bins: int = 32) -> Any:
    """A ``wandb.Histogram`` of ``values`` (logged per epoch, wandb draws the distributions over the epochs)."""
    import wandb

    return wandb.Histogram(list(values), num_bins=num_bins)
