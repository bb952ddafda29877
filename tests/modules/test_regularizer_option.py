"""The classifier modules' ``regularizer:`` option: settings, players, baseline DNN checks, errors before training."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from lit_interactions.modules import ImageClassifier, TextClassifier
from lit_interactions.modules.batches import seeded_rows
from lit_interactions.modules.parts import build_part
from lit_interactions.modules.regularizer_option import InteractionPenalty
from lit_interactions.players import ImagePatchPlayers, TextWordPlayers
from lit_interactions.players.options import PlayerOptions

IMAGES = SimpleNamespace(task="image", input_shape=(1, 28, 28))


PLAYER_KEYS = ("n_players", "grid", "layer", "seed")


def penalty_part(**settings) -> InteractionPenalty:
    """The penalty part with player settings given flat (``n_players=3``) for brevity."""
    players = {key: settings.pop(key) for key in PLAYER_KEYS if key in settings}
    return InteractionPenalty(**settings, **({"players": PlayerOptions(**players)} if players else {}))


def module(**regularizer) -> ImageClassifier:
    return ImageClassifier("resnet20", num_classes=2, in_channels=1, regularizer=penalty_part(**regularizer))


def save_classifier(path: Path, classifier: torch.nn.Module) -> str:
    """A checkpoint as Lightning writes it (state dict and hyperparameters), plain data only."""
    torch.save({"state_dict": classifier.state_dict(), "hyper_parameters": dict(classifier.hparams)}, path)
    return str(path)


def batch(size: int = 3) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"inputs": torch.rand(size, 1, 28, 28, generator=g), "labels": torch.tensor([0, 1, 1])[:size],
            "ids": torch.arange(size)}


def test_the_option_builds_the_penalty_and_stays_plain_data_in_hparams() -> None:
    classifier = module(weight=0.5, min_order=2, n_players=4, every_n_steps=3)
    reg = classifier.parts.given["regularizer"]
    assert reg is not None and (reg.weight, reg.min_order, reg.n_players, reg.every_n_steps) == (0.5, 2, 4, 3)
    assert classifier.hparams["regularizer"] == {
        "class_path": "lit_interactions.modules.regularizer_option.InteractionPenalty",
        "init_args": {"weight": 0.5, "min_order": 2, "players": PlayerOptions(n_players=4).to_dict(), "every_n_steps": 3,
                      "baseline": None},
    }
    assert ImageClassifier("resnet20", num_classes=2).parts.given["regularizer"] is None
    classifier.parts.given["regularizer"].setup(classifier, IMAGES, "fit")
    assert isinstance(classifier.parts.given["regularizer"].player_type, ImagePatchPlayers)


def test_non_generalizable_mode_with_a_baseline_of_the_same_model_penalises_through_the_model(tmp_path: Path) -> None:
    torch.manual_seed(3)
    baseline = save_classifier(tmp_path / "baseline.ckpt", ImageClassifier("resnet20", num_classes=2, in_channels=1))
    torch.manual_seed(0)
    classifier = module(remove="both", n_players=3, num_samples=2, baseline=baseline)
    reg = classifier.parts.given["regularizer"]
    with_probe = SimpleNamespace(task="image", input_shape=(1, 28, 28), probe_ids=[0, 1, 2], batch=lambda ids: batch(len(ids)))
    reg.setup(classifier, with_probe, "fit")  # the thresholds' probe samples come from the data module
    assert reg.comparison.probe is not None and reg.comparison.probe["ids"].tolist() == [0, 1, 2]
    players = reg.player_type
    assert reg.comparison.baseline is not None and not any(p.requires_grad for p in reg.comparison.baseline.parameters())
    penalty, logs = reg.penalty(classifier.model, batch(), players, step=0)
    penalty.backward()
    assert 0.0 <= logs["regularizer/share"] <= 1.0 and logs["regularizer/samples"] == 2
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in classifier.model.parameters())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"remove": "non_generalizable"}, "needs a baseline DNN"),
        ({"remove": "high_order", "baseline": "x.ckpt"}, "does not use it"),
        ({"n_players": 17}, "n_players=17"),
        ({"n_players": 4, "min_order": 5}, "min_order"),
        ({"every_n_steps": 0}, "every_n_steps >= 1"),
        ({"remove": "everything"}, "remove must be"),
    ],
)
def test_bad_settings_are_refused_when_the_module_is_built(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        module(**settings)
    with pytest.raises(ValueError, match="regularizer must be a InteractionPenalty"):
        build_part([("weight", 1.0)], InteractionPenalty, "regularizer")


def test_players_that_do_not_fit_the_run_are_refused_before_training() -> None:
    classifier = module(n_players=10, grid=3)
    with pytest.raises(ValueError, match=r"regularizer: n_players=10 > grid\*grid=9"):
        classifier.parts.given["regularizer"].setup(classifier, IMAGES, "fit")
    classifier = module(n_players=4, layer="layer9.0")
    with pytest.raises(ValueError, match="no module named 'layer9.0'"):
        classifier.parts.given["regularizer"].setup(classifier, IMAGES, "fit")
    text = TextClassifier("bert_tiny", num_classes=2, regularizer=penalty_part(n_players=4))
    with pytest.raises(ValueError, match="word players need the data module's tokenizer"):
        text.parts.given["regularizer"].setup(text, SimpleNamespace(task="text"), "fit")
    text.parts.given["regularizer"].setup(text, SimpleNamespace(task="text", tokenizer=object()), "fit")
    assert isinstance(text.parts.given["regularizer"].player_type, TextWordPlayers)


def test_a_baseline_that_does_not_fit_the_run_is_refused_before_training(tmp_path: Path) -> None:
    resnet32 = save_classifier(tmp_path / "r32.ckpt", ImageClassifier("resnet32", num_classes=2, in_channels=1))
    ten_classes = save_classifier(tmp_path / "r20_10.ckpt", ImageClassifier("resnet20", num_classes=10, in_channels=1))
    rgb = save_classifier(tmp_path / "r20_rgb.ckpt", ImageClassifier("resnet20", num_classes=2, in_channels=3))
    text = tmp_path / "bert.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"model": "bert_tiny", "num_classes": 2}}, text)
    cases = [
        (resnet32, ValueError, "is a resnet32 but this run trains a resnet20"),
        (ten_classes, ValueError, "num_classes=10 but this run has 2"),
        (rgb, ValueError, "in_channels=3 but the data has 1 channels"),
        (str(text), ValueError, "is a text model .* but this run trains an image model"),
        (str(tmp_path / "missing.ckpt"), FileNotFoundError, r"--model.init_args.regularizer.init_args.baseline"),
    ]
    for path, error, message in cases:
        classifier = module(remove="non_generalizable", n_players=3, baseline=path)
        with pytest.raises(error, match=message):
            classifier.parts.given["regularizer"].setup(classifier, IMAGES, "fit")


def test_text_penalty_uses_only_samples_with_enough_words_and_skips_a_step_without_any() -> None:
    classifier = TextClassifier("bert_tiny", num_classes=2, regularizer=penalty_part(n_players=2, min_order=2, num_samples=2))
    reg = classifier.parts.given["regularizer"]
    players = TextWordPlayers(n_players=2)
    words = [["good", "film"], ["the"], ["great", "plot", "twist"]]
    text = {
        "input_ids": torch.tensor([[101, 11, 12, 102, 0], [101, 13, 102, 0, 0], [101, 14, 15, 16, 102]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]),
        "token_type_ids": torch.zeros(3, 5, dtype=torch.long),
        "word_ids": torch.tensor([[-1, 0, 1, -1, -1], [-1, 0, -1, -1, -1], [-1, 0, 1, 2, -1]]),
        "labels": torch.tensor([1, 0, 1]),
        "ids": torch.tensor([5, 6, 7]),
    }
    sub = seeded_rows({**text, "words": words}, players, reg.n_players, reg.num_samples, seed=0)
    assert sub is not None and sorted(sub["ids"].tolist()) == [5, 7]
    short = {key: value[1:2] for key, value in text.items()}
    penalty, logs = reg.penalty(classifier.model, {**short, "words": [words[1]]}, players, step=0)
    assert float(penalty) == 0.0 and logs["regularizer/samples"] == 0
