"""compare and report on two tiny trained runs (the session fixture `two_runs`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lit_interactions.analysis import exact_number
from lit_interactions.interactions import Interactions, extract_joint
from lit_interactions.reports import compare_runs, load_run
from lit_interactions.reports.commands import main as commands_main

pytestmark = pytest.mark.slow


def test_compare_of_two_seeds_matches_the_stored_artifacts(two_runs: tuple[Path, Path]) -> None:
    a, b = (load_run(p) for p in two_runs)
    result = compare_runs([a, b])
    assert result.epoch == 1 == a.epochs[-1]
    for k, run in enumerate((a, b)):  # eta as each monitor reported it
        np.testing.assert_allclose(result.eta[k], run.record(1)["eta"], rtol=1e-9)
    rewards = torch.stack([Interactions.load(p / "interactions" / "epoch_0001.safetensors").rewards for p in two_runs])
    direct = extract_joint(rewards.double(), noise_ratio=0.01)
    torch.testing.assert_close(result.joint.and_effects, direct.and_effects)
    assert 0 < result.shared_own.share().min() and result.shared_own.share().max() <= 1


def test_the_compare_command_writes_html_json_and_an_offline_wandb_run(two_runs: tuple[Path, Path],
                                                                       compare_dir: Path) -> None:
    out = compare_dir
    data = json.loads((out / "compare.json").read_text())
    result = compare_runs([load_run(p) for p in two_runs])
    pair = data["eta_agreement"][0]
    assert pair["pearson"] == pytest.approx(result.agreements[(0, 1)].pearson)
    assert data["transferability"]["joint"]["AND"] == pytest.approx(result.transfer_joint["AND"].tolist())
    assert all((out / src).is_file() for src in data["figures"])
    assert {"figures/eta_scatter_0_1.png", "figures/transferability.png"} <= set(data["figures"])
    assert data["sample"]["sample_id"] in data["probe_ids"]
    html = (out / "compare.html").read_text()
    assert "Shared and distinctive interactions of sample" in html and "Pearson" in html
    [offline] = list((out / "wandb").glob("offline-run-*"))
    record = next(offline.glob("*.wandb")).read_bytes()
    assert b"study" in record and b"compare" in record  # group of the inputs, job type
    assert b"eta_agreement/pearson_mean" in record  # the run's tables and charts: test_compare_wandb.py
    media = {p.name for p in (offline / "files" / "media").rglob("*") if p.is_file()}
    assert any(name.startswith("transferability") for name in media)


def test_compare_refuses_runs_with_other_players(two_runs: tuple[Path, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "quickstart" / "c"
    shutil.copytree(two_runs[1], copy)
    path = copy / "interactions" / "epoch_0001.safetensors"
    result = Interactions.load(path)
    result.extra["players"][0] = result.extra["players"][0].flip(0)
    result.save(path)
    assert commands_main(["compare", str(two_runs[0]), str(copy), "--wandb-mode=disabled",
                          "--out", str(tmp_path / "x")]) == 2
    assert "--interactions.init_args.probe.players_from" in capsys.readouterr().err


def test_the_report_shows_every_section(two_runs: tuple[Path, Path], report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text()
    for heading in ("Accuracy and loss", "Two-phase dynamics", "eta^avg distribution", "Confusing samples",
                    "Hard samples"):
        assert f"<h2>{heading}</h2>" in html
    assert 'class="missing"' not in html
    data = json.loads((report_dir / "report.json").read_text())
    assert data["epoch"] == 1 and data["measured_epochs"] == [0, 1]
    assert data["eta"]["eta"] == pytest.approx(load_run(two_runs[0]).record(1)["eta"])
    stored = load_run(two_runs[0]).confusing["records"][-1]  # ConfusingSamples' threshold of epoch 1, as used
    assert stored["epoch"] == 1 and data["eta"]["threshold"] == stored["eta_threshold"]
    assert f"the smallest eta^avg among them is {exact_number(stored['eta_threshold'])} (eta_threshold" in html
    assert data["curves"]["epochs"] == [1] and set(data["curves"]) >= {"train/acc", "val/acc", "train/loss", "val/loss"}
    assert data["confusing"] == {"0": load_run(two_runs[0]).confusing["confusing"]["0"],
                                 "1": load_run(two_runs[0]).confusing["confusing"]["1"]}
    assert sum(src.startswith("figures/hard_sample_") for src in data["figures"]) == 2
    assert sum(src.startswith("figures/confusing_sample_") for src in data["figures"]) == 1  # 10 % of 8 = 1 sample
    assert all((report_dir / src).is_file() for src in data["figures"])


def test_the_report_says_plainly_what_is_missing(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    bare = tmp_path / "quickstart" / "bare"
    shutil.copytree(two_runs[0], bare, ignore=shutil.ignore_patterns("hard_samples*", "confusing_samples.json",
                                                                     "metrics.csv", "config.yaml"))
    assert commands_main(["report", str(bare)]) == 0
    data = json.loads((bare / "report" / "report.json").read_text())
    missing = data["missing"]
    assert "confusing_samples.json" in missing["confusing"] and "callbacks/confusing_samples.yaml" in missing["confusing"]
    assert "hard_samples.json" in missing["hard"]
    assert "metrics.csv" in missing["curves"]
    assert "figures/order_distribution.png" in data["figures"]
