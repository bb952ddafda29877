"""The run's wandb logger: the resolved config by section, the config file with the run, one epoch axis."""

from __future__ import annotations

from pathlib import Path

import yaml

from lit_interactions.io.axes import EPOCH_AXIS
from lit_interactions.run import (
    RunSettings,
    RunWandbLogger,
    finish_loggers,
    make_loggers,
)
from tests.wandb_records import (
    config_of,
    defined_metrics,
    history_rows,
    read_records,
    run_file,
)

CONFIG = {
    "seed_everything": 7,
    "trainer": {"max_epochs": 3},
    "model": {"class_path": "M", "init_args": {"lr": 0.05}},
    "data": {"class_path": "D", "init_args": {"num_probe": 200}},
    "interactions": {"class_path": "InteractionMonitor", "init_args": {"num_probe": 8}},
}


def test_the_wandb_run_holds_the_config_by_section_and_epoch_metrics_on_one_axis(tmp_path: Path) -> None:
    run_dir = tmp_path / "exp" / "v0"
    loggers = make_loggers(RunSettings(name="exp", root=str(tmp_path), version="v0"), run_dir)
    [logger] = [lg for lg in loggers if isinstance(lg, RunWandbLogger)]
    text = yaml.safe_dump(CONFIG)
    logger.log_run_config(CONFIG, "config.yaml", text)
    # Lightning merges the module's and the data module's hyperparameters; only what the config lacks is kept.
    logger.log_hyperparams({"lr": 0.05, "num_probe": 200, "transplanted": {"num_layers": 2}, "_class_path": "M"})
    logger.log_metrics({"train/loss_step": 0.9, "epoch": 0}, step=0)  # a training step
    logger.log_metrics({"interactions/eta_mean": 1.5, EPOCH_AXIS: 0}, step=0)  # the monitor at the initial model
    logger.log_metrics({"val/loss": 0.7, "gap/loss": 0.1, "epoch": 0}, step=1)  # validation after epoch 0
    logger.log_metrics({"train/loss_epoch": 0.8, "train/acc": 0.9, "epoch": 0}, step=1)  # epoch-end training row
    finish_loggers(loggers)

    records = read_records(run_file(run_dir))
    config = config_of(records)
    assert {k: config[k] for k in CONFIG} == CONFIG
    assert config["hparams"] == {"transplanted": {"num_layers": 2}}
    assert "num_probe" not in config and "lr" not in config
    [saved] = list((run_dir / "wandb").glob("offline-run-*/files/lit_interactions/config.yaml"))
    assert saved.read_text() == text

    axes = defined_metrics(records)
    for key in ("interactions/eta_mean", "val/loss", "gap/loss", "train/loss_epoch", "train/acc"):
        assert axes[key] == EPOCH_AXIS, key
    assert "train/loss_step" not in axes or axes["train/loss_step"] != EPOCH_AXIS
    rows = history_rows(records)
    axis_of = {key: row.get(EPOCH_AXIS) for row in rows for key in row if "/" in key and key != "trainer/global_step"}
    assert axis_of == {"train/loss_step": None, "interactions/eta_mean": 0, "val/loss": 1, "gap/loss": 1,
                       "train/loss_epoch": 1, "train/acc": 1}
