"""The run report on hand-made run folders (no training): the confusing threshold as stored, the accuracy
labels, and the last validate/test results read from metrics_<stage>.csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

import lit_interactions.reports.report as report_module
from lit_interactions.reports import load_run, write_report
from lit_interactions.reports.report import (
    evaluation_rows,
    metric_label,
    percent,
    stored_threshold,
)
from tests.reports.helpers import make_run

ETA = [1.5, 4.00431234, 2.25, 3.0]  # sample 11 (position 1) is the one confusing sample at fraction 0.25
THRESHOLD = 4.00431234


def write_csv(path: Path, rows: list[dict[str, float]]) -> None:
    """A metrics CSV as Lightning's CSVLogger writes it: every column in the header, empty cells elsewhere."""
    columns = sorted({key for row in rows for key in row})
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        writer.writerows(rows)


def run_with_confusing_samples(path: Path) -> Path:
    """A run whose epoch 1 has the eta values ``ETA`` and the ConfusingSamples file of fraction 0.25."""
    make_run(path, {0: [1, 1, 2, 2], 1: [1, 4, 2, 3]})
    history_path = path / "interactions" / "history.json"
    history = json.loads(history_path.read_text())
    history["records"][1]["eta"] = ETA
    history_path.write_text(json.dumps(history))
    records = [{"epoch": 0, "ids": [10, 11, 12, 13], "eta": [1.0, 1.0, 2.0, 2.0], "confusing": [12],
                "eta_threshold": 2.0},
               {"epoch": 1, "ids": [10, 11, 12, 13], "eta": ETA, "confusing": [11], "eta_threshold": THRESHOLD}]
    (path / "interactions" / "confusing_samples.json").write_text(json.dumps(
        {"fraction": 0.25, "epochs": [0, 1], "confusing": {"0": [12], "1": [11]}, "records": records}))
    return path


def test_the_eta_section_states_the_stored_threshold_with_all_its_digits(tmp_path: Path) -> None:
    run = load_run(run_with_confusing_samples(tmp_path / "quickstart" / "a"))
    assert stored_threshold(run.confusing, 1) == THRESHOLD and stored_threshold(None, 1) is None
    out = write_report(run, tmp_path / "report")
    html = out.html.read_text()
    assert ("The confusing samples are the top 25 % by eta^avg (1 of 4, ties broken by position); the smallest "
            "eta^avg among them is 4.00431234 (eta_threshold in confusing_samples.json).") in html
    assert "eta &gt;= 4" not in html and "eta >= 4" not in html  # never the rounded rule
    data = json.loads(out.json.read_text())
    assert data["eta"]["threshold"] == THRESHOLD and data["eta"]["fraction"] == 0.25


def test_without_confusing_samples_the_threshold_is_computed_and_said_so(tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path / "quickstart" / "a", {1: [1, 2, 3, 4, 1, 2, 3, 4, 1, 2]}))
    html = write_report(run, tmp_path / "report").html.read_text()
    assert ("top 10 % by eta^avg (1 of 10, ties broken by position); the smallest eta^avg among them is 4 "
            "(computed here: no ConfusingSamples record of this epoch)") in html


def test_percent_and_labels_are_never_rounded_or_cryptic() -> None:
    assert [percent(f) for f in (0.1, 0.125, 1.0)] == ["10 %", "12.5 %", "100 %"]
    assert [metric_label(k) for k in ("val/acc", "val/balanced_acc", "train/loss", "test/clean_loss")] == [
        "val accuracy", "val balanced accuracy", "train loss", "test clean loss"]


