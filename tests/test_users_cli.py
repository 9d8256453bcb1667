"""Accounts from the command line, and reports run with an account's scope: the file, the hashes,
default deny, suppression of small groups, and the audit log of every report run."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from filemaker import rows

from analytics import access, store, users

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path, demo_con) -> Path:
    demo_con.execute("CHECKPOINT")
    source = demo_con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    shutil.copy(source, tmp_path / "store.duckdb")
    return tmp_path / "store.duckdb"


def cli(db: Path, *args: str, stdin: str = "", config: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "KAOHE_ID_KEY": "test-key", "PYTHONPATH": str(ROOT),
           "KAOHE_CONFIG": str(config or db.parent / "absent.toml")}
    env.pop("KAOHE_USERS_FILE", None)
    return subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), *args], input=stdin,
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_add_list_passwd_remove(db):
    path = db.with_name(db.name + ".users.json")
    done = cli(db, "users", "add", "lead1", "--role", "leader", "--district", "东湖区", "--display-name", "张主任",
               "--password-stdin", stdin="correct horse\n")
    assert done.returncode == 0, done.stderr
    assert "已创建账号 lead1（领导，地区：东湖区）" in done.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_text(encoding="utf-8")
    assert "correct horse" not in raw and "$argon2id$" in raw
    assert users.verify(path, "lead1", "correct horse").scope() == access.Scope("leader", ("东湖区",), (), "lead1")
    assert users.verify(path, "lead1", "wrong horse") is None
    assert users.verify(path, "nobody", "correct horse") is None

    assert cli(db, "users", "list").stdout.splitlines() == ["lead1\t领导\t地区：东湖区\t张主任"]
    again = cli(db, "users", "add", "lead1", "--role", "viewer", "--unit", "x", "--password-stdin", stdin="12345678\n")
    assert again.returncode == 1 and "已存在" in again.stderr
    short = cli(db, "users", "add", "v2", "--role", "viewer", "--unit", "x", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "至少 8 个字符" in short.stderr
    nogrant = cli(db, "users", "add", "v3", "--role", "viewer", "--password-stdin", stdin="12345678\n")
    assert nogrant.returncode == 0 and "默认拒绝" in nogrant.stderr

    assert cli(db, "users", "passwd", "lead1", "--password-stdin", stdin="battery staple\n").returncode == 0
    assert users.verify(path, "lead1", "correct horse") is None
    assert users.verify(path, "lead1", "battery staple") is not None
    assert cli(db, "users", "remove", "lead1").returncode == 0
    assert users.load(path).keys() == {"v3"}
    gone = cli(db, "users", "remove", "lead1")
    assert gone.returncode == 1 and "没有账号 lead1" in gone.stderr


def test_a_report_as_a_district_leader_holds_only_that_district_and_is_audited(db):
    cli(db, "users", "add", "lead1", "--role", "leader", "--district", "东湖区", "--password-stdin", stdin="12345678\n")
    cli(db, "users", "add", "view1", "--role", "viewer", "--district", "东湖区", "--password-stdin", stdin="12345678\n")
    # The administrator's report filtered to the district (the shrinkage prior is the district's too).
    full = json.loads(cli(db, "report", "unit-grades", "--format", "json", "--district", "东湖区").stdout)
    mine = json.loads(cli(db, "report", "unit-grades", "--format", "json", "--as-user", "lead1").stdout)
    con = store.connect(db, read_only=True)
    try:
        district_units = {r[0] for r in rows(con, "SELECT unit FROM units WHERE district = '东湖区'")}
    finally:
        con.close()
    assert {r["unit"] for r in mine} == district_units
    # Equal but for the flattened-scoring flag, whose benchmark (the period's median SD over all units)
    # is, for a scoped account, taken over the units it may see (docs/security.md).
    def strip(frame):
        return [{k: v for k, v in r.items() if k != "flattened_flag"} for r in frame]

    assert strip(mine) == strip(full)
    # A crafted filter for another district's unit gives nothing.
    other = cli(db, "report", "unit-grades", "--format", "json", "--as-user", "lead1", "--unit", "西岭区财政局")
    assert json.loads(other.stdout) == []
    # A viewer's rules report: the district's breaches only (the planted 东湖区 ones among them).
    breaches = json.loads(cli(db, "report", "rules", "--year", "2025", "--format", "json", "--as-user", "view1").stdout)
    assert {r["unit"] for r in breaches} <= district_units
    assert {"东湖区财政局", "东湖区卫生健康局"} <= {r["unit"] for r in breaches}
    unknown = cli(db, "report", "unit-grades", "--as-user", "ghost")
    assert unknown.returncode == 2 and "没有账号 ghost" in unknown.stderr

    con = store.connect(db, read_only=True)
    try:
        log = rows(con, "SELECT username, role, action, detail, ok FROM audit_log ORDER BY logged_at")
    finally:
        con.close()
    assert [(u, r, a, ok) for u, r, a, _, ok in log] == [
        ("命令行", "admin", "report", True), ("命令行（lead1）", "leader", "report", True),
        ("命令行（lead1）", "leader", "report", True), ("命令行（view1）", "viewer", "report", True)]
    assert log[0][3] == "unit-grades（地区：东湖区）" and log[2][3] == "unit-grades（单位：西岭区财政局）"


def test_reports_suppress_groups_below_the_configured_minimum(db, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[app]\nmin_group_size = 30\n", encoding="utf-8")
    frame = json.loads(cli(db, "report", "unit-grades", "--format", "json", config=config).stdout)
    small = [r for r in frame if r["people"] < 30]
    large = [r for r in frame if r["people"] >= 30]
    assert small and large
    assert all(r["good_share"] is None and r["mean_score"] is None for r in small)
    assert all(r["good_share"] is not None for r in large)
