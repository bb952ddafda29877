"""Native wandb charts as data: checked columns, the wandb presets they become, the monitor's order-profile table."""

from __future__ import annotations

import pytest

from lit_interactions.callbacks.history import MonitorHistory
from lit_interactions.callbacks.wandb_charts import order_profile_chart
from lit_interactions.io.wandb_charts import HEATMAP_PRESET, WandbChart


def test_a_chart_names_only_columns_of_its_table_and_becomes_its_wandb_preset() -> None:
    with pytest.raises(ValueError, match=r"columns \['share'\] are not among the table's \['epoch', 'order'\]"):
        WandbChart("line", ("epoch", "order"), [], x="epoch", y="share")
    with pytest.raises(ValueError, match="a heatmap needs the column of its cell values"):
        WandbChart("heatmap", ("epoch", "order"), [], x="epoch", y="order")
    line = WandbChart("line", ("x", "y", "run"), [[0, 1.0, "a"]], x="x", y="y", group="run", title="t").to_wandb()
    assert (line.spec.spec_name, line.spec.fields) == ("wandb/line/v0", {"x": "x", "y": "y", "stroke": "run"})
    heat = WandbChart("heatmap", ("e", "k", "v"), [[0, 1, 0.5]], x="e", y="k", value="v").to_wandb()
    assert heat.spec.spec_name == HEATMAP_PRESET
    assert heat.spec.fields == {"Actual": "e", "Predicted": "k", "nPredictions": "v"}
    assert heat.table.columns == ["e", "k", "v"] and heat.table.data == [[0, 1, 0.5]]


def test_the_order_profile_table_holds_every_epoch_and_order_with_its_share() -> None:
    history = MonitorHistory()
    history.add({"epoch": 0, "I_pos": [0.0, 3.0, 1.0], "I_neg": [0.0, -1.0, 0.0]})
    history.add({"epoch": 2, "I_pos": [0.0, 0.0, 0.0], "I_neg": [0.0, 0.0, 0.0]})  # no salient interaction
    chart = order_profile_chart(history)
    assert chart.rows == [
        [0, 0, 0.0, 0.0, 0.0, 0.0], [0, 1, 3.0, -1.0, 4.0, 0.8], [0, 2, 1.0, 0.0, 1.0, 0.2],
        [2, 0, 0.0, 0.0, 0.0, 0.0], [2, 1, 0.0, 0.0, 0.0, 0.0], [2, 2, 0.0, 0.0, 0.0, 0.0],
    ]
    assert (chart.kind, chart.x, chart.y, chart.value) == ("heatmap", "epoch", "order", "share")
