"""The monitor, ConfusingSamples and HardSamples with a plain LightningModule and LightningDataModule written here.

The protocol of docs/custom_modules.md: probe samples given to the monitor as tensors, the module's own loss keys,
per-sample losses returned from ``training_step``; checked end to end with the run's offline wandb files decoded.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from lit_interactions.callbacks import ConfusingSamples, HardSamples, InteractionMonitor, ProbeSamples
from lit_interactions.callbacks.user_module import network_of
from lit_interactions.callbacks.wandb_charts import ORDER_PROFILE_COLUMNS
from lit_interactions.interactions import Interactions
from lit_interactions.io.axes import EPOCH_AXIS
from lit_interactions.io.wandb_charts import HEATMAP_PRESET
from lit_interactions.modules import ImageClassifier
from lit_interactions.run import RunSettings, finish_loggers, make_loggers
from tests.wandb_records import charts_of, defined_metrics, history_rows, logged_tables, read_records, run_file

SIDE, GRID, N_PLAYERS = 8, 2, 4  # 8x8 images split into 4 quadrants, every quadrant a player


def images(count: int, seed: int) -> tuple[Tensor, Tensor]:
    """Random one-channel images; the label says whether the top-left quadrant is bright."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.rand(count, 1, SIDE, SIDE, generator=generator)
    return inputs, (inputs[:, 0, :4, :4].mean((1, 2)) > 0.5).long()


class Samples(Dataset):
    def __init__(self, inputs: Tensor, labels: Tensor) -> None:
        self.inputs, self.labels = inputs, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"inputs": self.inputs[i], "labels": self.labels[i], "ids": torch.tensor(i)}


class TinyData(L.LightningDataModule):
    """The data protocol for HardSamples: ``task``, ``train_ids``, ``batch(ids, split)``; dict batches with ids."""

    task = "image"

    def __init__(self) -> None:
        super().__init__()
        self.train = Samples(*images(24, seed=1))
        self.val = Samples(*images(16, seed=2))

    @property
    def train_ids(self) -> np.ndarray:
        return np.arange(len(self.train))

    def batch(self, ids: Any, split: str = "train") -> dict[str, Tensor]:
        index = torch.as_tensor(np.asarray(ids, dtype=np.int64))
        return {"inputs": self.train.inputs[index], "labels": self.train.labels[index], "ids": index}

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0))

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val, batch_size=8)


class TinyCNN(L.LightningModule):
    """A plain module: forward maps images to logits, its own loss keys, per-sample losses from training_step."""

    def __init__(self, per_sample: bool = True) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * SIDE * SIDE, 2))
        self.per_sample = per_sample
        self.seen: list[tuple[int, Tensor, Tensor]] = []  # (epoch, ids, losses): the test's own record

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Any:
        losses = F.cross_entropy(self(batch["inputs"]), batch["labels"], reduction="none")
        self.log("fit/loss", losses.mean(), on_step=False, on_epoch=True, batch_size=len(losses))
        self.seen.append((self.current_epoch, batch["ids"].clone(), losses.detach().clone()))
        return {"loss": losses.mean(), "sample_losses": losses} if self.per_sample else losses.mean()

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        loss = F.cross_entropy(self(batch["inputs"]), batch["labels"])
        self.log("fit/val_loss", loss, on_epoch=True, batch_size=len(batch["labels"]))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.5)


def fit(root: Path, module: TinyCNN, monitor: InteractionMonitor, *others: L.Callback, epochs: int = 2,
        wandb: bool = False) -> Path:
    """Train ``module`` on TinyData with the callbacks; the run directory."""
    run_dir = root / "custom" / "v0"
    settings = RunSettings(name="custom", root=str(root), version="v0", wandb_mode="offline" if wandb else "disabled")
    loggers = make_loggers(settings, run_dir)
    trainer = L.Trainer(
        max_epochs=epochs, logger=loggers, callbacks=[monitor, *others], accelerator="cpu", devices=1,
        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False, num_sanity_val_steps=0,
        log_every_n_steps=1,
    )
    try:
        trainer.fit(module, datamodule=TinyData())
    finally:
        finish_loggers(loggers)
    return run_dir


def monitor(**overrides: Any) -> InteractionMonitor:
    options = {"num_probe": 4, "players": {"n_players": N_PLAYERS, "grid": GRID, "crop": 0}, "figures": False,
               "probe": {"samples": images(4, seed=3)},
               "analysis": {"train_loss_key": "fit/loss", "val_loss_key": "fit/val_loss"}}
    return InteractionMonitor(**{**options, **overrides})


