"""The solver and the masked forwards on CUDA (skipped where there is no CUDA device)."""

from __future__ import annotations

import pytest
import torch

from lit_interactions.interactions import games
from lit_interactions.interactions.solver import extract, extract_joint, joint_objective

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
TOL = 1e-3


def test_solver_on_cuda_matches_cpu() -> None:
    rewards = games.mlp_rewards(7, 4, seed=3)
    cpu = extract(rewards)
    gpu = extract(rewards.cuda())
    assert gpu.and_effects.is_cuda and gpu.extra["dual"].is_cuda and gpu.settings["converged"]
    assert torch.allclose(gpu.objective().cpu(), cpu.objective(), rtol=2 * TOL)
    warm = extract(rewards.cuda() * 1.01, warm_start=gpu)
    assert warm.settings["converged"] and warm.settings["duality_gap_max"] <= TOL
    pair = torch.stack((rewards, games.mlp_rewards(7, 4, seed=4)))
    joint_cpu, joint_gpu = extract_joint(pair), extract_joint(pair.cuda())
    assert torch.allclose(joint_objective(joint_gpu, 0.1).cpu(), joint_objective(joint_cpu, 0.1), rtol=2 * TOL)


def test_masked_forwards_on_cuda() -> None:
    from lit_interactions.players import ImagePatchPlayers, compute_rewards
    from tests.players.test_evaluator import image_batch, small_cnn

    model, batch = small_cnn(), image_batch()
    players = ImagePatchPlayers(n_players=5, layer="conv2")
    cpu, selection = compute_rewards(model, batch, players)
    gpu, _ = compute_rewards(model.cuda(), batch, players, selection)
    assert gpu.is_cuda and torch.allclose(gpu.cpu(), cpu, atol=1e-4)
    half, _ = compute_rewards(model, batch, players, selection, forward={"precision": "float16", "channels_last": True})
    assert half.is_cuda and float((half.cpu() - cpu).abs().max()) < 0.05 * float((cpu[:, -1] - cpu[:, 0]).abs().mean()) + 0.05
