"""explain() on a torchvision classifier with a bare image tensor and on a Hugging Face sequence classifier."""

from __future__ import annotations

import pytest
import torch
from torchvision.models import resnet18
from transformers import BertConfig, BertForSequenceClassification

from lit_interactions import explain
from lit_interactions.interactions import Interactions
from lit_interactions.models.tiny_lms import byte_level_tokenizer
from lit_interactions.players import ImagePatchPlayers, log_odds


@pytest.fixture(scope="module")
def resnet() -> torch.nn.Module:
    torch.manual_seed(0)
    return resnet18(num_classes=10).eval()


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_bare_image_tensor(resnet: torch.nn.Module, image: torch.Tensor) -> None:
    result = explain(resnet, image, n_players=5)
    with torch.no_grad():
        logits = resnet(image[None])
    predicted = int(logits.argmax())
    assert result.batch_shape == torch.Size([]) and int(result.extra["targets"]) == predicted
    assert result.rewards[-1].item() == pytest.approx(float(log_odds(logits, torch.tensor([predicted]))), abs=1e-4)
    # v(empty): every player patch at zero
    players = ImagePatchPlayers(5)
    masked = players.mask_features(image[None], result.extra["players"][None], torch.zeros(1, 5, dtype=torch.bool))
    with torch.no_grad():
        empty = log_odds(resnet(masked), torch.tensor([predicted]))
    assert result.rewards[0].item() == pytest.approx(float(empty), abs=1e-4)
    assert torch.allclose(result.reconstruct(), result.rewards - result.noise, atol=1e-9)


def test_batch_layer_and_baselines(resnet: torch.nn.Module, image: torch.Tensor) -> None:
    batch = torch.stack([image, image.flip(-1)])
    zero = explain(resnet, batch, n_players=4, target=3)
    assert zero.batch_shape == torch.Size([2]) and zero.extra["targets"].tolist() == [3, 3]
    first = explain(resnet, image, n_players=4, target=3)
    assert torch.allclose(zero[0].rewards, first.rewards, atol=1e-5)
    # a constant tensor baseline of 0 is the zero baseline; of 0.5 it differs
    same = explain(resnet, batch, n_players=4, target=3, baseline=torch.zeros(3, 1, 1))
    assert torch.allclose(same.rewards, zero.rewards)
    gray = explain(resnet, batch, n_players=4, target=3, baseline=torch.full((3, 1, 1), 0.5))
    assert not torch.allclose(gray.rewards[:, 0], zero.rewards[:, 0])
    assert torch.allclose(gray.rewards[:, -1], zero.rewards[:, -1])  # nothing masked: same input
    at_layer = explain(resnet, image, n_players=4, layer="layer1", baseline="mean")
    assert at_layer.settings["players"]["layer"] == "layer1"
    assert torch.allclose(at_layer.reconstruct(), at_layer.rewards - at_layer.noise, atol=1e-9)


def test_two_image_models_jointly(resnet: torch.nn.Module, image: torch.Tensor, tmp_path) -> None:
    torch.manual_seed(5)
    other = resnet18(num_classes=10).eval()
    joint = explain([resnet, other], image, n_players=4, target=2)
    assert joint.batch_shape == torch.Size([2])
    assert joint.settings["problem"] == "joint"
    joint.save(tmp_path / "joint.safetensors")
    loaded = Interactions.load(tmp_path / "joint.safetensors")
    assert torch.equal(loaded.and_effects, joint.and_effects)
    assert torch.equal(loaded.extra["players"], joint.extra["players"])


@pytest.mark.parametrize(
    ("inputs", "error", "match"),
    [
        (torch.zeros(3, 32, 32, dtype=torch.uint8), TypeError, "float tensor"),
        (torch.full((3, 32, 32), float("nan")), ValueError, "NaN"),
        (torch.zeros(32, 32), ValueError, r"\[C, H, W\]"),
    ],
)
def test_bad_images(resnet: torch.nn.Module, inputs: torch.Tensor, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        explain(resnet, inputs, n_players=4)


def test_bad_options(resnet: torch.nn.Module, image: torch.Tensor) -> None:
    with pytest.raises(TypeError, match=r"grid=5.0 is not valid: expected an int >= 1"):
        explain(resnet, image, grid=5.0)
    with pytest.raises(ValueError, match="does not broadcast"):
        explain(resnet, image, n_players=3, baseline=torch.zeros(2, 1, 1))
    with pytest.raises(ValueError, match="no module named"):
        explain(resnet, image, n_players=3, layer="layer9")


def test_sequence_classifier_with_its_tokenizer() -> None:
    tokenizer = byte_level_tokenizer()
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(
        vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        num_labels=3, initializer_range=0.5,
    )).eval()
    text = "The quick brown fox jumps over the lazy dog near the quiet riverbank at dawn."
    result = explain(model, [text], tokenizer=tokenizer, n_players=5)
    with torch.no_grad():
        logits = model(**tokenizer([text], return_tensors="pt")).logits
    predicted = int(logits.argmax())
    assert result.batch_shape == torch.Size([1]) and result.extra["targets"].tolist() == [predicted]
    assert result.rewards[0, -1].item() == pytest.approx(float(log_odds(logits, torch.tensor([predicted]))), abs=1e-4)
    assert result.settings["players"]["baseline"] == "mean"
    chosen = [result.settings["words"][0][i] for i in result.extra["players"][0].tolist()]
    assert chosen and all(w.lower() not in {"the", "over", "at", "near"} and w.isalpha() for w in chosen)
