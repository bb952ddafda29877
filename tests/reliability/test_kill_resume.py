"""Exact resume: a tiny run killed (SIGKILL) at seeded random points and resumed ends with the same files as the run
that was never interrupted: weights, ``metrics.csv``, ``history.json``, every epoch's interactions and figures.

Each kill point is reached in a subprocess (tests/reliability/kill_runner.py): inside a training step, inside the
monitor's extraction, inside a checkpoint write and inside the ``history.json`` write. The run is resumed as a user
would: ``--ckpt_path .../last.ckpt``, or the newest checkpoint when the kill came before ``last.ckpt`` existed (what
the refusal to start afresh in that folder tells the user to pass).

Compared: every file of the reference run folder but ``wandb/`` (its own logs); values that measure wall time
(``seconds``, ``extract_seconds``) are left out, since two uninterrupted runs differ there too.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open

from tests.quickstart_runs import QUICKSTART, ROOT, short_run

EPOCHS, BATCHES = 2, 3
ARGS = [
    "fit", "--config", QUICKSTART, f"--trainer.max_epochs={EPOCHS}", "--run.root=runs", "--run.version=v0",
    *short_run(BATCHES), "--interactions.init_args.num_probe=2", "--interactions.init_args.players.n_players=4",
]
# How often each kill point is reached in the uninterrupted run: steps, extractions (initial model + each epoch),
# checkpoint renames (epoch file + last.ckpt per epoch), history writes (one per measurement).
REACHED = {"step": EPOCHS * BATCHES, "measure": EPOCHS + 1, "checkpoint": 2 * EPOCHS, "history": EPOCHS + 1}
TIMING = {"seconds", "extract_seconds", "interactions/seconds", "interactions/extract_seconds"}
SEED = 20261128


def kill_points() -> list[tuple[str, int]]:
    """One seeded random moment per kind of kill point (the n-th time it is reached)."""
    rng = random.Random(SEED)
    return [(point, rng.randint(1, reached)) for point, reached in REACHED.items()]


def run(cwd: Path, *extra: str, point: str = "step", count: int = 10**9) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    # Not WANDB_SERVICE: a wandb service this test process started would be shared with the child, and a killed child
    # would leave its run id "in use" there for every later run of the same id.
    env = {**{k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tests.reliability.kill_runner", point, str(count), *ARGS, *extra],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=900,
    )


def killed_and_resumed(cwd: Path, point: str, count: int) -> Path | None:
    """Kill a run at the point, resume it; the checkpoint it resumed from (None: the kill came before any)."""
    killed = run(cwd, point=point, count=count)
    assert killed.returncode == -signal.SIGKILL, f"{point} #{count} was not reached: {killed.stderr[-2000:]}"
    folder = cwd / "runs" / "quickstart" / "v0" / "checkpoints"
    checkpoints = sorted(folder.glob("*.ckpt"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    last = folder / "last.ckpt"
    resume_from = last if last.is_file() else (checkpoints[-1] if checkpoints else None)
    extra = [f"--ckpt_path={resume_from}"] if resume_from else []
    if resume_from is None:  # nothing to resume: the run starts afresh in a new folder, as a user would
        extra = ["--run.version=v0"]
        subprocess.run(["rm", "-rf", str(cwd / "runs")], check=True)
    resumed = run(cwd, *extra)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return resume_from


def files(run_dir: Path) -> set[str]:
    return {str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file() and "wandb" not in p.parts}


def without_timing(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return [{k: v for k, v in row.items() if k not in TIMING and v != ""} for row in csv.DictReader(file)]


def safetensors_content(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    with safe_open(str(path), "pt") as file:
        meta = {k: json.loads(v) if v.startswith("{") else v for k, v in (file.metadata() or {}).items()}
        return without_timing(meta), {key: file.get_tensor(key) for key in file.keys()}  # noqa: SIM118


def checkpoint_content(path: Path) -> dict[str, Any]:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    return {key: ckpt[key] for key in ("epoch", "global_step", "state_dict", "optimizer_states", "lr_schedulers")}


def assert_same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_run(reference: Path, resumed: Path, resumed_from: Path | None) -> None:
    kept = {str(resumed_from.relative_to(resumed))} if resumed_from else set()  # Lightning keeps it
    assert files(resumed) - (kept - files(reference)) == files(reference), "the resumed run's files differ from the uninterrupted run's"
    for name in sorted(files(reference)):
        a, b = reference / name, resumed / name
        if name.endswith(".csv"):
            assert csv_rows(a) == csv_rows(b), name
        elif name.endswith(".json"):
            assert without_timing(json.loads(a.read_text())) == without_timing(json.loads(b.read_text())), name
        elif name.endswith(".safetensors"):
            assert_same(safetensors_content(a), safetensors_content(b), name)
        elif name.endswith(".ckpt"):
            assert_same(checkpoint_content(a), checkpoint_content(b), name)
        elif name.endswith(".pt"):
            assert_same(torch.load(a, weights_only=True), torch.load(b, weights_only=True), name)
        else:  # config.yaml, hparams.yaml, figures
            assert a.read_bytes() == b.read_bytes(), name


@pytest.mark.slow
def test_a_run_killed_at_random_points_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    points = kill_points()
    with ThreadPoolExecutor(max_workers=2) as pool:  # the runs are independent; two cores
        reference = pool.submit(run, tmp_path / "reference")
        resumed = {point: pool.submit(killed_and_resumed, tmp_path / point, point, count) for point, count in points}
        ref = reference.result()
        assert ref.returncode == 0, ref.stderr[-3000:]
        reference_dir = tmp_path / "reference" / "runs" / "quickstart" / "v0"
        for point, count in points:
            resumed_from = resumed[point].result()
            assert_same_run(reference_dir, tmp_path / point / "runs" / "quickstart" / "v0", resumed_from)
            print(f"{point} #{count}: resumed from {resumed_from and resumed_from.name}, identical")


def test_the_comparison_sees_a_difference(tmp_path: Path) -> None:
    """The comparison is not blind: one changed value in metrics.csv or one changed weight fails it."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.csv").write_text("epoch,step,val/acc,seconds\n0,3,0.5,1.2\n")
    assert_same_run(tmp_path / "a", tmp_path / "b", None)
    (tmp_path / "b" / "metrics.csv").write_text("epoch,step,val/acc,seconds\n0,3,0.51,9.9\n")
    with pytest.raises(AssertionError, match="metrics.csv"):
        assert_same_run(tmp_path / "a", tmp_path / "b", None)
    with pytest.raises(AssertionError, match="weights"):
        assert_same({"weights": torch.zeros(2)}, {"weights": torch.tensor([0.0, 1e-7])}, "weights")


