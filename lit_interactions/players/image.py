"""Image patch players at the input or at an intermediate layer (paper 2 App. I.3; docs/conventions.md, "Players").

The feature map ``[B, C, H, W]`` (the image itself when ``layer`` is None) loses a border of ``crop`` cells
on each side (the paper ignores the edges); the central region is split into a ``grid x grid`` array of
patches with floor boundaries ``floor(linspace(start, stop, grid + 1))``, numbered row-major. The players
of a sample are the ``n`` patches with the largest mean absolute value (the L1 norm divided by the patch
area: the L1-norm ranking when the grid divides the region evenly, without favouring the larger patches
when it does not); ties go to the lower patch index; players are listed by increasing patch index.

Masking player ``i`` sets its patch (all channels) to the baseline: ``"zero"``, ``"mean"`` = the
sample's per-channel mean over all ``H x W`` positions of the unmasked feature map, or a given tensor that
broadcasts to one feature map ``[C, H, W]`` (e.g. ``[C, 1, 1]`` per channel, or a blurred image). Everything else keeps
its value. At an intermediate layer a forward hook replaces the layer's output by its masked version
(a module called several times per forward pass is masked at every call: name a module used once).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor

from lit_interactions.checks import check_int, is_int
from lit_interactions.players.base import (
    Batch,
    MaskedForward,
    Players,
    batch_tensor,
    check_layer_name,
    eval_mode,
    get_layer,
    keep_map,
    masked_at_layer,
    require_module,
    with_output_replaced,
)
from lit_interactions.players.selection import PlayerSelection

IMAGE_BASELINES = ("zero", "mean")


class _Captured(Exception):
    """Stops a forward pass once the hooked layer's output has been captured."""


def _check_4d(value: Any, layer: str) -> Tensor:
    if not isinstance(value, Tensor) or value.dim() != 4:
        shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(
            f"the output of layer {layer!r} is {shape}, not a 4-D feature map [B, C, H, W]; "
            f"choose a convolutional layer/block (or layer=None for the input image)"
        )
    return value


def _on_feature_map(fn: Callable[[Tensor], Tensor], name: str) -> Callable[[Any], Tensor]:
    """``fn`` applied to a layer's output, after checking that it is a feature map."""
    return lambda output: fn(_check_4d(output, name))


