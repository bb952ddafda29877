"""The comparison's wandb run: tables with a run column, native charts, no keys named after runs (decoded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lit_interactions.reports import compare_runs, load_run
from tests.wandb_records import charts_of, history_rows, logged_tables, read_records

pytestmark = pytest.mark.slow

PRESETS = {
    "compare/eta_scatter": "wandb/scatter/v0",
    "compare/transferability": "wandb/line/v0",
    "compare/shared_by_order": "wandb/line/v0",
    "compare/shared_share": "wandb/bar/v0",
}


def test_the_compare_run_logs_tables_with_a_run_column_and_native_charts(two_runs: tuple[Path, Path],
                                                                         compare_dir: Path) -> None:
    [wandb_file] = list((compare_dir / "wandb").glob("offline-run-*/*.wandb"))
    records = read_records(wandb_file)
    result = compare_runs([load_run(p) for p in two_runs])
    labels = result.labels
    keys = {key for row in history_rows(records) for key in row}
    summary_keys = {item.key for r in records if r.WhichOneof("record_type") == "summary" for item in r.summary.update}
    assert not [key for key in keys | summary_keys if any(label in key for label in labels)]  # no run-named keys

    charts = charts_of(records)
    assert {key: chart["panelDefId"] for key, chart in charts.items()} == PRESETS
    assert charts["compare/transferability"]["fieldSettings"] == {"x": "ratio", "y": "transferability",
                                                                  "stroke": "series"}

    [eta] = logged_tables(wandb_file, "compare/eta")
    assert eta["columns"] == ["sample_id", "run", "eta"]
    assert len(eta["data"]) == len(labels) * len(result.ids)
    by_run = {(row[1], row[0]): row[2] for row in eta["data"]}
    for k, label in enumerate(labels):
        assert [by_run[label, int(i)] for i in result.ids] == pytest.approx(result.eta[k].tolist())

    [scatter] = logged_tables(wandb_file, "compare/eta_scatter_table")
    assert scatter["columns"] == ["pair", "sample_id", "run_a", "run_b", "eta_a", "eta_b"]
    assert [row[4] for row in scatter["data"]] == pytest.approx(result.eta[0].tolist())
    assert [row[5] for row in scatter["data"]] == pytest.approx(result.eta[1].tolist())

    [transfer] = logged_tables(wandb_file, "compare/transferability_table")
    joint_and = [row[4] for row in transfer["data"] if row[3] == "AND joint"]
    assert joint_and == pytest.approx(result.transfer_joint["AND"].tolist())
    assert [row[0] for row in transfer["data"] if row[3] == "AND joint"] == pytest.approx(list(result.ratios))

    [shares] = logged_tables(wandb_file, "compare/shared_share_table")
    assert {(row[0], row[1]): row[3] for row in shares["data"]} == pytest.approx(
        {(label, kind): float(s.share()[k]) for kind, s in (("own", result.shared_own), ("joint", result.shared_joint))
         for k, label in enumerate(labels)})
    [by_order] = logged_tables(wandb_file, "compare/shared_by_order_table")
    assert len(by_order["data"]) == 2 * 2 * len(labels) * (result.n_players + 1)  # own/joint x sign x run x order

    [agreement] = logged_tables(wandb_file, "compare/eta_agreement")
    assert agreement["data"][0][:2] == labels and agreement["data"][0][3] == pytest.approx(
        result.agreements[(0, 1)].pearson)
