"""The group overview of ``compare``: every run's curves (values as the page shows them) and the config diff."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

from lit_interactions.reports.artifacts import RunArtifactsError
from lit_interactions.reports.commands import main as commands_main
from lit_interactions.reports.group import config_diff, expand_runs, read_group
from lit_interactions.reports.group_page import PLOTLY_JS, write_group_page
from tests.reports.group_runs import HISTORY, LOSSES, H, make_group
from tests.reports.helpers import make_run

PLOT = re.compile(r'<script type="application/json" class="plot-data" data-target="([^"]+)">(.*?)</script>', re.S)


def plot_data(html: str) -> dict:
    """The plotly figure the page draws, parsed from its JSON block."""
    blocks = PLOT.findall(html)
    assert len(blocks) == 1, blocks
    return json.loads(blocks[0][1])


def trace(figure: dict, run: str, metric: str) -> dict:
    found = [t for t in figure["data"] if t["name"] == f"quickstart/{run}" and t["meta"] == metric]
    assert len(found) == 1, (run, metric, [(t["name"], t["meta"]) for t in figure["data"]])
    return found[0]


def test_a_group_folder_expands_to_its_runs(tmp_path: Path) -> None:
    group = make_group(tmp_path / "runs")
    runs = sorted(group / name for name in ("broken", "seed0", "seed1"))
    assert expand_runs([group]) == (runs, set(runs))
    assert expand_runs([tmp_path / "runs"]) == (runs, set(runs))  # two levels down: runs/<name>/<version>
    assert expand_runs([group / "seed1", group]) == ([group / "seed1", *runs[:2]], set(runs))  # no repeats
    assert expand_runs([group / "seed0" / "interactions"])[0] == [group / "seed0"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunArtifactsError, match="empty is not a run directory and holds none"):
        expand_runs([tmp_path / "empty"])
    with pytest.raises(RunArtifactsError, match="nowhere is not a directory"):
        expand_runs([tmp_path / "nowhere"])


def test_the_page_holds_every_run_s_values_as_rounded_and_shown(tmp_path: Path) -> None:
    group = make_group(tmp_path / "runs")
    out = write_group_page(read_group(expand_runs([group])[0]), tmp_path / "out")
    assert (tmp_path / "out" / PLOTLY_JS).stat().st_size > 1_000_000  # the library itself, beside the page
    html = out.html.read_text()
    assert f'<script src="{PLOTLY_JS}"></script>' in html and "http" not in html.split("<body>")[0]
    figure = plot_data(html)
    for run, records in HISTORY.items():
        epochs = sorted(records)
        for column, metric in enumerate(("interactions/high_order_share", "interactions/eta_mean",
                                         "interactions/mean_order")):
            line = trace(figure, run, metric)
            assert line["x"] == epochs
            assert line["y"] == [float(f"{records[e][column]:.4g}") for e in epochs]
        # Lightning's epoch e is the monitor's e + 1; the last value of the epoch, never a step value
        for column, metric in enumerate(("train/loss", "val/loss", "train/acc", "val/acc")):
            line = trace(figure, run, metric)
            assert line["x"] == [e + 1 for e in sorted(LOSSES[run])]
            assert line["y"] == [float(f"{LOSSES[run][e][column]:.4g}") for e in sorted(LOSSES[run])]
    assert trace(figure, "seed1", "generalization/H")["y"] == [0.6123, 0.7099]
    assert not [t for t in figure["data"] if t["name"] == "quickstart/seed0" and t["meta"].startswith("gen")]
    assert trace(figure, "seed0", "interactions/high_order_share")["y"] == [0.01235, 0.04568]  # by hand
    assert "%{y:.4~g}" in trace(figure, "seed0", "val/loss")["hovertemplate"]  # shown as rounded
    # group.json keeps the full precision
    data = json.loads(out.json.read_text())
    seed1 = next(r for r in data["runs"] if r["label"] == "quickstart/seed1")
    assert seed1["series"]["generalization/H"] == {"epochs": sorted(H["seed1"]), "values": list(H["seed1"].values())}


def test_the_config_diff_lists_exactly_the_differing_keys(tmp_path: Path) -> None:
    group = make_group(tmp_path / "runs")
    runs = read_group([group / "seed0", group / "seed1"])
    diff = config_diff(runs)
    assert diff.labels == ["quickstart/seed0", "quickstart/seed1"]
    assert diff.keys == ["data.init_args.train_subset", "seed_everything", "transplant_from"]
    assert diff.rows() == [["data.init_args.train_subset", "0", "1"], ["seed_everything", "0", "1"],
                           ["transplant_from", "(absent)", "runs/donor/v0/checkpoints/last.ckpt"]]
    assert config_diff(read_group([group / "seed0", group / "seed0"])).keys == []  # the same config twice
    html = unescape(write_group_page(runs, tmp_path / "out").html.read_text())
    table = html.split('id="config"')[1]
    assert all(key in table for key in diff.keys)
    assert "model.init_args.lr" not in table and "run.tags" not in table


def test_a_run_missing_files_is_listed_with_a_message(tmp_path: Path) -> None:
    group = make_group(tmp_path / "runs")
    runs = read_group(expand_runs([group])[0])
    broken = runs[0]
    assert broken.label == "quickstart/broken" and broken.series == {} and broken.config == {}
    assert len(broken.problems) == 3, broken.problems
    assert "config.yaml is not valid YAML at line 2" in broken.problems[0]
    assert "no interactions/history.json" in broken.problems[1] and "InteractionMonitor" in broken.problems[1]
    assert "no metrics.csv" in broken.problems[2]
    (group / "seed0" / "interactions" / "history.json").write_text('{"records": [')  # interrupted while writing
    seed0 = read_group([group / "seed0"])[0]
    assert any("history.json is not valid JSON" in p for p in seed0.problems)
    assert "train/loss" in seed0.series  # the other files are still read
    html = unescape(write_group_page(runs, tmp_path / "out").html.read_text())
    assert "1 lack files or have unreadable ones: quickstart/broken" in html
    assert "Left out (no readable config.yaml): quickstart/broken" in html


def test_compare_of_a_group_folder_writes_the_overview(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    group = make_group(tmp_path / "runs")
    out = tmp_path / "out"
    assert commands_main(["compare", str(group), "--overview-only", "--out", str(out)]) == 0
    assert f"wrote {out / 'group.html'}" in capsys.readouterr().out
    assert not (out / "compare.html").exists()
    # without --overview-only: the runs have no interaction artifacts, so the comparison says why and how
    assert commands_main(["compare", str(group), "--out", str(tmp_path / "out2"), "--wandb-mode=disabled"]) == 2
    error = capsys.readouterr().err
    assert (tmp_path / "out2" / "group.html").is_file()
    assert "only 0 of the 3 runs have the monitor's interaction artifacts; compare needs 2" in error
    assert "--overview-only" in error and "Traceback" not in error


def test_compare_of_a_group_folder_compares_its_monitored_runs(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    group = tmp_path / "runs" / "recipe"
    for name in ("a", "b"):
        make_run(group / name, {0: [1, 2, 3, 4], 1: [1, 1, 2, 2]})
    (group / "c").mkdir()
    (group / "c" / "metrics.csv").write_text("epoch,val/loss\n0,0.5\n")  # a run without the monitor
    out = tmp_path / "out"
    assert commands_main(["compare", str(group), "--out", str(out), "--wandb-mode", "disabled"]) == 0
    assert f"skipped {group / 'c'}" in capsys.readouterr().out
    assert json.loads((out / "compare.json").read_text())["runs"][1]["label"] == "recipe/b"
    figure = plot_data((out / "group.html").read_text())
    assert [t["name"] for t in figure["data"] if t["meta"] == "interactions/eta_mean"] == ["recipe/a", "recipe/b"]
    assert [t["y"] for t in figure["data"] if t["meta"] == "val/loss"] == [[0.5]]  # c's curve, epoch 1