class ImagePatchPlayers(Players):
    """The ``n`` brightest patches of a ``grid x grid`` split of the (cropped) input or a layer's output.

    Args:
        n_players: players per sample (1..16; at most ``grid * grid``).
        grid: patches per side of the central region.
        layer: module name (``model.get_submodule``), e.g. ``"layer1.0"``; None = the input image.
        crop: border removed on each side, in cells of the feature map: an int, ``(crop_h, crop_w)``,
            or None for ``(H // 8, W // 8)`` (e.g. 4 pixels of a 32x32 image, 1 cell of an 8x8 map).
        baseline: ``"zero"`` (paper 2), ``"mean"`` (per-sample per-channel mean over ``H x W``), or a
            float tensor broadcasting to ``[C, H, W]`` (recorded as ``"tensor"`` in the settings).
    """

    kind = "image_patch"
    GEOMETRY = ("layer", "grid", "crop")

    def __init__(
        self, n_players: int = 10, grid: int = 5, layer: str | None = None,
        crop: int | tuple[int, int] | list[int] | None = None, baseline: str | Tensor = "zero",
    ) -> None:
        super().__init__(n_players)
        grid = check_int("grid", grid, 1)
        if n_players > grid * grid:
            raise ValueError(
                f"n_players={n_players} > grid*grid={grid * grid} patches; use fewer players or a finer grid"
            )
        self.crop = _crop_pair(crop)
        self.baseline, self.baseline_value = _image_baseline(baseline)
        self.layer = check_layer_name(layer)
        self.grid = grid

    def settings(self) -> dict[str, Any]:
        """JSON-able settings (``crop`` as a list or None)."""
        crop = list(self.crop) if self.crop is not None else None
        return {"n_players": self.n_players, "grid": self.grid, "layer": self.layer, "crop": crop,
                "baseline": self.baseline}

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> ImagePatchPlayers:
        """Players matching a selection's settings."""
        keys = ("n_players", "grid", "layer", "crop", "baseline")
        if settings.get("baseline") == "tensor":
            raise ValueError(
                "these settings used a tensor baseline, which settings do not hold; build the players with "
                "ImagePatchPlayers(..., baseline=<the same tensor>)"
            )
        return cls(**{k: settings[k] for k in keys if k in settings})

    def patch_map(self, height: int, width: int, device: torch.device | str | None = None) -> Tensor:
        """``LongTensor[H, W]``: the patch index (row-major) of every cell, ``-1`` in the cropped border."""
        crop = self.crop if self.crop is not None else (height // 8, width // 8)
        return _patch_map(self.grid, crop, height, width).to(device, copy=True)

    def player_map(self, players: Tensor, height: int, width: int) -> Tensor:
        """``LongTensor[k, H, W]``: the player index of every cell for rows with ``players [k, n]``, else -1."""
        return _cell_players(self.patch_map(height, width, players.device), players, self.grid * self.grid)

    def patch_scores(self, features: Tensor) -> Tensor:
        """``[B, grid*grid]`` mean absolute value of every patch (over channels and the patch's cells)."""
        _, _, h, w = features.shape
        patches = self.patch_map(h, w, features.device)
        return _patch_means(features.detach().abs().sum(dim=1), patches, self.grid * self.grid)

    def mask_features(self, features: Tensor, players: Tensor, keep: Tensor) -> Tensor:
        """Masked feature maps: player ``i``'s patch of row ``r`` set to the baseline unless ``keep[r, i]``.

        Args:
            features: ``[k, C, H, W]`` unmasked feature maps (one row per masked sample).
            players: ``LongTensor[k, n]`` patch indices of each row's sample.
            keep: ``BoolTensor[k, n]`` players present in each row.
        """
        _, _, h, w = features.shape
        keep_cells = keep_map(self.player_map(players.to(features.device), h, w), keep.to(features.device))
        base = _patch_baseline(self.baseline, self.baseline_value, features)
        return torch.where(keep_cells.unsqueeze(1), features, base)

    def features(self, forward_func: Callable[..., Any], inputs: Tensor) -> Tensor:
        """The unmasked feature map of ``inputs``: the inputs themselves or the hooked layer's output."""
        if self.layer is None:
            return inputs
        module = get_layer(require_module(forward_func, f"players at layer {self.layer!r}"), self.layer)
        return _layer_output(forward_func, module, self.layer, inputs)

    def select(self, forward_func: Callable[..., Any], batch: Batch) -> PlayerSelection:
        """The ``n`` brightest patches of every sample (see the module docstring)."""
        inputs = _inputs(batch)
        ids = batch_tensor(batch, "ids", "image players").long().reshape(-1)
        scores = self.patch_scores(self.features(forward_func, inputs))
        order = torch.sort(scores, dim=1, descending=True, stable=True).indices
        players = order[:, : self.n_players].sort(dim=1).values
        return PlayerSelection(ids.cpu(), players.cpu(), self.kind, self.settings())

    def prepare(self, forward_func: Callable[..., Any], batch: Batch, selection: PlayerSelection) -> MaskedForward:
        """Masked forward at the input (masked images) or at ``layer`` (a hook masks its output)."""
        inputs = _inputs(batch)
        players = selection.players.to(inputs.device)
        if int(players.max()) >= self.grid * self.grid or int(players.min()) < 0:
            raise ValueError(f"selection has patch indices outside 0..{self.grid * self.grid - 1}")
        if self.layer is None:
            self.patch_map(inputs.shape[2], inputs.shape[3])  # fail early if the grid does not fit
            return lambda rows, keep: forward_func(self.mask_features(inputs[rows], players[rows], keep))

        layer = self.layer
        module = get_layer(require_module(forward_func, f"players at layer {layer!r}"), layer)

        def mask_layer(output: Any, sample_index: Tensor, keep: Tensor) -> Tensor:
            return self.mask_features(_check_4d(output, layer), players[sample_index], keep)

        return masked_at_layer(module, mask_layer, lambda sample_index: forward_func(inputs[sample_index]))


def _crop_pair(crop: int | tuple[int, int] | list[int] | None) -> tuple[int, int] | None:
    """The border ``(crop_h, crop_w)`` to remove, from an int or a pair; None (the default border) stays None."""
    if crop is None:
        return None
    crop_hw = (crop, crop) if isinstance(crop, int) else tuple(crop)
    if len(crop_hw) != 2 or any(not is_int(c) or c < 0 for c in crop_hw):
        raise ValueError(f"crop must be None, an int >= 0 or (crop_h, crop_w), got {crop_hw!r}")
    return (crop_hw[0], crop_hw[1])


def _image_baseline(baseline: str | Tensor) -> tuple[str, Tensor | None]:
    """``(name, tensor)`` of a baseline: ``("zero" | "mean", None)``, or ``("tensor", the detached tensor)``.

    The name is what the settings record (a tensor is not JSON-able); the tensor is checked to be a finite float one.
    """
    if isinstance(baseline, Tensor):
        if not baseline.is_floating_point() or not bool(torch.isfinite(baseline).all()) or baseline.dim() > 3:
            raise ValueError(
                f"a tensor baseline must be a finite float tensor broadcasting to [C, H, W], got dtype "
                f"{baseline.dtype} and shape {tuple(baseline.shape)}"
            )
        return "tensor", baseline.detach()
    if baseline not in IMAGE_BASELINES:
        raise ValueError(
            f"unknown image baseline {baseline!r}; choose one of {IMAGE_BASELINES} or pass a float tensor"
        )
    return baseline, None


def _patch_baseline(name: str, value: Tensor | None, features: Tensor) -> Tensor:
    """What the masked cells of ``features [k, C, H, W]`` become: zero, each row's per-channel mean over ``H x W``,
    or the tensor ``value`` (on the features' device and dtype, checked to broadcast to one feature map)."""
    if name == "zero":
        return features.new_zeros(())
    if value is None:
        return features.mean(dim=(2, 3), keepdim=True)
    value = value.to(device=features.device, dtype=features.dtype)
    try:
        torch.broadcast_shapes(value.shape, features.shape[1:])
    except RuntimeError:
        raise ValueError(
            f"the baseline tensor of shape {tuple(value.shape)} does not broadcast to the feature map "
            f"{tuple(features.shape[1:])} [C, H, W]; give [C, H, W], [C, 1, 1] or a scalar"
        ) from None
    return value


def _layer_output(forward_func: Callable[..., Any], module: torch.nn.Module, name: str, inputs: Tensor) -> Tensor:
    """The feature map ``module`` (named ``name``) outputs on ``inputs``, in eval mode without gradients.

    The forward pass stops once the layer has run: the layers after it are not needed to choose players.
    """
    captured: list[Tensor] = []

    def capture(output: Tensor) -> Tensor:
        captured.append(output)
        raise _Captured

    def run() -> None:
        try:
            forward_func(inputs)
        except _Captured:
            pass

    with torch.no_grad(), eval_mode(forward_func):
        with_output_replaced(module, _on_feature_map(capture, name), run)
    if not captured:
        raise RuntimeError(f"layer {name!r} was not called during the forward pass of the model")
    return captured[0]


@lru_cache(maxsize=32)
def _patch_map(grid: int, crop: tuple[int, int], height: int, width: int) -> Tensor:
    crop_h, crop_w = crop
    inner_h, inner_w = height - 2 * crop_h, width - 2 * crop_w
    if inner_h < grid or inner_w < grid:
        raise ValueError(
            f"a {grid}x{grid} grid does not fit the {height}x{width} feature map cropped by "
            f"({crop_h}, {crop_w}) cells per side ({max(inner_h, 0)}x{max(inner_w, 0)} left); "
            f"use a smaller grid or crop, or an earlier layer"
        )

    def cells(size: int, start: int, total: int) -> Tensor:
        edges = torch.linspace(start, start + size, grid + 1, dtype=torch.float64).floor().long().tolist()
        axis = torch.full((total,), -1, dtype=torch.long)
        for j in range(grid):
            axis[edges[j] : edges[j + 1]] = j
        return axis

    rows, cols = cells(inner_h, crop_h, height), cells(inner_w, crop_w, width)
    patch = rows[:, None] * grid + cols[None, :]
    return torch.where((rows[:, None] < 0) | (cols[None, :] < 0), -1, patch)


def _cell_players(patches: Tensor, players: Tensor, n_patches: int) -> Tensor:
    """``LongTensor[k, H, W]``: for rows with ``players [k, n]`` (patch indices), the player index of every cell of
    the patch map ``patches [H, W]``, ``-1`` for cells of unchosen patches and of the cropped border."""
    k, n = players.shape
    owner = torch.full((k, n_patches + 1), -1, dtype=torch.long, device=players.device)
    owner.scatter_(1, players, torch.arange(n, device=players.device).expand(k, n))
    index = torch.where(patches < 0, n_patches, patches).reshape(1, -1).expand(k, -1)
    return owner.gather(1, index).reshape(k, *patches.shape)


def _patch_means(cell_values: Tensor, patches: Tensor, n_patches: int) -> Tensor:
    """``[B, n_patches]``: the mean of ``cell_values [B, H, W]`` over the cells of every patch of ``patches [H, W]``.

    A mean, not a sum: patches of an uneven split differ in area and the larger ones must not be favoured.
    """
    flat = patches.reshape(-1)
    inside = flat >= 0
    values = cell_values.reshape(cell_values.shape[0], -1)[:, inside]
    index = flat[inside].expand(values.shape[0], -1)
    sums = values.new_zeros(values.shape[0], n_patches).scatter_add_(1, index, values)
    return sums / torch.bincount(flat[inside], minlength=n_patches).to(sums.dtype)


def _inputs(batch: Batch) -> Tensor:
    inputs = batch_tensor(batch, "inputs", "image players")
    if inputs.dim() != 4:
        raise ValueError(f"image batch['inputs'] must be [B, C, H, W], got {tuple(inputs.shape)}")
    return inputs
