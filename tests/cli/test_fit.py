"""The lit-interactions command end to end: fit on the embedded MNIST-3 data, resume, configs, errors."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from lit_interactions.cli import cli_main
from tests.quickstart_runs import QUICKSTART, ROOT, short_run

SMALL = [
    *short_run(train_batches=4, val_batches=2),
    "--interactions.init_args.num_probe=2",  # the quickstart's interaction monitor, kept tiny
    "--interactions.init_args.players.n_players=3",
]


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as file:
        return list(csv.DictReader(file))


@pytest.mark.slow
def test_fit_then_resume_keeps_one_run_directory_with_complete_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(tmp_path / "runs")
    cli_main([
        "fit", "--config", QUICKSTART, "--trainer.max_epochs=1", f"--run.root={root}", "--run.version=v0",
        "--run.tensorboard=true", *SMALL,
    ])
    run_dir = tmp_path / "runs" / "quickstart" / "v0"
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["run"]["version"] == "v0"
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
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
    final = [r for r in rows if r.get("val/acc")][-1]
    assert 0.0 <= float(final["val/balanced_acc"]) <= 1.0 and 0.0 <= float(final["val/acc"]) <= 1.0
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["epoch"] == 1
    assert ckpt["sample_losses"]["epochs"] == [0, 1]

    # Testing the checkpoint writes beside the run and leaves its training config and history as they were.
    config_text, metrics_text = (run_dir / "config.yaml").read_text(), (run_dir / "metrics.csv").read_text()
    cli_main([
        "test", "--config", QUICKSTART, f"--ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}",
        f"--run.root={root}", "--trainer.limit_test_batches=2", "--trainer.enable_progress_bar=false",
    ])
    assert (run_dir / "config.yaml").read_text() == config_text
    assert (run_dir / "metrics.csv").read_text() == metrics_text
    assert yaml.safe_load((run_dir / "config_test.yaml").read_text())["trainer"]["limit_test_batches"] == 2
    with open(run_dir / "metrics_test.csv", newline="") as file:
        tested = [row for row in csv.DictReader(file) if row.get("test/acc")]
    assert len(tested) == 1 and 0.0 <= float(tested[0]["test/acc"]) <= 1.0
    assert (float(tested[0]["checkpoint/epoch"]), float(tested[0]["checkpoint/step"])) == (1.0, 8.0)
    assert not (run_dir / "hparams_test.yaml").read_text() == ""
    assert yaml.safe_load((run_dir / "config_test.yaml").read_text())["ckpt_path"].endswith("last.ckpt")
    assert len(list((run_dir / "wandb").glob("offline-run-*-quickstart-v0-test"))) == 1  # its own wandb run

    # Predictions of the checkpoint: one row per held-out sample, probabilities that sum to one.
    cli_main([
        "predict", "--config", QUICKSTART, f"--ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}",
        f"--run.root={root}", "--trainer.limit_predict_batches=2", "--trainer.enable_progress_bar=false",
    ])
    written = run_dir / "predictions_epoch1_step8.csv"
    assert f"Predictions of 128 samples written to {written}" in capsys.readouterr().out
    with open(run_dir / "predictions_epoch1_step8.csv", newline="") as file:
        predicted = list(csv.DictReader(file))
    assert len(predicted) == 2 * 64 and len({row["id"] for row in predicted}) == 128
    for row in predicted:
        probs = [float(row["prob_0"]), float(row["prob_1"])]
        assert sum(probs) == pytest.approx(1.0, abs=1e-5) and int(row["predicted"]) == probs.index(max(probs))
    assert (run_dir / "config.yaml").read_text() == config_text

    # The saved training config starts the run afresh (no ckpt_path) and a fit into a trained run is refused.
    assert yaml.safe_load(config_text)["ckpt_path"] is None
    with pytest.raises(ValueError, match="already holds a trained run .*--ckpt_path .*last.ckpt"):
        cli_main(["fit", "--config", str(run_dir / "config.yaml"), "--run.version=v0", f"--run.root={root}"])


def console_script() -> str:
    path = shutil.which("lit-interactions")
    assert path, "the lit-interactions console script is not installed (pip install -e .)"
    return path


@pytest.mark.slow
def test_console_script_prints_the_resolved_config() -> None:
    out = subprocess.run(
        [console_script(), "fit", "--config", QUICKSTART, "--print_config", "--model.init_args.lr=0.123"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    config = yaml.safe_load(out.stdout)
    assert config["model"]["init_args"]["lr"] == 0.123
    assert config["data"]["class_path"] == "lit_interactions.data.MNIST3DataModule"
    assert config["run"]["name"] == "quickstart"
    assert "not recommended to provide both args and command line arguments" not in out.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("--model.init_args.model=resnet21", "unknown image model 'resnet21'; known: alexnet, resnet20"),
        ("--data.init_args.num_probe=-1", "num_probe=-1 is not valid: expected an int >= 0"),
    ],
)
def test_console_script_reports_bad_input_in_one_message(tmp_path: Path, override: str, expected: str) -> None:
    out = subprocess.run(
        [console_script(), "fit", "--config", QUICKSTART, override, f"--run.root={tmp_path}", "--run.wandb_mode=disabled"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if line.startswith("lit-interactions: error: ")]
    assert len(errors) == 1 and expected in errors[0]
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_console_script_names_the_missing_dataset_files(tmp_path: Path) -> None:
    out = subprocess.run(
        [console_script(), "fit", "--config", str(ROOT / "configs" / "cifar10_resnet20.yaml"),
         f"--data.init_args.data_dir={tmp_path}", f"--run.root={tmp_path / 'runs'}", "--run.wandb_mode=disabled"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"CIFAR-10 not found at {tmp_path}: expected cifar-10-batches-py/data_batch_1..5 and test_batch" in out.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # no empty run folder left


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


def test_input_errors_are_the_package_checks_not_library_failures() -> None:
    import numpy as np

    from lit_interactions.cli import input_error_message
    from lit_interactions.models import create_model

    with pytest.raises(ValueError) as ours:
        create_model("resnet21")
    assert input_error_message(ours.value).startswith("unknown model 'resnet21'; known models:")
    try:
        raise ValueError("wrapped by a library") from ours.value
    except ValueError as wrapper:  # jsonargparse wraps a failed instantiation this way
        assert input_error_message(wrapper).startswith("unknown model 'resnet21'")
    with pytest.raises(ValueError) as library:
        np.zeros(-1)
    assert input_error_message(library.value) is None  # keeps its traceback: it is not a check of ours
    from lit_interactions.modules.sample_losses import _align

    with pytest.raises(TypeError) as bug:
        _align(torch.tensor([1]), torch.tensor([1.0]), None)  # type: ignore[arg-type]
    assert input_error_message(bug.value) is None  # a bug in the package is not a check either


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "--ckpt_path: no checkpoint at .*; train a run first"),
        (b"", r"cannot be read as a checkpoint .*\(EOFError\); the file is damaged or not a checkpoint"),
        (b"\x80\x02not a pickle at all" * 20, r"cannot be read as a checkpoint .*\(UnpicklingError\); the file is damaged"),
    ],
    ids=["missing", "empty", "junk"],
)
def test_a_bad_checkpoint_path_is_one_clear_error_before_anything_is_written(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    path = tmp_path / "last.ckpt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises((ValueError, FileNotFoundError), match=expected) as error:
        cli_main(["test", "--config", QUICKSTART, f"--ckpt_path={path}", f"--run.root={tmp_path / 'runs'}"])
    assert "weights_only set to `False`" not in str(error.value)  # torch's advice to run the file's code
    assert not (tmp_path / "runs").exists()


def test_an_abbreviated_option_is_an_error_not_a_guess(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "--config", QUICKSTART, "--trainer.max_epoch=2", "--print_config"])
    assert exit_info.value.code == 2
    assert "--trainer.max_epoch=2" in capsys.readouterr().err


def test_a_new_run_is_refused_where_an_earlier_run_left_its_files(tmp_path: Path) -> None:
    from lit_interactions.run import check_new_run

    check_new_run(tmp_path, None)  # an empty folder is fine
    (tmp_path / "metrics.csv").write_text("epoch,step\n")
    with pytest.raises(ValueError, match="earlier run's metrics.csv but no checkpoint to resume"):
        check_new_run(tmp_path, None)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "epoch=9.ckpt").write_bytes(b"")
    (tmp_path / "checkpoints" / "epoch=10.ckpt").write_bytes(b"")  # newer, though it sorts first by name
    with pytest.raises(ValueError, match=r"--ckpt_path .*epoch=10.ckpt"):
        check_new_run(tmp_path, None)
    check_new_run(tmp_path, str(tmp_path / "checkpoints" / "epoch=10.ckpt"))  # a resume is fine


def test_a_bare_subcommand_says_to_pass_a_config(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lit_interactions.cli import main

    monkeypatch.setattr(sys, "argv", ["lit-interactions", "fit"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith(
        "lit-interactions: error: fit needs a config: lit-interactions fit --config configs/quickstart.yaml"
    )


def test_a_config_typo_is_the_first_line_of_the_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    typo = tmp_path / "typo.yaml"
    typo.write_text("trainer:\n  max_epoch: 2\n")
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "--config", QUICKSTART, "--config", str(typo), "--print_config"])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "lit-interactions: error: Group 'trainer' does not accept option 'max_epoch'"
    assert len(lines) == 2 and lines[1].endswith("--help)")  # no screen of usage before or after it