def test_the_report_shows_the_last_test_with_its_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_run(tmp_path / "quickstart" / "a", {0: [1, 2], 1: [2, 1]})
    write_csv(path / "metrics.csv", [
        {"epoch": 0, "step": 9, "train/acc": 0.5, "train/loss_epoch": 0.9},
        {"epoch": 0, "step": 9, "val/acc": 0.75, "val/balanced_acc": 0.625, "val/loss": 0.5}])
    write_csv(path / "metrics_test.csv", [  # two test sessions appended; the last is the one config_test.yaml names
        {"epoch": 0, "step": 0, "test/acc": 0.5, "test/loss": 1.0},
        {"epoch": 0, "step": 0, "test/acc": 0.875, "test/balanced_acc": 0.75, "test/loss": 0.25}])
    ckpt = str(path / "checkpoints" / "last.ckpt")
    (path / "config_test.yaml").write_text(yaml.safe_dump({"ckpt_path": ckpt}))
    run = load_run(path)
    assert set(run.evaluations) == {"test"} and run.evaluations["test"].ckpt_path == ckpt
    assert evaluation_rows(run.evaluations) == [
        ["metrics_test.csv", ckpt, "test accuracy", 0.875],
        ["metrics_test.csv", ckpt, "test balanced accuracy", 0.75],
        ["metrics_test.csv", ckpt, "test loss", 0.25]]
    drawn: dict[str, list[str]] = {}

    def curves_figure(epochs, series, title, **kwargs):  # noqa: ANN001, ANN202 (records the curves drawn)
        drawn[title] = list(series)
        return real_curves_figure(epochs, series, title, **kwargs)

    real_curves_figure = report_module.curves_figure
    monkeypatch.setattr(report_module, "curves_figure", curves_figure)
    out = write_report(run, tmp_path / "report")
    assert drawn["accuracy per epoch"] == ["train accuracy", "val accuracy", "val balanced accuracy"]
    assert drawn["loss per epoch"] == ["train loss", "val loss"]
    data = json.loads(out.json.read_text())
    assert data["evaluations"]["test"] == {"ckpt_path": ckpt, "metrics": {
        "epoch": 0.0, "step": 0.0, "test/acc": 0.875, "test/balanced_acc": 0.75, "test/loss": 0.25}}
    assert data["curves"] == {"epochs": [1], "train/acc": [0.5], "train/loss": [0.9], "val/acc": [0.75],
                              "val/balanced_acc": [0.625], "val/loss": [0.5]}
    html = out.html.read_text()
    assert f"<td>{ckpt}</td>" in html and "<td>test balanced accuracy</td>" in html and "<td>0.875</td>" in html
    assert {"figures/curves_acc.png", "figures/curves_loss.png"} <= set(data["figures"])


def test_a_validate_without_ckpt_path_says_it_is_not_recorded(tmp_path: Path) -> None:
    path = make_run(tmp_path / "quickstart" / "a", {0: [1, 2]})
    write_csv(path / "metrics_validate.csv", [{"epoch": 0, "step": 0, "val/acc": 0.5, "val/loss": 0.75}])
    rows = evaluation_rows(load_run(path).evaluations)
    unknown = "not recorded (no ckpt_path in config_validate.yaml)"
    assert rows == [["metrics_validate.csv", unknown, "val accuracy", 0.5],
                    ["metrics_validate.csv", unknown, "val loss", 0.75]]


def test_the_report_draws_i_and_j_per_order_from_the_history_and_generalization_json(tmp_path: Path) -> None:
    # Paper 2 Fig. 2: all salient (I) and generalizable (J) strength per order. Hand-made run: one AND interaction of
    # effect 1 per sample at orders [1, 1, 2, 2] (epoch 0) and [1, 4, 2, 3] (epoch 1): mean I_pos per order is
    # (0.5, 0.5, 0, 0) and (0.25, 0.25, 0.25, 0.25).
    path = make_run(tmp_path / "quickstart" / "a", {0: [1, 1, 2, 2], 1: [1, 4, 2, 3]})
    plain = json.loads(write_report(load_run(path), tmp_path / "plain").json.read_text())
    assert plain["order_strengths"]["I_pos"] == [[0, 0.5, 0.5, 0, 0], [0, 0.25, 0.25, 0.25, 0.25]]
    assert plain["order_strengths"]["J_pos"] is None and "figures/order_strengths.png" in plain["figures"]
    records = [{"epoch": e, "scalars": {f"generalization/order_{k}/J_pos": j for k, j in zip(range(1, 5), js)}}
               for e, js in ((0, [0.5, 0, 0, 0]), (1, [0.25, 0, 0.25, 0]))]
    (path / "interactions" / "generalization.json").write_text(json.dumps({"records": records}))
    out = write_report(load_run(path), tmp_path / "report")
    data = json.loads(out.json.read_text())
    assert data["order_strengths"]["J_pos"] == [[0, 0.5, 0, 0, 0], [0, 0.25, 0, 0.25, 0]]
    assert data["order_strengths"]["J_neg"] == [[0.0] * 5, [0.0] * 5]
    assert (tmp_path / "report" / "figures" / "order_strengths.png").stat().st_size > 1000
    assert "generalizable ones (J, dark" in out.html.read_text()


