"""Opening a run folder or a checkpoint never runs code: hostile config.yaml, checkpoint and data files."""

from __future__ import annotations

import pickle
import sys
from html import unescape
from pathlib import Path

import numpy as np
import pytest
import torch

from lit_interactions.data.cifar10_files import read_cifar_batch
from lit_interactions.data.errors import DataFormatError
from lit_interactions.data.registry import (
    UnsafeConfigError,
    data_module_class,
    data_module_from_config,
)
from lit_interactions.models.checkpoints import read_checkpoint
from lit_interactions.reports.commands import main as commands_main
from tests.reports.helpers import make_run


def popen_section(marker: Path) -> dict:
    """A config's data section that would create ``marker`` if it were ever instantiated."""
    return {"class_path": "subprocess.Popen", "init_args": {"args": ["touch", str(marker)]}}


def test_a_hostile_config_is_refused_by_compare_and_the_rest_of_the_page_is_written(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    runs = [make_run(tmp_path / "runs" / name, {0: [1, 2, 3, 4], 1: [1, 1, 2, 2]}, data=popen_section(marker))
            for name in ("a", "b")]
    out = tmp_path / "out"
    assert commands_main(["compare", *map(str, runs), "--out", str(out), "--wandb-mode", "disabled"]) == 0
    assert not marker.exists()  # nothing ran
    html = unescape((out / "compare.html").read_text())
    assert "subprocess.Popen" in html and "is not one of this package's data modules" in html
    assert "transferability" in html.lower()  # the rest of the page is there


@pytest.mark.parametrize("class_path", ["subprocess.Popen", "os.system", "lit_interactions.data.base.SplitDataModule",
                                        "lit_interactions.data.registry.data_module_from_config", None, 3])
def test_only_the_package_data_modules_are_named(class_path) -> None:
    before = set(sys.modules)
    with pytest.raises(UnsafeConfigError, match="is not one of this package's data modules"):
        data_module_class(class_path)
    assert set(sys.modules) == before  # nothing was imported to find out
    assert data_module_class("lit_interactions.data.MNIST3DataModule").__name__ == "MNIST3DataModule"
    assert data_module_class("lit_interactions.data.mnist.MNIST3DataModule").__name__ == "MNIST3DataModule"


@pytest.mark.parametrize("init_args", [{"data_dir": {"class_path": "subprocess.Popen"}}, {"x y": 1}, ["a"],
                                       {"batch_size": [1, {"a": 2}]}])
def test_data_arguments_must_be_plain_values(init_args) -> None:
    with pytest.raises(UnsafeConfigError):
        data_module_from_config({"class_path": "lit_interactions.data.MNIST3DataModule", "init_args": init_args})
    dm = data_module_from_config({"class_path": "lit_interactions.data.MNIST3DataModule",
                                  "init_args": {"num_probe": 7, "batch_size": 4}})
    assert (dm.num_probe, dm.batch_size) == (7, 4)


class RunsACommand:
    """Pickles to a call of ``os.system`` (what a hostile data file or checkpoint would hold)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_a_cifar_batch_that_would_run_a_command_is_a_format_error(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    bad = tmp_path / "data_batch_1"
    bad.write_bytes(pickle.dumps({"data": RunsACommand(marker), "labels": [0]}))
    with pytest.raises(DataFormatError, match=r"it names posix.system, which a CIFAR-10 batch never does"):
        read_cifar_batch(bad)
    assert not marker.exists()
    good = tmp_path / "data_batch_2"  # the real format (numpy arrays, any pickle protocol) still reads
    good.write_bytes(pickle.dumps({"data": np.full((2, 3072), 7, np.uint8), "labels": [3, 4]}, protocol=2))
    images, labels = read_cifar_batch(good)
    assert images.shape == (2, 3, 32, 32) and int(images[1, 2, 31, 31]) == 7 and labels.tolist() == [3, 4]


def test_a_checkpoint_naming_a_foreign_class_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"_class_path": "subprocess.Popen", "args": ["true"]}}, path)
    with pytest.raises(ValueError, match=r"name the class 'subprocess.Popen', which is not part of lit_interactions"):
        read_checkpoint(path, "--ckpt_path")
    nested = {"_class_path": "lit_interactions.modules.ClassifierModule", "pgd": {"class_path": "os.system"}}
    torch.save({"state_dict": {}, "hyper_parameters": nested}, path)
    with pytest.raises(ValueError, match="'os.system'"):
        read_checkpoint(path, "--ckpt_path")
    marker = tmp_path / "pwned"
    torch.save({"state_dict": {}, "hyper_parameters": {"x": RunsACommand(marker)}}, path)  # a pickled call
    with pytest.raises(ValueError, match="cannot be read as a checkpoint with torch.load"):
        read_checkpoint(path, "--ckpt_path")
    assert not marker.exists()
