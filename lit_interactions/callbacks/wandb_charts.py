"""The monitor's native wandb charts: the per-order profile over the epochs (a heatmap) and eta^avg per epoch.

Both are logged on the epoch axis with every measurement (only when a wandb logger is attached):

- ``interactions/order_profile``: a table with one row per measured epoch and order (``epoch``, ``order``,
  ``positive`` = mean summed positive salient effects, ``negative`` (<= 0), ``strength`` = positive + |negative|,
  ``share`` = that order's part of the epoch's strength) drawn as a heatmap of ``share`` (epochs x orders), the
  two-phase picture of the PNG ``order_distribution.png`` as a chart the dashboard shows per run;
- ``interactions/eta_distribution``: a ``wandb.Histogram`` of the probe samples' eta^avg, which wandb draws over
  the epochs and overlays across the runs of a group.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lit_interactions.callbacks.history import MonitorHistory
from lit_interactions.io.wandb_charts import WandbChart, wandb_histogram

PREFIX = "interactions"
ORDER_PROFILE_COLUMNS = ("epoch", "order", "positive", "negative", "strength", "share")


def order_profile_chart(history: MonitorHistory) -> WandbChart:
    """The heatmap of every measured epoch's strength share per order (see the module docstring)."""
    i_pos, i_neg = history.profiles()
    rows: list[list[Any]] = []
    for epoch, pos, neg in zip(history.epochs, i_pos, i_neg):
        strength = pos + np.abs(neg)
        total = float(strength.sum())
        for order in range(len(pos)):
            share = float(strength[order] / total) if total > 0 else 0.0
            rows.append([epoch, order, float(pos[order]), float(neg[order]), float(strength[order]), share])
    return WandbChart(
        "heatmap", ORDER_PROFILE_COLUMNS, rows, x="epoch", y="order", value="share",
        title="share of salient interaction strength per order, over the epochs",
    )


def monitor_payload(history: MonitorHistory, eta: np.ndarray) -> dict[str, Any]:
    """``{key: chart or histogram}`` of one measurement (``eta``: the epoch's eta^avg per probe sample)."""
    return {
        f"{PREFIX}/order_profile": order_profile_chart(history),
        f"{PREFIX}/eta_distribution": wandb_histogram(eta.tolist()),
    }
