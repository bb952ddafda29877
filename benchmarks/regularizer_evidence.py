"""Evidence for the interaction-removal regularizer (docs/regularization.md): plain vs regularized fine-tune.

On the embedded MNIST-3 digits: trains a donor with the quickstart config (or reuses one), fine-tunes its whole
network twice from the same checkpoint with the same seed (configs/experiments/finetune_mnist3_plain.yaml and
finetune_mnist3_regularized.yaml), and prints, side by side, the monitor's mean eta^avg and high-order share on the
same probe digits and players (``interactions/history.json``) and both test accuracies.

    python benchmarks/regularizer_evidence.py                      # donor trained if missing, then both runs
    python benchmarks/regularizer_evidence.py --reg weight=2 --reg every_n_steps=2 --tag w2

Runs go to ``<root>/regularizer_evidence/{donor,plain-<tag>,regularized-<tag>}``; an existing donor is reused.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import lightning as L
import torch

from lit_interactions.cli import cli_main

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
CONFIGS = {
    "plain": ROOT / "configs" / "experiments" / "finetune_mnist3_plain.yaml",
    "regularized": ROOT / "configs" / "experiments" / "finetune_mnist3_regularized.yaml",
}
NAME = "regularizer_evidence"
QUIET = ["--run.wandb_mode=disabled", "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(ROOT / "runs"), help="runs folder")
    parser.add_argument("--donor", default=None, help="donor checkpoint (default: train/reuse <root>/regularizer_evidence/donor)")
    parser.add_argument("--donor-epochs", type=int, default=2, help="quickstart epochs of a newly trained donor")
    parser.add_argument("--tag", default="a", help="suffix of the two fine-tune run folders")
    parser.add_argument("--reg", action="append", default=[], metavar="KEY=VALUE",
                        help="override a regularizer setting of the regularized run (repeatable)")
    parser.add_argument("--set", action="append", default=[], metavar="FLAG=VALUE",
                        help="extra CLI flag for both fine-tunes, e.g. --set trainer.max_epochs=3 (repeatable)")
    return parser.parse_args(argv)


def donor_checkpoint(args: argparse.Namespace) -> tuple[Path, float]:
    """The donor's checkpoint and the seconds spent training it (0 if reused)."""
    if args.donor is not None:
        return Path(args.donor), 0.0
    path = Path(args.root) / NAME / "donor" / "checkpoints" / "last.ckpt"
    if path.is_file():
        return path, 0.0
    start = time.perf_counter()
    cli_main(["fit", "--config", str(QUICKSTART), "--interactions=null", f"--trainer.max_epochs={args.donor_epochs}",
              f"--run.root={args.root}", f"--run.name={NAME}", "--run.version=donor", *QUIET])
    return path, time.perf_counter() - start


