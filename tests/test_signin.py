"""Sign-in in the app (AppTest): when it is asked for, the rate limit, what each role sees, admin-only
pages, masking, exports, and the audit log an administrator reads."""

from __future__ import annotations

import datetime as dt

import pytest
import streamlit as st
from apptools import ROOT
from filemaker import rows
from streamlit.testing.v1 import AppTest

from analytics import audit, store, users
from analytics.access import mask_name

PASSWORD = "correct horse battery"
DISTRICT = "东湖区"


@pytest.fixture
def real_app(demo_app, monkeypatch):
    """The demo store turned into 'real' data (as if imported), with three accounts."""
    db = demo_app / "app.duckdb"
    con = store.connect(db)
    con.execute("UPDATE import_batch SET is_demo = false")
    con.close()
    path = demo_app / "users.json"
    monkeypatch.setenv("KAOHE_USERS_FILE", str(path))
    users.add(path, "admin1", PASSWORD, "admin")
    users.add(path, "lead1", PASSWORD, "leader", districts=(DISTRICT,))
    users.add(path, "view1", PASSWORD, "viewer", districts=(DISTRICT,))
    st.cache_resource.clear()
    st.cache_data.clear()
    return demo_app


def start(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sign_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="signin-user").input(username)
    at.text_input(key="signin-password").input(password)
    next(b for b in at.button if b.label == "登录").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def audit_rows(app_dir) -> list[tuple]:
    con = store.connect(app_dir / "app.duckdb")  # in-process: shares the app's open database
    try:
        return rows(con, "SELECT username, action, ok FROM audit_log ORDER BY logged_at")
    finally:
        con.close()


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_demo_data_is_open_without_sign_in(demo_app):
    at = start()
    assert titles(at) == ["总览"]
    assert not [t for t in at.text_input if t.key == "signin-user"]


def test_real_data_without_accounts_says_how_to_create_one(demo_app, monkeypatch):
    con = store.connect(demo_app / "app.duckdb")
    con.execute("UPDATE import_batch SET is_demo = false")
    con.close()
    monkeypatch.setenv("KAOHE_USERS_FILE", str(demo_app / "none.json"))
    at = start()
    assert "总览" not in titles(at)
    assert any("python -m analytics users add" in w.value for w in at.warning)


def test_real_data_asks_for_sign_in_and_wrong_passwords_are_refused_then_limited(real_app):
    at = start()
    assert titles(at) == ["考核分析看板"]  # the sign-in form, no page
    assert not at.sidebar.multiselect  # no filters, no data
    sign_in(at, "lead1", "wrong password")
    assert [e.value for e in at.error] == ["账号或密码错误。"]
    sign_in(at, "nobody", "wrong password")
    assert [e.value for e in at.error] == ["账号或密码错误。"]  # the same words for an unknown account
    for _ in range(4):
        sign_in(at, "lead1", "wrong password")
    # Five failures for lead1 within 15 minutes: even the right password is refused now.
    sign_in(at, "lead1")
    assert "登录失败次数过多" in at.error[0].value
    assert titles(at) == ["考核分析看板"]
    log = audit_rows(real_app)
    assert log == [("lead1", "signin_failed", False), ("nobody", "signin_failed", False)] + \
        [("lead1", "signin_failed", False)] * 4 + [("lead1", "signin_blocked", False)]


def test_the_limit_is_per_window(real_app):
    con = store.connect(real_app / "app.duckdb")
    old = dt.datetime.now() - dt.timedelta(minutes=16)
    for _ in range(5):
        con.execute("INSERT INTO audit_log VALUES (?, 'lead1', NULL, 'signin_failed', '', false, NULL)", [old])
    con.close()
    at = sign_in(start(), "lead1")
    assert titles(at) == ["总览"]


