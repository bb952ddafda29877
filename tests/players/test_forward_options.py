"""Forward options of the masked forwards: same rewards (channels-last, compile), close ones (bf16), model intact."""

from __future__ import annotations

import pytest
import torch
import torch._dynamo

from lit_interactions.players import ImagePatchPlayers, compute_rewards
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
    with torch.no_grad():
        model.fc.bias.add_(1.0)
    moved, _ = compute_rewards(model, batch, players, selection, forward={"channels_last": True})
    expected, _ = compute_rewards(model, batch, players, selection)
    assert torch.allclose(moved, expected, atol=1e-5)


def test_compiled_forwards_give_the_eager_rewards_at_the_input_and_at_a_layer() -> None:
    """A graph compiled without the layer's masking hook (players at the input, here of another model of the same
    class) must not be reused for players at a layer: dynamo does not guard on hooks by default, and the rewards
    came back unmasked."""
    torch._dynamo.reset()  # no graph compiled by an earlier test
    batch = image_batch()
    for layer in (None, "conv2"):
        model, players = small_cnn(), ImagePatchPlayers(n_players=5, layer=layer)
        floor, selection = compute_rewards(model, batch, players)
        for _ in range(2):  # the second call reuses the compiled copy
            compiled, _ = compute_rewards(model, batch, players, selection, forward={"compile": True})
            assert torch.allclose(compiled, floor, atol=1e-5), layer
    with torch.no_grad():  # the compiled copy follows the model's later weights
        model.conv2.weight.mul_(1.5)
    moved, _ = compute_rewards(model, batch, players, selection, forward={"compile": True})
    expected, _ = compute_rewards(model, batch, players, selection)
    assert torch.allclose(moved, expected, atol=1e-5) and not torch.allclose(moved, floor, atol=1e-3)
    torch._dynamo.reset()


def test_bad_forward_options_are_refused() -> None:
    with pytest.raises(ValueError, match="precision must be one of"):
        ForwardOptions(precision="int8")
    with pytest.raises(ValueError, match=r"forward options have unknown keys"):
        ForwardOptions.from_value({"half": True})
    with pytest.raises(ValueError, match="channels_last must be true or false"):
        ForwardOptions(channels_last="yes")  # type: ignore[arg-type]
