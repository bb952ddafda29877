"""Rewards: stable log-odds, logits, single-logit models, targets."""

from __future__ import annotations

import math

import pytest
import torch

from lit_interactions.players import log_odds, logit, resolve_reward, resolve_target


def _reference_log_odds(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = torch.softmax(logits.double(), dim=1).gather(1, target[:, None]).squeeze(1)
    return torch.log(p / (1 - p))


def test_log_odds_matches_float64_reference() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 7, generator=gen) * 3
    target = torch.randint(0, 7, (50,), generator=gen)
    expected = _reference_log_odds(logits, target)
    assert torch.allclose(log_odds(logits, target).double(), expected, atol=1e-5)


def test_log_odds_is_stable_for_huge_logits() -> None:
    logits = torch.tensor([[1000.0, -1000.0, 0.0], [1e4, 1e4, -1e4], [-50.0, 30.0, 31.0]])
    target = torch.tensor([0, 1, 0])
    value = log_odds(logits, target)
    assert torch.isfinite(value).all()
    # z_y - logsumexp over the others: exact values where the naive formula overflows
    assert value[0].item() == pytest.approx(1000.0, abs=1e-3)
    assert value[1].item() == pytest.approx(0.0, abs=1e-3)
    expected_2 = -50.0 - math.log(math.exp(30.0) + math.exp(31.0))
    assert value[2].item() == pytest.approx(expected_2, rel=1e-6)
    finite = _reference_log_odds(logits[2:], target[2:])  # p is not 0/1 in float64 here
    assert torch.isfinite(finite).all() and value[2].item() == pytest.approx(finite.item(), rel=1e-5)


def test_log_odds_binary_two_logits_is_logit_difference() -> None:
    logits = torch.tensor([[0.5, 2.0], [3.0, -1.0]], dtype=torch.float64)
    target = torch.tensor([1, 1])
    assert torch.allclose(log_odds(logits, target), torch.tensor([1.5, -4.0], dtype=torch.float64))


def test_single_logit_model_signs_the_logit() -> None:
    z = torch.tensor([[2.0], [2.0], [-0.5]])
    target = torch.tensor([1, 0, 0])
    assert torch.equal(log_odds(z, target), torch.tensor([2.0, -2.0, 0.5]))
    assert torch.equal(log_odds(z.squeeze(1), target), torch.tensor([2.0, -2.0, 0.5]))
    assert torch.equal(logit(z, target), torch.tensor([2.0, -2.0, 0.5]))
    with pytest.raises(ValueError, match="0..1"):
        log_odds(z, torch.tensor([1, 2, 0]))


def test_logit_reward_picks_target() -> None:
    logits = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert torch.equal(logit(logits, torch.tensor([2, 0])), torch.tensor([3.0, 4.0]))


def test_reward_errors() -> None:
    with pytest.raises(ValueError, match="0..2"):
        log_odds(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="unknown reward"):
        resolve_reward("prob")
    with pytest.raises(TypeError, match="logits tensor"):
        log_odds((torch.zeros(2, 3),), torch.tensor([0, 1]))  # type: ignore[arg-type]
    fn = lambda out, t: out.sum(1)  # noqa: E731
    assert resolve_reward(fn) is fn


def test_resolve_target() -> None:
    batch = {"labels": torch.tensor([3, 1])}
    device = torch.device("cpu")
    assert torch.equal(resolve_target(None, batch, 2, device), torch.tensor([3, 1]))
    assert torch.equal(resolve_target(4, batch, 2, device), torch.tensor([4, 4]))
    assert torch.equal(resolve_target(torch.tensor([0, 2]), batch, 2, device), torch.tensor([0, 2]))
    with pytest.raises(KeyError, match="labels"):
        resolve_target(None, {}, 2, device)
    with pytest.raises(ValueError, match="B=2"):
        resolve_target(torch.tensor([1, 2, 3]), batch, 2, device)
    with pytest.raises(TypeError, match="integer"):
        resolve_target(torch.tensor([0.5, 1.0]), batch, 2, device)
