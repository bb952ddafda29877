"""Iterations saved by warm starts across training epochs, as the InteractionMonitor uses them, in one run.

A small CNN is trained on scikit-learn's 8x8 digits epoch by epoch (as in ``bench_solver.py``); after every
epoch the rewards of the same held-out samples on the same players (the n 2x2 blocks of largest L1 norm) are
solved twice side by side: cold (from gamma = 0, noise = 0) and warm (from the previous epoch's warm result,
as the monitor does). Both are certified to the same relative duality gap; the table prints the mean
iterations, the time per sample and the largest certified gap of each.

``--across-models``: the other use (``compare``): two CNNs trained from different seeds; their joint extraction
is solved cold and warm-started from the two models' own results (stacked), side by side.

Run:  python benchmarks/bench_warm_start.py [--n 10] [--samples 16] [--epochs 8] [--across-models]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_solver import _digits, block_rewards, make_cnn, train_epoch  # noqa: E402
from lit_interactions.interactions.result import Interactions  # noqa: E402
from lit_interactions.interactions.solver import extract, extract_joint  # noqa: E402


def _solve(rewards: torch.Tensor, warm: Interactions | None) -> tuple[Interactions, float]:
    start = time.process_time()
    result = extract(rewards, warm_start=warm)
    return result, (time.process_time() - start) / rewards.shape[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--every", type=int, default=1, help="training epochs between two measured epochs")
    parser.add_argument("--across-models", action="store_true", help="joint extraction warm-started from own results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    images, labels = _digits()
    x, y = images[1400 : 1400 + args.samples], labels[1400 : 1400 + args.samples]
    if args.across_models:
        across_models(args, images, labels, x, y)
        return
    net = make_cnn(0)
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    print(f"n = {args.n}, {args.samples} samples, tol 1e-3, 1 CPU thread; CPU seconds per sample")
    header = f"{'epoch':>5} {'cold it':>8} {'warm it':>8} {'saved':>6} {'cold s':>7} {'warm s':>7} {'gap cold':>9} {'gap warm':>9} {'moved':>8}"
    print(header)
    print("-" * len(header))
    warm_prev: Interactions | None = None
    totals = [0.0, 0.0]
    for epoch in range(args.epochs + 1):
        for _ in range(args.every if epoch else 0):
            train_epoch(net, opt, images[:1400], labels[:1400], gen)
        rewards = block_rewards(net.eval(), x, y, args.n)
        moved = float("nan") if warm_prev is None else float((rewards - warm_prev.rewards).norm() / rewards.norm())
        cold, cold_s = _solve(rewards, None)
        warm, warm_s = _solve(rewards, warm_prev)
        it_cold, it_warm = cold.settings["iterations_mean"], warm.settings["iterations_mean"]
        if epoch:
            totals[0] += it_cold
            totals[1] += it_warm
        print(
            f"{epoch:>5} {it_cold:>8.0f} {it_warm:>8.0f} {1 - it_warm / it_cold:>6.0%} {cold_s:>7.3f} {warm_s:>7.3f} "
            f"{cold.settings['duality_gap_max']:>9.2e} {warm.settings['duality_gap_max']:>9.2e} {moved:>8.1e}",
            flush=True,
        )
        warm_prev = warm
    print("moved: |rewards - previous epoch's rewards| / |rewards| (Euclidean over samples and subsets)")
    print(f"epochs 1..{args.epochs}: warm starts save {1 - totals[1] / totals[0]:.0%} of the iterations "
          f"(epoch 0 has no previous epoch: both solves are cold)")


def across_models(args: argparse.Namespace, images: torch.Tensor, labels: torch.Tensor, x: torch.Tensor,
                  y: torch.Tensor) -> None:
    """Two CNNs (seeds 0 and 1) trained ``--epochs`` epochs; their joint extraction cold and warm from own results."""
    rewards = []
    for seed in (0, 1):
        net = make_cnn(seed)
        opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(args.epochs):
            train_epoch(net, opt, images[:1400], labels[:1400], gen)
        rewards.append(block_rewards(net.eval(), x, y, args.n))
    stacked = torch.stack(rewards)
    own = [extract(r) for r in rewards]
    fields = ("and_effects", "or_effects", "bias", "noise", "gamma", "rewards")
    start = Interactions(**{f: torch.stack([getattr(r, f) for r in own]) for f in fields}, n_players=args.n)
    print(f"n = {args.n}, {args.samples} samples, 2 CNNs x {args.epochs} epochs, tol 1e-3, 1 CPU thread")
    print(f"{'start':>6} {'it mean':>8} {'it max':>7} {'CPU s/sample':>13} {'gap max':>9}")
    for name, warm in (("cold", None), ("own", start)):
        begin = time.process_time()
        joint = extract_joint(stacked, warm_start=warm)
        seconds = (time.process_time() - begin) / args.samples
        s = joint.settings
        print(f"{name:>6} {s['iterations_mean']:>8.0f} {s['iterations_max']:>7} {seconds:>13.3f} "
              f"{s['duality_gap_max']:>9.2e}", flush=True)


if __name__ == "__main__":
    main()
