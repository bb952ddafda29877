"""The ``non_generalizable`` mode (paper 2 App. D): exactly the salient interactions the baseline does not share are
penalised, with both thresholds tau taken from the probe samples."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from lit_interactions.interactions import Interactions
from lit_interactions.interactions.generalization import non_generalizable_mask
from lit_interactions.interactions.options import SolverOptions
from lit_interactions.modules.regularizer import InteractionRegularizer
from lit_interactions.players import ImagePatchPlayers
from lit_interactions.players.options import PlayerOptions


def interactions(and_effects: list[float], or_effects: list[float]) -> Interactions:
    a, o = torch.tensor(and_effects), torch.tensor(or_effects)
    zeros = torch.zeros_like(a)
    return Interactions(a, o, torch.zeros(()), zeros, zeros, zeros, n_players=2)


def test_the_mask_is_the_salient_interactions_the_baseline_does_not_share() -> None:
    # subsets: 0 = {}, 1 = {0}, 2 = {1}, 3 = {0, 1}; tau 0.1 for both models
    main = interactions([0.0, 1.0, -0.5, 0.05], [0.0, 0.0, 0.8, -0.6])
    base = interactions([0.0, 0.9, 0.5, 0.0], [0.0, 0.0, 0.7, 0.0])
    and_mask, or_mask = non_generalizable_mask(main, base, 0.1, 0.1)
    # AND {0}: shared (same sign). AND {1}: the baseline has the other sign -> removed. AND {0,1}: G = 0 but not
    # salient for the main model -> kept out. OR {1}: shared. OR {0,1}: the baseline lacks it -> removed.
    assert and_mask.tolist() == [False, False, True, False]
    assert or_mask.tolist() == [False, False, False, True]
    # the baseline's own threshold decides what it shares: at tau_base 0.95 it shares nothing
    and_mask, or_mask = non_generalizable_mask(main, base, 0.1, 0.95)
    assert and_mask.tolist() == [False, True, True, False] and or_mask.tolist() == [False, False, True, True]


class Game(nn.Module):
    """Logit of class 1 on the five diagonal pixels p0..p4 of a 5x5 image: ``a*p0*p1*p2*p3 + b*p4 + c*p0*p4``.

    With the diagonal at 1 and the zero baseline the rewards hold exactly three AND interactions: ``a`` of order 4,
    ``b`` of order 1 and ``c`` of order 2.
    """

    def __init__(self, a: float, b: float, c: float) -> None:
        super().__init__()
        self.a, self.b, self.c = (nn.Parameter(torch.tensor(v)) for v in (a, b, c))

    def forward(self, x: Tensor) -> Tensor:
        p = torch.diagonal(x[:, 0], dim1=-2, dim2=-1)
        logit = self.a * p[:, :4].prod(-1) + self.b * p[:, 4] + self.c * p[:, 0] * p[:, 4]
        return torch.stack((torch.zeros_like(logit), logit), dim=-1)


def diagonal_batch(values: list[float]) -> dict[str, Tensor]:
    inputs = torch.zeros(len(values), 1, 5, 5)
    for row, value in enumerate(values):
        inputs[row, 0, range(5), range(5)] = value
    return {"inputs": inputs, "labels": torch.ones(len(values), dtype=torch.long), "ids": torch.arange(len(values))}


PLAYERS = ImagePatchPlayers(n_players=5, grid=5, crop=0)


def regularizer(baseline: nn.Module, probe: dict[str, Tensor], salience_ratio: float = 0.1) -> InteractionRegularizer:
    reg = InteractionRegularizer(
        weight=1.0, remove="non_generalizable", players=PlayerOptions(n_players=5), num_samples=2,
        solver=SolverOptions(noise_ratio=0.0),
        salience_ratio=salience_ratio, scale_invariant=False,
    )
    reg.attach_baseline(baseline)
    reg.attach_probe(probe)
    reg.check()
    return reg


@pytest.mark.parametrize(
    ("baseline", "removed"),
    [
        (Game(a=0.0, b=1.5, c=0.0), 2.0),  # shares the order-1 interaction only: the order-4 one is penalised
        (Game(a=2.0, b=0.0, c=0.0), 1.5),  # shares the order-4 one only: the order-1 one is penalised
        (Game(a=2.0, b=-1.5, c=0.0), 1.5),  # the order-1 one with the other sign is not shared
        (Game(a=2.0, b=1.5, c=0.0), 0.0),  # shares both salient ones: nothing to remove
    ],
)
def test_exactly_the_unshared_salient_interactions_are_penalised(baseline: nn.Module, removed: float) -> None:
    model = Game(a=2.0, b=1.5, c=0.3)  # c = 0.3 < tau = 0.1 * 3.8: not salient, never penalised (its G is 0 too)
    reg = regularizer(baseline, diagonal_batch([1.0, 1.0]))
    penalty, logs = reg.penalty(model, diagonal_batch([1.0, 1.0]), PLAYERS, step=0)
    assert logs["regularizer/share"] == pytest.approx(removed / 3.8, abs=1e-4)
    if removed == 2.0:
        penalty.backward()
        assert model.a.grad > 0 and abs(float(model.b.grad)) < 1e-6 and abs(float(model.c.grad)) < 1e-6


def test_tau_comes_from_the_probe_samples_not_from_the_step() -> None:
    model, baseline = Game(a=2.0, b=1.5, c=0.0), Game(a=0.0, b=1.5, c=0.0)
    probe = diagonal_batch([1.0, 0.5, 1.0])
    reg = regularizer(baseline, probe, salience_ratio=0.02)
    reg.comparison.probe_samples = 2  # only the first two probe samples count
    reg.attach_probe(probe)
    tau_main, tau_base = reg.comparison.probe_thresholds(model, PLAYERS)
    # |v(N) - v(empty)| per probe sample: model 3.5 and 2 * 0.5^4 + 1.5 * 0.5 = 0.875; baseline 1.5 and 0.75
    assert float(tau_main) == pytest.approx(0.02 * (3.5 + 0.875) / 2, rel=1e-6)
    assert float(tau_base) == pytest.approx(0.02 * (1.5 + 0.75) / 2, rel=1e-6)
    # a probe whose outputs barely change makes tau tiny, so the step's small effect becomes salient and removable
    model = Game(a=2.0, b=1.5, c=0.3)
    quiet = regularizer(Game(a=2.0, b=1.5, c=0.0), diagonal_batch([0.01, 0.01]))
    loud = regularizer(Game(a=2.0, b=1.5, c=0.0), diagonal_batch([1.0, 1.0]))
    step = diagonal_batch([1.0, 1.0])
    assert quiet.penalty(model, step, PLAYERS, 0)[1]["regularizer/share"] == pytest.approx(0.3 / 3.8, abs=1e-4)
    assert loud.penalty(model, step, PLAYERS, 0)[1]["regularizer/share"] == pytest.approx(0.0, abs=1e-6)


def test_the_mode_needs_probe_samples() -> None:
    reg = InteractionRegularizer(remove="non_generalizable", players=PlayerOptions(n_players=5))
    reg.attach_baseline(Game(a=0.0, b=1.5, c=0.0))
    with pytest.raises(ValueError, match="probe samples"):
        reg.check()
    with pytest.raises(ValueError, match="probe_samples >= 2"):
        InteractionRegularizer(probe_samples=1)
