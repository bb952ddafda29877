"""The regularizer in a real fit through the CLI: its keys are logged and its penalty changes the weights."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from lit_interactions.cli import cli_main
from tests.quickstart_runs import QUICKSTART, short_run

PLAIN = [
    "--trainer.max_epochs=1",
    *short_run(train_batches=3, sanity_check=False),
    "--trainer.enable_model_summary=false",
    "--run.wandb_mode=disabled",
    "--interactions=null",
]
TINY = [
    *PLAIN,
    "--model.init_args.regularizer=lit_interactions.modules.InteractionPenalty",
    "--model.init_args.regularizer.init_args.players.n_players=3",
    "--model.init_args.regularizer.init_args.num_samples=1",
    "--model.init_args.regularizer.init_args.min_order=2",
    "--model.init_args.regularizer.init_args.every_n_steps=2",
]
KEYS = ("penalty", "share", "samples", "seconds", "step_seconds")


def fit(root: Path, version: str, weight: float, *extra: str) -> tuple[dict[str, torch.Tensor], list[dict[str, str]]]:
    cli_main(["fit", "--config", QUICKSTART, *TINY, f"--run.root={root}", f"--run.version={version}",
              f"--model.init_args.regularizer.init_args.weight={weight}", *extra])
    run = root / "quickstart" / version
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["hyper_parameters"]["regularizer"]["init_args"]["weight"] == weight
    with open(run / "metrics.csv", newline="") as file:
        return checkpoint["state_dict"], list(csv.DictReader(file))


@pytest.mark.slow
def test_fit_logs_the_regularizer_and_its_penalty_changes_the_weights(tmp_path: Path) -> None:
    weights, rows = fit(tmp_path, "on", 1.0)
    for key in KEYS:  # logged on the penalty steps 0 and 2 only, not repeated at step 1
        logged = [(int(row["step"]), float(row[f"regularizer/{key}_step"])) for row in rows if row.get(f"regularizer/{key}_step")]
        assert [step for step, _ in logged] == [0, 2], key
        assert all(value >= 0 for _, value in logged), key
        assert [row for row in rows if row.get(f"regularizer/{key}")], key  # the epoch mean
    penalties = [float(row["regularizer/penalty_step"]) for row in rows if row.get("regularizer/penalty_step")]
    assert any(value > 0 for value in penalties)
    assert all(float(row["regularizer/samples_step"]) == 1 for row in rows if row.get("regularizer/samples_step"))

    plain, plain_rows = fit(tmp_path, "off", 0.0)
    assert not any(key.startswith("regularizer/") and row[key] for row in plain_rows for key in row)
    assert weights.keys() == plain.keys()
    changed = [key for key in weights if weights[key].is_floating_point() and not torch.equal(weights[key], plain[key])]
    assert any(key.endswith("conv1.weight") for key in changed)


@pytest.mark.slow
def test_fit_removes_non_generalizable_interactions_with_a_baseline_trained_on_the_other_half(tmp_path: Path) -> None:
    cli_main(["fit", "--config", QUICKSTART, *PLAIN, f"--run.root={tmp_path}", "--run.name=baseline",
              "--run.version=b", "--data.init_args.train_subset=1"])
    baseline = tmp_path / "baseline" / "b" / "checkpoints" / "last.ckpt"
    weights, rows = fit(tmp_path, "ng", 1.0, "--data.init_args.train_subset=0",
                        "--model.init_args.regularizer.init_args.remove=non_generalizable",
                        f"--model.init_args.regularizer.init_args.baseline={baseline}")
    penalties = [float(row["regularizer/penalty_step"]) for row in rows if row.get("regularizer/penalty_step")]
    assert len(penalties) == 2 and all(value >= 0 for value in penalties)
    shares = [float(row["regularizer/share_step"]) for row in rows if row.get("regularizer/share_step")]
    assert all(0.0 <= share <= 1.0 for share in shares) and any(share > 0 for share in shares)
    assert penalties == pytest.approx(shares)  # weight 1: the logged penalty is the weighted share
    checkpoint = torch.load(tmp_path / "quickstart" / "ng" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["hyper_parameters"]["regularizer"]["init_args"]["baseline"] == str(baseline)
    assert not any(key.startswith("penalty.") for key in checkpoint["state_dict"])  # the baseline is not stored
