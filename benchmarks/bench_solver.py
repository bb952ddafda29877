"""The sparse AND-OR solver side by side with the lab's SGD procedure and the exact LP, in one run.

For n = 8 .. 16 players and one or two models, on the same rewards: our certified graph-ADMM
(``lit_interactions.interactions.solver``), the lab's dense-matrix SGD (``benchmarks/lab_sgd.py``: momentum
0.9, 20k iterations, learning rate 1e-5) and, where affordable, the exact LP optimum (scipy HiGHS,
``lit_interactions/interactions/lp_oracle.py``). Objectives (one model's, and the joint one: docs/solver.md) are
evaluated in float64 on each method's returned decomposition; speed is seconds per sample (wall clock and CPU
time of this process, 1 CPU thread for every method so that the comparison does not depend on what else runs on
the machine).

Rewards: log-odds of the true class of small CNNs trained on scikit-learn's 8x8 digits (two CNNs trained on
disjoint halves of the training images for the joint problem), players = the n 2x2-pixel blocks of largest L1
norm, baseline 0, held-out images; plus a planted sparse AND/OR game with small noise.

Run:  python benchmarks/bench_solver.py [--quick] [--sizes 10 12 14 16] [--kinds cnn mlp planted] [--models 1 2]
      [--no-lab] [--crossover on|off|both]
(--quick: fewer samples and a 2,000-iteration lab loop, for a smoke test; its lab numbers are not the lab's.)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.lab_sgd import LAB_ITERATIONS, LAB_LR, lab_extract, lab_extract_joint  # noqa: E402
from lit_interactions.interactions.games import mlp_rewards, planted_rewards  # noqa: E402
from lit_interactions.interactions.lp_oracle import solve_lp  # noqa: E402
from lit_interactions.interactions.result import Interactions  # noqa: E402
from lit_interactions.interactions.solver import extract, extract_joint, joint_objective  # noqa: E402
from lit_interactions.interactions.subsets import subset_masks  # noqa: E402

ALPHA, SHARED_BOUND, NOISE_RATIO = 0.1, 0.5, 0.01


# ----------------------------------------------------------------------------------------------- rewards
def _digits() -> tuple[Tensor, Tensor]:
    from sklearn.datasets import load_digits

    data = load_digits()
    images = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0
    return images, torch.tensor(data.target)


def make_cnn(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 16, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def train_epoch(net: nn.Module, opt: torch.optim.Optimizer, images: Tensor, labels: Tensor, gen: torch.Generator):
    """One epoch of minibatch SGD (batch 64) in a shuffled order drawn from ``gen``."""
    net.train()
    for idx in torch.randperm(len(images), generator=gen).split(64):
        opt.zero_grad()
        nn.functional.cross_entropy(net(images[idx]), labels[idx]).backward()
        opt.step()
    net.eval()


def _train_cnn(images: Tensor, labels: Tensor, seed: int, epochs: int = 30) -> nn.Module:
    net = make_cnn(seed)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        train_epoch(net, opt, images, labels, gen)
    return net.eval()


def cnn_rewards(n: int, batch: int, n_models: int) -> Tensor:
    """Rewards ``[K, B, 2^n]`` of K CNNs (trained on disjoint halves of 1,400 digits) on held-out digits."""
    images, labels = _digits()
    train, test = slice(0, 1400), slice(1400, None)
    halves = [slice(0, 700), slice(700, 1400)] if n_models > 1 else [train]
    nets = [_train_cnn(images[train][h], labels[train][h], seed=k) for k, h in enumerate(halves[:n_models])]
    x, y = images[test][:batch], labels[test][:batch]
    return torch.stack([block_rewards(net, x, y, n) for net in nets])


def block_rewards(net: nn.Module, x: Tensor, y: Tensor, n: int) -> Tensor:
    """Log-odds of the true class ``[B, 2^n]`` on all masks of the n 2x2 blocks of largest L1 norm (baseline 0)."""
    batch = len(x)
    blocks = x.view(batch, 4, 2, 4, 2).permute(0, 1, 3, 2, 4).reshape(batch, 16, 4)
    chosen = blocks.abs().sum(-1).topk(n, dim=1).indices  # [B, n]; other pixels keep their values
    masks = subset_masks(n).float()  # [2^n, n]
    out = torch.empty(batch, 2**n, dtype=torch.float64)
    for b in range(batch):
        keep = torch.ones(2**n, 16)
        keep[:, chosen[b]] = masks
        pix = keep.view(2**n, 4, 4, 1, 1).expand(2**n, 4, 4, 2, 2).permute(0, 1, 3, 2, 4).reshape(2**n, 1, 8, 8)
        with torch.no_grad():
            logits = net(x[b : b + 1] * pix).double()
        others = logits.clone()
        others[:, y[b]] = -math.inf
        out[b] = logits[:, y[b]] - torch.logsumexp(others, dim=-1)
    return out


def game_rewards(kind: str, n: int, batch: int, n_models: int) -> Tensor:
    if kind == "cnn":
        return cnn_rewards(n, batch, n_models)
    if kind == "mlp":
        return torch.stack([mlp_rewards(n, batch, seed=n + 50 * k) for k in range(n_models)])
    planted = planted_rewards(n, batch, n_effects=6, noise=1e-3, seed=n)[0]
    return torch.stack([planted * (1.0 + 0.1 * k) for k in range(n_models)])


# ----------------------------------------------------------------------------------------------- methods
@dataclass
class Run:
    objective: np.ndarray  # per sample
    wall: float  # seconds per sample
    cpu: float
    gap: float = math.nan  # largest certified relative duality gap (ours)
    iterations: float = math.nan  # mean iterations (ours)
    crossed: int = 0  # samples finished exactly by the crossover (ours)


def _timed(fn: Callable[[], tuple[Tensor, Tensor]], batch: int) -> tuple[tuple[Tensor, Tensor], float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - wall) / batch, (time.process_time() - cpu) / batch


def _objective(rewards: Tensor, gamma: Tensor, noise: Tensor) -> np.ndarray:
    """The objective of one model, or the joint one (rewards with a leading K), in float64."""
    result = Interactions.from_decomposition(rewards.double(), gamma.double(), noise.double())
    if rewards.shape[0] == 1:
        return result.objective()[0].numpy()
    return joint_objective(result, ALPHA).numpy()


def run_ours(rewards: Tensor, crossover: bool = True) -> Run:
    batch = rewards.shape[1]

    settings = {}

    def solve() -> tuple[Tensor, Tensor]:
        if rewards.shape[0] == 1:
            r = extract(rewards[0].float(), noise_ratio=NOISE_RATIO, crossover=crossover)
            settings.update(r.settings)
            return r.gamma.unsqueeze(0), r.noise.unsqueeze(0)
        r = extract_joint(rewards.float(), alpha=ALPHA, shared_bound=SHARED_BOUND, noise_ratio=NOISE_RATIO,
                          crossover=crossover)
        settings.update(r.settings)
        return r.gamma, r.noise

    (gamma, noise), wall, cpu = _timed(solve, batch)
    return Run(_objective(rewards, gamma, noise), wall, cpu, settings["duality_gap_max"], settings["iterations_mean"],
               settings["n_crossover"])


def run_lab(rewards: Tensor, iterations: int) -> Run:
    batch = rewards.shape[1]

    def solve() -> tuple[Tensor, Tensor]:
        if rewards.shape[0] == 1:
            gamma, noise = lab_extract(rewards[0], noise_ratio=NOISE_RATIO, iterations=iterations)
            return gamma.unsqueeze(0), noise.unsqueeze(0)
        return lab_extract_joint(
            rewards, alpha=ALPHA, shared_bound=SHARED_BOUND, noise_ratio=NOISE_RATIO, iterations=iterations
        )

    (gamma, noise), wall, cpu = _timed(solve, batch)
    return Run(_objective(rewards, gamma, noise), wall, cpu)


def run_lp(rewards: Tensor, samples: int) -> np.ndarray:
    opt = [
        solve_lp(rewards[:, b].numpy(), NOISE_RATIO, ALPHA, SHARED_BOUND).objective
        for b in range(min(samples, rewards.shape[1]))
    ]
    return np.array(opt)


# ----------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few samples, 2,000 lab iterations (smoke test)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 10, 12, 14, 16], choices=range(8, 17),
                        metavar="{8..16}")
    parser.add_argument("--kinds", nargs="+", default=["cnn", "mlp", "planted"])
    parser.add_argument("--models", type=int, nargs="+", default=[1, 2], choices=[1, 2],
                        help="1: one model, 2: the joint problem of two models")
    parser.add_argument("--no-lab", action="store_true", help="our solver only (no lab SGD, no LP)")
    parser.add_argument("--crossover", choices=["on", "off", "both"], default="on",
                        help="ours with the exact crossover (default), without it, or both side by side")
    args = parser.parse_args()
    torch.set_num_threads(1)
    lab_iterations = 2_000 if args.quick else LAB_ITERATIONS
    # (samples for ours, samples for the lab, samples for the LP) per n and number of models. The lab's dense
    # 2^n x 2^n matrices take 2 GB at n = 14: no lab (nor LP) rows above n = 12.
    plan = {
        (8, 1): (32, 32, 32), (8, 2): (32, 16, 8), (10, 1): (32, 16, 4), (10, 2): (32, 8, 0),
        (12, 1): (8, 1, 0), (12, 2): (8, 1, 0), (13, 1): (4, 0, 0), (13, 2): (2, 0, 0), (14, 1): (2, 0, 0),
        (14, 2): (1, 0, 0), (16, 1): (1, 0, 0), (16, 2): (1, 0, 0),
        (9, 1): (32, 16, 8), (9, 2): (32, 8, 0), (11, 1): (8, 4, 0), (11, 2): (8, 1, 0), (15, 1): (1, 0, 0),
        (15, 2): (1, 0, 0),
    }
    if args.quick:
        plan = {key: (min(a, 8), min(b, 4), min(c, 2 if key[0] <= 8 else 0)) for key, (a, b, c) in plan.items()}
    print(f"lab: lr {LAB_LR}, {lab_iterations} iterations, momentum 0.9; ours: tol 1e-3; 1 CPU thread each")
    header = (
        f"{'n':>3} {'K':>2} {'rewards':>8} {'B':>3} {'xo':>3} {'ours s/smp':>15} {'x n=10':>7} {'x K=1':>6} {'iters':>7} "
        f"{'gap max':>8} "
        f"{'crossed':>7} "
        f"{'lab s/smp':>10} {'speed x':>8} {'obj ours/lab':>12} {'ours vs LP':>11} {'lab vs LP':>10}"
    )
    print(header)
    print("-" * len(header))
    at_ten: dict[tuple[int, str, bool], float] = {}
    single: dict[tuple[int, str, bool], float] = {}
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.crossover]
    for n in args.sizes:
        for n_models in args.models:
            b_ours, b_lab, b_lp = plan[(n, n_models)]
            if args.no_lab:
                b_lab = b_lp = 0
            for kind in args.kinds:
                rewards = game_rewards(kind, n, b_ours, n_models)
                for i, crossover in enumerate(modes):
                    # The lab and the LP do not depend on the crossover: only with the first row.
                    batches = (b_ours, b_lab, b_lp) if i == 0 else (b_ours, 0, 0)
                    _print_row(n, n_models, kind, rewards, crossover, (at_ten, single), batches, lab_iterations)
    print("ours s/smp: wall clock (CPU time) per sample; x n=10: CPU time / the n = 10 row's (same K, rewards);")
    print("x K=1: a joint row's CPU time / the one-model row's (same n, kind, crossover; mlp and planted: the one")
    print("model is the pair's first, cnn: one CNN trained on both halves);")
    print("xo: the exact crossover on or off (crossed: samples it finished); iters: mean iterations (a crossed sample")
    print("counts the iterations before it); gap max: largest certified relative duality gap; speed x: lab wall / ours wall;")
    print("obj ours/lab: mean ratio on the lab's samples; ours vs LP: largest relative excess over the exact optimum;")
    print("lab vs LP: mean relative excess.")
    if 8 in args.sizes and not (args.quick or args.no_lab):
        lr_sensitivity(lab_iterations, samples=8)


def _print_row(
    n: int, n_models: int, kind: str, rewards: Tensor, crossover: bool,
    references: tuple[dict[tuple[int, str, bool], float], dict[tuple[int, str, bool], float]],
    batches: tuple[int, int, int], lab_iterations: int,
) -> None:
    """Solve with ours (and the lab, the LP where ``batches`` plan them) and print one table row.

    ``references``: the CPU times of the n = 10 rows (per K, rewards, crossover) and of the one-model rows (per
    n, rewards, crossover), filled as rows are run, for the ratio columns.
    """
    at_ten, single = references
    b_ours, b_lab, b_lp = batches
    ours = run_ours(rewards, crossover)
    key = (n_models, kind, crossover)
    if n == 10:
        at_ten[key] = ours.cpu
    if n_models == 1:
        single[(n, kind, crossover)] = ours.cpu
    ratio = f"{ours.cpu / at_ten[key]:.1f}" if key in at_ten else "-"
    per_single = single.get((n, kind, crossover)) if n_models > 1 else None
    joint_ratio = f"{ours.cpu / per_single:.1f}" if per_single else "-"
    lab_cells = ["-", "-", "-"]
    if b_lab:
        lab = run_lab(rewards[:, :b_lab], lab_iterations)
        obj = float(np.mean(ours.objective[:b_lab] / lab.objective))
        lab_cells = [f"{lab.wall:.2f}", f"{lab.wall / ours.wall:.0f}", f"{obj:.4f}"]
    vs_lp = lab_vs_lp = "-"
    if b_lp:
        opt = run_lp(rewards, b_lp)
        vs_lp = f"{np.max(ours.objective[:b_lp] / opt - 1):+.2e}"
        k = min(b_lp, b_lab)
        lab_vs_lp = f"{np.mean(lab.objective[:k] / opt[:k] - 1):+.2%}"
    print(
        f"{n:>3} {n_models:>2} {kind:>8} {b_ours:>3} {'on' if crossover else 'off':>3} {ours.wall:>7.3f} "
        f"({ours.cpu:.3f}) {ratio:>7} {joint_ratio:>6} {ours.iterations:>7.0f} {ours.gap:>8.2e} {ours.crossed:>7} "
        f"{lab_cells[0]:>10} {lab_cells[1]:>8} {lab_cells[2]:>12} {vs_lp:>11} {lab_vs_lp:>10}",
        flush=True,
    )


def lr_sensitivity(iterations: int, samples: int) -> None:
    """The lab's objective relative to the optimum for several learning rates (n = 8, CNN rewards, one model)."""
    rewards = cnn_rewards(8, samples, 1)
    opt = run_lp(rewards, samples)
    cells = []
    for lr in (1e-3, 1e-4, 1e-5, 1e-6):
        gamma, noise = lab_extract(rewards[0], noise_ratio=NOISE_RATIO, lr=lr, iterations=iterations)
        excess = _objective(rewards, gamma.unsqueeze(0), noise.unsqueeze(0)) / opt - 1
        cells.append(f"lr {lr:g}: {np.mean(excess):+.1%}")
    print(f"lab learning-rate sensitivity (n = 8, CNN, {samples} samples, mean excess over the optimum):")
    print("  " + ", ".join(cells))


if __name__ == "__main__":
    main()
