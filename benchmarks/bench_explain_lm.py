"""The cost of explaining a causal LM on one sentence, against the cost of one ordinary forward pass, side by side.

For each model: the median time of one unmasked forward pass of the sentence (the unit), then of the rewards on all
``2^n`` masked versions (chunked, batched masked forwards under the memory cap) and of the sparse solver on them.
Reported as ratios to the unit, so they say how the cost scales, not how long a given machine takes.

Run:  python benchmarks/bench_explain_lm.py [--n-players 8] [--repeats 3] [--hidden 128] [--layers 2]
Models: random LLaMA, OPT and GPT-2 of the given size built from transformers configs (nothing is downloaded),
with the tokenizers the tests train offline.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from lit_interactions.explainer.memory import rows_per_chunk
from lit_interactions.interactions.solver import extract
from lit_interactions.models.tiny_lms import BUILDERS, byte_level_tokenizer, metaspace_tokenizer
from lit_interactions.players import TextWordPlayers, compute_rewards
from lit_interactions.players.next_token import NextTokenLM
from lit_interactions.players.word_spans import encode_words

SENTENCE = ("Architecturally, the school has a Catholic character. Atop the Main Building's gold dome is a golden "
            "statue of the Virgin Mary. Immediately in front of the")


def build(kind: str, vocab: int, hidden: int, layers: int) -> torch.nn.Module:
    """A random causal LM of the given size (8 attention heads, MLP 4x the hidden size)."""
    torch.manual_seed(0)
    return BUILDERS[kind][0](vocab, hidden=hidden, layers=layers, heads=8, mlp_ratio=4)


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-players", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--max-memory-mb", type=int, default=1024)
    args = parser.parse_args()
    torch.set_num_threads(1)
    n = args.n_players
    print(f"one sentence, n = {n} players: {2**n} masked forwards; hidden {args.hidden}, {args.layers} layers, "
          f"1 CPU thread, medians of {args.repeats}")
    print(f"{'model':6} {'tokens':>6} {'chunk':>5} {'rewards / forward':>18} {'per masked forward':>19} "
          f"{'solver / forward':>17}")
    for kind, tokenizer in (("llama", metaspace_tokenizer()), ("opt", metaspace_tokenizer()),
                            ("gpt2", byte_level_tokenizer())):
        model = build(kind, len(tokenizer), args.hidden, args.layers).eval()
        forward = NextTokenLM(model)
        batch = {**encode_words(tokenizer, SENTENCE), "ids": torch.tensor([0])}
        players = TextWordPlayers(n, tokenizer=tokenizer, baseline="eos")
        chunk = rows_per_chunk(model, batch["input_ids"].shape[1], args.max_memory_mb * 2**20)
        with torch.no_grad():
            unit = median_seconds(lambda: forward(input_ids=batch["input_ids"]), max(args.repeats, 10))
        rewards_time = median_seconds(
            lambda: compute_rewards(forward, batch, players, target=0, chunk_size=chunk), args.repeats)
        rewards, _ = compute_rewards(forward, batch, players, target=0, chunk_size=chunk)
        solver_time = median_seconds(lambda: extract(rewards.double()), args.repeats)
        print(f"{kind:6} {batch['input_ids'].shape[1]:6d} {chunk:5d} {rewards_time / unit:18.0f} "
              f"{rewards_time / unit / 2**n:19.3f} {solver_time / unit:17.0f}", flush=True)


if __name__ == "__main__":
    main()
