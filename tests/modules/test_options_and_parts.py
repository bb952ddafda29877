"""The options written once (PlayerOptions, SolverOptions) and the classifier's parts built from YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from lit_interactions.callbacks import InteractionMonitor
from lit_interactions.cli import cli_main
from lit_interactions.interactions.options import SolverOptions
from lit_interactions.interactions.solver import extract, extract_joint
from lit_interactions.modules import AdversarialTraining, ImageClassifier, InteractionPenalty, LayerTransplant
from lit_interactions.modules.parts import build_part, check_current_hparams
from lit_interactions.players.options import PlayerOptions
from tests.quickstart_runs import QUICKSTART


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: PlayerOptions(n_players=0), ValueError, "n_players=0 is not valid"),
        (lambda: PlayerOptions(grid=0), ValueError, "grid=0 is not valid: expected an int >= 1"),
        (lambda: PlayerOptions(seed=-1), ValueError, "seed=-1 is not valid"),
        (lambda: PlayerOptions.from_value({"n_player": 3}), ValueError, r"unknown keys \['n_player'\]"),
        (lambda: SolverOptions(noise_ratio=-0.1), ValueError, "noise_ratio must be >= 0"),
        (lambda: SolverOptions(max_iter=0), ValueError, "max_iter=0 is not valid"),
        (lambda: SolverOptions(compute_dtype="half"), ValueError, "compute_dtype='half' is not one of"),
        (lambda: SolverOptions(relaxation=2.0), ValueError, r"relaxation must be in \(0, 2\)"),
        (lambda: SolverOptions.from_value({"tolerance": 1e-3}), ValueError, r"unknown keys \['tolerance'\]"),
        (lambda: AdversarialTraining(steps=0), ValueError, "steps=0 is not valid"),
        (lambda: InteractionPenalty(remove="both"), ValueError, "needs a baseline DNN"),
    ],
)
def test_bad_options_are_one_clear_error(make, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()


def test_solver_options_give_the_same_numbers_as_the_keywords() -> None:
    rewards = torch.randn(3, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    options = SolverOptions(noise_ratio=0.02, tol=1e-4)
    assert torch.equal(extract(rewards, options=options).gamma, extract(rewards, noise_ratio=0.02, tol=1e-4).gamma)
    joint = torch.stack([rewards, rewards * 0.5])
    # rho_scale None keeps the joint solver's own default (0.4), so both calls solve the same problem the same way.
    assert torch.equal(extract_joint(joint, options=options).gamma, extract_joint(joint, noise_ratio=0.02, tol=1e-4).gamma)


def test_the_monitor_and_the_parts_round_trip_through_the_cli_parser(tmp_path: Path) -> None:
    args = ["--config", QUICKSTART, f"--run.root={tmp_path}", "--run.wandb_mode=disabled",
            "--interactions.init_args.players.n_players=5", "--interactions.init_args.solver.tol=0.0005",
            "--model.init_args.adversarial=lit_interactions.modules.AdversarialTraining",
            "--model.init_args.adversarial.init_args.steps=2",
            "--model.init_args.regularizer=lit_interactions.modules.InteractionPenalty",
            "--model.init_args.regularizer.init_args.players.n_players=3"]
    cli = cli_main(args, run=False)
    monitor = next(c for c in cli.trainer.callbacks if isinstance(c, InteractionMonitor))
    assert monitor.options == PlayerOptions(n_players=5) and monitor.solver == SolverOptions(tol=0.0005)
    parts = cli.model.parts.given
    assert isinstance(parts["adversarial"], AdversarialTraining) and parts["adversarial"].steps == 2
    assert isinstance(parts["regularizer"], InteractionPenalty) and parts["regularizer"].n_players == 3
    # The hparams are plain data that rebuild the same parts (what --ckpt_path and load_from_checkpoint use).
    record = dict(cli.model.hparams)
    torch.save(record, tmp_path / "hparams.pt")
    assert torch.load(tmp_path / "hparams.pt", weights_only=True) == record
    rebuilt = build_part(record["regularizer"], InteractionPenalty, "regularizer")
    assert isinstance(rebuilt, InteractionPenalty) and rebuilt.init_args() == parts["regularizer"].init_args()


def test_print_config_shows_every_nested_option_with_its_default(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        cli_main(["fit", "--config", QUICKSTART, f"--run.root={tmp_path}", "--print_config"])
    config = yaml.safe_load(capsys.readouterr().out)
    monitor = config["interactions"]["init_args"]
    assert monitor["players"] == {**PlayerOptions().to_dict(), "n_players": 8}
    assert monitor["solver"] == SolverOptions().to_dict()


def test_parts_from_yaml_class_path_and_a_clear_error_for_old_checkpoints(tmp_path: Path) -> None:
    donor = tmp_path / "donor.pt"
    torch.save(ImageClassifier("resnet20", num_classes=2, in_channels=1).model.state_dict(), donor)
    text = f"""
model:
  class_path: lit_interactions.modules.ImageClassifier
  init_args:
    model: resnet20
    num_classes: 2
    in_channels: 1
    transplant:
      class_path: lit_interactions.modules.LayerTransplant
      init_args: {{checkpoint: {donor}, num_layers: 3, freeze: true}}
"""
    (tmp_path / "model.yaml").write_text(text)
    cli = cli_main(["--config", QUICKSTART, "--config", str(tmp_path / "model.yaml"), f"--run.root={tmp_path}",
                    "--run.wandb_mode=disabled", "--interactions=null"], run=False)
    part = cli.model.parts.given["transplant"]
    assert isinstance(part, LayerTransplant) and (part.num_layers, part.freeze) == (3, True)
    assert cli.model.hparams["transplanted"]["num_layers"] == 3
    old = {"model": "resnet20", "adversarial": True, "pgd_eps": 4 / 255, "regularizer": {"weight": 0.1}}
    with pytest.raises(ValueError, match=r"\['adversarial', 'pgd_eps', 'regularizer'\] are from a lit-interactions before"):
        check_current_hparams(old, "--ckpt_path old.ckpt")
    with pytest.raises(ValueError, match="class_path 'os.system' is not part of lit_interactions"):
        build_part({"class_path": "os.system"}, InteractionPenalty, "regularizer")
