"""Fast tests of the callbacks' parts: player options, probe choice, patch boxes, RNG isolation, history."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from lit_interactions.analysis.sample_pictures import patch_boxes, strongest_by_kind
from lit_interactions.callbacks import (
    InteractionMonitor,
    MonitorHistory,
    PlayerOptions,
    isolated_rng,
)
from lit_interactions.callbacks.probe import choose_probe_ids
from lit_interactions.interactions import Interactions
from lit_interactions.players import ImagePatchPlayers, TextWordPlayers

from .helpers import mnist


def test_more_than_16_players_is_refused_when_the_monitor_is_built() -> None:
    with pytest.raises(ValueError, match=r"n_players=17 is not valid.*n_players <= 16"):
        InteractionMonitor(players={"n_players": 17})
    with pytest.raises(ValueError, match="every_n_epochs=0"):
        InteractionMonitor(every_n_epochs=0)


def test_player_options_build_the_player_type_of_the_task() -> None:
    options = PlayerOptions(n_players=6, grid=4, layer="layer1.0", crop=(1, 2), seed=3)
    image = options.build("image")
    assert isinstance(image, ImagePatchPlayers)
    assert (image.n_players, image.grid, image.layer, image.crop) == (6, 4, "layer1.0", (1, 2))
    text = options.build("text")
    assert isinstance(text, TextWordPlayers) and text.seed == 3 and text.baseline == "mean"
    assert options.to_dict()["crop"] == [1, 2]
    with pytest.raises(ValueError, match="supports the tasks"):
        options.build("audio")
    with pytest.raises(ValueError, match=r"n_players=10 > grid\*grid=9"):
        PlayerOptions(n_players=10, grid=3).build("image")


def test_probe_ids_are_the_first_probe_samples_and_too_few_is_an_error() -> None:
    dm = mnist(num_probe=8)
    players = PlayerOptions(n_players=4).build("image")
    ids = choose_probe_ids(dm, players, 5, "test")
    assert ids.tolist() == dm.probe_ids[:5].tolist()
    with pytest.raises(ValueError, match="probe set has 8 samples but num_probe=9"):
        choose_probe_ids(dm, players, 9, "test")
    with pytest.raises(ValueError, match=r"no probe set \(num_probe=0\)"):
        choose_probe_ids(mnist(num_probe=0), players, 1, "test")


def test_patch_boxes_at_the_input_and_scaled_from_a_feature_map() -> None:
    players = ImagePatchPlayers(n_players=2, grid=2, crop=0)
    # 8x8 input, 2x2 grid without crop: patch 0 = rows 0..3, cols 0..3; patch 3 = rows 4..7, cols 4..7.
    assert patch_boxes(players, [0, 3], (8, 8), (8, 8)).tolist() == [[0, 4, 0, 4], [4, 8, 4, 8]]
    # A 4x4 feature map of a 28x28 image: cells 0..1 -> pixels 0..14 (ceil(2 * 7) = 14).
    assert patch_boxes(players, [1], (4, 4), (28, 28)).tolist() == [[0, 14, 14, 28]]
    # Default crop (1/8 of the side) on a 32x32 input: 5x5 grid over pixels 4..27, patch 0 = 4..7 (floor edges).
    boxes = patch_boxes(ImagePatchPlayers(n_players=1, grid=5), [0, 24], (32, 32), (32, 32))
    assert boxes.tolist() == [[4, 8, 4, 8], [23, 28, 23, 28]]


def test_isolated_rng_restores_torch_numpy_and_python_states() -> None:
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    expected = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    with isolated_rng():
        torch.rand(100), np.random.rand(100), random.random()
    got = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]


def test_history_state_round_trip_turn_and_gap_widening() -> None:
    history = MonitorHistory()
    shares = [0.5, 0.3, 0.1, 0.1, 0.3, 0.5]  # falls, bottoms out at epochs 2-3, rises again
    for epoch, share in enumerate(shares):
        history.add({"epoch": epoch, "high_order_share": share, "I_pos": [0, 1], "I_neg": [0, -1]})
    losses = [(1.0, 1.2), (0.8, 0.9), (0.5, 0.55), (0.3, 0.4), (0.1, 0.5), (0.05, 0.7)]  # gaps .2 .1 .05 .1 .4 .65
    for epoch, (train, val) in enumerate(losses, start=1):
        history.set_loss(epoch, "train_loss", train)
        history.set_loss(epoch, "val_loss", val)
    history.set_loss(7, "train_loss", 0.05)  # no validation: left out of the gap curve
    history.set_loss(7, "val_loss", float("nan"))
    assert history.turn_epoch() == 2
    assert history.loss_curves()[0] == [1, 2, 3, 4, 5, 6]
    assert history.gap_widening_epoch() == 3  # the smoothed gap is smallest at epoch 3, then widens
    restored = MonitorHistory()
    restored.load_state_dict(history.state_dict())
    assert restored.epochs == list(range(6)) and restored.summary() == history.summary()
    restored.add({"epoch": 3, "high_order_share": 0.2, "I_pos": [0, 1], "I_neg": [0, -1]})  # replaced, not added
    assert restored.epochs == list(range(6)) and restored.records[3]["high_order_share"] == 0.2


def test_strongest_by_kind_lists_each_type_strongest_first() -> None:
    and_effects = torch.tensor([0.0, 0.5, -2.0, 0.1])
    or_effects = torch.tensor([0.0, 0.0, 0.3, -0.7])
    result = Interactions.from_effects(and_effects, or_effects)
    records = strongest_by_kind(result, 2)
    assert [(r.kind, r.players) for r in records] == [("AND", (1,)), ("AND", (0,)), ("OR", (0, 1)), ("OR", (1,))]
    assert records[0].effect == pytest.approx(-2.0) and records[2].effect == pytest.approx(-0.7)


def test_probe_split_train_follows_the_first_training_samples() -> None:
    dm = mnist(num_probe=8)
    dm.setup("fit")
    players = PlayerOptions(n_players=4).build("image")
    ids = choose_probe_ids(dm, players, 5, "test", split="train")
    assert ids.tolist() == np.sort(dm.train_ids)[:5].tolist()
    assert not set(ids.tolist()) & set(dm.probe_ids.tolist())
    with pytest.raises(ValueError, match="only 32 training samples .* num_probe=40"):
        choose_probe_ids(dm, players, 40, "test", split="train")
    with pytest.raises(ValueError, match="probe split='test' is not one of"):
        InteractionMonitor(probe={"split": "test"})
    assert InteractionMonitor(probe={"split": "train"}).settings["probe_split"] == "train"
    assert "probe_split" not in InteractionMonitor().settings  # older checkpoints resume unchanged


def test_the_gap_uses_the_clean_training_loss_under_adversarial_training() -> None:
    from types import SimpleNamespace

    from lit_interactions.callbacks.user_module import logged_loss

    adversarial = SimpleNamespace(callback_metrics={"train/loss_epoch": torch.tensor(2.0), "train/clean_loss": torch.tensor(0.5)})
    clean = SimpleNamespace(callback_metrics={"train/loss_epoch": torch.tensor(0.7), "train/loss": torch.tensor(0.9)})
    assert logged_loss(adversarial, "auto", "train_loss_key", "M") == 0.5
    assert logged_loss(clean, "auto", "train_loss_key", "M") == pytest.approx(0.7)
    assert logged_loss(clean, "train/loss", "train_loss_key", "M") == pytest.approx(0.9)
    assert logged_loss(SimpleNamespace(callback_metrics={}), None, "train_loss_key", "M") is None  # not kept
    with pytest.raises(ValueError, match=r"train_loss_key='my/loss' but the module logged no my/loss \(logged: "
                                         r"train/loss, train/loss_epoch\); set train_loss_key"):
        logged_loss(clean, "my/loss", "train_loss_key", "M")
    with pytest.raises(ValueError, match="logged nothing|logged: nothing"):
        logged_loss(SimpleNamespace(callback_metrics={}), "auto", "train_loss_key", "M")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"analysis": {"salience_ratio": 0.0}}, "InteractionMonitor: salience_ratio must be > 0, got 0.0"),
    ({"analysis": {"high_from": 11}}, r"InteractionMonitor: analysis: high_from=11 is not valid: expected an int >= 1 and <= 10"),
    ({"analysis": {"tau": 1.0}}, r"InteractionMonitor: analysis options have unknown keys \['tau'\]"),
    ({"probe": {"target_class": -1}}, r"InteractionMonitor: probe: target_class=-1 is not valid"),
    ({"probe": {"reward": "prob"}}, r"probe reward='prob' is not one of \('log_odds', 'logit'\)"),
    ({"probe": {"split": "train", "samples": (torch.rand(2, 1, 8, 8), torch.tensor([0, 1]))}},
     "probe samples are given, so split='train' cannot apply"),
    ({"figures": {"samples": -1}}, "InteractionMonitor: figures: samples=-1 is not valid"),
    ({"figures": {"strongest": 0}}, "InteractionMonitor: figures: strongest=0 is not valid"),
    ({"solver": {"tol": 1.0}}, r"InteractionMonitor: solver options: tol is a relative duality gap and must be in \(0, 1\)"),
    ({"players": {"layer": "layer1.0"}, "forward": {"compile": True}},
     "InteractionMonitor: forward compile works for players at the input only: players at layer 'layer1.0'"),
], ids=["salience", "high_from", "unknown", "target_class", "reward", "samples_and_train", "figure_samples",
        "strongest", "tol", "compile_at_layer"])
def test_bad_monitor_groups_are_one_clear_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InteractionMonitor(num_probe=2, **kwargs)


def test_monitor_groups_from_mappings_and_figures_false() -> None:
    monitor = InteractionMonitor(probe={"reward": "logit", "target_class": 1}, analysis={"salience_ratio": 0.05},
                                 figures=False)
    assert (monitor.probe.reward, monitor.probe.target_class, monitor.analysis.salience_ratio) == ("logit", 1, 0.05)
    assert monitor.figures is None and InteractionMonitor(figures=True).figures == InteractionMonitor().figures
    assert monitor.settings["reward"] == "logit" and monitor.settings["salience_ratio"] == 0.05
