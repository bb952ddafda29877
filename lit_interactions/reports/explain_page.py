"""Write what ``explain`` found: each model's Interactions (safetensors), a JSON summary, figures and an HTML page.

The page shows every input with its strongest AND and OR interactions per model (words highlighted in the
sentence, or patches on the image); for two or more models also the interactions all of them share (salient with
the same sign in every model) against each model's distinctive ones, the transferability of the top-k
interactions and the shared strength per order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lit_interactions.analysis import (
    image_interactions_figure,
    patch_boxes,
    sentence_interactions_figure,
    shared_and_distinctive,
    shared_by_order_figure,
    strongest_by_kind,
    transferability_figure,
)
from lit_interactions.interactions import Interactions, salience_threshold, transferability
from lit_interactions.interactions.salient_readings import InteractionRecord
from lit_interactions.interactions.transfer import TRANSFER_RATIOS, shared_by_order
from lit_interactions.io.files import write_json
from lit_interactions.players import ImagePatchPlayers
from lit_interactions.reports.html import Section, Table, write_page
from lit_interactions.reports.samples import describe, save


@dataclass(frozen=True)
class ExplainOutput:
    """Where the files went."""

    html: Path
    json: Path
    interactions: list[Path]


def model_labels(names: Sequence[str]) -> list[str]:
    """Short unique file-safe labels of models (folder names), numbered when two are alike."""
    bases = [re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(name)).name or "model") for name in names]
    return [f"{base}_{i}" if bases.count(base) > 1 else base for i, base in enumerate(bases)]


def write_explanation(
    result: Interactions,
    names: Sequence[str],
    out_dir: Path,
    *,
    images: Tensor | None = None,
    strongest: int = 3,
    notes: Sequence[dict[str, Any]] | None = None,
) -> ExplainOutput:
    """Write ``interactions/<label>.safetensors``, ``explain.json``, ``figures/`` and ``explain.html``.

    Args:
        result: from :func:`lit_interactions.explain` on a batch: batch shape ``[B]`` (one model) or ``[K, B]``.
        names: one name per model (e.g. its folder).
        out_dir: the output folder.
        images: ``[B, C, H, W]`` the images explained (image results), to draw the patches on.
        strongest: AND and OR interactions shown per input and model.
        notes: per input, extra JSON-able facts shown with it (e.g. the SQuAD target word).
    """
    per_model = [result[k] for k in range(len(names))] if len(names) > 1 else [result]
    if any(len(r.batch_shape) != 1 for r in per_model):
        raise ValueError(f"give a batched result ([B] or [K, B]) for {len(names)} model(s)")
    labels = model_labels(names)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for label, single in zip(labels, per_model, strict=True):
        path = out_dir / "interactions" / f"{label}.safetensors"
        path.parent.mkdir(exist_ok=True)
        single.save(path)
        files.append(path)
    size = per_model[0].batch_shape[0]
    taus = [float(salience_threshold(r.rewards)) for r in per_model]
    sections = [_overview(result, names, labels, taus)]
    samples = []
    for b in range(size):
        section, info = _sample(per_model, labels, b, out_dir, images, strongest, taus, (notes or [{}] * size)[b])
        sections.append(section)
        samples.append(info)
    summary: dict[str, Any] = {"models": [{"name": str(n), "label": lab, "interactions": str(f), "tau": t}
                                          for n, lab, f, t in zip(names, labels, files, taus, strict=True)],
                               "settings": result.settings, "samples": samples}
    if len(names) > 1:
        section, summary["sharing"] = _sharing(result, labels, taus, out_dir)
        sections.insert(1, section)
    json_path = out_dir / "explain.json"
    write_json(json_path, summary)
    html = write_page(out_dir / "explain.html", "Interactions explained", " vs ".join(labels), sections)
    return ExplainOutput(html, json_path, files)


def _overview(result: Interactions, names: Sequence[str], labels: Sequence[str], taus: Sequence[float]) -> Section:
    settings = result.settings
    players = settings.get("players", {})
    table = Table(["model", "source", "salience threshold tau"],
                  [[label, str(name), tau] for label, name, tau in zip(labels, names, taus, strict=True)])
    reward = settings.get("reward", "log_odds of the predicted class")
    text = (f"{result.n_players} players per input ({settings.get('input', '')} players, baseline "
            f"{players.get('baseline')!r}); reward: {reward} (log p/(1-p)); AND-OR interactions: "
            f"{settings.get('problem', '')} extraction, noise ratio {settings.get('noise_ratio')}. "
            f"Files: interactions/<model>.safetensors (Interactions.load), explain.json.")
    return Section("Models", "models", paragraphs=[text], tables=[table])


def _player_names(result: Interactions, b: int, words: Sequence[str] | None) -> list[str]:
    row = result.extra["players"][b].tolist()
    return [words[p] for p in row] if words is not None else [f"patch {p}" for p in row]


def _records_json(records: Sequence[InteractionRecord], names: Sequence[str]) -> list[dict[str, Any]]:
    return [{"kind": r.kind, "players": list(r.players), "words": [names[p] for p in r.players],
             "effect": r.effect} for r in records]


def _sample(
    per_model: Sequence[Interactions], labels: Sequence[str], b: int, out_dir: Path, images: Tensor | None,
    strongest: int, taus: Sequence[float], note: dict[str, Any],
) -> tuple[Section, dict[str, Any]]:
    first = per_model[0]
    sample_id = int(first.extra["ids"][b])
    settings = first.settings
    words = settings["words"][b] if settings.get("input") == "text" else None
    names = _player_names(first, b, words)
    info: dict[str, Any] = {"id": sample_id, **note, "players": names, "models": {}}
    if words is not None:
        info["text"] = settings["texts"][b]
    rows, figures = [], []
    for k, (label, result) in enumerate(zip(labels, per_model, strict=True)):
        one = result[b]
        target = (settings.get("target_names") or [[]] * len(per_model))[k][b:b + 1]
        records = strongest_by_kind(one, strongest)
        info["models"][label] = {
            "target": int(result.extra["targets"][b]), "target_name": target[0] if target else None,
            "v_full": float(one.rewards[-1]), "v_empty": float(one.rewards[0]),
            "strongest": _records_json(records, names),
        }
        for r in records:
            rows.append([label, r.kind, " ".join(names[p] for p in r.players), len(r.players), r.effect,
                         abs(r.effect) > taus[k]])
        fig = _figure(first, b, words, records, images)
        figures.append(save(fig, out_dir, f"sample{sample_id}_{label}",
                            f"{label}: the strongest AND and OR interactions ({describe(records, names)})"))
    paragraphs = [f"Players: {', '.join(names)}."]
    if words is not None:
        paragraphs.insert(0, settings["texts"][b])
        targets = [f"{label}: {info['models'][label]['target_name']!r}" for label in labels]
        paragraphs.append("Target (predicted next token or class, held fixed over all masks): " + "; ".join(targets))
    paragraphs += [f"{key}: {value}" for key, value in note.items()]
    table = Table(["model", "type", "players", "order", "effect", "salient"], rows,
                  caption=f"the {strongest} strongest AND and OR interactions per model")
    return Section(f"Input {sample_id}", f"sample{sample_id}", paragraphs, [table], figures), info


def _figure(result: Interactions, b: int, words: Sequence[str] | None, records: Sequence[InteractionRecord],
            images: Tensor | None) -> Any:
    row = result.extra["players"][b]
    if words is not None:
        return sentence_interactions_figure(words, row.tolist(), records)
    if images is None:
        raise ValueError("drawing image interactions needs the images")
    settings = dict(result.settings["players"])
    players = ImagePatchPlayers(**{**settings, "baseline": "zero"})  # the geometry is what is drawn
    image = images[b]
    hw = image.shape[-2:] if players.layer is None else result.settings["feature_hw"]
    return image_interactions_figure(image, patch_boxes(players, row, hw, image.shape[-2:]), records)


def _sharing(result: Interactions, labels: Sequence[str], taus: Sequence[float],
             out_dir: Path) -> tuple[Section, dict[str, Any]]:
    curves = {kind: transferability(effects).mean(-1) for kind, effects in
              (("AND", result.and_effects), ("OR", result.or_effects))}
    tau = torch.tensor(taus, dtype=result.rewards.dtype)
    by_order = shared_by_order(result, tau)
    figures = [
        save(transferability_figure(TRANSFER_RATIOS, curves), out_dir, "transferability",
             "transferability s of the top-k interactions, averaged over the inputs"),
        save(shared_by_order_figure(by_order.shared_pos.sum(1), by_order.shared_neg.sum(1),
                                    by_order.total_pos.sum(1), by_order.total_neg.sum(1), labels),
             out_dir, "shared_by_order", "salient strength per order and the part all models share"),
    ]
    rows, lists, per_sample = [], [], []
    words = result.settings.get("words") if result.settings.get("input") == "text" else None
    for b in range(result.batch_shape[1]):
        split = shared_and_distinctive(result[:, b], tau, k=3)
        sample_id = int(result.extra["ids"][0, b])
        rows.append([sample_id, split.num_shared, *split.num_salient])
        names = _player_names(result[0], b, words[b] if words is not None else None)
        lists.append([sample_id, describe(split.shared, names), *[describe(d, names) for d in split.distinctive]])
        per_sample.append({"id": sample_id, "num_shared": split.num_shared, "num_salient": split.num_salient,
                           "shared": [r._asdict() for r in split.shared],
                           "distinctive": {lab: [r._asdict() for r in d] for lab, d in zip(labels, split.distinctive)}})
    table = Table(["input", "shared salient", *[f"salient in {lab}" for lab in labels]], rows,
                  caption="salient = |I| > the model's tau; shared = salient with the same sign in every model")
    strongest = Table(["input", "shared (mean effect)", *[f"only {lab}" for lab in labels]], lists,
                      caption="the 3 strongest shared and distinctive salient interactions of each input")
    info = {"ratios": list(TRANSFER_RATIOS), "transferability": {k: v.tolist() for k, v in curves.items()},
            "samples": per_sample}
    text = ("Joint extraction over the models on the same inputs and players (words are shared players even when "
            "the tokenizers differ).")
    return Section("Shared and distinctive interactions", "sharing", [text], [table, strongest], figures), info
