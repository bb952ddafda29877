"""The monitor's masked forwards with each speed option, as ratios of the eager float32 floor, in one run.

ResNet-20 (CIFAR layout, 3x32x32, 10 classes) briefly trained on random labels would say nothing, so the
network is the project's ResNet-20 at its seeded initialisation with batch-norm statistics from one pass over
random images; players: the monitor's 10 brightest patches of a 5x5 grid of the input. Every option computes
the same rewards (``compute_rewards``, all 2^n masks of each sample, n = 10 by default, chunks of 1,024); the options are timed
in rounds (one repetition of each per round, in turn) so that machine load hits all of them alike, and the
table gives the median time per round as a ratio of the eager float32 floor. For reduced precision it also
gives the rewards' error (relative to ``mean |v(N) - v(empty)|``) and the change of the certified sparsest
interactions (relative L1 distance of the effects, and the share of the float32 result's 20 strongest
interactions found among the reduced-precision result's 20 strongest).

Run:  python benchmarks/bench_forward.py [--samples 4] [--players 10] [--rounds 5] [--threads 1] [--no-compile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lit_interactions.interactions.solver import extract  # noqa: E402
from lit_interactions.models.resnet_cifar import resnet20  # noqa: E402
from lit_interactions.players import ImagePatchPlayers, compute_rewards  # noqa: E402
from lit_interactions.players.evaluator import _evaluate  # noqa: E402
from lit_interactions.players.forward import ForwardOptions  # noqa: E402


def _strongest(effects: torch.Tensor, k: int) -> set[tuple[int, int]]:
    flat = effects.abs().reshape(effects.shape[0], -1)
    return {(b, int(i)) for b in range(flat.shape[0]) for i in flat[b].topk(k).indices}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--players", type=int, default=10, help="players per sample (2^n masks each)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (its first call compiles)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run(torch.device(args.device), args.samples, args.rounds, args.threads, not args.no_compile, args.players)


def run(device: torch.device, samples: int, rounds: int, threads: int, compile_too: bool, n: int = 10) -> None:
    """Time every option side by side on ``device`` and print the table."""
    torch.manual_seed(0)
    net = resnet20(num_classes=10).to(device)
    images = torch.rand(64, 3, 32, 32, device=device)
    with torch.no_grad():
        net.train()(images)  # batch-norm statistics of the inputs
    net.eval()
    batch = {"inputs": images[: samples], "labels": torch.arange(samples, device=device) % 10,
             "ids": torch.arange(samples, device=device)}
    players = ImagePatchPlayers(n_players=n, grid=5)
    _, selection = compute_rewards(net, batch, players)

    def no_grad_floor() -> torch.Tensor:  # the forwards as they ran before: torch.no_grad instead of inference_mode
        with torch.no_grad():
            return _evaluate(net, batch, players, selection, None, None, "log_odds", 1024, False)[0]

    def with_options(**options: object):
        return lambda: compute_rewards(net, batch, players, selection, forward=ForwardOptions(**options))[0]

    variants = {
        "eager float32, no_grad (before)": no_grad_floor,
        "eager float32, inference_mode (floor)": with_options(),
        "channels_last": with_options(channels_last=True),
        "bfloat16 autocast": with_options(precision="bfloat16"),
        "float16 autocast": with_options(precision="float16"),
        "channels_last + bfloat16": with_options(channels_last=True, precision="bfloat16"),
    }
    if compile_too:
        variants["compile"] = with_options(compile=True)
        variants["compile + channels_last"] = with_options(compile=True, channels_last=True)
    rewards, first_call = {}, {}
    for name, fn in variants.items():  # warm-up: the first call compiles or copies
        start = time.perf_counter()
        try:
            rewards[name] = fn().double().cpu()
        except Exception as error:  # noqa: BLE001 - an option this device or build lacks is reported, not fatal
            print(f"{name}: not available here ({type(error).__name__}: {str(error).splitlines()[0][:100]})")
            continue
        first_call[name] = time.perf_counter() - start
    times: dict[str, list[float]] = {name: [] for name in rewards}
    for _ in range(rounds):
        for name in rewards:
            start = time.perf_counter()
            variants[name]()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    floor_name = "eager float32, inference_mode (floor)"
    floor = statistics.median(times[floor_name])
    reference = rewards[floor_name]
    span = (reference[:, -1] - reference[:, 0]).abs().mean()
    exact = extract(reference)
    top = _strongest(torch.stack((exact.and_effects, exact.or_effects), 1), 20)
    print(f"device {device}, {threads} thread(s), {samples} samples x {2**n} masks, ResNet-20 3x32x32; "
          f"median of {rounds} rounds; floor {floor / samples * 1e3:.1f} ms per sample")
    header = f"{'option':<40} {'x floor':>8} {'1st call s':>10} {'reward err':>11} {'effects L1':>11} {'top-20':>7}"
    print(header)
    print("-" * len(header))
    for name in rewards:
        err = float((rewards[name] - reference).abs().max() / span)
        cells = ["-", "-"]
        if err > 0:
            other = extract(rewards[name])
            diff = (other.and_effects - exact.and_effects).abs().sum() + (other.or_effects - exact.or_effects).abs().sum()
            total = exact.and_effects.abs().sum() + exact.or_effects.abs().sum()
            shared = top & _strongest(torch.stack((other.and_effects, other.or_effects), 1), 20)
            cells = [f"{float(diff / total):.2e}", f"{len(shared) / len(top):.0%}"]
        print(f"{name:<40} {statistics.median(times[name]) / floor:>8.2f} {first_call[name]:>10.2f} {err:>11.2e} "
              f"{cells[0]:>11} {cells[1]:>7}", flush=True)
    print("x floor: median time / the floor's; reward err: largest |reward - floor's| / mean |v(N) - v(empty)|;")
    print("effects L1: |effects - floor's effects|_1 / |floor's effects|_1 of the certified sparsest interactions;")
    print("top-20: share of the floor's 20 strongest interactions per sample that stay among the 20 strongest.")


if __name__ == "__main__":
    main()
