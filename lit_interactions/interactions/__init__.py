"""Pure tensor math of AND-OR interactions: the user API.

The package exports only what a user calls: the solver (:func:`extract`, :func:`extract_joint`,
:func:`joint_objective` and their :class:`SolverOptions`), the exact transform (:func:`and_or_transform`), the result (:class:`Interactions`) and its
files, and the paper's metrics (salience, Shapley values, transferability, generalization by order). The subset
algebra lives in :mod:`lit_interactions.interactions.subsets`, everything else in its own submodule.
"""

from lit_interactions.interactions.generalization import generalization_by_order
from lit_interactions.interactions.options import SolverOptions
from lit_interactions.interactions.result import Interactions
from lit_interactions.interactions.salience import salience_threshold
from lit_interactions.interactions.shapley import shapley_values
from lit_interactions.interactions.solver import extract, extract_joint, joint_objective
from lit_interactions.interactions.storage import load_interactions, save_interactions
from lit_interactions.interactions.transfer import transferability
from lit_interactions.interactions.transform import and_or_transform

__all__ = [
    "and_or_transform",
    "extract",
    "extract_joint",
    "generalization_by_order",
    "Interactions",
    "joint_objective",
    "load_interactions",
    "salience_threshold",
    "save_interactions",
    "shapley_values",
    "SolverOptions",
    "transferability",
]
