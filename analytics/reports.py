"""Every command-line report. Importing the analysis modules registers their reports."""

from __future__ import annotations

from analytics import (  # noqa: F401  (imported for their @report registrations)
    distribution,
    grade_spread,
    patterns,
    pilots,
    raters,
    rules,
    saturation,
)
from analytics.registry import REPORTS, ReportArgs, ReportError

__all__ = ["REPORTS", "ReportArgs", "ReportError"]
