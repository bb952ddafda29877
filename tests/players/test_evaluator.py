"""The evaluator: invariances, model state, selection reuse and storage, errors, differentiable rewards."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from lit_interactions.players import (
    ImagePatchPlayers,
    PlayerSelection,
    compute_rewards,
    masked_rewards,
)


def small_cnn(seed: int = 0, dtype: torch.dtype = torch.float32, dropout: float = 0.0) -> nn.Sequential:
    torch.manual_seed(seed)
    layers = OrderedDict(
        conv1=nn.Conv2d(3, 4, 3, padding=1),
        bn=nn.BatchNorm2d(4),
        relu1=nn.ReLU(),
        conv2=nn.Conv2d(4, 6, 3, padding=1),
        relu2=nn.ReLU(),
        pool=nn.AdaptiveAvgPool2d(2),
        flat=nn.Flatten(),
        drop=nn.Dropout(dropout),
        fc=nn.Linear(24, 3),
    )
    return nn.Sequential(layers).to(dtype)


def image_batch(size: int = 4, seed: int = 1, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "inputs": torch.rand(size, 3, 16, 16, generator=gen).to(dtype),
        "labels": torch.randint(0, 3, (size,), generator=gen),
        "ids": torch.arange(10, 10 + size),
    }


def _rows(batch: dict[str, torch.Tensor], index: list[int]) -> dict[str, torch.Tensor]:
    return {k: v[index] for k, v in batch.items()}


@pytest.mark.parametrize("layer", [None, "conv2"])
def test_batch_composition_invariance(layer: str | None) -> None:
    model, batch = small_cnn().eval(), image_batch()
    players = ImagePatchPlayers(n_players=5, layer=layer)
    rewards, selection = compute_rewards(model, batch, players)
    alone, alone_selection = compute_rewards(model, _rows(batch, [2]), players)
    assert torch.equal(alone_selection.players, selection.players[2:3])
    assert torch.allclose(alone, rewards[2:3], atol=1e-6)
    shuffled, shuffled_selection = compute_rewards(model, _rows(batch, [3, 0]), players)
    assert shuffled_selection.ids.tolist() == [13, 10]
    assert torch.allclose(shuffled, rewards[[3, 0]], atol=1e-6)


@pytest.fixture
def one_thread():
    """Many tiny forwards: one intra-op thread avoids OpenMP contention on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
def test_chunk_size_does_not_change_rewards() -> None:
    # float64 is compared to 1e-12, not bit-exactly: BLAS may sum in another order for another batch size
    players = ImagePatchPlayers(n_players=4, layer="conv2")
    for dtype, atol in ((torch.float32, 1e-6), (torch.float64, 1e-12)):
        model, batch = small_cnn(dtype=dtype).eval(), image_batch(size=2, dtype=dtype)
        reference, _ = compute_rewards(model, batch, players, chunk_size=4096)
        assert reference.dtype == dtype
        for chunk in (1, 5, 24):
            rewards, _ = compute_rewards(model, batch, players, chunk_size=chunk)
            assert torch.allclose(rewards, reference, atol=atol, rtol=0)


def test_model_modes_and_global_rng_are_restored() -> None:
    model = small_cnn(dropout=0.5).train()
    model.bn.eval()  # a mixed state must come back as it was
    running_mean = model.bn.running_mean.clone()
    state = torch.get_rng_state()
    rewards, _ = compute_rewards(model, image_batch(), ImagePatchPlayers(n_players=4, layer="relu1"))
    assert torch.equal(torch.get_rng_state(), state)
    assert model.training and model.drop.training and not model.bn.training
    assert torch.equal(model.bn.running_mean, running_mean)
    # eval mode inside: dropout was off, so a second run gives the same rewards
    again, _ = compute_rewards(model, image_batch(), ImagePatchPlayers(n_players=4, layer="relu1"))
    assert torch.equal(rewards, again)


def test_nan_output_names_the_sample_and_restores_mode() -> None:
    model = small_cnn().train()
    batch = image_batch()
    batch["inputs"][1, :, 8, 8] = float("nan")  # inside a patch of sample id 11
    with pytest.raises(FloatingPointError, match=r"sample id\(s\) \[11\]"):
        compute_rewards(model, batch, ImagePatchPlayers(n_players=3, crop=0, grid=2), chunk_size=5)
    assert model.training and model.bn.training


