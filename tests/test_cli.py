"""The lit-interactions command end to end: fit on the embedded MNIST-3 data, resume, configs, errors."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from lit_interactions.cli import cli_main

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = str(ROOT / "configs" / "quickstart.yaml")
SMALL = [
    "--trainer.limit_train_batches=4",
    "--trainer.limit_val_batches=2",
    "--trainer.enable_progress_bar=false",
    "--trainer.log_every_n_steps=1",
    "--interactions.init_args.num_probe=2",  # the quickstart's interaction monitor, kept tiny
    "--interactions.init_args.n_players=3",
]


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as file:
        return list(csv.DictReader(file))


@pytest.mark.slow
def test_fit_then_resume_keeps_one_run_directory_with_complete_history(tmp_path: Path) -> None:
    root = str(tmp_path / "runs")
    cli_main(["fit", "--config", QUICKSTART, "--trainer.max_epochs=1", f"--run.root={root}", "--run.version=v0", *SMALL])
    run_dir = tmp_path / "runs" / "quickstart" / "v0"
    assert (run_dir / "config.yaml").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["model"]["init_args"]["model"] == "resnet20"
    assert saved["trainer"]["max_epochs"] == 1
    # wandb offline run files written, no account or network needed; the CLI closed the wandb run, so the next
    # run in this process (the resume below, a notebook cell) does not write into it.
    import wandb

    assert wandb.run is None
    offline = list((run_dir / "wandb").glob("offline-run-*/run-*.wandb"))
    assert offline and offline[0].stat().st_size > 0

    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["epoch"] == 0
    assert len(ckpt["sample_losses"]["epochs"]) == 1
    assert len(ckpt["sample_losses"]["ids"]) == 4 * 64  # four batches of 64 distinct training samples

    cli_main([
        "fit", "--config", QUICKSTART, "--trainer.max_epochs=2", f"--run.root={root}",
        f"--ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}", *SMALL,
    ])
    assert sorted(p.name for p in (tmp_path / "runs" / "quickstart").iterdir()) == ["v0"]
    rows = read_metrics(run_dir)
    val_epochs = sorted(int(r["epoch"]) for r in rows if r.get("val/loss"))
    assert val_epochs == [0, 1]  # no gap, no duplicate epoch
    assert any(r.get("gap/loss") for r in rows)
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["epoch"] == 1
    assert ckpt["sample_losses"]["epochs"] == [0, 1]


@pytest.mark.slow
def test_console_script_prints_the_resolved_config() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lit_interactions.cli", "fit", "--config", QUICKSTART, "--print_config",
         "--model.init_args.lr=0.123"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout
    config = yaml.safe_load(out)
    assert config["model"]["init_args"]["lr"] == 0.123
    assert config["data"]["class_path"] == "lit_interactions.data.MNIST3DataModule"
    assert config["run"]["name"] == "quickstart"


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_config_parses(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "--config", str(path), "--print_config"])
    assert exit_info.value.code in (0, None)
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["model"]["init_args"]["model"]
    assert config["data"]["class_path"].startswith("lit_interactions.data.")


@pytest.mark.slow
def test_a_model_data_mismatch_is_a_clear_error_before_training(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="num_classes=10 but the data has 2"):
        cli_main([
            "fit", "--config", QUICKSTART, "--model.init_args.num_classes=10", f"--run.root={tmp_path}",
            "--run.wandb_mode=disabled", *SMALL,
        ])
