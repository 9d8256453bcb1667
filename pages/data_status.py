"""数据概况: what the store holds and which periods it covers."""

import streamlit as st

from analytics.coverage import coverage
from ui import blocks, common, router

router.enter()

st.title("数据概况")
with common.cursor() as cur:
    info = coverage(cur)

if info.kinds["行数"].sum() == 0:
    st.warning("数据库中还没有数据。请到「数据导入」页上传考核导出文件。")
    st.page_link("pages/import_data.py", label="去导入数据", icon=":material/upload_file:")
    st.stop()

a, b, c = st.columns(3)
a.metric("单位", f"{info.units:,}")
b.metric("其中平时考核联系点", f"{info.pilot_units:,}")
c.metric("人员", f"{info.people:,}")

st.subheader("各类数据")
st.caption("每类导出文件导入后的行数和覆盖的时间范围。")
blocks.table(info.kinds, "数据概况", "kinds")

st.subheader("各季度平时考核等次人数")
if info.quarters.empty:
    st.caption("还没有导入平时考核结果。")
else:
    st.caption("每个考核周期参加考核的人数和各等次人数；不确定等次指该季度未定等次（如长期请假、新入职）。")
    blocks.table(info.quarters, "各季度等次人数", "quarters")
