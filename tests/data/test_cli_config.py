"""Data modules can be built from YAML the way LightningCLI does it (jsonargparse, class_path + init_args)."""

from __future__ import annotations

from argparse import ArgumentError
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import yaml
from jsonargparse import ArgumentParser

from lit_interactions.data import (
    CIFAR10DataModule,
    MNIST3DataModule,
    MovieReviewsDataModule,
    SST2DataModule,
    TinyImageNetDataModule,
)

from .fakes import write_mnist

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def build(yaml: str) -> L.LightningDataModule:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(L.LightningDataModule, "data")
    return parser.instantiate_classes(parser.parse_string(yaml)).data


def test_mnist_from_yaml_keeps_options_and_hparams(tmp_path):
    write_mnist(tmp_path)
    dm = build(f"""
data:
  class_path: lit_interactions.data.MNIST3DataModule
  init_args:
    data_dir: {tmp_path}
    binary: false
    num_probe: 10
    train_subset: 1
    train_subset_size: 20
    relabel_per_class: 1
    relabel_target: 4
    split_seed: 3
""")
    assert isinstance(dm, MNIST3DataModule) and dm.num_classes == 10
    assert len(dm.train_ids) == 20 and len(dm.relabelled_ids) == 9
    assert dm.hparams["binary"] is False and dm.hparams["split_seed"] == 3 and dm.hparams["data_dir"] == str(tmp_path)
    direct = MNIST3DataModule(data_dir=str(tmp_path), binary=False, num_probe=10, split_seed=3)
    assert np.array_equal(dm.probe_ids, direct.probe_ids)


@pytest.mark.parametrize(
    ("cls", "args"),
    [
        (CIFAR10DataModule, "source: foolbox\n    augment: true\n    num_val: 5"),
        (TinyImageNetDataModule, "data_dir: /somewhere\n    augment: true"),
        (SST2DataModule, "data_dir: /somewhere\n    max_length: 32\n    tokenizer: /a/model"),
        (MovieReviewsDataModule, "min_abs_rating: 1.0\n    num_val: 500\n    cache_dir: /c"),
    ],
)
def test_every_module_is_buildable_from_yaml(cls, args):
    dm = build(f"data:\n  class_path: {cls.__module__}.{cls.__name__}\n  init_args:\n    {args}\n    batch_size: 7\n")
    assert type(dm) is cls and dm.batch_size == 7 and dm.hparams["batch_size"] == 7


def test_unknown_option_is_rejected_by_the_config_parser():
    with pytest.raises(ArgumentError, match="Option 'num_probes' is not accepted"):
        build("data:\n  class_path: lit_interactions.data.MNIST3DataModule\n  init_args:\n    num_probes: 5\n")


def data_section(config: Path) -> str:
    """The ``data:`` part of a repository config, as YAML."""
    return yaml.safe_dump({"data": yaml.safe_load(config.read_text())["data"]})


def test_paper2_label_noise_config_relabels_27_digits_and_mnist3_config_none():
    hard = build(data_section(CONFIGS / "experiments" / "hard_mnist_resnet20.yaml"))
    assert isinstance(hard, MNIST3DataModule) and hard.num_classes == 10 and len(hard.probe_ids) == 200
    assert np.bincount(hard.splits.original_labels, minlength=10).tolist() == [0] + [3] * 9
    assert hard.train_dataset.labels[np.isin(hard.train_dataset.ids, hard.relabelled_ids)].tolist() == [0] * 27
    plain = build(data_section(CONFIGS / "mnist3_resnet20.yaml"))
    assert plain.num_classes == 2 and plain.relabelled_ids.tolist() == []
