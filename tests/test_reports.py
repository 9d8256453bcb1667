"""``python -m analytics report``: every analysis from the command line, with the documented keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KAOHE_ID_KEY": "test-key", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("reports") / "demo.duckdb"
    done = cli(db, "demo", "--samples", str(db.parent / "samples"))
    assert done.returncode == 0, done.stderr
    return db


def report(db: Path, *args: str) -> list[dict]:
    done = cli(db, "report", *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


REQUIRED = {
    ("unit-grades", "--period", "2024Q3"): ["unit", "period", "people", "good_share", "mean_score", "sd_score",
                                            "shrunk_good_share", "inflation_flag", "flattened_flag"],
    ("raters", "--year", "2025"): ["rater", "ratings", "leniency", "lenient_flag", "harsh_flag"],
    ("saturation", "--month", "2025-03"): ["person_id", "unit", "dept", "hours", "workdays", "saturation", "band"],
    ("patterns", "--year", "2024"): ["person_id", "unit", "grades", "good_count", "general_or_worse_count",
                                     "annual_grade"],
    ("rules", "--year", "2024"): ["rule", "person_id", "unit", "period", "detail"],
}


@pytest.mark.parametrize("args, keys", list(REQUIRED.items()), ids=[a[0] for a in REQUIRED])
def test_report_keys(demo_db, args, keys):
    rows = report(demo_db, *args)
    assert rows
    assert all(list(r) == keys for r in rows), list(rows[0])


def test_planted_patterns_reach_the_command_line(demo_db):
    from analytics.demo import PLANTED

    grades = report(demo_db, "unit-grades", "--period", "2024Q3")
    flagged = {r["unit"] for r in grades if r["inflation_flag"]}
    assert set(PLANTED["inflated_flat_units"]) | {PLANTED["inflating_unit"]["unit"]} <= flagged
    assert all(isinstance(r["inflation_flag"], bool) for r in grades)
    raters = {r["rater"]: r for r in report(demo_db, "raters")}
    for planted in PLANTED["lenient_raters"]:
        assert raters[planted["rater"]]["lenient_flag"] is True
    for planted in PLANTED["harsh_raters"]:
        assert raters[planted["rater"]]["harsh_flag"] is True
    saturation = report(demo_db, "saturation", "--month", "2025-03")
    assert min(r["saturation"] for r in saturation) > 0 and all(r["workdays"] == saturation[0]["workdays"]
                                                                 for r in saturation)
    patterns = report(demo_db, "patterns", "--year", "2024")
    assert all(isinstance(r["grades"], list) and len(r["grades"]) <= 4 for r in patterns)
    rules = report(demo_db, "rules", "--year", "2024")
    ids = {r["rule"] for r in rules}
    assert {"excellent_with_general", "excellent_quota", "good_quota"} <= ids
    assert report(demo_db, "pilots") and report(demo_db, "distribution", "--period", "2025Q1")


def test_report_arguments_and_filters(demo_db):
    missing = cli(demo_db, "report", "saturation")
    assert missing.returncode == 2 and "--month" in missing.stderr
    bad = cli(demo_db, "report", "unit-grades", "--period", "2025Q9")
    assert bad.returncode == 2 and "参数有误" in bad.stderr
    unknown = cli(demo_db, "report", "nothing")
    assert unknown.returncode == 2 and "unit-grades" in unknown.stderr
    one = report(demo_db, "unit-grades", "--period", "2024Q3", "--district", "东湖区")
    everything = report(demo_db, "unit-grades", "--period", "2024Q3")
    assert 0 < len(one) < len(everything)
    assert report(demo_db, "unit-grades", "--district", "没有这个地区") == []
    table = cli(demo_db, "report", "raters", "--year", "2025")
    assert table.returncode == 0 and "leniency" in table.stdout
    csv = cli(demo_db, "report", "raters", "--format", "csv")
    assert csv.stdout.splitlines()[0].startswith("rater,ratings,leniency")
