"""考核分析看板: the entry point. It only routes: settings, store, demo data, filters, navigation."""

from pathlib import Path

import streamlit as st

from ui import common, router, sidebar, signin

# A local icon: an intranet browser cannot fetch Material icon favicons from the internet.
st.set_page_config(page_title="考核分析看板", page_icon=str(Path(__file__).parent / "ui" / "favicon.png"),
                   layout="wide")

common.connection()
common.ensure_demo()

analysis = [
    st.Page("pages/overview.py", title="总览", icon=":material/dashboard:", url_path="overview", default=True),
    st.Page("pages/distribution.py", title="分数分布", icon=":material/bar_chart:", url_path="distribution"),
    st.Page("pages/grade_spread.py", title="等次分布", icon=":material/stacked_bar_chart:", url_path="grade_spread"),
    st.Page("pages/saturation.py", title="工作饱和度", icon=":material/schedule:", url_path="saturation"),
    st.Page("pages/patterns.py", title="好/一般 走势", icon=":material/timeline:", url_path="patterns"),
    st.Page("pages/pilots.py", title="联系点对比", icon=":material/compare_arrows:", url_path="pilots"),
    st.Page("pages/raters.py", title="评价人分析", icon=":material/rate_review:", url_path="raters"),
    st.Page("pages/rules.py", title="规则检查", icon=":material/rule:", url_path="rules"),
]
detail = [
    st.Page("pages/unit.py", title="单位人员", icon=":material/apartment:", url_path="unit"),
    st.Page("pages/person.py", title="人员档案", icon=":material/person:", url_path="person"),
]
data = [
    st.Page("pages/data_status.py", title="数据概况", icon=":material/database:", url_path="data_status"),
    st.Page("pages/import_data.py", title="数据导入", icon=":material/upload_file:", url_path="import_data"),
    st.Page("pages/audit.py", title="操作日志", icon=":material/policy:", url_path="audit"),
]
pages = {"分析": analysis, "详情": detail, "数据": data}
scope = signin.gate(pages)  # draws the sign-in form and stops here until the user has signed in
# Pages only administrators may open are not in the navigation of anyone else, so their URLs lead nowhere.
page = st.navigation({k: [p for p in v if scope.is_admin or p.url_path not in common.ADMIN_PAGES]
                      for k, v in pages.items()}, expanded=True)  # every page in view, no "View 3 more"
signin.sidebar(scope)
sidebar.render()
st.sidebar.caption("考核分析看板 · 平时考核与年度考核数据分析")
common.demo_banner()
signin.desktop_notice()
common.start_page()
with router.routing():
    page.run()
common.export_page_button(page.title, common.export_filters_text(sidebar.current(), scope))