def test_a_district_leader_sees_only_the_district_and_no_admin_pages(real_app):
    at = sign_in(start(), "lead1")
    assert titles(at) == ["总览"]
    district = next(m for m in at.sidebar.multiselect if m.label == "地区")
    assert district.options == [DISTRICT]
    unit_filter = next(m for m in at.sidebar.multiselect if m.label == "单位")
    assert unit_filter.options and all(DISTRICT in u for u in unit_filter.options)
    assert any("当前用户：**lead1**（领导）" in c.value for c in at.sidebar.caption)
    # The administrators' pages are not in a leader's navigation (the browser test types their URLs).
    for page in ("pages/import_data.py", "pages/audit.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    # A leader may export.
    at.switch_page("pages/unit.py")
    at.run()
    assert len(at.get("download_button")) >= 2


def test_a_scoped_workbook_states_the_accounts_scope():
    from analytics.access import Scope
    from analytics.filters import Filters
    from ui.common import export_filters_text

    leader = Scope("leader", districts=(DISTRICT,), user="lead1")
    assert export_filters_text(Filters(years=(2025,)), leader) == "年度：2025；账号可见范围：地区：东湖区"
    assert export_filters_text(Filters(years=(2025,)), Scope("admin")) == "年度：2025"


def test_a_crafted_url_for_another_districts_unit_shows_nothing_of_it(real_app):
    at = start({"unit": "西岭区财政局", "district": "西岭区"})
    sign_in(at, "lead1")
    # The same words as for a value nobody has: the link's values are ignored, and the attempt logged.
    assert any("已忽略" in w.value and "西岭区财政局" in w.value for w in at.warning)
    at.switch_page("pages/unit.py")
    at.run()
    assert not at.exception
    shown = [d.value for d in at.dataframe]
    for frame in shown:
        text = frame.astype(str).to_string()
        assert "西岭区" not in text
    assert ("lead1", "denied", False) in audit_rows(real_app)


def test_a_viewer_sees_masked_names_and_cannot_export(real_app, demo_con):
    at = sign_in(start(), "view1")
    at.switch_page("pages/unit.py")
    at.run()
    people = at.dataframe[0].value
    names = [r[0] for r in demo_con.execute(
        "SELECT name FROM people JOIN units USING (unit) WHERE district = ?", [DISTRICT]).fetchall()]
    assert set(people["姓名"]) == {mask_name(n) for n in names}
    assert not set(people["姓名"]) & {n for n in names if len(n) > 1}
    assert not at.get("download_button")
    assert any("姓名已脱敏；不可导出" in c.value for c in at.sidebar.caption)


def test_an_admin_reads_the_audit_log_and_signs_out(real_app):
    at = sign_in(start(), "lead1", "wrong password")
    sign_in(at, "admin1")
    at.switch_page("pages/audit.py")
    at.run()
    assert titles(at) == ["操作日志"]
    log = at.dataframe[0].value
    assert list(log["操作"]) == ["登录", "登录失败"]
    assert list(log["账号"]) == ["admin1", "lead1"]
    assert list(log["结果"]) == ["成功", "失败"]
    next(b for b in at.button if b.label == "退出登录").click()
    at.run()
    assert titles(at) == ["考核分析看板"]
    assert [(u, a) for u, a, _ in audit_rows(real_app)] == [
        ("lead1", "signin_failed"), ("admin1", "signin"), ("admin1", "signout")]


def test_a_removed_account_is_signed_out_at_once(real_app):
    at = sign_in(start(), "lead1")
    assert titles(at) == ["总览"]
    users.remove(real_app / "users.json", "lead1")
    at.run()
    assert titles(at) == ["考核分析看板"]


def test_desktop_mode_needs_no_sign_in_and_says_so_on_every_page(real_app, monkeypatch):
    monkeypatch.setenv("KAOHE_AUTH_MODE", "desktop")
    st.cache_resource.clear()
    at = start()
    assert titles(at) == ["总览"]
    for page in ("pages/raters.py", "pages/import_data.py"):
        at.switch_page(page)
        at.run()
        assert any("单机模式" in c.value for c in at.caption), page


def test_the_audit_log_query_filters(real_app):
    con = store.connect(real_app / "app.duckdb")
    try:
        audit.record(con, "a", "signin", role="admin")
        audit.record(con, "b", "signin_failed", ok=False)
        audit.record(con, "a", "export", "x.csv", role="admin")
        mine = audit.entries(con, audit.AuditQuery(users=("a",)))
        assert list(mine["操作"]) == ["导出", "登录"] and list(mine["角色"]) == ["管理员", "管理员"]
        assert list(audit.entries(con, audit.AuditQuery(users=("b",)))["角色"]) == [""]
        assert list(audit.entries(con, audit.AuditQuery(failed_only=True))["账号"]) == ["b"]
        assert list(audit.entries(con, audit.AuditQuery(actions=("export",)))["内容"]) == ["x.csv"]
        tomorrow = dt.date.today() + dt.timedelta(days=1)
        assert audit.entries(con, audit.AuditQuery(start=tomorrow)).empty
    finally:
        con.close()


def test_a_crafted_person_url_for_another_district_shows_nobody(real_app, demo_con):
    outsider = demo_con.execute("""SELECT person_id FROM people JOIN units USING (unit)
                                   WHERE district <> ? ORDER BY 1 LIMIT 1""", [DISTRICT]).fetchall()[0][0]
    at = sign_in(start({"person": outsider}), "lead1")
    at.switch_page("pages/person.py")
    at.run()
    assert not at.exception
    assert at.selectbox(key="person-pick").value is None  # not offered, so not chosen
    assert outsider not in str([s.value for s in at.subheader] + [c.value for c in at.caption])


def test_single_sign_on_maps_an_email_to_an_account_or_nobody(real_app):
    from analytics import auth
    from analytics.config import load_settings

    path = real_app / "users.json"
    users.add(path, "li@example.gov.cn", PASSWORD, "leader", districts=(DISTRICT,))
    settings = load_settings()
    assert auth.oidc_user(settings, "li@example.gov.cn").scope().districts == (DISTRICT,)
    assert auth.oidc_user(settings, "stranger@example.gov.cn") is None
    assert auth.oidc_user(settings, None) is None
