"""Low-layer transplant: what is copied, across architectures, BERT, freezing, resuming, errors, the CLI."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
import yaml
from torch.utils.data import DataLoader

from lit_interactions.models import create_model, list_models, parameter_layers
from lit_interactions.models.transplant import (
    apply_transplant,
    check_spec,
    donor_layers,
    load_donor_state,
)
from lit_interactions.modules import AdversarialTraining, ImageClassifier, LayerTransplant, TextClassifier

ROOT = Path(__file__).resolve().parents[2]


def layer_state(model: torch.nn.Module, index: int) -> dict[str, torch.Tensor]:
    """Parameters and buffers of parameter layer ``index``, keyed inside the layer."""
    layer = parameter_layers(model)[index]
    state = model.state_dict()
    return {
        f"{i}:{key[len(m) + 1:]}": value.clone()
        for i, m in enumerate(layer.modules)
        for key, value in state.items()
        if key.startswith(f"{m}.")
    }


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def trained_donor(name: str = "resnet20", seed: int = 1, **kwargs) -> ImageClassifier:
    """A donor whose batch-norm buffers are not at their initial values (as after training)."""
    torch.manual_seed(seed)
    donor = ImageClassifier(name, num_classes=2, in_channels=1, **kwargs)
    for module in donor.model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.num_batches_tracked.fill_(7)
    return donor


def save_lightning_style(module: L.LightningModule, path: Path) -> str:
    torch.save({"state_dict": module.state_dict(), "epoch": 3}, path)
    return str(path)


def loader(n: int = 8, seed: int = 0) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    items = [{"inputs": torch.rand(1, 12, 12, generator=g), "labels": i % 2, "ids": i} for i in range(n)]
    return DataLoader(items, batch_size=4)


def trainer(max_epochs: int, callbacks: list | None = None) -> L.Trainer:
    return L.Trainer(
        max_epochs=max_epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=callbacks or [],
    )


@pytest.mark.parametrize("name", [n for n in list_models() if n not in ("bert_base", "bert_large")])
def test_donor_layers_from_a_state_dict_equal_parameter_layers(name: str) -> None:
    model = create_model(name, num_classes=3)
    assert donor_layers(model.state_dict()) == parameter_layers(model)


@pytest.mark.parametrize("form", ["lightning", "bare"])
def test_same_architecture_copy_equals_donor_below_L_and_differs_beyond(tmp_path: Path, form: str) -> None:
    donor = trained_donor()
    if form == "lightning":
        path = save_lightning_style(donor, tmp_path / "donor.ckpt")
    else:
        path = str(tmp_path / "donor.pt")
        torch.save(donor.model.state_dict(), path)
    torch.manual_seed(2)
    target = ImageClassifier("resnet20", num_classes=2, in_channels=1, transplant=LayerTransplant(**{"checkpoint": path, "num_layers": 5}))
    for i in range(5):
        assert same(layer_state(target.model, i), layer_state(donor.model, i)), i  # weights and running stats
    for i in range(5, 20):
        assert not same(layer_state(target.model, i), layer_state(donor.model, i)), i
    assert layer_state(target.model, 4)["1:num_batches_tracked"].item() == 7
    record = target.hparams["transplanted"]
    assert record["checkpoint"] == str(Path(path).resolve())
    assert record["layers"] == ["conv1 <- conv1", "layer1.0.conv1 <- layer1.0.conv1", "layer1.0.conv2 <- layer1.0.conv2",
                                "layer1.1.conv1 <- layer1.1.conv1", "layer1.1.conv2 <- layer1.1.conv2"]
    assert record["num_layers"] == 5 and record["freeze"] is False
    assert target.hparams["transplant"] == {"class_path": "lit_interactions.modules.transplant.LayerTransplant",
                                            "init_args": {"checkpoint": path, "num_layers": 5, "freeze": False}}


def test_all_layers_copies_the_whole_network_and_reproduces_the_donors_outputs_exactly(tmp_path: Path) -> None:
    norm = {"mean": [0.2], "std": [0.4]}
    donor = trained_donor(model_kwargs=norm)
    with torch.no_grad():
        donor.model.normalize.mean.fill_(0.25)  # outside every parameter layer: copied by name
    path = save_lightning_style(donor, tmp_path / "donor.ckpt")
    torch.manual_seed(2)
    spec = {"checkpoint": path, "num_layers": "all"}
    target = ImageClassifier("resnet20", num_classes=2, in_channels=1, model_kwargs=norm, transplant=LayerTransplant(**spec))
    assert same(target.model.state_dict(), donor.model.state_dict())  # weights, head, batch-norm statistics
    inputs = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    donor.eval(), target.eval()
    assert torch.equal(target.model(inputs), donor.model(inputs))
    record = target.hparams["transplanted"]
    assert record["num_layers"] == 20 and record["layers"][-1] == "fc <- fc"


def test_all_layers_needs_the_same_architecture_and_trains_everything(tmp_path: Path) -> None:
    path = save_lightning_style(trained_donor(), tmp_path / "donor.ckpt")
    spec = {"checkpoint": path, "num_layers": "all"}
    with pytest.raises(ValueError, match="target model has 32 parameter layers and the donor .* has 20"):
        ImageClassifier("resnet32", num_classes=2, in_channels=1, transplant=LayerTransplant(**spec))
    with pytest.raises(ValueError, match=r"target holds \['normalize.mean', 'normalize.std'\] but the donor"):
        ImageClassifier("resnet20", num_classes=2, in_channels=1, model_kwargs={"mean": [0.1], "std": [0.3]},
                        transplant=LayerTransplant(**spec))
    with pytest.raises(ValueError, match="would leave nothing to train"):
        ImageClassifier("resnet20", num_classes=2, in_channels=1, transplant=LayerTransplant(**{**spec, "freeze": True}))
    with pytest.raises(ValueError, match="or 'all'"):
        ImageClassifier("resnet20", num_classes=2, in_channels=1, transplant=LayerTransplant(**{**spec, "num_layers": "most"}))


def test_resnet56_donor_seeds_resnet32_up_to_layer_11_and_layer_12_names_the_mismatch(tmp_path: Path) -> None:
    donor = create_model("resnet56")
    path = tmp_path / "resnet56.pt"
    torch.save(donor.state_dict(), path)
    target = create_model("resnet32")
    result = apply_transplant(target, {"checkpoint": str(path), "num_layers": 9})
    assert result.layers[-1] == ("layer1.3.conv2", "layer1.3.conv2")
    assert all(same(layer_state(target, i), layer_state(donor, i)) for i in range(9))
    assert not same(layer_state(target, 9), layer_state(donor, 9))
    # Layers 9 and 10 (layer1.4.*) still have 16x16 shapes in both: the first 11 layers transplant.
    apply_transplant(target, {"checkpoint": str(path), "num_layers": 11})
    assert same(layer_state(target, 10), layer_state(donor, 10))
    # Layer 11 is ResNet-32's first 32-channel conv but still a 16-channel conv in ResNet-56.
    with pytest.raises(ValueError) as err:
        apply_transplant(create_model("resnet32"), {"checkpoint": str(path), "num_layers": 12})
    message = str(err.value)
    for part in ("layer 11", "'layer2.0.conv1.weight'", "(32, 16, 3, 3)", "'layer1.5.conv1.weight'", "(16, 16, 3, 3)",
                 "num_layers <= 11"):
        assert part in message


def test_more_layers_than_either_model_has_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "resnet20.pt"
    torch.save(create_model("resnet20").state_dict(), path)
    with pytest.raises(ValueError, match=r"num_layers=21 but the target model has only 20 parameter layers"):
        apply_transplant(create_model("resnet20"), {"checkpoint": str(path), "num_layers": 21})
    with pytest.raises(ValueError, match=r"num_layers=21 but the donor .* has only 20 parameter layers; use num_layers <= 20"):
        apply_transplant(create_model("resnet32"), {"checkpoint": str(path), "num_layers": 21})


def test_a_donor_with_different_layer_contents_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "vgg11.pt"
    torch.save(create_model("vgg11").state_dict(), path)  # VGG's first conv has a bias, ResNet's has none
    with pytest.raises(ValueError, match=r"cannot transplant layer 0: target layer 'conv1' holds .* but donor layer 'features.0'"):
        apply_transplant(create_model("resnet20"), {"checkpoint": str(path), "num_layers": 1})


def test_bert_tiny_low_layers_are_embeddings_and_first_block(tmp_path: Path) -> None:
    torch.manual_seed(1)
    donor = TextClassifier("bert_tiny")
    path = save_lightning_style(donor, tmp_path / "bert.ckpt")
    torch.manual_seed(2)
    target = TextClassifier("bert_tiny", transplant=LayerTransplant(**{"checkpoint": path, "num_layers": 2}))
    assert target.hparams["transplanted"]["layers"] == [
        "bert.bert.embeddings <- bert.bert.embeddings", "bert.bert.encoder.layer.0 <- bert.bert.encoder.layer.0",
    ]
    assert same(layer_state(target.model, 0), layer_state(donor.model, 0))
    assert same(layer_state(target.model, 1), layer_state(donor.model, 1))
    for i in (2, 3, 4):  # second block, pooler, classifier
        assert not same(layer_state(target.model, i), layer_state(donor.model, i))
    ids = torch.randint(0, 30522, (2, 6))
    embed = lambda m: m.model.eval().bert.bert.embeddings(ids)  # noqa: E731
    assert torch.equal(embed(target), embed(donor))
    medium = tmp_path / "medium.pt"
    torch.save(create_model("bert_medium").state_dict(), medium)
    with pytest.raises(ValueError, match=r"'bert.bert.embeddings.word_embeddings.weight' .* shape \(30522, 128\) .* \(30522, 512\)"):
        TextClassifier("bert_tiny", transplant=LayerTransplant(**{"checkpoint": str(medium), "num_layers": 1}))


def test_frozen_layers_and_their_batch_norm_statistics_stay_fixed_while_the_rest_trains(tmp_path: Path) -> None:
    path = save_lightning_style(trained_donor(), tmp_path / "donor.ckpt")
    torch.manual_seed(0)
    module = ImageClassifier("resnet20", num_classes=2, in_channels=1, lr=0.1,
                             transplant=LayerTransplant(**{"checkpoint": path, "num_layers": 3, "freeze": True}))
    before = [layer_state(module.model, i) for i in range(4)]
    modes: list[tuple[bool, bool]] = []

    class Probe(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # noqa: ANN001
            net = pl_module.model
            modes.append((net.get_submodule("layer1.0.bn2").training, net.get_submodule("layer1.1.bn1").training))

    trainer(2, [Probe()]).fit(module, loader(), loader(4, seed=1))  # validation in between switches modes
    assert len(modes) == 4 and set(modes) == {(False, True)}  # layer 2's norm frozen, layer 3's trains
    for i in range(3):
        assert same(layer_state(module.model, i), before[i]), i
        assert not any(p.requires_grad for p in module.model.get_submodule(parameter_layers(module.model)[i].name).parameters())
    after = layer_state(module.model, 3)
    assert not torch.equal(after["0:weight"], before[3]["0:weight"])
    assert not torch.equal(after["1:running_mean"], before[3]["1:running_mean"])
    assert module.hparams["transplanted"]["freeze"] is True


def test_the_recipes_frozen_low_layers_stay_the_donors_bit_for_bit_through_an_adversarial_fit(tmp_path: Path) -> None:
    # The low-layer recipes' setting (paper 2 App. I.7): a ResNet-56 donor's first 9 layers in a ResNet-32 target,
    # frozen, trained with PGD, momentum and weight decay. After the fit every copied parameter and batch-norm buffer
    # still equals the donor's while layer 10 trained; without freezing the copied layers drift.
    donor = trained_donor("resnet56")
    path = save_lightning_style(donor, tmp_path / "donor.ckpt")
    for freeze in (True, False):
        torch.manual_seed(0)
        module = ImageClassifier("resnet32", num_classes=2, in_channels=1, lr=0.1, weight_decay=5e-4,
                                 adversarial=AdversarialTraining(), transplant=LayerTransplant(**{"checkpoint": path, "num_layers": 9, "freeze": freeze}))
        upper = layer_state(module.model, 9)
        trainer(1).fit(module, loader(), loader(4, seed=1))
        copied = [same(layer_state(module.model, i), layer_state(donor.model, i)) for i in range(9)]
        assert copied == [freeze] * 9
        assert not torch.equal(layer_state(module.model, 9)["0:weight"], upper["0:weight"])


def test_resuming_from_the_modules_own_checkpoint_keeps_its_weights_not_the_donors(tmp_path: Path) -> None:
    path = save_lightning_style(trained_donor(), tmp_path / "donor.ckpt")
    spec = {"checkpoint": path, "num_layers": 4}
    first = ImageClassifier("resnet20", num_classes=2, in_channels=1, lr=0.1, transplant=LayerTransplant(**spec))
    fit = trainer(1)
    fit.fit(first, loader())
    own = tmp_path / "own.ckpt"
    fit.save_checkpoint(own)
    trained = layer_state(first.model, 0)
    assert not same(trained, layer_state(trained_donor().model, 0))  # training moved the transplanted layer

    seen: list[dict[str, torch.Tensor]] = []

    class Probe(L.Callback):
        def on_train_start(self, trainer, pl_module) -> None:  # noqa: ANN001
            seen.append(layer_state(pl_module.model, 0))

    resumed = ImageClassifier("resnet20", num_classes=2, in_channels=1, lr=0.1, transplant=LayerTransplant(**spec))
    assert same(layer_state(resumed.model, 0), layer_state(trained_donor().model, 0))  # construction: the donor's
    trainer(2, [Probe()]).fit(resumed, loader(), ckpt_path=own)  # Lightning loads the checkpoint weights_only
    assert same(seen[0], trained)
    saved = torch.load(own, map_location="cpu", weights_only=True)
    assert saved["hyper_parameters"]["transplanted"]["layers"][0] == "conv1 <- conv1"
    Path(path).unlink()  # without the donor file, inference skips the transplant
    loaded = ImageClassifier.load_from_checkpoint(own, transplant=None)
    assert same(layer_state(loaded.model, 0), trained)


def test_bad_donor_files_and_options_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"donor checkpoint .*missing.ckpt does not exist"):
        ImageClassifier("resnet20", transplant=LayerTransplant(**{"checkpoint": str(tmp_path / "missing.ckpt"), "num_layers": 1}))
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a weights-only torch checkpoint"):
        load_donor_state(garbage)
    pickled = tmp_path / "object.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "extra": Path("x")}, pickled)
    with pytest.raises(ValueError, match="not a weights-only torch checkpoint"):
        load_donor_state(pickled)
    with pytest.raises(ValueError, match="safetensors files do not keep the layer order"):
        load_donor_state(garbage.rename(tmp_path / "donor.safetensors"))
    empty = tmp_path / "empty.pt"
    torch.save({"epoch": 1}, empty)
    with pytest.raises(ValueError, match="holds no state dict of tensors"):
        load_donor_state(empty)
    good = tmp_path / "ok.pt"
    torch.save(create_model("resnet20").state_dict(), good)
    for spec, message in [  # as a mapping (YAML checks the keys of the part's init_args itself)
        ({"checkpoint": str(good)}, r"missing keys \['num_layers'\]"),
        ({"checkpoint": str(good), "num_layers": 1, "layers": 2}, r"unknown keys \['layers'\]"),
    ]:
        with pytest.raises(ValueError, match=message):
            check_spec(spec)
    for spec, message in [
        ({"checkpoint": str(good), "num_layers": -1}, "must be an int >= 0"),
        ({"checkpoint": str(good), "num_layers": 1, "freeze": "yes"}, "must be true or false"),
    ]:
        with pytest.raises(ValueError, match=message):
            ImageClassifier("resnet20", transplant=LayerTransplant(**spec))


def test_zero_layers_copies_nothing_and_records_it(tmp_path: Path) -> None:
    path = tmp_path / "resnet20.pt"
    torch.save(create_model("resnet20").state_dict(), path)
    torch.manual_seed(0)
    plain = ImageClassifier("resnet20")
    torch.manual_seed(0)
    module = ImageClassifier("resnet20", transplant=LayerTransplant(**{"checkpoint": str(path), "num_layers": 0}))
    assert same(module.model.state_dict(), plain.model.state_dict())
    assert module.hparams["transplanted"]["layers"] == []


@pytest.mark.slow
def test_cli_fit_with_a_frozen_transplant_from_a_quickstart_donor(tmp_path: Path) -> None:
    from lit_interactions.cli import cli_main
    from tests.quickstart_runs import QUICKSTART, short_run

    small = ["--config", QUICKSTART, "--trainer.max_epochs=1", *short_run(train_batches=3), "--run.wandb_mode=disabled",
             f"--run.root={tmp_path}", "--interactions=null"]
    cli_main(["fit", *small, "--run.name=donor", "--run.version=a", "--seed_everything=1"])
    donor_ckpt = tmp_path / "donor" / "a" / "checkpoints" / "last.ckpt"
    cli_main(["fit", *small, "--run.name=target", "--run.version=b", "--model.init_args.transplant=lit_interactions.modules.LayerTransplant",
              f"--model.init_args.transplant.init_args.checkpoint={donor_ckpt}",
              "--model.init_args.transplant.init_args.num_layers=9", "--model.init_args.transplant.init_args.freeze=true"])
    run = tmp_path / "target" / "b"
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["model"]["init_args"]["transplant"]["init_args"] == {
        "checkpoint": str(donor_ckpt), "num_layers": 9, "freeze": True}
    donor = torch.load(donor_ckpt, map_location="cpu", weights_only=True)
    target = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert target["hyper_parameters"]["transplanted"]["layers"][8] == "layer2.0.conv2 <- layer2.0.conv2"
    # ResNet-20's first 9 layers: conv1, the 3 blocks of stage 1 (2 convs each), the first block of stage 2.
    low = ("model.conv1.", "model.bn1.", "model.layer1.", "model.layer2.0.")
    frozen = [k for k in donor["state_dict"] if k.startswith(low)]
    assert len(frozen) == 9 * 6  # per layer: conv weight + batch norm weight, bias, running mean/var, batch count
    assert all(torch.equal(target["state_dict"][k], donor["state_dict"][k]) for k in frozen)  # trained 3 steps, unchanged
    trained = "model.layer2.1.conv1.weight"
    assert not torch.equal(target["state_dict"][trained], donor["state_dict"][trained])

    # Resuming the transplanted run restores its arguments from the checkpoint; the transplant record is not one.
    cli_main(["fit", *small, "--trainer.max_epochs=2", "--run.name=target", f"--ckpt_path={run / 'checkpoints' / 'last.ckpt'}"])
    resumed = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert resumed["epoch"] == 1 and resumed["hyper_parameters"]["transplanted"]["num_layers"] == 9
    assert all(torch.equal(resumed["state_dict"][k], donor["state_dict"][k]) for k in frozen)  # still frozen

    # Evaluating the run needs only its checkpoint, not the donor's.
    donor_ckpt.unlink()
    cli_main(["test", *small, "--run.name=target", f"--ckpt_path={run / 'checkpoints' / 'last.ckpt'}",
              "--trainer.limit_test_batches=1"])
    assert (run / "metrics_test.csv").is_file()
