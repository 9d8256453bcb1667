"""Sign-in: when it is required, checking a password, and the rate limit. No Streamlit here.

Failed attempts are counted from the audit log, so the limit holds across restarts and across
every browser session: after ``max_failures`` failures for one account (or from one address)
within ``lockout_minutes``, attempts are refused without checking the password.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from analytics import audit, store, users
from analytics.access import Scope
from analytics.config import Settings

DESKTOP_USER = "本机用户"
DEMO_USER = "演示访客"


def real_data(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store holds data that was imported (not generated as the demo)."""
    return bool(store.scalar(
        con, "SELECT count(*) FROM import_batch WHERE NOT is_demo AND undone_at IS NULL"))


def required(con: duckdb.DuckDBPyConnection, settings: Settings) -> bool:
    mode = settings.auth.mode
    if mode == "desktop":
        return False
    if mode == "signin":
        return True
    return real_data(con)


def open_scope(settings: Settings) -> Scope:
    """The scope of a session that need not sign in (a desktop install, or demo data only)."""
    return Scope("admin", user=DESKTOP_USER if settings.auth.mode == "desktop" else DEMO_USER)


@dataclass(frozen=True)
class SignIn:
    user: users.User | None
    message: str  # for the sign-in form when ``user`` is None


def sign_in(con: duckdb.DuckDBPyConnection, settings: Settings, username: str, password: str,
            client: str | None = None, now: dt.datetime | None = None) -> SignIn:
    username = (username or "").strip()
    if not username or not password:
        return SignIn(None, "请输入账号和密码。")
    now = now or dt.datetime.now()
    window = dt.timedelta(minutes=settings.auth.lockout_minutes)
    limit = settings.auth.max_failures
    if (audit.failures_since(con, now - window, username=username) >= limit
            or (client and audit.failures_since(con, now - window, client=client) >= limit * 4)):
        audit.record(con, username, "signin_blocked", "失败次数过多，暂停登录", ok=False, client=client)
        return SignIn(None, f"登录失败次数过多，请 {settings.auth.lockout_minutes} 分钟后再试，"
                            "或请管理员用 `python -m analytics users passwd` 重设密码。")
    user = users.verify(settings.users_path, username, password)
    if user is None:
        audit.record(con, username, "signin_failed", "账号或密码错误", ok=False, client=client)
        return SignIn(None, "账号或密码错误。")
    audit.record(con, username, "signin", "", role=user.role, client=client)
    return SignIn(user, "")


def oidc_user(settings: Settings, email: str | None) -> users.User | None:
    """The account of a user signed in through st.login: the e-mail must be an account name."""
    if not email:
        return None
    return users.load(settings.users_path).get(email.strip())
