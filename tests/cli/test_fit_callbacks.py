"""The callback YAMLs through the lit-interactions CLI: composition, the quickstart's monitor, wandb offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from lightning.pytorch.loggers import WandbLogger

from lit_interactions.callbacks import (
    BaselineGeneralizability,
    ConfusingSamples,
    HardSamples,
    InteractionMonitor,
)
from lit_interactions.cli import cli_main
from lit_interactions.io.axes import EPOCH_AXIS
from tests.quickstart_runs import QUICKSTART, ROOT, short_run
from tests.wandb_records import (
    config_of,
    defined_metrics,
    history_rows,
    read_records,
    run_file,
)

NAMES = ("interactions", "confusing_samples", "hard_samples", "baseline")
YAMLS = {name: str(ROOT / "callbacks" / f"{name}.yaml") for name in NAMES}
SMALL = [*short_run(train_batches=2, sanity_check=False), "--data.init_args.batch_size=16", "--data.init_args.num_probe=8"]


def callbacks_of(cli) -> dict[type, object]:
    return {type(c): c for c in cli.trainer.callbacks}


def test_callback_yamls_compose_with_repeated_config_flags(tmp_path: Path) -> None:
    configs = [f for name in NAMES for f in ("--config", YAMLS[name])]
    cli = cli_main(["--config", QUICKSTART, *configs, f"--run.root={tmp_path}", "--run.wandb_mode=disabled",
                    "--confusing_samples.init_args.fraction=0.2"], run=False)
    found = callbacks_of(cli)
    monitor = found[InteractionMonitor]
    # The YAML of the monitor comes after the quickstart's, so its values win.
    assert (monitor.num_probe, monitor.options.n_players, monitor.options.grid) == (50, 10, 5)
    assert found[ConfusingSamples].fraction == 0.2
    assert found[HardSamples].num_hard == 30 and found[HardSamples].every_n_epochs is None
    assert found[BaselineGeneralizability].checkpoint.startswith("REPLACE_WITH/")
    for name, path in YAMLS.items():
        assert list(yaml.safe_load(Path(path).read_text())) == [name]  # one top-level key per file: they compose


def test_the_quickstart_attaches_a_small_monitor_by_default(tmp_path: Path) -> None:
    cli = cli_main(["--config", QUICKSTART, f"--run.root={tmp_path}", "--run.wandb_mode=disabled"], run=False)
    monitor = callbacks_of(cli)[InteractionMonitor]
    assert (monitor.num_probe, monitor.options.n_players, monitor.every_n_epochs) == (8, 8, 1)
    assert ConfusingSamples not in callbacks_of(cli)


def test_the_baseline_placeholder_is_a_clear_error_before_training(tmp_path: Path) -> None:
    args = ["fit", "--config", QUICKSTART, "--config", YAMLS["baseline"], f"--run.root={tmp_path}",
            "--interactions.init_args.players.n_players=3", *SMALL]  # offline wandb, the default
    message = "no checkpoint at 'REPLACE_WITH/.*--baseline.init_args.checkpoint"
    with pytest.raises(FileNotFoundError, match=message):
        cli_main(args)
    assert list(tmp_path.iterdir()) == []  # no orphan run folder, wandb folder or config left


@pytest.mark.slow
def test_offline_wandb_run_carries_group_tags_tables_and_images(tmp_path: Path) -> None:
    cli = cli_main([
        "fit", "--config", QUICKSTART, "--config", YAMLS["confusing_samples"], f"--run.root={tmp_path}",
        "--run.version=v0", "--run.group=study-a", "--run.tags=[alpha,beta]", "--trainer.max_epochs=1",
        "--interactions.init_args.players.n_players=3", "--interactions.init_args.num_probe=4", *SMALL,
    ])
    wandb_logger = next(lg for lg in cli.trainer.loggers if isinstance(lg, WandbLogger))
    assert wandb_logger.experiment.group == "study-a"
    assert set(wandb_logger.experiment.tags) == {"alpha", "beta"}
    run_dir = tmp_path / "quickstart" / "v0"
    [offline] = list((run_dir / "wandb").glob("offline-run-*"))
    record = (offline / f"run-{offline.name.split('-', 3)[-1]}.wandb").read_bytes()
    assert b"study-a" in record and b"alpha" in record and b"beta" in record
    folder = offline / "files" / "media"
    media = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert any(m.startswith("images/interactions/order_distribution") for m in media)
    assert any(m.startswith("images/interactions/sample_") for m in media)
    assert any(m.startswith("table/interactions/eta_per_sample") for m in media)
    assert any(m.startswith("table/confusing_samples/eta") for m in media)
    # The same figures as PNG files in the run directory, readable without wandb.
    figures = {p.name for p in (run_dir / "interactions" / "figures").iterdir()}
    assert {"order_distribution.png", "eta_histogram_epoch_0001.png"} <= figures
    assert json.loads((run_dir / "interactions" / "history.json").read_text())["epochs"] == [0, 1]
    records = read_records(run_file(run_dir))
    # The whole resolved config, each section under its own key: two runs of the group differ where they differ.
    config = config_of(records)
    assert config["seed_everything"] == 0 and config["trainer"]["max_epochs"] == 1
    assert config["trainer"]["limit_train_batches"] == 2 and config["run"]["group"] == "study-a"
    assert config["model"]["init_args"]["model"] == "resnet20"
    assert config["interactions"]["init_args"]["num_probe"] == 4  # the monitor's, not the data module's 8
    assert config["data"]["init_args"]["num_probe"] == 8
    assert config["confusing_samples"]["class_path"].endswith("ConfusingSamples")
    assert config["checkpoint"]["save_last"] is True
    assert "num_probe" not in config and "lr" not in config  # no flat module + data hyperparameters
    saved = offline / "files" / "lit_interactions" / "config.yaml"
    assert saved.read_text() == (run_dir / "config.yaml").read_text()
    # One epoch axis (0 = the initial model) for the epoch-level metrics; steps stay for step-level ones.
    axes = defined_metrics(records)
    for key in ("interactions/eta_mean", "interactions/order_1/I_pos", "confusing_samples/eta_mean", "val/loss",
                "val/acc", "train/loss_epoch", "train/acc"):
        assert axes[key] == EPOCH_AXIS, key
    assert axes.get("train/loss_step") != EPOCH_AXIS
    rows = history_rows(records)
    measured = [(r[EPOCH_AXIS], r["interactions/epoch"]) for r in rows if "interactions/eta_mean" in r]
    assert measured == [(0, 0), (1, 1)]
    assert [r[EPOCH_AXIS] for r in rows if "val/loss" in r] == [1]  # validation of the model after epoch 0
    assert [r[EPOCH_AXIS] for r in rows if "confusing_samples/eta_mean" in r] == [0, 1]


@pytest.mark.slow
def test_early_stopping_and_checkpointing_act_on_interaction_metrics_from_the_yaml(tmp_path: Path) -> None:
    config = tmp_path / "act.yaml"
    config.write_text(yaml.safe_dump({
        "trainer": {"callbacks": [{
            "class_path": "lightning.pytorch.callbacks.EarlyStopping",
            "init_args": {"monitor": "interactions/eta_mean", "mode": "min", "patience": 1},
        }]},
        "checkpoint": {"monitor": "interactions/high_order_share", "mode": "max", "save_top_k": 1},
    }))
    cli = cli_main([
        "fit", "--config", QUICKSTART, "--config", str(config), f"--run.root={tmp_path}", "--run.version=v0",
        "--run.wandb_mode=disabled", "--trainer.max_epochs=3", "--interactions.init_args.players.n_players=3",
        "--interactions.init_args.num_probe=4", "--interactions.init_args.figures=false", *SMALL,
    ])
    trainer = cli.trainer
    monitor = callbacks_of(cli)[InteractionMonitor]
    [early] = [c for c in trainer.callbacks if type(c).__name__ == "EarlyStopping"]
    checkpoint = trainer.checkpoint_callback
    history = monitor.history
    trained = [e for e in history.epochs if e >= 1]  # the epochs the two callbacks saw (each after its training)
    eta = {e: history.records[e]["eta_mean"] for e in trained}
    share = {e: history.records[e]["high_order_share"] for e in trained}
    # EarlyStopping saw every measured epoch's eta mean: its best is their minimum, its wait the epochs since.
    best_epoch = min(trained, key=lambda e: (eta[e], e))
    assert float(early.best_score) == pytest.approx(eta[best_epoch])
    assert early.wait_count == trained[-1] - best_epoch
    assert trained[-1] == trainer.current_epoch  # stopped early, or ran all 3 epochs
    if trained[-1] < 3:
        assert early.wait_count >= early.patience and early.stopped_epoch == trained[-1] - 1
    # ModelCheckpoint kept the epoch of the highest high-order share.
    assert float(checkpoint.best_model_score) == pytest.approx(max(share.values()))
    best_share_epoch = max(trained, key=lambda e: (share[e], -e))
    assert Path(checkpoint.best_model_path).name.startswith(f"epoch={best_share_epoch - 1}-")
    # The progress bar shows the latest eta mean and high-order share.
    shown = trainer.progress_bar_metrics
    assert shown["interactions/eta_mean"] == pytest.approx(eta[trained[-1]])
    assert shown["interactions/high_order_share"] == pytest.approx(share[trained[-1]])
