"""操作日志 (administrators only): sign-ins, imports, undos, exports and report runs."""

import datetime as dt

import streamlit as st

from analytics import audit
from ui import blocks, common, router

router.enter()
common.require_admin()

st.title("操作日志")
st.markdown("谁在什么时候登录（包括失败的尝试）、导入、撤销、导出和生成报表。日志只增不改，最新的在最前。")

with common.root_cursor() as cur:
    seen = audit.users_seen(cur)
left, middle, right = st.columns([2, 2, 2])
who = left.multiselect("账号", seen, placeholder="全部", key="audit-users")
actions = middle.multiselect("操作", list(audit.ACTIONS), format_func=audit.ACTIONS.get, placeholder="全部",
                             key="audit-actions")
today = dt.date.today()
period = right.date_input("日期范围", value=(today - dt.timedelta(days=30), today), key="audit-dates")
failed_only = st.checkbox("只看失败和被拒绝的操作", key="audit-failed")
start, end = (period if isinstance(period, tuple) and len(period) == 2 else (None, None))

with common.root_cursor() as cur:
    log = audit.entries(cur, audit.AuditQuery(users=tuple(who), actions=tuple(actions), start=start, end=end,
                                              failed_only=failed_only))
if log.empty:
    blocks.empty("请放宽上面的账号、操作或日期范围。")
    st.stop()
failed = int((log["结果"] == "失败").sum())
st.markdown(f"**{len(log):,} 条记录**，其中失败或被拒绝 **{failed:,}** 条。")
blocks.table(log, "操作日志", "audit-log")
