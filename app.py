"""考核分析看板: the entry point. It only routes: settings, store, demo data, filters, navigation."""

import streamlit as st

from ui import common, sidebar

st.set_page_config(page_title="考核分析看板", page_icon="📊", layout="wide")

common.connection()
common.ensure_demo()

analysis = [
    # slot: overview
    st.Page("pages/distribution.py", title="分数分布", icon="📈", url_path="distribution"),
    st.Page("pages/grade_spread.py", title="等次分布", icon="🏅", url_path="grade-spread"),
    st.Page("pages/saturation.py", title="工作饱和度", icon="⏱️", url_path="saturation"),
    st.Page("pages/patterns.py", title="好/一般 走势", icon="🔁", url_path="patterns"),
    st.Page("pages/pilots.py", title="联系点对比", icon="🧪", url_path="pilots"),
    st.Page("pages/raters.py", title="评价人分析", icon="⚖️", url_path="raters"),
    st.Page("pages/rules.py", title="规则检查", icon="📏", url_path="rules"),
]
detail = [
    st.Page("pages/unit.py", title="单位人员", icon="🏢", url_path="unit"),
    st.Page("pages/person.py", title="人员档案", icon="👤", url_path="person"),
]
data = [
    # Until the overview page lands, the data page opens first.
    st.Page("pages/data_status.py", title="数据概况", icon="🗂️", url_path="data", default=not analysis),
    st.Page("pages/import_data.py", title="数据导入", icon="📥", url_path="import"),
]
pages = {"分析": analysis, "详情": detail, "数据": data}
page = st.navigation({k: v for k, v in pages.items() if v})
sidebar.render()
st.sidebar.caption("考核分析看板 · 平时考核与年度考核数据分析")
common.demo_banner()
page.run()
