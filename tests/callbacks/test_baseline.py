"""BaselineGeneralizability: generalization against a baseline DNN checkpoint, and clear errors before training."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from lit_interactions.analysis import generalization_scalars, per_sample_H
from lit_interactions.callbacks import BaselineGeneralizability, InteractionMonitor
from lit_interactions.interactions import Interactions, generalization_by_order
from lit_interactions.modules import ImageClassifier
from lit_interactions.players import PlayerSelection, compute_rewards
from lit_interactions.players.options import PlayerOptions

from .helpers import mnist, resnet, trainer

PROBE, N = 4, 3


@pytest.fixture(scope="module")
def baseline_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ResNet-20 trained one short epoch on the other half of the training data (train_subset=1)."""
    root = tmp_path_factory.mktemp("baseline")
    checkpoint = ModelCheckpoint(dirpath=root / "ckpt", save_last=True)
    trainer(root, [checkpoint], max_epochs=1, enable_checkpointing=True).fit(resnet(seed=5), mnist(train_subset=1))
    return root / "ckpt" / "last.ckpt"


def monitor() -> InteractionMonitor:
    return InteractionMonitor(players=PlayerOptions(n_players=N), num_probe=PROBE, figures=False)


@pytest.mark.slow
def test_generalization_is_computed_against_the_baseline_on_the_same_players(
    tmp_path: Path, baseline_ckpt: Path
) -> None:
    dm = mnist()
    callback = BaselineGeneralizability(str(baseline_ckpt))
    trainer(tmp_path, [monitor(), callback], max_epochs=1).fit(resnet(), dm)
    out = tmp_path / "run" / "v0" / "interactions"

    baseline = Interactions.load(out / "baseline.safetensors")
    selection = PlayerSelection.load(out / "players.pt")
    assert torch.equal(baseline.extra["players"], selection.players)
    reference = ImageClassifier.load_from_checkpoint(baseline_ckpt, map_location="cpu", weights_only=True).model
    rewards, _ = compute_rewards(reference, dm.batch(selection.ids, "train"), callback.monitor.players, selection)
    assert torch.allclose(baseline.rewards, rewards.double(), atol=1e-5)

    saved = json.loads((out / "generalization.json").read_text())
    assert [r["epoch"] for r in saved["records"]] == [0, 1]
    tau_b = 0.02 * (baseline.rewards[:, -1] - baseline.rewards[:, 0]).abs().mean()
    assert saved["baseline_tau"] == pytest.approx(float(tau_b))
    for record in saved["records"]:
        main = Interactions.load(out / f"epoch_{record['epoch']:04d}.safetensors")
        by_order = generalization_by_order(main, baseline, main.settings["tau"], tau_b)
        expected = generalization_scalars(by_order, "generalization")
        assert record["scalars"] == pytest.approx(expected)
        assert 0 <= record["scalars"]["generalization/H"] <= 1
        assert record["ids"] == selection.ids.tolist()  # probe order
        assert record["H_per_sample"] == pytest.approx(per_sample_H(by_order))
        defined = [h for h in record["H_per_sample"] if h is not None]
        assert len(record["H_per_sample"]) == PROBE and all(0 <= h <= 1 for h in defined)
        if defined:
            assert record["scalars"]["generalization/H_per_sample_mean"] == pytest.approx(sum(defined) / len(defined))
    with open(tmp_path / "run" / "v0" / "metrics.csv", newline="") as file:
        rows = [r for r in csv.DictReader(file) if r.get("generalization/H")]
    logged = [float(r["generalization/H"]) for r in rows]
    assert logged == pytest.approx([r["scalars"]["generalization/H"] for r in saved["records"]])
    assert rows[0].get("generalization/order_1/J_pos") and rows[0].get("generalization/H_low")


def edited(ckpt: Path, folder: Path, **hparams: object) -> Path:
    """A copy of the checkpoint with some hyperparameters changed."""
    checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)
    checkpoint["hyper_parameters"].update(hparams)
    path = folder / "edited.ckpt"
    torch.save(checkpoint, path)
    return path


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda c, d: d / "missing.ckpt", FileNotFoundError,
         "no checkpoint at .*--baseline.init_args.checkpoint"),
        (lambda c, d: edited(c, d, model="bert_tiny"), ValueError,
         "is a text model \\(bert_tiny\\) but this run trains an image"),
        (lambda c, d: edited(c, d, num_classes=10), ValueError, "has num_classes=10 but this run has 2"),
        (lambda c, d: edited(c, d, in_channels=3), ValueError, "expects in_channels=3 but the data has 1 channels"),
        (lambda c, d: edited(c, d, model="vgg11"), ValueError, "weights do not fit a vgg11"),
        (lambda c, d: (d / "junk.ckpt").write_bytes(b"not a checkpoint") and d / "junk.ckpt", ValueError,
         "cannot be read as a checkpoint"),
    ],
    ids=[
        "missing-file", "other-task", "other-classes", "other-input-channels", "other-architecture", "not-a-checkpoint",
    ],
)
def test_a_bad_baseline_fails_before_training(tmp_path: Path, baseline_ckpt: Path, make, error, message: str) -> None:
    model = resnet()
    fit = trainer(tmp_path, [monitor(), BaselineGeneralizability(str(make(baseline_ckpt, tmp_path)))])
    with pytest.raises(error, match=message):
        fit.fit(model, mnist())
    assert fit.global_step == 0 and model.sample_losses.epochs == []
