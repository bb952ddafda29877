"""Reports after training: one run's HTML report and the comparison of several runs (docs/reports.md).

Command line: ``lit-interactions report RUN`` and ``lit-interactions compare RUN_A RUN_B [...]``.
"""

from lit_interactions.reports.artifacts import RunArtifacts, RunArtifactsError, load_run
from lit_interactions.reports.compare import (
    CompareOptions,
    Comparison,
    IncompatibleRunsError,
    compare_runs,
)
from lit_interactions.reports.compare_page import CompareOutput, write_comparison
from lit_interactions.reports.report import ReportOutput, write_report

__all__ = [
    "CompareOptions",
    "CompareOutput",
    "Comparison",
    "IncompatibleRunsError",
    "ReportOutput",
    "RunArtifacts",
    "RunArtifactsError",
    "compare_runs",
    "load_run",
    "write_comparison",
    "write_report",
]
