"""Forward options of the masked forwards: same rewards (channels-last, compile), close ones (bf16), model intact."""

from __future__ import annotations

import pytest
import torch
import torch._dynamo
from torch._dynamo.utils import counters

from lit_interactions.players import ImagePatchPlayers, compute_rewards
from lit_interactions.players.evaluator import masked_rewards
from lit_interactions.players.forward import ForwardOptions

from .test_evaluator import image_batch, small_cnn


@pytest.mark.parametrize("layer", [None, "conv2"])
def test_channels_last_and_reduced_precision_rewards(layer: str | None) -> None:
    model, batch = small_cnn(), image_batch()
    players = ImagePatchPlayers(n_players=5, layer=layer)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    floor, selection = compute_rewards(model, batch, players)
    assert not floor.is_inference()  # ordinary tensors come back from inference mode
    floor.add_(0.0)  # in place: allowed on an ordinary tensor
    fast, _ = compute_rewards(model, batch, players, selection, forward={"channels_last": True})
    assert torch.allclose(fast, floor, atol=1e-5)
    low, _ = compute_rewards(model, batch, players, selection, forward=ForwardOptions(precision="bfloat16"))
    assert low.dtype == torch.float32 and not torch.equal(low, floor)
    span = (floor[:, -1] - floor[:, 0]).abs().mean()
    assert float((low - floor).abs().max()) < 0.1 * float(span) + 0.05  # bf16 keeps about 3 significant digits
    # The trained model keeps its memory format, weights and mode; the copy follows later weight changes.
    assert model.conv1.weight.is_contiguous() and model.training
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    with torch.no_grad():  # not the last bias: it shifts every logit alike and leaves the log-odds unchanged
        model.conv2.weight.mul_(1.5)
    moved, _ = compute_rewards(model, batch, players, selection, forward={"channels_last": True})
    expected, _ = compute_rewards(model, batch, players, selection)
    assert torch.allclose(moved, expected, atol=1e-5)


def test_compiled_forwards_give_the_eager_rewards_and_follow_the_weights() -> None:
    torch._dynamo.reset()  # no graph compiled by an earlier test
    try:
        model, batch, players = small_cnn(), image_batch(), ImagePatchPlayers(n_players=5)
        floor, selection = compute_rewards(model, batch, players)
        for _ in range(2):  # the second call reuses the compiled copy
            compiled, _ = compute_rewards(model, batch, players, selection, forward={"compile": True})
            assert torch.allclose(compiled, floor, atol=1e-5)
        assert counters["stats"]["unique_graphs"] >= 1  # it did compile
        with torch.no_grad():  # the compiled copy follows the model's later weights
            model.conv2.weight.mul_(1.5)
        moved, _ = compute_rewards(model, batch, players, selection, forward={"compile": True})
        expected, _ = compute_rewards(model, batch, players, selection)
        assert torch.allclose(moved, expected, atol=1e-5) and not torch.allclose(moved, floor, atol=1e-3)
    finally:
        torch._dynamo.reset()


def test_a_model_the_user_compiled_is_masked_at_its_layer() -> None:
    """Players at a layer are masked by a hook; dynamo does not guard on hooks by default, so a graph the user's
    compiled model made without it (here at the input) returned unmasked rewards. The hooked forwards run eagerly,
    also inside a compiled training step."""
    torch._dynamo.reset()
    try:
        batch, players, at_input = image_batch(), ImagePatchPlayers(n_players=5, layer="conv2"), ImagePatchPlayers(5)
        eager = small_cnn()
        floor, selection = compute_rewards(eager, batch, players)
        _, input_selection = compute_rewards(eager, batch, at_input)
        user = small_cnn()
        user.compile()
        compute_rewards(user, batch, at_input, input_selection)  # compiles a graph without the hook
        rewards, _ = compute_rewards(user, batch, players, selection)
        assert torch.allclose(rewards, floor, atol=1e-5)
        masked_rewards(user, batch, at_input, input_selection)  # the regularizer's path: a graph with gradients
        differentiable = masked_rewards(user, batch, players, selection)
        assert torch.allclose(differentiable.detach(), floor, atol=1e-5)

        @torch.compile
        def training_step(model: torch.nn.Module) -> torch.Tensor:
            return masked_rewards(model, batch, players, selection)

        assert torch.allclose(training_step(user).detach(), floor, atol=1e-5)
        with pytest.raises(ValueError, match="forward compile works for players at the input only: players at "
                                             "layer 'conv2'"):
            compute_rewards(eager, batch, players, selection, forward={"compile": True})
    finally:
        torch._dynamo.reset()


def test_bad_forward_options_are_refused() -> None:
    with pytest.raises(ValueError, match="precision must be one of"):
        ForwardOptions(precision="int8")
    with pytest.raises(ValueError, match=r"forward options have unknown keys"):
        ForwardOptions.from_value({"half": True})
    with pytest.raises(ValueError, match="channels_last must be true or false"):
        ForwardOptions(channels_last="yes")  # type: ignore[arg-type]
