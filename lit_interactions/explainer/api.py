"""``explain``: the AND-OR interactions of any model on its inputs, in one call.

It builds the dict batch and the players the engine expects, computes the rewards on all ``2^n`` masks with
:func:`~lit_interactions.players.compute_rewards` and solves them with
:func:`~lit_interactions.interactions.extract` (one model) or :func:`~lit_interactions.interactions.extract_joint`
(several models on the same inputs and players): the same code the training monitor and ``compare`` use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

import torch
from torch import Tensor, nn

from lit_interactions.checks import check_int, check_optional_int, is_int
from lit_interactions.explainer.images import image_batch, image_rewards, patch_players
from lit_interactions.explainer.texts import TextModel, text_rewards
from lit_interactions.interactions import Interactions, extract, extract_joint
from lit_interactions.interactions.options import SolverOptions
from lit_interactions.models.causal_lm import load_causal_lm
from lit_interactions.players import ImagePatchPlayers, Players

ModelLike = nn.Module | str | os.PathLike[str]


def explain(
    model: ModelLike | Sequence[ModelLike],
    inputs: Tensor | str | Sequence[str],
    *,
    players: str | Players = "auto",
    baseline: str | int | Tensor | None = None,
    target: int | Sequence[int] | Tensor | None = None,
    n_players: int = 10,
    tokenizer: Any = None,
    layer: str | None = None,
    grid: int = 5,
    crop: int | tuple[int, int] | None = None,
    seed: int = 0,
    ids: Sequence[int] | None = None,
    solver: SolverOptions | dict[str, Any] | None = None,
    alpha: float = 0.1,
    shared_bound: float = 0.5,
    chunk_size: int | None = None,
    max_memory: int = 2**30,
    dtype: str | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> Interactions:
    """AND-OR interactions of ``model`` on ``inputs`` (sparsest; jointly for a list of models).

    Args:
        model: an image classifier (``nn.Module``: ``[B, C, H, W]`` in ``[0, 1]`` -> logits), a Hugging Face
            sequence classifier or causal LM (``nn.Module``, with ``tokenizer``), or the path of a local causal LM
            folder (loaded with ``local_files_only=True``). A list of them explains them jointly on the same
            inputs and players (the result's first dimension is the model).
        inputs: an image ``[C, H, W]`` or a batch ``[B, C, H, W]`` (float), or a text or a list of texts.
        players: ``"auto"`` (patches for images, words for text), ``"patches"``, ``"words"`` or a
            :class:`~lit_interactions.players.Players` instance (images).
        baseline: images: ``"zero"`` (default), ``"mean"`` or a tensor broadcasting to ``[C, H, W]``; text:
            ``"mean"`` (classifiers' default), ``"eos"`` (causal LMs' default), ``"bos"``, ``"unk"``, ``"pad"``,
            ``"mask"``, ``"cls"``, ``"zero"`` or a token id (see :class:`~lit_interactions.players.TextWordPlayers`).
        target: None explains the predicted class (the top next token of the unmasked text for a causal LM,
            held fixed over all masks); or an int, or one int per input.
        n_players: players per input (1..16); the cost is ``2^n`` forward passes per input and model.
        tokenizer: the tokenizer of a text model (a list, one per model, for several models).
        layer, grid, crop: image patches at a layer's output (None: the input), grid size and border crop.
        seed: seed of the word choice (mixed with each input's id).
        ids: stable ids of the inputs (default ``0..B-1``); word choices depend on them.
        solver: the solve's settings (:class:`~lit_interactions.interactions.options.SolverOptions` or a mapping of
            its fields, e.g. ``{"noise_ratio": 0.01, "tol": 1e-3}``); None = the defaults.
        alpha, shared_bound: the joint extraction's settings for several models (see
            :func:`~lit_interactions.interactions.extract_joint`).
        chunk_size: masked samples per forward pass; None: 1024 for images, for text the largest number whose
            estimated peak stays under ``max_memory`` bytes.
        max_memory: memory cap (bytes) of one chunk of masked text samples (default 1 GiB).
        dtype, device: for model folders: ``"float16"``/``"bfloat16"``/``"float32"``, and the device (default
            CUDA when present). A module passed in runs where it is, in its own dtype.
        progress: show progress bars.

    Returns:
        :class:`~lit_interactions.interactions.Interactions` with batch shape ``[B]`` (``[]`` for a single image
        or text), ``[K, B]`` for K models; ``extra`` holds ``ids``, ``players`` (patch or word indices) and
        ``targets``; ``settings`` the players' settings, and for text the words and the target names.
    """
    _check_options(n_players, seed, grid, chunk_size)
    options = SolverOptions.from_value(solver)
    models: list[ModelLike] = list(model) if isinstance(model, (list, tuple)) else [cast(ModelLike, model)]
    if not models:
        raise ValueError("explain needs at least one model")
    if isinstance(inputs, Tensor):
        result, single = _explain_images(models, inputs, players, baseline, target, n_players, layer, grid, crop,
                                         chunk_size, progress)
    else:
        result, single = _explain_texts(models, inputs, players, baseline, target, n_players, tokenizer, seed, ids,
                                        chunk_size, max_memory, dtype, device, progress)
    rewards, info = result
    if len(models) == 1:
        solved = extract(rewards[0], options)
    else:
        solved = extract_joint(rewards, options, alpha=alpha, shared_bound=shared_bound)
    extra = {**solved.extra, **_extras(info.pop("extra"), len(models))}
    solved = replace(solved, extra=extra, settings={**solved.settings, **info})
    if single:
        solved = solved[0] if len(models) == 1 else solved[:, 0]
    return solved


def _explain_images(
    models: list[ModelLike], inputs: Tensor, players: str | Players, baseline: Any, target: Any, n_players: int,
    layer: str | None, grid: int, crop: Any, chunk_size: int | None, progress: bool,
) -> tuple[tuple[Tensor, dict[str, Any]], bool]:
    modules = [m for m in models if isinstance(m, nn.Module)]
    for m in models:
        if not isinstance(m, nn.Module):
            raise TypeError(f"explaining images needs nn.Module models, got {type(m).__name__}")
    if isinstance(players, Players):
        if not isinstance(players, ImagePatchPlayers):
            raise TypeError(f"images need image players (ImagePatchPlayers), got {type(players).__name__}")
        chosen = players
    elif players in ("auto", "patches"):
        chosen = patch_players(n_players, baseline, layer, grid, crop)
    else:
        raise ValueError(f"players for images must be 'auto', 'patches' or an ImagePatchPlayers, got {players!r}")
    batch, single = image_batch(inputs)
    out = image_rewards(modules, batch, chosen, target=target, chunk_size=chunk_size or 1024, progress=progress)
    extra = {"ids": out.selection.ids, "players": out.selection.players, "targets": out.targets}
    return (out.rewards, {**out.settings, "input": "image", "extra": extra}), single


def _explain_texts(
    models: list[ModelLike], inputs: str | Sequence[str], players: str | Players, baseline: Any, target: Any,
    n_players: int, tokenizer: Any, seed: int, ids: Sequence[int] | None, chunk_size: int | None, max_memory: int,
    dtype: str | None, device: Any, progress: bool,
) -> tuple[tuple[Tensor, dict[str, Any]], bool]:
    if players not in ("auto", "words"):
        raise ValueError(f"players for text must be 'auto' or 'words', got {players!r}")
    if isinstance(baseline, Tensor):
        raise TypeError("a tensor baseline is for images; text baselines are names or token ids")
    single = isinstance(inputs, str)
    texts: list[str] = [inputs] if isinstance(inputs, str) else list(inputs)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise TypeError("inputs must be a float image tensor, a text, or a non-empty list of texts")
    ids = list(range(len(texts))) if ids is None else list(ids)
    if len(ids) != len(texts) or not all(is_int(i) for i in ids) or len(set(ids)) != len(ids):
        raise ValueError(f"ids must be {len(texts)} distinct ints (one per text), got {ids!r}")
    tokenizers = list(tokenizer) if isinstance(tokenizer, (list, tuple)) else [tokenizer] * len(models)
    if len(tokenizers) != len(models):
        raise ValueError(f"give one tokenizer per model: {len(models)} models, {len(tokenizers)} tokenizers")
    text_models = [_text_model(m, t, dtype, device) for m, t in zip(models, tokenizers, strict=True)]
    out = text_rewards(text_models, texts, ids, n_players=n_players, baseline=baseline, seed=seed, target=target,
                       chunk_size=chunk_size, max_memory=max_memory, progress=progress)
    extra = {"ids": out.selection.ids, "players": out.selection.players, "targets": out.targets}
    info = {**out.settings, "input": "text", "texts": texts, "words": out.words, "target_names": out.target_names,
            "extra": extra}
    return (out.rewards, info), single


def _text_model(model: ModelLike, tokenizer: Any, dtype: str | None, device: Any) -> TextModel:
    if isinstance(model, nn.Module):
        return TextModel.of(model, tokenizer, type(model).__name__)
    if isinstance(model, (str, os.PathLike)):
        loaded = load_causal_lm(os.fspath(model), dtype=dtype, device=device)
        return TextModel.of(loaded.model, tokenizer or loaded.tokenizer, str(model))
    raise TypeError(f"a model must be an nn.Module or a causal LM folder path, got {type(model).__name__}")


def _extras(extra: dict[str, Tensor], n_models: int) -> dict[str, Tensor]:
    """``ids [B]``, ``players [B, n]`` and ``targets [K, B]`` shaped like a result of ``n_models`` models."""
    ids, players, targets = extra["ids"], extra["players"], extra["targets"]
    if n_models == 1:
        return {"ids": ids, "players": players, "targets": targets[0]}
    return {
        "ids": ids.expand(n_models, *ids.shape).contiguous(),
        "players": players.expand(n_models, *players.shape).contiguous(),
        "targets": targets,
    }


def _check_options(n_players: Any, seed: Any, grid: Any, chunk_size: Any) -> None:
    check_int("n_players", n_players, 1)
    check_int("seed", seed, 0)
    check_int("grid", grid, 1)
    check_optional_int("chunk_size", chunk_size, 1)
