"""Players and rewards: turn a model and a sample into rewards on all ``2^n`` masks (docs/conventions.md).

Typical use::

    players = ImagePatchPlayers(n_players=10, layer="layer1.0")
    rewards, selection = compute_rewards(model, batch, players)            # [B, 2^n], chosen players
    rewards_b, _ = compute_rewards(baseline_model, batch, players, selection)  # same players
"""

from lit_interactions.players.base import Players, eval_mode, keep_map
from lit_interactions.players.evaluator import compute_rewards, masked_rewards
from lit_interactions.players.image import ImagePatchPlayers
from lit_interactions.players.rewards import (
    REWARDS,
    log_odds,
    logit,
    resolve_reward,
    resolve_target,
)
from lit_interactions.players.selection import PlayerSelection
from lit_interactions.players.text import TextWordPlayers
from lit_interactions.players.words import (
    eligible_words,
    filter_by_eligible_words,
    is_eligible_word,
    sample_words,
)

__all__ = [
    "REWARDS",
    "ImagePatchPlayers",
    "PlayerSelection",
    "Players",
    "TextWordPlayers",
    "compute_rewards",
    "eligible_words",
    "eval_mode",
    "filter_by_eligible_words",
    "is_eligible_word",
    "keep_map",
    "log_odds",
    "logit",
    "masked_rewards",
    "resolve_reward",
    "resolve_target",
    "sample_words",
]
