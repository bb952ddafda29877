"""The status bar of an extraction: it names the step running (masked forwards, then the solver)."""

from __future__ import annotations

import pytest

from lit_interactions.callbacks import extract_interactions
from lit_interactions.players import ImagePatchPlayers
from tests.players.test_evaluator import image_batch, small_cnn


def test_an_extraction_with_a_description_shows_each_step_and_a_quiet_one_shows_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    model, batch, players = small_cnn().eval(), image_batch(size=2), ImagePatchPlayers(n_players=3, grid=4)
    quiet = extract_interactions(model, batch, players, players.select(model, batch))
    assert capsys.readouterr().err == ""
    shown = extract_interactions(model, batch, players, players.select(model, batch), progress="Monitor epoch 3")
    err = capsys.readouterr().err
    assert "Monitor epoch 3" in err and "masked forwards of 2 samples" in err
    assert "solving the AND-OR interactions of 2 samples" in err and "masked forwards: 100%" in err
    assert shown.and_effects.equal(quiet.and_effects)  # the bar changes nothing
