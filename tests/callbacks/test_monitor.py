"""InteractionMonitor in real (tiny) Trainer runs: files, metrics, fixed players, no effect on training, resume."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from lit_interactions.callbacks import ConfusingSamples, InteractionMonitor
from lit_interactions.interactions import Interactions
from lit_interactions.players import PlayerSelection, compute_rewards
from lit_interactions.players.options import PlayerOptions

from .helpers import mnist, resnet, trainer

N = 3
PROBE = 4


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


@pytest.mark.slow
def test_monitor_records_every_epoch_on_the_players_of_the_initial_model(tmp_path: Path) -> None:
    dm, model = mnist(), resnet()
    initial = copy.deepcopy(model.model)
    monitor = InteractionMonitor(players=PlayerOptions(n_players=N, layer="layer1.0"), num_probe=PROBE, figures={"samples": 1, "strongest": 2})
    fit = trainer(tmp_path, [monitor])
    fit.fit(model, dm)
    out = tmp_path / "run" / "v0" / "interactions"

    # Training is not affected: the same seeded run without the monitor ends with bit-identical weights.
    plain = resnet()
    trainer(tmp_path, [], version="plain").fit(plain, mnist())
    assert [k for k, v in plain.state_dict().items() if not torch.equal(v, model.state_dict()[k])] == []
    assert not torch.equal(initial.conv1.weight, model.model.conv1.weight)

    # Players: chosen once, on the initial model, saved, and used at every epoch.
    selection = PlayerSelection.load(out / "players.pt")
    probe_ids = dm.probe_ids[:PROBE].tolist()
    assert selection.ids.tolist() == probe_ids
    batch = dm.batch(probe_ids, "train")
    expected = monitor.players.select(initial.eval(), batch)
    assert torch.equal(selection.players, expected.players)
    assert json.loads((out / "players.json").read_text())["players"] == expected.players.tolist()

    history = json.loads((out / "history.json").read_text())
    assert history["epochs"] == [0, 1, 2]
    results = [Interactions.load(out / f"epoch_{e:04d}.safetensors") for e in (0, 1, 2)]
    # Cold solves by default: each epoch's result does not depend on the epochs measured before it.
    assert [r.settings["warm_start"] for r in results] == [False, False, False]
    assert all(r.settings["converged"] for r in results)
    for epoch, result in enumerate(results):
        assert result.settings["epoch"] == epoch and result.n_players == N
        assert result.extra["ids"].tolist() == probe_ids
        assert torch.equal(result.extra["players"], selection.players)
        assert torch.allclose(result.reconstruct(), result.rewards - result.noise, atol=1e-6)
        # The salience threshold tau over this epoch's probe samples, and the recorded eta of every sample with it.
        tau = 0.02 * (result.rewards[:, -1] - result.rewards[:, 0]).abs().mean()
        assert result.settings["tau"] == pytest.approx(float(tau))
        assert history["records"][epoch]["eta"] == pytest.approx(result.eta(tau).tolist())
    # Epoch 2 is the model after the second training epoch: the final weights.
    final_rewards, _ = compute_rewards(model.model, batch, monitor.players, selection)
    assert torch.allclose(results[2].rewards, final_rewards.double(), atol=1e-5)
    assert not torch.allclose(results[0].rewards, results[2].rewards)

    # Scalars reached the logger (metrics.csv), with the values of the history.
    rows = [r for r in read_csv(tmp_path / "run" / "v0" / "metrics.csv") if r.get("interactions/epoch")]
    assert [int(float(r["interactions/epoch"])) for r in rows] == [0, 1, 2]
    for row, record in zip(rows, history["records"]):
        assert float(row["interactions/order_2/I_pos"]) == pytest.approx(record["I_pos"][2])
        assert float(row["interactions/order_2/I_neg"]) == pytest.approx(record["I_neg"][2])
        assert float(row["interactions/eta_mean"]) == pytest.approx(record["eta_mean"])
        assert float(row["interactions/num_salient"]) == pytest.approx(record["num_salient"])
    logged = read_csv(tmp_path / "run" / "v0" / "metrics.csv")
    val = [float(r["val/loss"]) for r in logged if r.get("val/loss")]
    train = [float(r["train/loss_epoch"]) for r in logged if r.get("train/loss_epoch")]
    assert [e["epoch"] for e in history["losses"]] == [1, 2]
    assert [e["val_loss"] for e in history["losses"]] == pytest.approx(val)
    assert [e["train_loss"] for e in history["losses"]] == pytest.approx(train)

    figures = {p.name for p in (out / "figures").iterdir()}
    sample = probe_ids[0]
    assert {"order_distribution.png", "eta_histogram_epoch_0002.png", f"sample_{sample}_epoch_0002.png"} <= figures

    # Another run (another initial model, whose own layer players would differ) reuses exactly these players.
    again = InteractionMonitor(num_probe=PROBE, players=PlayerOptions(n_players=N, layer="layer1.0"),
                               probe={"players_from": str(out / "players.pt")}, figures=False)
    other = resnet(seed=3)
    assert not torch.equal(monitor.players.select(other.model.eval(), batch).players, selection.players)
    trainer(tmp_path, [again], version="v1", max_epochs=1).fit(other, mnist())
    reused = Interactions.load(tmp_path / "run" / "v1" / "interactions" / "epoch_0001.safetensors")
    assert torch.equal(reused.extra["players"], selection.players)


@pytest.mark.slow
def test_stop_and_resume_keeps_every_history_complete_without_duplicates(tmp_path: Path) -> None:
    def callbacks() -> list:
        # Checkpoints written at validation end come before the epoch's measurement: the resumed run must
        # measure that epoch itself (catch-up) and get the same numbers.
        checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_on_train_epoch_end=False)
        monitor = InteractionMonitor(players=PlayerOptions(n_players=N), num_probe=PROBE, figures=False, warm_start=True)
        return [monitor, ConfusingSamples(0.5), checkpoint]

    first = callbacks()
    trainer(tmp_path, first, max_epochs=1, enable_checkpointing=True).fit(resnet(), mnist())
    out = tmp_path / "run" / "v0" / "interactions"
    epoch1 = Interactions.load(out / "epoch_0001.safetensors")
    saved = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)
    state = next(v for k, v in saved["callbacks"].items() if k.startswith("InteractionMonitor"))
    assert [r["epoch"] for r in state["history"]["records"]] == [0]  # epoch 1 measured after the save

    second = callbacks()
    trainer(tmp_path, second, max_epochs=3, enable_checkpointing=True).fit(
        resnet(seed=1), mnist(), ckpt_path=tmp_path / "ckpt" / "last.ckpt"
    )
    monitor, confusing = second[0], second[1]
    assert monitor.history.epochs == [0, 1, 2, 3]
    assert sorted(monitor.history.losses) == [1, 2, 3]
    assert sorted(confusing.records) == [0, 1, 2, 3]
    assert torch.equal(monitor.selection.players, first[0].selection.players)
    again = Interactions.load(out / "epoch_0001.safetensors")
    assert torch.allclose(again.rewards, epoch1.rewards, atol=1e-6)
    assert again.settings["warm_start"]  # from epoch_0000.safetensors: nothing of the first run is in memory
    history = json.loads((out / "history.json").read_text())
    assert history["epochs"] == [0, 1, 2, 3]
    assert [e["epoch"] for e in history["losses"]] == [1, 2, 3]
    assert sorted(int(p.stem[-4:]) for p in out.glob("epoch_*.safetensors")) == [0, 1, 2, 3]
    saved = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)
    state = next(v for k, v in saved["callbacks"].items() if k.startswith("InteractionMonitor"))
    assert [r["epoch"] for r in state["history"]["records"]] == [0, 1, 2]
    rows = [r for r in read_csv(tmp_path / "run" / "v0" / "metrics.csv") if r.get("interactions/epoch")]
    assert sorted({int(float(r["interactions/epoch"])) for r in rows}) == [0, 1, 2, 3]

    # Resuming with other monitor settings is refused before training (the history would mix two setups).
    other = [InteractionMonitor(players=PlayerOptions(n_players=N + 1), num_probe=PROBE, figures=False)]
    fit = trainer(tmp_path, other, max_epochs=4, enable_checkpointing=True)
    with pytest.raises(ValueError, match="the checkpoint was written with the settings"):
        fit.fit(resnet(), mnist(), ckpt_path=tmp_path / "ckpt" / "last.ckpt")
    assert fit.global_step == 0  # refused at fit start, before the training state is even restored


@pytest.mark.parametrize(
    ("data", "monitor", "message"),
    [
        ({"num_probe": 0}, {}, r"no probe set \(num_probe=0\)"),
        ({}, {"num_probe": 9}, "probe set has 8 samples but num_probe=9"),
        ({}, {"players": {"n_players": 10, "grid": 3}}, r"n_players=10 > grid\*grid=9"),
        ({}, {"players": {"layer": "layer9.0"}}, "has no module named 'layer9.0'"),
        ({}, {"players": {"layer": "layer3", "grid": 8}}, "grid does not fit"),
    ],
    ids=["no-probe-set", "too-few-probe-samples", "more-players-than-patches", "unknown-layer", "grid-too-fine"],
)
def test_bad_settings_fail_before_the_first_training_step(
    tmp_path: Path, data: dict, monitor: dict, message: str
) -> None:
    model = resnet()
    players = {"n_players": N, **monitor.pop("players", {})}
    options = {"num_probe": PROBE, **monitor}
    fit = trainer(tmp_path, [InteractionMonitor(players=PlayerOptions(**players), **options)])
    with pytest.raises(ValueError, match=message):
        fit.fit(model, mnist(**data))
    assert fit.global_step == 0 and model.sample_losses.epochs == []


def test_the_reward_and_target_class_options_explain_another_output(tmp_path: Path) -> None:
    # Paper 1's MNIST-3 task explains the pre-softmax score of the digit "3" (class 1) for every sample.
    dm = mnist()
    monitor = InteractionMonitor(players=PlayerOptions(n_players=3), num_probe=3, probe={"reward": "logit", "target_class": 1}, figures=False)
    model = resnet()
    trainer(tmp_path, [monitor], max_epochs=1).fit(model, dm)
    result = Interactions.load(tmp_path / "run" / "v0" / "interactions" / "epoch_0001.safetensors")
    assert (result.settings["reward"], result.settings["target"]) == ("logit", "class 1")
    batch = dm.batch(result.extra["ids"].numpy(), "train")
    expected, _ = compute_rewards(model.model, batch, monitor.players, monitor.selection, target=1, reward="logit")
    assert torch.allclose(result.rewards, expected.double(), atol=1e-5)
    with torch.no_grad():
        logits = model.model.eval()(batch["inputs"])
    assert torch.allclose(result.rewards[:, -1], logits[:, 1].double(), atol=1e-5)  # v(N) = the class-1 logit
    assert monitor.settings["reward"] == "logit" and monitor.settings["target_class"] == 1
    with pytest.raises(ValueError, match="reward='prob' is not one of"):
        InteractionMonitor(probe={"reward": "prob"})
