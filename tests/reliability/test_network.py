"""No network at run time: a default fit (wandb offline, the monitor on) makes no name lookup and no connection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.quickstart_runs import QUICKSTART, ROOT, short_run


@pytest.mark.slow
def test_a_default_fit_with_the_network_blocked_makes_no_network_attempt(tmp_path: Path) -> None:
    args = ["fit", "--config", QUICKSTART, f"--run.root={tmp_path}", "--run.version=v", "--trainer.max_epochs=1",
            *short_run(train_batches=2, sanity_check=False), "--interactions.init_args.players.n_players=4",
            "--interactions.init_args.num_probe=2"]
    proc = subprocess.run([sys.executable, "-m", "tests.reliability.network_guard", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    run = tmp_path / "quickstart" / "v"
    assert (run / "checkpoints" / "last.ckpt").is_file() and (run / "interactions" / "history.json").is_file()
    assert list((run / "wandb").glob("offline-run-*/run-*.wandb"))  # the offline wandb run was written


def test_the_guard_sees_a_lookup(tmp_path: Path) -> None:
    """The guard is not blind: a name lookup from the guarded process is recorded (so an empty list means none)."""
    code = ("import sys, socket, json; sys.argv=['x']; import tests.reliability.network_guard as g; "
            "sys.addaudithook(g._hook)\ntry: socket.getaddrinfo('example.org', 443)\nexcept OSError: pass\n"
            "print(json.dumps(g.attempts))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == ["socket.getaddrinfo('example.org', 443)"]
