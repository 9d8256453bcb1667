"""The registry of command-line reports: ``python -m analytics report NAME``.

Each analysis module registers its report with ``@report("name")``; the function takes the
connection, the filters and the report arguments, and returns a DataFrame whose columns are the
documented JSON keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.filters import Filters


@dataclass(frozen=True)
class ReportArgs:
    year: int | None = None
    period: str | None = None  # 'YYYYQn'
    month: str | None = None  # 'YYYY-MM'
    min_group: int = 5  # groups smaller than this are suppressed, as on the pages ([app] min_group_size)


ReportFn = Callable[[duckdb.DuckDBPyConnection, Filters, ReportArgs], pd.DataFrame]
REPORTS: dict[str, tuple[ReportFn, str]] = {}


class ReportError(Exception):
    """A report that cannot run with the arguments given; the message is for the user."""


def report(name: str, description: str) -> Callable[[ReportFn], ReportFn]:
    def register(fn: ReportFn) -> ReportFn:
        REPORTS[name] = (fn, description)
        return fn

    return register
