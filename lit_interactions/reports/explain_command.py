"""The ``lit-interactions explain`` subcommand: explain local causal LMs on texts or SQuAD, or a trained image
classifier on an image file, and write the interactions, a JSON summary, figures and an HTML page."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from lit_interactions.data.squad import squad_samples
from lit_interactions.explainer import explain
from lit_interactions.models.causal_lm import DTYPES
from lit_interactions.models.checkpoints import load_network
from lit_interactions.reports.explain_page import ExplainOutput, write_explanation


def explain_parser() -> argparse.ArgumentParser:
    """Arguments of ``lit-interactions explain``."""
    parser = argparse.ArgumentParser(
        prog="lit-interactions explain",
        description="AND-OR interactions of local causal LMs predicting the next word (paper 1 task 2), jointly for "
                    "several models, or of a trained image classifier on an image. Writes interactions/*.safetensors, "
                    "explain.json, figures/ and explain.html into --out (docs/llm.md).",
    )
    parser.add_argument("--model", type=Path, action="append", default=[],
                        help="a local causal LM folder (repeat for a joint extraction over several models)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", action="append", help="a text whose next token is explained (repeatable)")
    source.add_argument("--squad", type=Path, help="a SQuAD v1.1/v2.0 JSON file: paper 1's next-word samples")
    source.add_argument("--image", type=Path, help="an image file (PNG/JPEG) for --checkpoint")
    parser.add_argument("--num-samples", type=int, default=None, help="with --squad: documents explained")
    parser.add_argument("--checkpoint", type=Path, action="append", default=[],
                        help="with --image: a classifier checkpoint of this project (repeat for several models)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--n-players", type=int, default=10, help="players (words or patches) per input (10)")
    parser.add_argument("--baseline", default=None,
                        help="text: eos (default), bos, unk, pad, mean, zero or a token id; image: zero or mean")
    parser.add_argument("--target", type=int, default=None,
                        help="target token id / class (default: the top next token / predicted class)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the word choice (0)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default=None, help="LM dtype (default: the folder's)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA when present)")
    parser.add_argument("--max-memory-mb", type=int, default=1024, help="memory cap of one chunk of masked forwards")
    parser.add_argument("--noise-ratio", type=float, default=0.01, help="solver noise ratio (0.01)")
    parser.add_argument("--alpha", type=float, default=0.1, help="joint extraction: weight of the sum (0.1)")
    parser.add_argument("--shared-bound", type=float, default=0.5, help="joint extraction: shared bound (0.5)")
    parser.add_argument("--strongest", type=int, default=3, help="AND and OR interactions shown per input (3)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def explain_main(argv: Sequence[str]) -> int:
    """Run ``explain``; returns the exit code (input errors propagate as the package's exceptions)."""
    parser = explain_parser()
    args = parser.parse_args(list(argv))
    if args.image is None and not args.model:
        parser.error("give at least one --model folder (a local causal LM)")
    if args.image is not None and (args.model or not args.checkpoint):
        parser.error("--image takes --checkpoint CKPT (a classifier checkpoint of this project), not --model")
    if args.squad is not None and args.num_samples is None:
        parser.error("--squad needs --num-samples N")
    baseline = int(args.baseline) if args.baseline is not None and args.baseline.isdigit() else args.baseline
    options = {"n_players": args.n_players, "baseline": baseline, "target": args.target,
               "solver": {"noise_ratio": args.noise_ratio}, "alpha": args.alpha, "shared_bound": args.shared_bound,
               "progress": not args.no_progress}
    if args.image is not None:
        out = _explain_image(args, options)
    else:
        notes = None
        if args.squad is not None:
            samples = squad_samples(args.squad, args.num_samples, min_players=args.n_players)
            texts, ids = [s.text for s in samples], [s.id for s in samples]
            notes = [{"document": s.id, "next word in the document": s.target_word} for s in samples]
        else:
            texts, ids = list(args.text), list(range(len(args.text)))
        models = [str(m) for m in args.model]
        result = explain(models if len(models) > 1 else models[0], texts, ids=ids, seed=args.seed, dtype=args.dtype,
                         device=args.device, max_memory=args.max_memory_mb * 2**20, **options)
        out = write_explanation(result, models, args.out, strongest=args.strongest, notes=notes)
    for path in out.interactions:
        print(f"wrote {path}")
    print(f"wrote {out.json} and {out.html}")
    return 0


def _explain_image(args: argparse.Namespace, options: dict) -> ExplainOutput:
    networks = []
    channels = None
    for path in args.checkpoint:
        network, task, channels = load_network(path, "lit-interactions explain")
        if task != "image":
            raise ValueError(f"lit-interactions explain: {path} is a {task} classifier; --image needs an image one")
        networks.append(network)
    image = read_image(args.image, channels or 3)
    device = torch.device(args.device) if args.device else None
    if device is not None:
        networks = [n.to(device) for n in networks]
    result = explain(networks if len(networks) > 1 else networks[0], image[None], **options)
    return write_explanation(result, [str(p) for p in args.checkpoint], args.out, images=image[None],
                             strongest=args.strongest)


def read_image(path: Path, channels: int) -> torch.Tensor:
    """An image file as a float tensor ``[C, H, W]`` in ``[0, 1]`` with ``channels`` (1 or 3) channels."""
    from torchvision.io import ImageReadMode, decode_image

    if not path.is_file():
        raise FileNotFoundError(f"no image file at {str(path)!r}; give a PNG or JPEG file")
    mode = ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB
    try:
        pixels = decode_image(str(path), mode=mode)
    except RuntimeError as error:
        raise ValueError(f"{path} cannot be decoded as an image ({str(error).splitlines()[0]}); give PNG or JPEG") from None
    return pixels.float() / 255.0


def main(argv: Sequence[str]) -> int:
    """``explain ...`` (the first item of ``argv`` is the command name)."""
    return explain_main(argv[1:])
