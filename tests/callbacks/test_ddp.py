"""Under DDP (2 CPU processes, gloo) the monitor splits the probe samples across ranks and gathers the results:
the same interactions as one process, on every rank."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lit_interactions.callbacks.extraction import extract_interactions
from lit_interactions.interactions import Interactions
from lit_interactions.modules import ImageClassifier
from lit_interactions.players import PlayerSelection
from lit_interactions.players.options import PlayerOptions

from .ddp_run import N_PLAYERS, NUM_PROBE
from .helpers import mnist, resnet

SCRIPT = Path(__file__).with_name("ddp_run.py")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ddp_gives_the_results_of_one_process(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SCRIPT.parents[2]), "WANDB_MODE": "disabled"}
    command = [sys.executable, str(SCRIPT), str(tmp_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "run" / "interactions"
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["epochs"] == ranks[1]["epochs"] == [0, 1]
    for a, b in zip(ranks[0]["records"], ranks[1]["records"]):  # every rank has every result (timings aside)
        assert {k: v for k, v in a.items() if "seconds" not in k} == {k: v for k, v in b.items() if "seconds" not in k}

    dm = mnist()
    selection = PlayerSelection.load(out / "players.pt")
    probe = dm.probe_ids[:NUM_PROBE]
    assert selection.ids.tolist() == probe.tolist()
    players = PlayerOptions(n_players=N_PLAYERS).build("image")
    init = resnet()
    init.load_state_dict(torch.load(tmp_path / "init.pt", weights_only=True))
    final = ImageClassifier.load_from_checkpoint(tmp_path / "ckpt" / "last.ckpt", map_location="cpu", weights_only=True)
    for epoch, model in ((0, init), (1, final)):
        gathered = Interactions.load(out / f"epoch_{epoch:04d}.safetensors")
        single = extract_interactions(model.model, dm.batch(probe, "train"), players, selection)
        assert gathered.extra["ids"].tolist() == probe.tolist()
        assert torch.equal(gathered.extra["players"], single.extra["players"])
        assert torch.allclose(gathered.rewards, single.rewards, atol=1e-6)
        assert torch.allclose(gathered.and_effects, single.and_effects, atol=1e-4)
        assert torch.allclose(gathered.or_effects, single.or_effects, atol=1e-4)
        assert torch.allclose(gathered.extra["iterations"].double(), single.extra["iterations"].double())
