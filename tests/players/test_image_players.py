"""Image patch players: geometry, selection, masking, hooked layers, errors."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from lit_interactions.interactions.subsets import subset_masks
from lit_interactions.players import ImagePatchPlayers, compute_rewards, log_odds


def small_cnn(seed: int = 0, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    torch.manual_seed(seed)
    layers = OrderedDict(
        conv1=nn.Conv2d(3, 4, 3, padding=1),
        relu1=nn.ReLU(),
        conv2=nn.Conv2d(4, 6, 3, padding=1),
        relu2=nn.ReLU(),
        pool=nn.AdaptiveAvgPool2d(2),
        flat=nn.Flatten(),
        fc=nn.Linear(24, 3),
    )
    return nn.Sequential(layers).to(dtype)


def image_batch(size: int = 3, side: int = 16, seed: int = 1) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "inputs": torch.rand(size, 3, side, side, generator=gen),
        "labels": torch.randint(0, 3, (size,), generator=gen),
        "ids": torch.arange(100, 100 + size),
    }


def test_patch_map_crops_border_and_uses_floor_boundaries() -> None:
    patches = ImagePatchPlayers().patch_map(32, 32)  # default crop 32 // 8 = 4 cells per side
    column = patches[:, 10].tolist()
    # rows 4..27 split at floor(linspace(4, 28, 6)) = 4, 8, 13, 18, 23, 28
    assert column == [-1] * 4 + [1] * 4 + [6] * 5 + [11] * 5 + [16] * 5 + [21] * 5 + [-1] * 4
    assert torch.equal(torch.bincount(patches[patches >= 0]).unique(), torch.tensor([16, 20, 25]))
    custom = ImagePatchPlayers(n_players=2, grid=2, crop=(1, 0)).patch_map(4, 6)
    assert custom.tolist() == [[-1] * 6, [0, 0, 0, 1, 1, 1], [2, 2, 2, 3, 3, 3], [-1] * 6]


def test_selects_brightest_patches_ignoring_border_with_index_tie_break() -> None:
    players = ImagePatchPlayers(n_players=4, grid=5)  # 40x40: crop 5, patches of 6x6 cells
    image = torch.zeros(1, 3, 40, 40)
    image[..., :5, :] = 100.0  # the cropped border is never a player
    brightness = {18: 0.9, 3: 0.5, 12: -0.7}  # L1 norm: |-0.7| ranks second
    for patch, value in brightness.items():
        row, col = divmod(patch, 5)
        image[..., 5 + 6 * row : 11 + 6 * row, 5 + 6 * col : 11 + 6 * col] = value
    batch = {"inputs": image, "ids": torch.tensor([7])}
    selection = players.select(None, batch)
    # three bright patches, then the all-zero tie resolved by the lowest index (0); listed by index
    assert selection.players.tolist() == [[0, 3, 12, 18]]
    assert selection.ids.tolist() == [7]
    scores = players.patch_scores(image)
    assert scores[0, 18].item() == pytest.approx(0.9 * 3) and scores[0, 12].item() == pytest.approx(0.7 * 3)


def test_scores_are_per_cell_so_larger_patches_are_not_favoured() -> None:
    players = ImagePatchPlayers(n_players=1, grid=5)
    image = torch.ones(1, 1, 32, 32)  # uneven patches (4 or 5 cells per side), same brightness
    assert torch.allclose(players.patch_scores(image), torch.ones(1, 25))
    assert players.select(None, {"inputs": image, "ids": torch.tensor([0])}).players.tolist() == [[0]]


@pytest.mark.parametrize("baseline", ["zero", "mean"])
def test_masking_changes_only_absent_player_patches(baseline: str) -> None:
    players = ImagePatchPlayers(n_players=3, grid=5, baseline=baseline)
    features = torch.rand(2, 3, 16, 16) + 1.0
    chosen = torch.tensor([[0, 7, 24], [1, 2, 3]])
    keep = torch.tensor([[True, False, False], [False, True, True]])
    masked = players.mask_features(features, chosen, keep)
    patches = players.patch_map(16, 16)
    base = torch.zeros(2, 3, 1, 1) if baseline == "zero" else features.mean(dim=(2, 3), keepdim=True)
    for row, (absent_patches) in enumerate([(7, 24), (1,)]):
        absent = torch.zeros(16, 16, dtype=torch.bool)
        for patch in absent_patches:
            absent |= patches == patch
        assert absent.sum() > 0
        assert torch.equal(masked[row][:, ~absent], features[row][:, ~absent])
        assert torch.equal(masked[row][:, absent], base[row].expand(3, 16, 16)[:, absent])


def test_full_and_empty_set_rewards_equal_unmasked_and_all_baseline_log_odds() -> None:
    model, batch = small_cnn().eval(), image_batch()
    players = ImagePatchPlayers(n_players=5, grid=5)
    rewards, selection = compute_rewards(model, batch, players)
    assert rewards.shape == (3, 32)
    with torch.no_grad():
        full = log_odds(model(batch["inputs"]), batch["labels"])
        blank = batch["inputs"].clone()
        patches = players.patch_map(16, 16)
        for b in range(3):
            for patch in selection.players[b].tolist():
                blank[b][:, patches == patch] = 0.0
        empty = log_odds(model(blank), batch["labels"])
    assert torch.allclose(rewards[:, -1], full, atol=1e-6)
    assert torch.allclose(rewards[:, 0], empty, atol=1e-6)
    assert not torch.allclose(rewards[:, 0], rewards[:, -1])


def test_hooked_layer_equals_running_the_two_halves_by_hand() -> None:
    model, batch = small_cnn().eval(), image_batch(size=2)
    players = ImagePatchPlayers(n_players=4, grid=5, layer="conv2", baseline="mean")
    rewards, selection = compute_rewards(model, batch, players, chunk_size=13)
    with torch.no_grad():
        features = model[:3](batch["inputs"])  # conv1, relu1, conv2
        expected_players = players.patch_scores(features).topk(4).indices.sort(dim=1).values
        assert torch.equal(selection.players, expected_players)
        masks = subset_masks(4)
        for b in range(2):
            feats = features[b : b + 1].expand(16, -1, -1, -1)
            masked = players.mask_features(feats, selection.players[b].expand(16, -1), masks)
            manual = log_odds(model[3:](masked), batch["labels"][b].expand(16))
            assert torch.allclose(rewards[b], manual, atol=1e-6)
    assert not model.conv2._forward_hooks  # the hook is gone


def test_hook_is_removed_when_the_forward_fails() -> None:
    class Failing(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = small_cnn()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.body.conv1(x)
            raise RuntimeError("boom")

    model = Failing()
    players = ImagePatchPlayers(n_players=2, layer="body.conv1")
    selection = ImagePatchPlayers(n_players=2).select(None, image_batch())
    selection = type(selection)(selection.ids, selection.players, players.kind, players.settings())
    with pytest.raises(RuntimeError, match="boom"):
        compute_rewards(model, image_batch(), players, selection)
    assert not model.body.conv1._forward_hooks


def test_layer_errors() -> None:
    model, batch = small_cnn(), image_batch()
    with pytest.raises(ValueError, match=r"no module named 'conv3'.*conv1"):
        compute_rewards(model, batch, ImagePatchPlayers(n_players=2, layer="conv3"))
    with pytest.raises(ValueError, match="not a 4-D feature map"):
        compute_rewards(model, batch, ImagePatchPlayers(n_players=2, layer="flat"))
    with pytest.raises(ValueError, match="grid does not fit"):
        compute_rewards(model, batch, ImagePatchPlayers(n_players=2, grid=5, layer="pool"))
    with pytest.raises(TypeError, match="nn.Module"):
        ImagePatchPlayers(n_players=2, layer="conv1").select(lambda x: model(x), batch)


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match=r"grid\*grid=9"):
        ImagePatchPlayers(n_players=10, grid=3)
    with pytest.raises(ValueError, match="n_players=17 is not supported"):
        ImagePatchPlayers(n_players=17, grid=5)
    with pytest.raises(ValueError, match="unknown image baseline"):
        ImagePatchPlayers(baseline="blur")
    with pytest.raises(ValueError, match="crop"):
        ImagePatchPlayers(crop=-1)
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        ImagePatchPlayers().select(None, {"inputs": torch.rand(3, 16, 16), "ids": torch.tensor([0])})