def test_selection_is_reused_for_another_model_and_survives_storage(tmp_path) -> None:
    batch = image_batch()
    players = ImagePatchPlayers(n_players=5, layer="conv2")
    main, other = small_cnn(seed=0).eval(), small_cnn(seed=5).eval()
    rewards_main, selection = compute_rewards(main, batch, players)
    own_choice = players.select(other, batch)
    assert not torch.equal(own_choice.players, selection.players)  # the other model would choose otherwise

    path = tmp_path / "selection.pt"
    selection.save(path)
    loaded = PlayerSelection.load(path)
    assert loaded.settings == players.settings() and loaded.kind == "image_patch"
    rewards_other, used = compute_rewards(other, _rows(batch, [3, 1]), players, loaded)
    assert torch.equal(used.players, selection.players[[3, 1]])
    expected, _ = compute_rewards(other, batch, players, selection)
    assert torch.allclose(rewards_other, expected[[3, 1]], atol=1e-6)
    assert not torch.allclose(rewards_other, rewards_main[[3, 1]])
    # the players can be rebuilt from the stored settings alone
    rebuilt = ImagePatchPlayers.from_settings(loaded.settings)
    assert rebuilt.settings() == players.settings()


def test_selection_errors() -> None:
    model, batch = small_cnn().eval(), image_batch()
    players = ImagePatchPlayers(n_players=5)
    _, selection = compute_rewards(model, _rows(batch, [0, 1]), players)
    with pytest.raises(KeyError, match=r"sample id\(s\) \[12, 13\]"):
        compute_rewards(model, batch, players, selection)
    with pytest.raises(ValueError, match="from_settings"):
        compute_rewards(model, _rows(batch, [0, 1]), ImagePatchPlayers(n_players=5, layer="conv2"), selection)
    with pytest.raises(KeyError, match="ids"):
        compute_rewards(model, {"inputs": batch["inputs"], "labels": batch["labels"]}, players)
    with pytest.raises(ValueError, match="different settings"):
        PlayerSelection.cat([selection, PlayerSelection(selection.ids, selection.players, "image_patch", {})])


def test_target_and_custom_reward() -> None:
    model, batch = small_cnn().eval(), image_batch()
    players = ImagePatchPlayers(n_players=3)
    logits_reward, selection = compute_rewards(model, batch, players, target=2, reward="logit")
    custom, _ = compute_rewards(model, batch, players, selection, target=2, reward=lambda z, t: z[:, 2])
    assert torch.equal(logits_reward, custom)
    with torch.no_grad():
        assert torch.allclose(logits_reward[:, -1], model(batch["inputs"])[:, 2])
    with pytest.raises(ValueError, match="one scalar per masked sample"):
        compute_rewards(model, batch, players, selection, reward=lambda z, t: z)


def test_masked_rewards_are_differentiable_and_match() -> None:
    model, batch = small_cnn().train(), image_batch(size=2)
    players = ImagePatchPlayers(n_players=4, layer="relu1")
    full, selection = compute_rewards(model, batch, players)
    subsets = [15, 0, 5, 9]
    values = masked_rewards(model, batch, players, selection, subsets, chunk_size=3)
    assert values.shape == (2, 4) and values.requires_grad
    assert torch.allclose(values.detach(), full[:, subsets], atol=1e-6)
    values.sum().backward()
    assert model.conv1.weight.grad is not None and model.conv1.weight.grad.abs().sum() > 0
    assert model.training and model.bn.training
    with pytest.raises(ValueError, match=r"0\.\.15"):
        masked_rewards(model, batch, players, selection, [16])


def test_progress_bar_is_optional(capsys: pytest.CaptureFixture[str]) -> None:
    model, batch = small_cnn().eval(), image_batch(size=1)
    players = ImagePatchPlayers(n_players=3)
    compute_rewards(model, batch, players, chunk_size=2)
    assert "masked forwards" not in capsys.readouterr().err
    compute_rewards(model, batch, players, chunk_size=2, progress=True)
    assert "masked forwards" in capsys.readouterr().err
