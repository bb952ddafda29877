"""ConfusingSamples and HardSamples in tiny Trainer runs: the sets they report are the ones their rules define."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lit_interactions.analysis import set_overlap, top_fraction
from lit_interactions.callbacks import ConfusingSamples, HardSamples, InteractionMonitor
from lit_interactions.interactions import Interactions, salience_threshold
from lit_interactions.players import compute_rewards
from lit_interactions.players.options import PlayerOptions

from .helpers import mnist, resnet, trainer


@pytest.mark.slow
def test_confusing_and_hard_samples_are_the_sets_their_rules_define(tmp_path: Path) -> None:
    dm, model = mnist(relabel_per_class=2), resnet()
    hard = HardSamples(num_hard=4, num_easy=4, every_n_epochs=1, seed=3)
    confusing = ConfusingSamples(fraction=0.5)
    callbacks = [hard, confusing, InteractionMonitor(players=PlayerOptions(n_players=3), num_probe=4, figures=False)]  # any order
    trainer(tmp_path, callbacks).fit(model, dm)
    out = tmp_path / "run" / "v0" / "interactions"

    # Confusing samples: the top half of the probe samples by eta^avg, at every measured epoch.
    saved = json.loads((out / "confusing_samples.json").read_text())
    assert saved["epochs"] == [0, 1, 2]
    for epoch in (0, 1, 2):
        result = Interactions.load(out / f"epoch_{epoch:04d}.safetensors")
        eta = result.eta(result.settings["tau"]).numpy()
        expected = top_fraction(eta, 0.5, result.extra["ids"]).tolist()  # 2 of 4, largest eta first
        assert len(expected) == 2
        assert saved["confusing"][str(epoch)] == expected == confusing.history()[epoch]
        assert saved["records"][epoch]["eta"] == pytest.approx(eta.tolist())
        assert min(eta[np.isin(result.extra["ids"].numpy(), expected)]) >= np.sort(eta)[-2]
    with open(tmp_path / "run" / "v0" / "metrics.csv", newline="") as file:
        counts = [float(r["confusing_samples/count"]) for r in csv.DictReader(file) if r.get("confusing_samples/count")]
    assert counts == [2.0, 2.0, 2.0]

    # Hard samples: after epoch 1 (at the start of epoch 2) and at the end of fit.
    assert sorted(hard.records) == [1, 2]

    record = hard.records[2]
    ids, mean = model.sample_losses.mean_losses()
    order = np.lexsort((ids.numpy(), -mean.numpy()))
    assert record["hard_ids"] == ids.numpy()[order[:4]].tolist()
    easy = np.sort(np.random.default_rng(3).choice(np.sort(order[4:]), 4, replace=False))  # seeded, among the rest
    assert record["easy_ids"] == ids.numpy()[easy].tolist()
    assert record["loss"] == pytest.approx(mean.numpy()[np.r_[order[:4], easy]].tolist())
    both = np.array(record["hard_ids"] + record["easy_ids"])
    assert record["relabelled"] == np.isin(both, dm.relabelled_ids).tolist()

    result = Interactions.load(out / "hard_samples" / "epoch_0002.safetensors")
    assert result.extra["ids"].tolist() == both.tolist()
    # Rewards of the final model on the training labels (noisy for relabelled samples) and the recorded players.
    labels = torch.as_tensor(dm.splits.train_labels[np.searchsorted(dm.train_ids, both)])
    players = hard.monitor.players
    rewards, _ = compute_rewards(model.model, dm.batch(both, "train"), players, hard.selection, target=labels)
    assert torch.allclose(result.rewards, rewards.double(), atol=1e-5)
    tau = float(salience_threshold(result.rewards))
    eta = result.eta(tau).numpy()
    assert record["eta"] == pytest.approx(eta.tolist())
    top = both[np.lexsort((both, -eta))[:4]]
    overlap = set_overlap(record["hard_ids"], top)
    assert record["scalars"]["hard_in_top_eta"] == pytest.approx(overlap.fraction_of_a)
    assert record["shared_hard_top_eta"] == list(overlap.shared)
    # A sample analysed twice keeps the players it got first.
    first = Interactions.load(out / "hard_samples" / "epoch_0001.safetensors")
    for i, sample in enumerate(first.extra["ids"].tolist()):
        if sample in both:
            j = both.tolist().index(sample)
            assert torch.equal(first.extra["players"][i], result.extra["players"][j])
    saved = json.loads((out / "hard_samples.json").read_text())
    assert [r["epoch"] for r in saved["records"]] == [1, 2]
    assert (out / "figures" / "hard_samples_epoch_0002.png").is_file()


@pytest.mark.parametrize(
    ("callbacks", "data", "message"),
    [
        (lambda: [ConfusingSamples()], {}, "ConfusingSamples needs an InteractionMonitor"),
        (lambda: [HardSamples()], {}, "HardSamples needs an InteractionMonitor"),
        (
            lambda: [InteractionMonitor(players=PlayerOptions(n_players=3), num_probe=4), HardSamples(num_hard=40, num_easy=30)],
            {}, "32 training samples can be analysed .* num_hard \\+ num_easy = 70",
        ),
    ],
    ids=["confusing-without-monitor", "hard-without-monitor", "too-few-training-samples"],
)
def test_sample_callbacks_fail_before_training(tmp_path: Path, callbacks, data: dict, message: str) -> None:
    model = resnet()
    fit = trainer(tmp_path, callbacks())
    with pytest.raises(ValueError, match=message):
        fit.fit(model, mnist(**data))
    assert fit.global_step == 0 and model.sample_losses.epochs == []
