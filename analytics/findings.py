"""Findings that the overview page collects from every analysis page."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One headline finding: what a leader should look at, with its evidence in one sentence."""

    page: str  # the page that shows the evidence, e.g. "pages/grade_spread.py"
    title: str  # e.g. "3 个单位好等次比例显著高于全市"
    detail: str  # the numbers behind it, the benchmark and the method, in one sentence
    count: int  # how many units, raters, people or breaches are flagged