def fine_tune(variant: str, donor: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Fit one fine-tune, test it, and collect its monitor history and regularizer cost."""
    version = f"{variant}-{args.tag}"
    flags = [f"--{flag}" for flag in args.set]
    if variant == "regularized":
        flags += [f"--model.init_args.regularizer.init_args.{item}" for item in args.reg]
    start = time.perf_counter()
    cli = cli_main(["fit", "--config", str(CONFIGS[variant]), f"--model.init_args.transplant.checkpoint={donor}",
                    f"--run.root={args.root}", f"--run.name={NAME}", f"--run.version={version}", *QUIET, *flags])
    seconds = time.perf_counter() - start
    tester = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    test = tester.test(cli.model, datamodule=cli.datamodule, verbose=False)[0]
    run_dir = Path(args.root) / NAME / version
    history = json.loads((run_dir / "interactions" / "history.json").read_text())
    players = json.loads((run_dir / "interactions" / "players.json").read_text())
    return {
        "run_dir": run_dir, "seconds": seconds, "test": test, "history": history, "players": players,
        "regularizer": cli.model.hparams.get("regularizer"), "penalty_seconds": _column(run_dir, "regularizer/seconds_step"),
        "share": _column(run_dir, "regularizer/share_step"),
        "step_seconds": _column(run_dir, "regularizer/step_seconds_step"),
    }


def _column(run_dir: Path, key: str) -> list[float]:
    with open(run_dir / "metrics.csv", newline="") as file:
        return [float(row[key]) for row in csv.DictReader(file) if row.get(key)]


def table(plain: dict[str, Any], reg: dict[str, Any]) -> str:
    """The side-by-side comparison as a Markdown table."""
    first_p, last_p = plain["history"]["records"][0], plain["history"]["records"][-1]
    first_r, last_r = reg["history"]["records"][0], reg["history"]["records"][-1]
    rows = [
        ("measured epochs", plain["history"]["records"][-1]["epoch"], reg["history"]["records"][-1]["epoch"]),
        ("eta^avg mean, start (donor)", f"{first_p['eta_mean']:.4f}", f"{first_r['eta_mean']:.4f}"),
        ("eta^avg mean, end", f"{last_p['eta_mean']:.4f}", f"{last_r['eta_mean']:.4f}"),
        ("high-order share, start (donor)", f"{first_p['high_order_share']:.4f}", f"{first_r['high_order_share']:.4f}"),
        ("high-order share, end", f"{last_p['high_order_share']:.4f}", f"{last_r['high_order_share']:.4f}"),
        ("mean order, end", f"{last_p['mean_order']:.3f}", f"{last_r['mean_order']:.3f}"),
        ("salient interactions, end", last_p["num_salient"], last_r["num_salient"]),
        ("test/balanced_acc (macro)", f"{plain['test']['test/balanced_acc']:.4f}", f"{reg['test']['test/balanced_acc']:.4f}"),
        ("test/acc (fraction correct)", f"{plain['test']['test/acc']:.4f}", f"{reg['test']['test/acc']:.4f}"),
        ("test/loss", f"{plain['test']['test/loss']:.4f}", f"{reg['test']['test/loss']:.4f}"),
        ("penalty steps", len(plain["penalty_seconds"]), len(reg["penalty_seconds"])),
        ("penalty forward + solve s/step (median)", _median(plain["penalty_seconds"]), _median(reg["penalty_seconds"])),
        ("whole penalty step s (median)", _median(plain["step_seconds"]), _median(reg["step_seconds"])),
        ("removable share, first / last penalty step", _ends(plain["share"]), _ends(reg["share"])),
        ("fit seconds (incl. monitor)", f"{plain['seconds']:.0f}", f"{reg['seconds']:.0f}"),
    ]
    lines = ["| | plain | regularized |", "| --- | ---: | ---: |"]
    lines += [f"| {label} | {a} | {b} |" for label, a, b in rows]
    return "\n".join(lines)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "-"


def _ends(values: list[float]) -> str:
    return f"{values[0]:.3f} / {values[-1]:.3f}" if values else "-"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = datetime.now()
    donor, donor_seconds = donor_checkpoint(args)
    plain = fine_tune("plain", donor, args)
    reg = fine_tune("regularized", donor, args)
    same_probe = plain["history"]["probe_ids"] == reg["history"]["probe_ids"]
    same_players = plain["players"]["players"] == reg["players"]["players"]
    print(f"\nregularizer evidence, {started:%Y-%m-%d %H:%M} - {datetime.now():%H:%M}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.machine()}")
    print("command: python " + " ".join(["benchmarks/regularizer_evidence.py", *(argv if argv is not None else sys.argv[1:])]))
    print(f"donor: {donor} ({f'trained in {donor_seconds:.0f} s' if donor_seconds else 'reused'})")
    print(f"regularizer: {reg['regularizer']}")
    print(f"same probe digits: {same_probe}; same players: {same_players}; runs: {plain['run_dir']}, {reg['run_dir']}\n")
    print(table(plain, reg))
    for label, run in (("plain", plain), ("regularized", reg)):
        curve = ", ".join(
            f"{r['epoch']}: {r['eta_mean']:.3f}/{r['high_order_share']:.3f}" for r in run["history"]["records"]
        )
        print(f"\n{label} per epoch (eta^avg mean / high-order share): {curve}")


if __name__ == "__main__":
    main()
