"""The sidebar filters as a link gives them: values the data does not have are named, not hidden."""

from __future__ import annotations

from apptools import ROOT, open_page
from streamlit.testing.v1 import AppTest


def test_unknown_url_filter_value_is_named_in_a_warning(demo_app):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)  # a link to 总览, opened once
    at.query_params["district"] = ["不存在区", "东湖区"]
    at.query_params["year"] = "2025"
    at.query_params["role"] = "局长"
    at.run()
    assert not at.exception
    assert [w.value for w in at.warning] == [
        "链接中有筛选值在当前数据中不存在，已忽略：「地区」（district）= 不存在区；「领导/工作人员」（role）= 局长。"
        "页面按其余筛选条件显示；请检查链接，或在左侧重新选择。"]
    # The known values still apply, and the link's URL no longer holds the unknown one.
    assert at.sidebar.multiselect(key="district").value == ["东湖区"]
    assert at.sidebar.multiselect(key="year").value == ["2025"]
    assert at.query_params["district"] == "东湖区"
    assert any("所选范围（年度：2025；地区：东湖区）" in m.value for m in at.markdown)


def test_known_url_filter_values_give_no_warning(demo_app):
    at = open_page("pages/rules.py", {"district": "东湖区", "quarter": "2025Q1"})
    assert not [w.value for w in at.warning if "链接中" in w.value]
