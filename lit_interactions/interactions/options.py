"""The solver's settings, written once: what :func:`~lit_interactions.interactions.solver.extract` and
:func:`~lit_interactions.interactions.solver.extract_joint` take, and what the monitor, the regularizer, ``explain``
and ``compare`` pass on (a YAML mapping under ``solver:`` in a config)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from lit_interactions.checks import Options, check_int, check_optional_int
from lit_interactions.interactions.checks import check_real

ComputeDtype = Literal["auto", "float32", "float64"]
COMPUTE_DTYPES = ("auto", "float32", "float64")


@dataclass(frozen=True)
class SolverOptions(Options):
    """Settings of the sparse AND-OR solve (docs/conventions.md, "Sparsest interactions"; the joint one for several models).

    Attributes:
        noise_ratio: noise bound ``zeta = noise_ratio * |v(N) - v(empty)|`` (paper 2: 0.01).
        tol: certified relative duality gap at which a sample stops.
        max_iter: iteration limit; None = 20,000 for ``n <= 10``, 100,000 above.
        check_every: iterations between two certificates.
        compute_dtype: dtype of the iterations: ``"auto"`` (float32 for ``n <= 16``), ``"float32"``, ``"float64"``.
        relaxation: Douglas-Rachford over-relaxation in ``(0, 2)``.
        rho_scale: initial ADMM penalty parameter relative to the rewards' scale; None = the solver's default
            (1.0 for one model, 0.4 for the joint solve, measured).
        num_threads: CPU threads of the solve; None keeps torch's setting (1 by default: see docs/solver.md).
        crossover: one model or two (joint): after 500 iterations, finish a sample whose optimum looks sparse
            exactly, with the simplex on the effects the iteration found (certified like the iteration;
            docs/solver.md).
    """

    what: ClassVar[str] = "solver"

    noise_ratio: float = 0.01
    tol: float = 1e-3
    max_iter: int | None = None
    check_every: int = 50
    compute_dtype: ComputeDtype = "auto"
    relaxation: float = 1.9
    rho_scale: float | None = None
    num_threads: int | None = 1
    crossover: bool = True

    def __post_init__(self) -> None:
        who = "solver options: "
        if not check_real("noise_ratio", self.noise_ratio) >= 0:
            raise ValueError(f"{who}noise_ratio must be >= 0, got {self.noise_ratio}")
        if not 0 < check_real("tol", self.tol) < 1:
            raise ValueError(f"{who}tol is a relative duality gap and must be in (0, 1), got {self.tol} (default 1e-3)")
        check_optional_int("max_iter", self.max_iter, 1, who=who)
        check_int("check_every", self.check_every, 1, who=who)
        check_optional_int("num_threads", self.num_threads, 1, who=who)
        if not isinstance(self.crossover, bool):
            raise TypeError(f"{who}crossover must be true or false, got {self.crossover!r}")
        if self.compute_dtype not in COMPUTE_DTYPES:
            raise ValueError(f"{who}compute_dtype={self.compute_dtype!r} is not one of {COMPUTE_DTYPES}")
        if not 0 < check_real("relaxation", self.relaxation) < 2:
            raise ValueError(f"{who}relaxation must be in (0, 2), got {self.relaxation}")
        if self.rho_scale is not None and not check_real("rho_scale", self.rho_scale) > 0:
            raise ValueError(f"{who}rho_scale must be > 0 or None, got {self.rho_scale}")


    @classmethod
    def merged(cls, value: SolverOptions | dict[str, Any] | None, overrides: dict[str, Any]) -> SolverOptions:
        """Options from ``value`` (as :meth:`from_value`) with some fields replaced by name (keyword settings).

        Raises:
            ValueError: unknown names, naming the known ones.
        """
        base = cls.from_value(value)
        return cls.from_value({**base.to_dict(), **overrides}) if overrides else base