def test_the_csv_history_keeps_what_the_checkpoint_covers(tmp_path: Path) -> None:
    """Rows before the checkpoint and the epoch's closing row (logged just after it at the epoch's last step) stay;
    rows of the next epoch go, with the columns only they used; a row a kill cut short is dropped."""
    from lit_interactions.run import RunCSVLogger

    header = "epoch,step,train/loss_epoch,train/loss_step,val/acc\n"
    rows = ["0,0,,0.9,\n", "0,1,,0.8,\n", "0,1,,,0.5\n", "0,1,0.85,,\n", "1,2,,0.7,\n", "1,3,,0.6,\n"]
    (tmp_path / "metrics.csv").write_text(header + "".join(rows) + "1,3,,0.6")  # torn last line
    logger = RunCSVLogger(tmp_path)
    assert logger.rows == 6
    dropped = logger.truncate(3, before_step=2)  # checkpoint after 3 rows, at global step 2
    assert dropped == 2 and logger.rows == 4
    assert (tmp_path / "metrics.csv").read_text() == header + "".join(rows[:4])


def test_a_checkpoint_inside_an_epoch_is_refused(tmp_path: Path) -> None:
    from lit_interactions.cli import cli_main

    with pytest.raises(ValueError, match="saves inside an epoch .* cannot be resumed exactly; keep checkpoints at"):
        cli_main(["fit", "--config", QUICKSTART, f"--run.root={tmp_path}", "--trainer.max_epochs=1",
                  *short_run(2, sanity_check=False), "--checkpoint.every_n_train_steps=1", "--interactions=null"])
    assert not list(tmp_path.rglob("*.ckpt"))


def test_the_checkpoint_holds_the_random_states_and_the_csv_length(tmp_path: Path) -> None:
    from lit_interactions.cli import cli_main

    cli_main(["fit", "--config", QUICKSTART, f"--run.root={tmp_path}", "--run.version=v", "--trainer.max_epochs=1",
              *short_run(2, sanity_check=False), "--interactions=null", "--run.wandb_mode=disabled"])
    run_dir = tmp_path / "quickstart" / "v"
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    (state,) = [value for key, value in ckpt["callbacks"].items() if key.startswith("ExactResume")]
    assert set(state["rng"]) >= {"torch", "numpy", "python"} and state["global_step"] == 2
    closing = state["closing_row"]
    assert closing["step"] == 1 and closing["metrics"]["epoch"] == 0 and "train/loss_epoch" in closing["metrics"]
    rows = csv_rows(run_dir / "metrics.csv")
    assert state["csv_rows"] == len(rows) - 1  # the closing row comes after the checkpoint
    assert {k: float(v) for k, v in rows[-1].items()} == pytest.approx(
        {**{k: float(v) for k, v in closing["metrics"].items()}, "step": 1.0})
