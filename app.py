"""考核分析看板: the entry point. It only routes: settings, store, demo data, navigation."""

import streamlit as st

from ui import common, sidebar

st.set_page_config(page_title="考核分析看板", page_icon="📊", layout="wide")

common.connection()
common.ensure_demo()

pages = {
    "数据": [
        st.Page("pages/data_status.py", title="数据概况", icon="🗂️", url_path="data", default=True),
        st.Page("pages/import_data.py", title="数据导入", icon="📥", url_path="import"),
    ],
}
page = st.navigation(pages)
sidebar.render()
st.sidebar.caption("考核分析看板 · 平时考核与年度考核数据分析")
common.demo_banner()
page.run()
