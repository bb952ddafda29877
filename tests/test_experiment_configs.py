"""Every experiment recipe config (configs/experiments/) parses and follows its protocol (docs/experiments.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lit_interactions.cli import cli_main

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted((ROOT / "configs" / "experiments").glob("*.yaml"))


def resolved(path: Path, capsys: pytest.CaptureFixture[str], *overrides: str) -> dict:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["fit", "--config", str(path), *overrides, "--print_config"])
    assert exit_info.value.code in (0, None)
    return yaml.safe_load(capsys.readouterr().out)


def test_there_are_recipes_and_the_docs_name_every_one() -> None:
    docs = (ROOT / "docs" / "experiments.md").read_text()
    assert len(EXPERIMENTS) >= 19
    assert [p.name for p in EXPERIMENTS if p.name not in docs] == []


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_every_experiment_config_parses(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = resolved(path, capsys)
    init = config["model"]["init_args"]
    data = config["data"]["init_args"]
    assert config["run"]["name"] == path.stem
    text = init["model"] in ("bert_tiny", "minilm_l6")
    if path.name.startswith(("lowlayer_", "baseline_")) and text:
        assert data["num_probe"] >= 500  # a held-out pool: the monitor takes 200 sentences with >= 10 words
    else:
        assert data["num_probe"] == 200  # confusing samples are identified on the same 200 probe samples
    if path.name.startswith("lowlayer_") and "donor" not in path.name:
        low = 2 if init["model"] in ("bert_tiny", "minilm_l6") else 9  # BERT: embeddings + block 1; ResNet: 9 layers
        transplant = init["transplant"]["init_args"]
        assert init["transplant"]["class_path"] == "lit_interactions.modules.LayerTransplant"
        assert transplant["num_layers"] == low
        assert transplant["freeze"] is True  # App. I.7: only the upper layers train
        donor = transplant["checkpoint"]
        assert donor.endswith("/a/checkpoints/last.ckpt") and f"{path.stem.split('_')[1]}_donor" in donor
        assert data["train_subset"] == 0
    elif path.name.startswith("finetune_"):
        transplant = init["transplant"]["init_args"]
        assert transplant == {"checkpoint": "runs/quickstart/donor/checkpoints/last.ckpt", "num_layers": "all",
                              "freeze": False}
    else:
        assert init["transplant"] is None
    if path.name.startswith("baseline_"):
        assert data["train_subset"] == 1
    if path.name.startswith(("lowlayer_", "baseline_")) and "donor" not in path.name:
        assert_paper2_monitor(config, text)


def assert_paper2_monitor(config: dict, text: bool) -> None:
    """Paper 2's measurement (App. I.3, I.5): 200 probe samples, 10 players after the low layers, confusing samples."""
    monitor = config["interactions"]
    assert monitor["class_path"] == "lit_interactions.callbacks.InteractionMonitor"
    args = monitor["init_args"]
    players, solver = args["players"], args["solver"]
    assert (args["num_probe"], players["n_players"], solver["noise_ratio"], args["analysis"]["salience_ratio"]) == (200, 10, 0.01, 0.02)
    epochs = config["trainer"]["max_epochs"]
    assert 1 <= args["every_n_epochs"] <= epochs and epochs % args["every_n_epochs"] == 0  # the final model is measured
    if text:
        assert (players["layer"], players["text_baseline"]) == ("bert.bert.encoder.layer.0", "mean")  # after block 1
    else:
        assert (players["layer"], players["grid"], players["image_baseline"]) == ("layer1.3", 5, "zero")  # after 9 conv layers
    assert config["confusing_samples"]["class_path"] == "lit_interactions.callbacks.ConfusingSamples"


def test_the_monitors_layers_are_the_low_layers_of_the_recipes_models() -> None:
    from lit_interactions.models import create_model, parameter_layers

    for name in ("resnet56", "resnet32"):  # layer1.3 ends the 9th parameter layer (conv + batch norm)
        layers = parameter_layers(create_model(name, num_classes=10))
        assert layers[8].name == "layer1.3.conv2"
    bert = create_model("bert_tiny", num_classes=2)
    assert parameter_layers(bert)[1].name == "bert.bert.encoder.layer.0"  # L = 2: embeddings + first block


def test_the_sweep_flags_override_the_transplant(capsys: pytest.CaptureFixture[str]) -> None:
    path = ROOT / "configs" / "experiments" / "lowlayer_mnist3_resnet56_small.yaml"
    config = resolved(path, capsys, "--model.init_args.transplant.init_args.num_layers=13",
                      "--data.init_args.train_subset=1")
    assert config["model"]["init_args"]["transplant"]["init_args"] == {
        "checkpoint": "runs/lowlayer_mnist3_donor_small/a/checkpoints/last.ckpt", "num_layers": 13, "freeze": True,
    }
    assert config["data"]["init_args"]["train_subset"] == 1
    unfrozen = resolved(path, capsys, "--model.init_args.transplant.init_args.freeze=false")
    assert unfrozen["model"]["init_args"]["transplant"]["init_args"]["freeze"] is False  # freeze: false stays an option


def test_the_finetune_pair_differs_only_in_the_regularizer(capsys: pytest.CaptureFixture[str]) -> None:
    folder = ROOT / "configs" / "experiments"
    plain = resolved(folder / "finetune_mnist3_plain.yaml", capsys)
    regularized = resolved(folder / "finetune_mnist3_regularized.yaml", capsys)
    assert plain["model"]["init_args"].pop("regularizer") is None
    penalty = regularized["model"]["init_args"].pop("regularizer")["init_args"]
    assert penalty["weight"] > 0 and penalty["remove"] == "high_order" and penalty["players"]["n_players"] <= 10
    for config in (plain, regularized):
        config["run"].pop("name"), config["run"].pop("tags")
    assert plain == regularized  # same seed, donor, data, trainer and monitor (probe digits and players)
