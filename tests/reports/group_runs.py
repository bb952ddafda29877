"""Tiny run folders for the group overview, written as a trained run writes them (no training).

The files have the layout of a real run's (``lit-interactions fit --config configs/quickstart.yaml``):
``interactions/history.json`` records, ``metrics.csv`` with the monitor's rows (``epochs_trained``) and Lightning's
rows (0-based ``epoch``), ``config.yaml``; values have more digits than the page shows, to test the rounding.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml

HISTORY = {  # run -> epoch -> (high_order_share, eta_mean, mean_order)
    "seed0": {0: (0.0123456, 1.3620427, 1.3991375), 1: (0.0456789, 1.8107263, 1.8952758)},
    "seed1": {0: (0.0372381, 2.2215997, 2.3201195), 1: (0.2423130, 3.0834413, 3.2435757)},
}
LOSSES = {  # run -> 0-based Lightning epoch -> (train/loss_epoch, val/loss, train/acc, val/acc)
    "seed0": {0: (0.40206182, 1.35723376, 0.921875, 0.92199999)},
    "seed1": {0: (0.42744941, 0.52969044, 0.8515625, 0.92199999)},
}
H = {"seed1": {0: 0.61234567, 1: 0.70987654}}  # generalization.json's generalization/H (seed1 had a baseline)


def config(seed: int, train_subset: int | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A resolved config as fit saves it, trimmed to a few sections."""
    return {
        "seed_everything": seed,
        "trainer": {"max_epochs": 1, "limit_train_batches": 2},
        "model": {"class_path": "lit_interactions.modules.ImageClassifier",
                  "init_args": {"model": "resnet20", "lr": 0.05, "transplant": None}},
        "data": {"class_path": "lit_interactions.data.MNIST3DataModule",
                 "init_args": {"split_seed": 0, "num_probe": 200, "train_subset": train_subset}},
        "run": {"name": "quickstart", "version": None, "tags": ["quickstart", "mnist3"]},
        **(extra or {}),
    }


def write_history(run: Path, records: dict[int, tuple[float, float, float]]) -> None:
    folder = run / "interactions"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"epoch": epoch, "global_step": 2 * epoch, "tau": 0.43, "high_order_share": share, "eta_mean": eta,
             "mean_order": order, "num_salient": 15.5, "eta": [eta, eta]}
            for epoch, (share, eta, order) in records.items()]
    (folder / "history.json").write_text(json.dumps({
        "settings": {"num_probe": 2}, "probe_ids": [19, 29],
        "epoch_convention": "0 = initial model; e + 1 = after (0-based) training epoch e", "records": rows}))


def write_metrics(run: Path, history: dict[int, tuple[float, float, float]],
                  losses: dict[int, tuple[float, float, float, float]]) -> None:
    columns = ["epoch", "epochs_trained", "interactions/eta_mean", "interactions/high_order_share", "step",
               "train/acc", "train/loss_epoch", "train/loss_step", "val/acc", "val/loss"]
    with open(run / "metrics.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        for epoch, (share, eta, _) in history.items():  # the monitor's rows
            writer.writerow({"epochs_trained": epoch, "interactions/eta_mean": eta,
                             "interactions/high_order_share": share, "step": 2 * epoch})
        for epoch, (train_loss, val_loss, train_acc, val_acc) in losses.items():  # Lightning's rows
            writer.writerow({"epoch": epoch, "step": 2, "train/loss_step": 9.0})  # a step value: never drawn
            writer.writerow({"epoch": epoch, "step": 2, "val/loss": val_loss, "val/acc": val_acc})
            writer.writerow({"epoch": epoch, "step": 2, "train/loss_epoch": train_loss, "train/acc": train_acc})


def write_generalization(run: Path, values: dict[int, float]) -> None:
    records = [{"epoch": e, "tau": 0.4, "scalars": {"generalization/H": h, "generalization/H_low": h / 2},
                "ids": [19, 29], "H_per_sample": [h, None]} for e, h in values.items()]
    (run / "interactions" / "generalization.json").write_text(json.dumps({"records": records}))


def make_group(root: Path) -> Path:
    """``root/quickstart/{seed0, seed1}`` (seed and data half differ; seed1 also has H and a transplant key absent
    from seed0's config) and ``root/quickstart/broken`` (a config.yaml only, and not valid YAML). Returns the
    group folder ``root/quickstart``."""
    group = root / "quickstart"
    for name, seed, half in (("seed0", 0, 0), ("seed1", 1, 1)):
        run = group / name
        run.mkdir(parents=True)
        extra = {"transplant_from": "runs/donor/v0/checkpoints/last.ckpt"} if name == "seed1" else None
        (run / "config.yaml").write_text(yaml.safe_dump(config(seed, half, extra)))
        write_history(run, HISTORY[name])
        write_metrics(run, HISTORY[name], LOSSES[name])
        if name in H:
            write_generalization(run, H[name])
    broken = group / "broken"
    broken.mkdir()
    (broken / "config.yaml").write_text("seed_everything: [0\n")
    return group