def test_pick_epochs_spreads_the_panels_and_keeps_first_and_last() -> None:
    from lit_interactions.analysis.figures_orders import pick_epochs

    assert pick_epochs([0, 1, 2], 5) == [0, 1, 2]
    assert pick_epochs(list(range(0, 160, 10)), 5) == [0, 40, 80, 110, 150]


def test_the_four_groups_of_hard_and_easy_samples_split_by_the_confusing_threshold(tmp_path: Path) -> None:
    # Paper 2 Fig. 4 / 13. Probe epoch 1 has the stored threshold 4.00431234; hard samples 20, 21 have one AND
    # interaction of order 4 and 1 (eta 4 and 1), easy samples 22, 23 of order 2 and 3: with the threshold 3 below,
    # hard 20 is confusing, hard 21 not, easy 23 is confusing, easy 22 not.
    import torch

    from tests.reports.helpers import known_interactions

    path = run_with_confusing_samples(tmp_path / "quickstart" / "a")
    confusing = json.loads((path / "interactions" / "confusing_samples.json").read_text())
    confusing["records"][1]["eta_threshold"] = 3.0
    (path / "interactions" / "confusing_samples.json").write_text(json.dumps(confusing))
    ids, orders = [20, 21, 22, 23], [4, 1, 2, 3]
    (path / "interactions" / "hard_samples").mkdir()
    known_interactions(orders, ids, torch.arange(4).repeat(4, 1)).save(
        path / "interactions" / "hard_samples" / "epoch_0001.safetensors")
    record = {"epoch": 1, "hard_ids": [20, 21], "easy_ids": [22, 23], "loss": [2.0, 1.5, 0.1, 0.2],
              "eta": [float(o) for o in orders], "relabelled": [False] * 4, "scalars": {"tau": 0.25}}
    (path / "interactions" / "hard_samples.json").write_text(json.dumps(
        {"num_hard": 2, "num_easy": 2, "records": [record]}))
    out = write_report(load_run(path), tmp_path / "report")
    groups = json.loads(out.json.read_text())["four_groups"]
    assert groups["eta_threshold"] == 3.0 and groups["ids"] == {
        "hard, confusing": [20], "hard, non-confusing": [21], "easy, confusing": [23], "easy, non-confusing": [22]}
    assert groups["I_pos"]["hard, confusing"] == [0, 0, 0, 0, 1.0]  # its one interaction is of order 4
    assert groups["I_pos"]["easy, non-confusing"] == [0, 0, 1.0, 0, 0]
    assert (tmp_path / "report" / "figures" / "four_groups_epoch_0001.png").is_file()


def test_per_sample_h_is_drawn_against_eta(tmp_path: Path) -> None:
    # Paper 2 Fig. 8: the last epoch's eta (ETA) against each sample's H from generalization.json (None = undefined).
    path = run_with_confusing_samples(tmp_path / "quickstart" / "a")
    record = {"epoch": 1, "scalars": {}, "ids": [10, 11, 12, 13], "H_per_sample": [0.9, 0.1, None, 0.5]}
    (path / "interactions" / "generalization.json").write_text(json.dumps({"records": [record]}))
    out = write_report(load_run(path), tmp_path / "report")
    data = json.loads(out.json.read_text())
    assert data["H_vs_eta"] == {"ids": [10, 11, 12, 13], "H": [0.9, 0.1, None, 0.5], "eta": ETA}
    assert "figures/h_vs_eta_epoch_0001.png" in data["figures"]