def masked_log_odds(module: nn.Module, image: Tensor, label: int, players: list[int]) -> Tensor:
    """``[2^n]`` log-odds of ``label`` with the quadrants of absent players set to 0, computed here by hand."""
    rows = []
    for subset in range(2**N_PLAYERS):
        masked = image.clone()
        for bit, patch in enumerate(players):
            if not subset >> bit & 1:
                r, c = divmod(patch, GRID)
                masked[:, r * 4:(r + 1) * 4, c * 4:(c + 1) * 4] = 0
        rows.append(masked)
    with torch.no_grad():
        logits = module(torch.stack(rows)).double()
    return logits[:, label] - logits[:, 1 - label]


@pytest.mark.slow
def test_a_plain_module_and_data_module_run_the_monitor_and_hard_samples(tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = TinyCNN()
    probe_x, probe_y = images(4, seed=3)
    hard = HardSamples(3, 3, figures=False)
    run_dir = fit(tmp_path, module, monitor(), ConfusingSamples(0.25), hard, wandb=True)
    out = run_dir / "interactions"

    # The probe samples given as tensors, measured on the trained plain module: rewards and universal matching.
    result = Interactions.load(out / "epoch_0002.safetensors")
    assert result.extra["ids"].tolist() == [0, 1, 2, 3]
    for b in range(4):
        players = result.extra["players"][b].tolist()
        expected = masked_log_odds(module, probe_x[b], int(probe_y[b]), players)
        torch.testing.assert_close(result.rewards[b], expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(result.reconstruct()[b] + result.noise[b], result.rewards[b], rtol=0, atol=1e-9)
        bound = 0.01 * abs(float(result.rewards[b, -1] - result.rewards[b, 0]))
        assert float(result.noise[b].abs().max()) <= bound * (1 + 1e-6) + 1e-12

    # The module's own loss keys are the monitor's per-epoch losses (as in metrics.csv).
    history = json.loads((out / "history.json").read_text())
    assert history["epochs"] == [0, 1, 2]
    with open(run_dir / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    logged = {(int(r["epoch"]), key): float(r[key]) for r in rows for key in ("fit/loss", "fit/val_loss") if r[key]}
    for entry in history["losses"]:
        epoch = entry["epoch"]
        assert entry["train_loss"] == pytest.approx(logged[epoch - 1, "fit/loss"])
        assert entry["val_loss"] == pytest.approx(logged[epoch - 1, "fit/val_loss"])
    assert json.loads((out / "confusing_samples.json").read_text())["epochs"] == [0, 1, 2]

    # HardSamples took the per-sample losses training_step returned: the hardest by mean loss over both epochs.
    losses: dict[int, list[float]] = {}
    for _, ids, values in module.seen:
        for i, v in zip(ids.tolist(), values.tolist()):
            losses.setdefault(i, []).append(v)
    mean = {i: float(np.mean(v)) for i, v in losses.items()}
    hardest = sorted(mean, key=lambda i: (-mean[i], i))[:3]
    [record] = json.loads((out / "hard_samples.json").read_text())["records"]
    assert record["epoch"] == 2 and record["hard_ids"] == hardest
    assert record["loss"][:3] == pytest.approx([mean[i] for i in hardest], rel=1e-5)
    assert record["relabelled"] == [False] * 6
    state = hard.state_dict()["sample_losses"]  # the recorded losses are in the callback's checkpoint state
    assert state["epochs"] == [0, 1] and state["ids"].tolist() == list(range(24))
    restored = HardSamples(3, 3)
    restored.load_state_dict(hard.state_dict())
    restored.setup(SimpleNamespace(callbacks=[monitor()], datamodule=TinyData(), log_dir=str(tmp_path),
                                   default_root_dir=str(tmp_path)), TinyCNN(), "fit")
    assert restored.hook is not None and restored.hook.mean_losses()[1].tolist() == pytest.approx(
        [mean[i] for i in range(24)], rel=1e-6)

    # The native wandb charts: the order-profile heatmap (all epochs) and an eta histogram per epoch.
    wandb_file = run_file(run_dir)
    records = read_records(wandb_file)
    chart = charts_of(records)["interactions/order_profile"]
    assert chart["panelDefId"] == HEATMAP_PRESET
    assert chart["fieldSettings"] == {"Actual": "epoch", "Predicted": "order", "nPredictions": "share"}
    tables = logged_tables(wandb_file, "interactions/order_profile_table")
    assert len(tables) == 3 and tables[-1]["columns"] == list(ORDER_PROFILE_COLUMNS)
    table = np.array(tables[-1]["data"], dtype=float)
    assert table.shape == (3 * (N_PLAYERS + 1), len(ORDER_PROFILE_COLUMNS))
    for epoch_record in history["records"]:
        part = table[table[:, 0] == epoch_record["epoch"]]
        np.testing.assert_allclose(part[:, 2], epoch_record["I_pos"])
        np.testing.assert_allclose(part[:, 3], epoch_record["I_neg"])
        strength = np.array(epoch_record["I_pos"]) + np.abs(epoch_record["I_neg"])
        np.testing.assert_allclose(part[:, 5], strength / strength.sum())
    histograms = [row for row in history_rows(records) if "interactions/eta_distribution/values" in row]
    assert [row[EPOCH_AXIS] for row in histograms] == [0, 1, 2]
    assert all(sum(row["interactions/eta_distribution/values"]) == 4 for row in histograms)  # 4 probe samples
    assert defined_metrics(records)["interactions/eta_distribution"] == EPOCH_AXIS


@pytest.mark.parametrize(("module", "callbacks", "message"), [
    (lambda: TinyCNN(), lambda: [monitor(analysis={"train_loss_key": "fit/loss", "val_loss_key": "val/loss"})],
     r"val_loss_key='val/loss' but the module logged no val/loss \(logged: .*fit/val_loss.*\); set val_loss_key"),
    (lambda: TinyCNN(), lambda: [monitor(analysis={"train_loss_key": "auto", "val_loss_key": "fit/val_loss"})], r"train_loss_key='auto' but the module logged no "
     r"train/clean_loss or train/loss_epoch or train/loss"),
    (lambda: TinyCNN(per_sample=False), lambda: [monitor(every_n_epochs=5), HardSamples(3, 3, figures=False)],
     r"HardSamples needs the per-sample training losses: return them from training_step as \{'loss': loss, "
     r"'sample_losses'"),
], ids=["val_loss_key", "train_loss_key", "per_sample_losses"])
def test_a_missing_loss_key_is_an_error_naming_it(tmp_path: Path, module: Any, callbacks: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit(tmp_path, module(), *callbacks(), epochs=1)


def test_the_network_is_the_modules_hook_else_the_classifiers_model_else_the_module() -> None:
    class BatchModule(TinyCNN):
        def forward(self, batch: dict[str, Tensor]) -> Tensor:  # takes batches: names its network
            return self.net(batch["inputs"])

        def interaction_network(self) -> nn.Module:
            return self.net

    plain, batches = TinyCNN(), BatchModule()
    assert network_of(plain) is plain and network_of(batches) is batches.net
    classifier = ImageClassifier("resnet20", num_classes=2, in_channels=1)
    assert network_of(classifier) is classifier.model


def test_probe_samples_come_as_tensors_or_a_dataset_and_bad_ones_are_refused() -> None:
    inputs, labels = images(3, seed=0)
    from_dataset = ProbeSamples.from_value(Samples(inputs, labels))
    from_pairs = ProbeSamples.from_value([(inputs[i], int(labels[i])) for i in range(3)])
    for probe in (from_dataset, from_pairs):
        assert probe is not None and probe.probe_ids.tolist() == [0, 1, 2] and probe.input_shape == (1, SIDE, SIDE)
        batch = probe.batch([2, 0])
        assert torch.equal(batch["inputs"], inputs[[2, 0]]) and batch["ids"].tolist() == [2, 0]
    with pytest.raises(ValueError, match=r"inputs must be a float tensor \[N, C, H, W\]"):
        ProbeSamples.from_value((inputs[:, 0], labels))
    with pytest.raises(ValueError, match="3 inputs and 2 labels"):
        ProbeSamples.from_value((inputs, labels[:2]))
    with pytest.raises(ValueError, match="cannot read probe samples from a str"):
        InteractionMonitor(probe={"samples": "digits/"})
    with pytest.raises(ValueError, match="3 probe samples are given but num_probe=50"):
        InteractionMonitor(probe={"samples": (inputs, labels)})
