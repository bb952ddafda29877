"""Image patch players at the input or at an intermediate layer (SPEC 1, paper 2 App. I.3).

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
    eval_mode,
    get_layer,
    keep_map,
    replace_output,
    require_module,
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
        self,
        n_players: int = 10,
        grid: int = 5,
        layer: str | None = None,
        crop: int | tuple[int, int] | list[int] | None = None,
        baseline: str | Tensor = "zero",
    ) -> None:
        super().__init__(n_players)
        grid = check_int("grid", grid, 1)
        if n_players > grid * grid:
            raise ValueError(
                f"n_players={n_players} > grid*grid={grid * grid} patches; use fewer players or a finer grid"
            )
        crop_hw: tuple[int, ...] | None = None
        if crop is not None:
            crop_hw = (crop, crop) if isinstance(crop, int) else tuple(crop)
            if len(crop_hw) != 2 or any(not is_int(c) or c < 0 for c in crop_hw):
                raise ValueError(f"crop must be None, an int >= 0 or (crop_h, crop_w), got {crop_hw!r}")
        self.baseline_value: Tensor | None = None
        if isinstance(baseline, Tensor):
            if not baseline.is_floating_point() or not bool(torch.isfinite(baseline).all()) or baseline.dim() > 3:
                raise ValueError(
                    f"a tensor baseline must be a finite float tensor broadcasting to [C, H, W], got dtype "
                    f"{baseline.dtype} and shape {tuple(baseline.shape)}"
                )
            self.baseline_value, baseline = baseline.detach(), "tensor"
        elif baseline not in IMAGE_BASELINES:
            raise ValueError(
                f"unknown image baseline {baseline!r}; choose one of {IMAGE_BASELINES} or pass a float tensor"
            )
        if layer is not None and not isinstance(layer, str):
            raise TypeError(f"layer must be a module name (str) or None, got {type(layer).__name__}")
        self.grid = grid
        self.layer = layer
        self.crop: tuple[int, int] | None = None if crop_hw is None else (crop_hw[0], crop_hw[1])
        self.baseline = baseline

    def settings(self) -> dict[str, Any]:
        """JSON-able settings (``crop`` as a list or None)."""
        return {
            "n_players": self.n_players,
            "grid": self.grid,
            "layer": self.layer,
            "crop": list(self.crop) if self.crop is not None else None,
            "baseline": self.baseline,
        }

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

    # -- geometry ---------------------------------------------------------------------------------

    def patch_map(self, height: int, width: int, device: torch.device | str | None = None) -> Tensor:
        """``LongTensor[H, W]``: the patch index (row-major) of every cell, ``-1`` in the cropped border."""
        crop = self.crop if self.crop is not None else (height // 8, width // 8)
        return _patch_map(self.grid, crop, height, width).to(device, copy=True)

    def player_map(self, players: Tensor, height: int, width: int) -> Tensor:
        """``LongTensor[k, H, W]``: the player index of every cell for rows with ``players [k, n]``, else -1."""
        k, n = players.shape
        patches = self.patch_map(height, width, players.device)
        owner = torch.full((k, self.grid * self.grid + 1), -1, dtype=torch.long, device=players.device)
        owner.scatter_(1, players, torch.arange(n, device=players.device).expand(k, n))
        index = torch.where(patches < 0, self.grid * self.grid, patches).reshape(1, -1).expand(k, -1)
        return owner.gather(1, index).reshape(k, height, width)

    def patch_scores(self, features: Tensor) -> Tensor:
        """``[B, grid*grid]`` mean absolute value of every patch (over channels and the patch's cells)."""
        b, _, h, w = features.shape
        patches = self.patch_map(h, w, features.device).reshape(-1)
        inside = patches >= 0
        cell_l1 = features.detach().abs().sum(dim=1).reshape(b, -1)[:, inside]
        index = patches[inside].expand(b, -1)
        sums = cell_l1.new_zeros(b, self.grid * self.grid).scatter_add_(1, index, cell_l1)
        area = torch.bincount(patches[inside], minlength=self.grid * self.grid).to(sums.dtype)
        return sums / area

    def mask_features(self, features: Tensor, players: Tensor, keep: Tensor) -> Tensor:
        """Masked feature maps: player ``i``'s patch of row ``r`` set to the baseline unless ``keep[r, i]``.

        Args:
            features: ``[k, C, H, W]`` unmasked feature maps (one row per masked sample).
            players: ``LongTensor[k, n]`` patch indices of each row's sample.
            keep: ``BoolTensor[k, n]`` players present in each row.
        """
        _, _, h, w = features.shape
        keep_cells = keep_map(self.player_map(players.to(features.device), h, w), keep.to(features.device))
        if self.baseline == "zero":
            base = features.new_zeros(())
        elif self.baseline_value is not None:
            base = self._tensor_baseline(features)
        else:
            base = features.mean(dim=(2, 3), keepdim=True)
        return torch.where(keep_cells.unsqueeze(1), features, base)

    def _tensor_baseline(self, features: Tensor) -> Tensor:
        assert self.baseline_value is not None  # set with the tensor baseline
        value = self.baseline_value.to(device=features.device, dtype=features.dtype)
        try:
            torch.broadcast_shapes(value.shape, features.shape[1:])
        except RuntimeError:
            raise ValueError(
                f"the baseline tensor of shape {tuple(value.shape)} does not broadcast to the feature map "
                f"{tuple(features.shape[1:])} [C, H, W]; give [C, H, W], [C, 1, 1] or a scalar"
            ) from None
        return value

    # -- players ----------------------------------------------------------------------------------

    def features(self, forward_func: Callable[..., Any], inputs: Tensor) -> Tensor:
        """The unmasked feature map of ``inputs``: the inputs themselves or the hooked layer's output."""
        if self.layer is None:
            return inputs
        module = get_layer(require_module(forward_func, f"players at layer {self.layer!r}"), self.layer)
        captured: list[Tensor] = []

        def capture(output: Tensor) -> Tensor:
            captured.append(output)
            raise _Captured

        with torch.no_grad(), eval_mode(forward_func), replace_output(module, _on_feature_map(capture, self.layer)):
            try:
                forward_func(inputs)
            except _Captured:
                pass
        if not captured:
            raise RuntimeError(f"layer {self.layer!r} was not called during the forward pass of the model")
        return captured[0]

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

            def run_input(sample_index: Tensor, keep: Tensor) -> Any:
                return forward_func(self.mask_features(inputs[sample_index], players[sample_index], keep))

            return run_input

        layer = self.layer
        module = get_layer(require_module(forward_func, f"players at layer {layer!r}"), layer)

        def run_layer(sample_index: Tensor, keep: Tensor) -> Any:
            rows = players[sample_index]
            with replace_output(module, _on_feature_map(lambda out: self.mask_features(out, rows, keep), layer)):
                return forward_func(inputs[sample_index])

        return run_layer


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


def _inputs(batch: Batch) -> Tensor:
    inputs = batch_tensor(batch, "inputs", "image players")
    if inputs.dim() != 4:
        raise ValueError(f"image batch['inputs'] must be [B, C, H, W], got {tuple(inputs.shape)}")
    return inputs
