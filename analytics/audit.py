"""The audit log in the store: who signed in (or failed to), imported, undid, exported or ran a report.

Rows are only ever appended. Writes go through the unscoped connection (a scoped cursor cannot see
the table), each in its own statement, so a record is never lost with a refused import.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.access import ROLES

ACTIONS = {
    "signin": "登录",
    "signin_failed": "登录失败",
    "signin_blocked": "登录被限制",
    "signout": "退出登录",
    "import": "导入",
    "undo": "撤销导入",
    "clear_demo": "清除演示数据",
    "export": "导出",
    "report": "生成报表",
    "denied": "越权访问被拒绝",
}
CLI_USER = "命令行"


def record(con: duckdb.DuckDBPyConnection, username: str, action: str, detail: str = "", ok: bool = True,
           role: str | None = None, client: str | None = None) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    cur = con.cursor()
    try:
        cur.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [dt.datetime.now(), username, role, action, detail, ok, client])
    finally:
        cur.close()


def failures_since(con: duckdb.DuckDBPyConnection, since: dt.datetime, username: str | None = None,
                   client: str | None = None) -> int:
    """Failed sign-ins since ``since``, for one account or from one address."""
    cur = con.cursor()
    try:
        where, params = ["action = 'signin_failed'", "logged_at >= ?"], [since]
        if username is not None:
            where.append("username = ?")
            params.append(username)
        if client is not None:
            where.append("client = ?")
            params.append(client)
        return int(cur.execute(f"SELECT count(*) FROM audit_log WHERE {' AND '.join(where)}", params)
                   .fetchall()[0][0])
    finally:
        cur.close()


@dataclass(frozen=True)
class AuditQuery:
    users: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None  # inclusive
    failed_only: bool = False
    limit: int = 5000


def entries(con: duckdb.DuckDBPyConnection, q: AuditQuery = AuditQuery()) -> pd.DataFrame:
    """The log, newest first, with Chinese column names, as the admin page shows it."""
    where, params = ["true"], []
    if q.users:
        where.append("username = ANY(?)")
        params.append(list(q.users))
    if q.actions:
        where.append("action = ANY(?)")
        params.append(list(q.actions))
    if q.start:
        where.append("logged_at >= ?")
        params.append(dt.datetime.combine(q.start, dt.time()))
    if q.end:
        where.append("logged_at < ?")
        params.append(dt.datetime.combine(q.end + dt.timedelta(days=1), dt.time()))
    if q.failed_only:
        where.append("NOT ok")
    cur = con.cursor()
    try:
        frame = cur.execute(f"""
            SELECT logged_at, username, role, action, detail, ok, client FROM audit_log
            WHERE {' AND '.join(where)} ORDER BY logged_at DESC LIMIT ?
        """, [*params, int(q.limit)]).df()
    finally:
        cur.close()
    frame["action"] = frame["action"].map(lambda a: ACTIONS.get(a, a))
    frame["role"] = frame["role"].map(lambda r: ROLES.get(r, r) if isinstance(r, str) else "")
    frame["ok"] = frame["ok"].map({True: "成功", False: "失败"})
    frame["logged_at"] = frame["logged_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame.rename(columns={"logged_at": "时间", "username": "账号", "role": "角色", "action": "操作",
                                 "detail": "内容", "ok": "结果", "client": "来源地址"})


def users_seen(con: duckdb.DuckDBPyConnection) -> list[str]:
    cur = con.cursor()
    try:
        return [r[0] for r in cur.execute("SELECT DISTINCT username FROM audit_log ORDER BY 1").fetchall()]
    finally:
        cur.close()
