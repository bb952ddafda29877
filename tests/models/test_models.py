"""Model shapes, parameter counts against published figures, parameter layers, registry errors."""

from __future__ import annotations

import pytest
import torch

from lit_interactions.models import (
    BertClassifier,
    create_model,
    list_models,
    minilm_l6,
    parameter_layers,
)

IMAGE_NAMES = ["resnet20", "resnet32", "resnet56", "resnet34", "vgg11", "vgg13", "vgg16", "alexnet"]


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "millions"),
    # He et al. 2016 Table 6 (ResNet-20 0.27M, -32 0.46M, -56 0.85M) and Turc et al. 2019 (BERT-Tiny 4.4M).
    [("resnet20", 0.27), ("resnet32", 0.46), ("resnet56", 0.85), ("bert_tiny", 4.4)],
)
def test_parameter_counts_match_published_figures(name: str, millions: float) -> None:
    model = create_model(name, num_classes=10 if name.startswith("resnet") else 2)
    assert n_params(model) / 1e6 == pytest.approx(millions, abs=0.01 if name.startswith("resnet") else 0.05)


@pytest.mark.parametrize("name", IMAGE_NAMES)
@pytest.mark.parametrize(("channels", "size", "classes"), [(1, 28, 2), (3, 32, 10), (3, 64, 200)])
def test_image_models_take_mnist_cifar_and_tiny_imagenet_shapes(name: str, channels: int, size: int, classes: int) -> None:
    model = create_model(name, num_classes=classes, in_channels=channels).eval()
    with torch.no_grad():
        out = model(torch.rand(2, channels, size, size))
    assert out.shape == (2, classes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(("name", "count"), [("resnet20", 20), ("resnet32", 32), ("resnet56", 56), ("vgg11", 11), ("vgg13", 13), ("vgg16", 16), ("alexnet", 8)])
def test_parameter_layers_count_the_named_depth(name: str, count: int) -> None:
    layers = parameter_layers(create_model(name))
    assert len(layers) == count
    assert layers[0].name.endswith("conv1") or layers[0].name.startswith("features.")


def test_resnet_layers_in_forward_order_with_their_batch_norms() -> None:
    layers = parameter_layers(create_model("resnet56"))
    assert layers[0].modules == ("conv1", "bn1")
    assert layers[1].modules == ("layer1.0.conv1", "layer1.0.bn1")
    assert layers[-1].name == "fc"
    # Paper 2: the first 9 layers of ResNet-56 are the "low" layers, the other 47 the "high" ones.
    assert len(layers[9:]) == 47


def test_resnet56_and_resnet32_share_the_shapes_of_their_first_nine_layers() -> None:
    donor, target = create_model("resnet56"), create_model("resnet32")
    for a, b in zip(parameter_layers(donor)[:9], parameter_layers(target)[:9]):
        shapes_a = [p.shape for m in a.modules for p in donor.get_submodule(m).parameters()]
        shapes_b = [p.shape for m in b.modules for p in target.get_submodule(m).parameters()]
        assert shapes_a == shapes_b


def test_bert_layers_are_embeddings_then_blocks_then_head() -> None:
    names = [layer.name for layer in parameter_layers(create_model("bert_tiny"))]
    assert names == [
        "bert.bert.embeddings",
        "bert.bert.encoder.layer.0",
        "bert.bert.encoder.layer.1",
        "bert.bert.pooler",
        "bert.classifier",
    ]


def test_bert_shapes_and_forward() -> None:
    tiny = create_model("bert_tiny", num_classes=3)
    config = tiny.bert.config
    assert (config.num_hidden_layers, config.hidden_size) == (2, 128)
    medium = create_model("bert_medium")
    assert (medium.bert.config.num_hidden_layers, medium.bert.config.hidden_size) == (8, 512)
    ids = torch.randint(0, 1000, (2, 7))
    logits = tiny.eval()(input_ids=ids, attention_mask=torch.ones_like(ids))
    assert logits.shape == (2, 3)
    embeds = tiny.get_input_embeddings()(ids)
    assert torch.allclose(tiny(inputs_embeds=embeds, attention_mask=torch.ones_like(ids)), logits, atol=1e-5)


def test_embedded_minilm_loads_pretrained_weights_offline() -> None:
    from safetensors.torch import load_file

    from lit_interactions.models import minilm_path

    model = minilm_l6(num_classes=2)
    assert (model.bert.config.num_hidden_layers, model.bert.config.hidden_size) == (6, 384)
    assert all(module.training for module in model.modules())  # dropout active when fine-tuning
    shipped = load_file(f"{minilm_path()}/model.safetensors")
    assert torch.equal(model.get_input_embeddings().weight.detach(), shipped["embeddings.word_embeddings.weight"])
    layer = model.bert.bert.encoder.layer[5].output.dense.weight.detach()
    assert torch.equal(layer, shipped["encoder.layer.5.output.dense.weight"])


def test_pretrained_folder_missing_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="config.json"):
        BertClassifier(pretrained=str(tmp_path / "nowhere"))


def test_pretrained_folder_of_another_shape_or_vocabulary_is_a_clear_error(tmp_path) -> None:
    folder = tmp_path / "tiny"
    create_model("bert_tiny", num_classes=2, vocab_size=100).bert.save_pretrained(folder)
    assert create_model("bert_tiny", pretrained=str(folder)).bert.config.vocab_size == 100
    assert create_model("minilm_l6", pretrained=str(folder)).bert.config.num_hidden_layers == 2  # any shape
    with pytest.raises(ValueError, match="2 layers and hidden size 128, not BERT-Medium .*use model bert_tiny"):
        create_model("bert_medium", pretrained=str(folder))
    with pytest.raises(ValueError, match="vocab_size=30522 differs from the pretrained model's 100"):
        create_model("bert_tiny", pretrained=str(folder), vocab_size=30522)
    dropped = create_model("bert_tiny", pretrained=str(folder), dropout=0.0).bert.config
    assert dropped.hidden_dropout_prob == 0.0 and dropped.attention_probs_dropout_prob == 0.0
    with pytest.raises(ValueError, match="fixed size"):
        create_model("bert_tiny", size="base")
    with pytest.raises(ValueError, match="minilm_l6 takes its shape from the pretrained folder"):
        create_model("minilm_l6", size="tiny")
    with pytest.raises(ValueError, match="a randomly initialised BERT needs a size"):
        BertClassifier(size=None)


def test_unknown_model_lists_the_known_names() -> None:
    with pytest.raises(ValueError, match="known models: .*resnet20"):
        create_model("resnet21")
    assert "vgg16" in list_models() and "bert_tiny" in list_models()


def test_normalisation_is_inside_the_model() -> None:
    model = create_model("resnet20", in_channels=1, mean=[0.5], std=[0.25]).eval()
    with pytest.raises(ValueError, match="channels"):
        model(torch.rand(1, 3, 28, 28))
    with pytest.raises(ValueError, match="std must be positive"):
        create_model("resnet20", mean=[0, 0, 0], std=[1, 0, 1])
