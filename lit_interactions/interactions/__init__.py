"""Pure tensor math of AND-OR interactions: subsets, transforms, results, metrics and storage."""

from lit_interactions.interactions.generalization import (
    GeneralizationByOrder,
    generalizable_mask,
    generalization_by_order,
    non_generalizable_mask,
)
from lit_interactions.interactions.result import InteractionRecord, Interactions
from lit_interactions.interactions.salience import (
    eta_from_strengths,
    order_strengths,
    salience_threshold,
    salient_masks,
)
from lit_interactions.interactions.shapley import shapley_values
from lit_interactions.interactions.solver import extract, extract_joint, joint_objective
from lit_interactions.interactions.storage import (
    FORMAT_VERSION,
    load_interactions,
    save_interactions,
)
from lit_interactions.interactions.subsets import (
    MAX_PLAYERS,
    SUBSET_ORDER,
    check_n_players,
    complement,
    mobius,
    n_players_from_length,
    subset_index,
    subset_masks,
    subset_orders,
    subset_players,
    superset_mobius,
    superset_sum,
    zeta,
)
from lit_interactions.interactions.transfer import (
    TRANSFER_RATIOS,
    SharedByOrder,
    shared_by_order,
    transferability,
)
from lit_interactions.interactions.transform import (
    and_or_transform,
    bias,
    logical_model,
)

__all__ = [
    "and_or_transform",
    "bias",
    "check_n_players",
    "complement",
    "eta_from_strengths",
    "extract",
    "extract_joint",
    "FORMAT_VERSION",
    "generalizable_mask",
    "generalization_by_order",
    "GeneralizationByOrder",
    "InteractionRecord",
    "Interactions",
    "joint_objective",
    "load_interactions",
    "logical_model",
    "MAX_PLAYERS",
    "mobius",
    "non_generalizable_mask",
    "n_players_from_length",
    "order_strengths",
    "salience_threshold",
    "salient_masks",
    "save_interactions",
    "shapley_values",
    "shared_by_order",
    "SharedByOrder",
    "subset_index",
    "subset_masks",
    "SUBSET_ORDER",
    "subset_orders",
    "subset_players",
    "superset_mobius",
    "superset_sum",
    "TRANSFER_RATIOS",
    "transferability",
    "zeta",
]
