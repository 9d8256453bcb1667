"""The sign-in gate, run by app.py before any page: who this session is, and what it may see."""

from __future__ import annotations

import streamlit as st

from analytics import audit, auth, users
from analytics.access import ROLES, Scope
from ui import common

USER_KEY = "_user"  # the signed-in account name


def _signed_in(account: users.User) -> None:
    st.session_state[USER_KEY] = account.username
    st.session_state[common.SCOPE_KEY] = account.scope()


def sign_out() -> None:
    common.log("signout")
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(common.SCOPE_KEY, None)
    if getattr(st.user, "is_logged_in", False):
        st.logout()


def resolve() -> Scope | None:
    """The session's scope as of now, drawing nothing: None when a sign-in is needed and not done.
    Also called by callbacks that change data, since Streamlit runs a callback before app.py's gate."""
    settings = common.settings()
    with common.root_cursor() as cur:
        needed = auth.required(cur, settings)
    if not needed:
        scope = auth.open_scope(settings)
        st.session_state[common.SCOPE_KEY] = scope
        return scope
    name = st.session_state.get(USER_KEY)
    account = users.load(settings.users_path).get(name) if name else None
    if account is None:  # read afresh: a removed account or changed grants take effect at once
        st.session_state.pop(USER_KEY, None)
        st.session_state.pop(common.SCOPE_KEY, None)
        return None
    st.session_state[common.SCOPE_KEY] = account.scope()
    return account.scope()


def gate(pages: dict[str, list]) -> Scope:
    """The session's scope; when a sign-in is needed and not done, draw the form and stop the run.
    The navigation is declared (hidden) first, so the page the URL names is the one shown after
    signing in: a bookmark or a link a colleague sent leads to its view."""
    try:
        scope = resolve()
    except users.UserError as exc:
        st.session_state.pop(common.SCOPE_KEY, None)
        st.error(str(exc))
        st.stop()
    if scope is not None:
        return scope
    st.navigation([p for section in pages.values() for p in section], position="hidden")
    _form(common.settings(), users.load(common.settings().users_path))
    st.stop()


def _form(settings, accounts: dict[str, users.User]) -> None:
    left, middle, right = st.columns([1, 2, 1])
    with middle:
        st.title("考核分析看板")
        st.caption("本系统含公务员考核结果等保密信息，请使用本人账号登录。")
        if not accounts:
            st.warning(
                "数据库中已有正式数据，需要登录后使用，但还没有任何账号。请管理员在服务器上运行：\n\n"
                "`python -m analytics users add 账号名 --role admin`\n\n"
                "创建管理员账号后刷新本页。只有本人使用的单机安装，可在配置文件中设置 "
                "`[auth] mode = \"desktop\"`。"
            )
            return
        if settings.auth.oidc_provider:
            _oidc(settings)
        with st.form("signin"):
            username = st.text_input("账号", key="signin-user")
            password = st.text_input("密码", type="password", key="signin-password")
            submitted = st.form_submit_button("登录", type="primary", width="stretch")
        if submitted:
            with common.root_cursor() as cur:
                result = auth.sign_in(cur, settings, username, password, client=common.client())
            if result.user is None:
                st.error(result.message)
                return
            _signed_in(result.user)
            st.rerun()


def _oidc(settings) -> None:
    """Single sign-on through st.login; the account file still decides role and scope."""
    if getattr(st.user, "is_logged_in", False):
        email = st.user.get("email")
        account = auth.oidc_user(settings, email)
        if account is not None:
            audit.record(common.connection(), account.username, "signin", "统一身份认证",
                                role=account.role, client=common.client())
            _signed_in(account)
            st.rerun()
        audit.record(common.connection(), email or "?", "signin_failed", "统一身份认证账号未授权",
                            ok=False, client=common.client())
        st.error(f"统一身份认证账号 {email} 未在本系统授权，请联系管理员。")
        st.button("退出统一身份认证", on_click=st.logout)
        return
    st.button("使用统一身份认证登录", on_click=st.login, args=(settings.auth.oidc_provider,), width="stretch")
    st.caption("或使用本系统账号：")


def sidebar(scope: Scope) -> None:
    """Who is signed in, what they may see, and 退出登录 (or the desktop-install notice)."""
    settings = common.settings()
    if settings.auth.mode == "desktop":
        st.sidebar.caption("单机模式：本机使用，未启用登录。")
        return
    name = st.session_state.get(USER_KEY)
    if not name:
        return
    with st.sidebar.container(border=True):
        st.caption(f"当前用户：**{name}**（{ROLES[scope.role]}）")
        st.caption(f"可见范围：{scope.describe()}" + ("" if scope.names else "；姓名已脱敏") +
                   ("" if scope.can_export else "；不可导出"))
        st.button("退出登录", on_click=sign_out, key="signout", width="stretch")


def desktop_notice() -> None:
    """Every page of a declared single-user install says so."""
    if common.settings().auth.mode == "desktop":
        st.caption(":material/computer: 单机模式：本机单人使用，未启用登录；在多人可访问的服务器上请关闭此模式。")
